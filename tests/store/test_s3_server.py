"""The S3 server as the consortium runs it: write isolation, bad input, a crash mid-upload."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError
from typer.testing import CliRunner

from fedfabric.admin.objectstore import ObjectStoreServer
from fedfabric.cli import app
from fedfabric.store import LocalStore, S3Store, StoreError, open_store, sha256

from .helpers import Identities, free_port_range, make_identities, org_store


def keys_under(server: ObjectStoreServer, prefix: str) -> list[str]:
    listed = server.admin_client().list_objects_v2(Bucket=server.bucket, Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


# --- write isolation ---------------------------------------------------------------------------

def test_an_org_cannot_write_under_another_orgs_prefix(s3_server: ObjectStoreServer,
                                                       identities: Identities) -> None:
    org2 = org_store(s3_server, identities, "Org2")
    digest = org2.put(b"Org2's update")
    # Org1's credentials, pointed at Org2's prefix: reading is allowed (the bucket is shared)...
    intruder = org_store(s3_server, identities, "Org1", prefix=org2.prefix)
    assert intruder.get(digest) == b"Org2's update"
    # ...writing a new blob there is refused, with bucket, key and cause in the error...
    with pytest.raises(StoreError, match="access denied") as e:
        intruder.put(b"planted by Org1")
    assert intruder.uri(sha256(b"planted by Org1")) in str(e.value)
    assert not org2.has(sha256(b"planted by Org1"))
    # ...and so is overwriting or deleting Org2's blob behind the store's back.
    for attempt in (
        lambda: intruder.client.put_object(Bucket=org2.bucket, Key=org2.key(digest), Body=b"x"),
        lambda: intruder.client.delete_object(Bucket=org2.bucket, Key=org2.key(digest)),
        lambda: intruder.client.create_multipart_upload(Bucket=org2.bucket,
                                                        Key=org2.key(digest)),
    ):
        with pytest.raises(ClientError) as refused:
            attempt()
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert org2.get(digest) == b"Org2's update"
    assert keys_under(s3_server, org2.prefix) == [org2.key(digest)]


def test_an_org_cannot_write_outside_its_prefix(s3_server: ObjectStoreServer,
                                                identities: Identities) -> None:
    for prefix in ("", "Org1x", "shared"):  # Org1/* must not match Org1x/...
        intruder = org_store(s3_server, identities, "Org1", prefix=prefix)
        with pytest.raises(StoreError, match="access denied"):
            intruder.put(b"outside the prefix " + prefix.encode())
    own = org_store(s3_server, identities, "Org1", prefix="Org1")
    assert own.get(own.put(b"inside")) == b"inside"


def test_an_org_cannot_create_buckets(s3_server: ObjectStoreServer,
                                      identities: Identities) -> None:
    client = org_store(s3_server, identities, "Org1").client
    with pytest.raises(ClientError):
        client.create_bucket(Bucket="org1-own-bucket")
    names = [b["Name"] for b in s3_server.admin_client().list_buckets()["Buckets"]]
    assert names == [s3_server.bucket]


# --- bad input ---------------------------------------------------------------------------------

def test_unknown_bucket(s3_server: ObjectStoreServer, identities: Identities) -> None:
    key, secret = identities["Org1"]
    with pytest.raises(StoreError, match="nosuch-bucket.*(access denied|does not exist)"):
        open_store("s3://nosuch-bucket/Org1", s3_server.endpoint, access_key=key,
                   secret_key=secret)
    admin_key, admin_secret = s3_server.admin_credentials()
    with pytest.raises(StoreError, match="nosuch-bucket.*the bucket does not exist"):
        open_store("s3://nosuch-bucket/x", s3_server.endpoint, access_key=admin_key,
                   secret_key=admin_secret)
    unchecked = open_store("s3://nosuch-bucket/Org1", s3_server.endpoint, access_key=key,
                           secret_key=secret, check=False)
    with pytest.raises(StoreError, match=r"s3://nosuch-bucket/Org1/.*failed: access denied"):
        unchecked.put(b"x")
    names = [b["Name"] for b in s3_server.admin_client().list_buckets()["Buckets"]]
    assert "nosuch-bucket" not in names


@pytest.mark.parametrize(("which", "cause"), [
    ("secret", "the secret key is wrong"), ("key", "does not know this access key")])
def test_wrong_credentials(s3_server: ObjectStoreServer, identities: Identities,
                           which: str, cause: str) -> None:
    key, secret = identities["Org1"]
    if which == "secret":
        secret = "not-the-secret"
    else:
        key = "nobody-knows-me"
    url = "s3://fedfabric/Org1/wrong-credentials"
    with pytest.raises(StoreError, match=f"s3://fedfabric/Org1/wrong-credentials: .*{cause}"):
        open_store(url, s3_server.endpoint, access_key=key, secret_key=secret)
    store = open_store(url, s3_server.endpoint, access_key=key, secret_key=secret,
                       check=False)
    with pytest.raises(StoreError, match=cause):
        store.put(b"x")
    assert keys_under(s3_server, "Org1/wrong-credentials") == []


def test_unreachable_endpoint() -> None:
    port = free_port_range(39000)
    with pytest.raises(StoreError, match=f"cannot connect to the S3 endpoint .*:{port}"):
        open_store("s3://fedfabric/Org1", f"http://127.0.0.1:{port}", access_key="a",
                   secret_key="b", attempts=1)


@pytest.mark.parametrize("url", [
    "s3://", "s3:///prefix", "s3://UPPER/x", "s3://ab/x", "s3://b_k/x", "s3://a..b/x",
    "s3://bucket/a//b", "s3://bucket/../x", "s3://bucket/x?versionId=1", "s3://bucket/x#frag",
    "gs://bucket/x", "http://127.0.0.1/x", "file://remote-host/path", "", "   "])
def test_malformed_urls(url: str) -> None:
    with pytest.raises(StoreError, match="store URL"):
        open_store(url, "http://127.0.0.1:1", access_key="a", secret_key="b")


def test_local_urls(tmp_path: Path) -> None:
    for url in (f"file://{tmp_path}/a", str(tmp_path / "b")):
        store = open_store(url)
        assert isinstance(store, LocalStore) and store.root == Path(url.removeprefix("file://"))
    assert open_store(f"file://{tmp_path}/a").get(open_store(str(tmp_path / "a")).put(b"x"))


# --- a crash mid-upload ------------------------------------------------------------------------

@pytest.fixture
def own_server(weed: Path, tmp_path: Path) -> Iterator[tuple[ObjectStoreServer, Identities]]:
    """A server of its own, on other ports: this test stops and restarts it."""
    identities = make_identities("Org1")
    server = ObjectStoreServer(tmp_path / "server", free_port_range(), weed=weed)
    server.up(identities)
    yield server, identities
    server.down(timeout=5)


def test_server_stopped_mid_upload(own_server: tuple[ObjectStoreServer, Identities],
                                   tmp_path: Path) -> None:
    server, identities = own_server
    store = org_store(server, identities, "Org1", prefix="Org1/crash", attempts=2)
    source = tmp_path / "model.bin"
    data = os.urandom(40 << 20)  # eight 5 MiB parts
    source.write_bytes(data)
    digest = sha256(data)
    sent: list[int] = []

    def crash_after_two_parts(**_: object) -> None:
        sent.append(1)
        if len(sent) == 2:
            server.down(timeout=2)  # the server dies between two parts

    store.client.meta.events.register("after-call.s3.UploadPart", crash_after_two_parts)
    with pytest.raises(StoreError) as e:
        store.put_file(source)
    message = str(e.value)
    assert f"s3://{server.bucket}/Org1/crash/{digest[:2]}/{digest}" in message
    assert "cannot connect to the S3 endpoint" in message and str(source) in message
    assert len(sent) == 2 and server.status().running is False

    store.client.meta.events.unregister("after-call.s3.UploadPart", crash_after_two_parts)
    server.up(identities)
    assert not store.has(digest)
    assert keys_under(server, "Org1/crash") == []
    assert store.put_file(source) == digest  # the retry
    store.get_file(digest, tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == data


def test_a_failed_multipart_upload_is_aborted(s3_server: ObjectStoreServer,
                                              identities: Identities, tmp_path: Path) -> None:
    store = org_store(s3_server, identities, "Org1")
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(12 << 20))  # three parts

    def drop_the_second_part(params: dict[str, object], **_: object) -> None:
        if params.get("PartNumber") == 2:
            raise ConnectionClosedError(endpoint_url=s3_server.endpoint)

    store.client.meta.events.register("before-parameter-build.s3.UploadPart",
                                      drop_the_second_part)
    with pytest.raises(StoreError, match="the unfinished upload was aborted"):
        store.put_file(source)
    uploads = s3_server.admin_client().list_multipart_uploads(Bucket=s3_server.bucket,
                                                              Prefix=store.prefix)
    assert uploads.get("Uploads", []) == []
    assert keys_under(s3_server, store.prefix) == []


# --- the command line --------------------------------------------------------------------------

def test_cli_store_up_status_down(weed: Path, tmp_path: Path) -> None:
    runner, root, port = CliRunner(), tmp_path / "store", free_port_range()
    try:
        result = runner.invoke(app, ["store", "up", "--dir", str(root), "--port", str(port),
                                     "--orgs", "2"])
        assert result.exit_code == 0, result.output
        assert f"http://127.0.0.1:{port}" in result.output
        for org in ("Org1MSP", "Org2MSP"):
            path = root / "credentials" / f"{org}.json"
            assert str(path) in result.output
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        creds = json.loads((root / "credentials" / "Org2MSP.json").read_text())
        store = open_store(creds["url"], creds["endpoint"], access_key=creds["access_key"],
                           secret_key=creds["secret_key"])
        assert isinstance(store, S3Store) and store.get(store.put(b"via the CLI")) == b"via the CLI"
        status = runner.invoke(app, ["store", "status", "--dir", str(root), "--json"])
        assert status.exit_code == 0 and json.loads(status.output)["orgs"] == ["Org1MSP",
                                                                                "Org2MSP"]
    finally:
        down = runner.invoke(app, ["store", "down", "--dir", str(root)])
    assert down.exit_code == 0 and "stopped" in down.output
    assert runner.invoke(app, ["store", "status", "--dir", str(root)]).exit_code == 1
