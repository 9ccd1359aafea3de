"""A real SeaweedFS S3 server for the store tests, and both stores behind one `store` fixture.

The server is built (once, cached) from the pinned Go module, started on a free port range from
FEDFABRIC_TEST_S3_PORT (default 28333) in a tmp dir, and stopped by pid at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fedfabric.admin.objectstore import ObjectStoreServer, ensure_weed
from fedfabric.store import LocalStore, S3Store, Store

from .helpers import Identities, free_port_range, make_identities, org_store


@pytest.fixture(scope="session")
def weed() -> Path:
    return ensure_weed()


@pytest.fixture(scope="session")
def identities() -> Identities:
    return make_identities("Org1", "Org2")


@pytest.fixture(scope="session")
def s3_server(weed: Path, identities: Identities,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStoreServer]:
    server = ObjectStoreServer(tmp_path_factory.mktemp("seaweedfs"), free_port_range(),
                               weed=weed)
    server.up(identities)
    yield server
    server.down(timeout=5)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "local":
        return LocalStore(tmp_path / "blobs")
    server: ObjectStoreServer = request.getfixturevalue("s3_server")
    return org_store(server, request.getfixturevalue("identities"), "Org1")


@pytest.fixture
def plant() -> Callable[[Store, str, bytes], None]:
    """Put arbitrary bytes under a blob's real name, behind the store's back."""
    def plant(store: Store, digest: str, data: bytes) -> None:
        if isinstance(store, LocalStore):
            path = store.root / digest[:2] / digest
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        else:
            assert isinstance(store, S3Store)
            store.client.put_object(Bucket=store.bucket, Key=store.key(digest), Body=data)
    return plant
