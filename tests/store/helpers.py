"""Helpers of the store tests: free ports, identities, an organisation's store."""

from __future__ import annotations

import os
import secrets
import uuid

from fedfabric.admin.objectstore import PORTS, ObjectStoreServer, port_free
from fedfabric.store import S3Store
from fedfabric.store.url import s3_client

PART = 5 << 20  # the smallest part S3 (and SeaweedFS) accepts: 20 MiB goes in 4 parts
Identities = dict[str, tuple[str, str]]


def free_port_range(start: int | None = None) -> int:
    """The first base port from start (stepping by 10) whose PORTS ports are all free."""
    base = start or int(os.environ.get("FEDFABRIC_TEST_S3_PORT", "28333"))
    for candidate in range(base, base + 500, 10):
        if all(port_free(p) for p in range(candidate, candidate + PORTS)):
            return candidate
    raise RuntimeError(f"no {PORTS} free ports between {base} and {base + 500}")


def make_identities(*orgs: str) -> Identities:
    return {org: (f"{org.lower()}-{secrets.token_hex(6)}", secrets.token_urlsafe(24))
            for org in orgs}


def org_store(server: ObjectStoreServer, identities: Identities, org: str,
              prefix: str | None = None, attempts: int = 3) -> S3Store:
    """org's store under a fresh prefix of its own (tests do not see each other's blobs)."""
    client = s3_client(server.endpoint, access_key=identities[org][0],
                       secret_key=identities[org][1], attempts=attempts)
    if prefix is None:
        prefix = f"{org}/t-{uuid.uuid4().hex[:12]}"
    return S3Store(server.bucket, prefix, client, part_size=PART)
