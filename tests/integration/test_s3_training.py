"""Organisations that exchange every blob through a real S3 server (SeaweedFS), each with its own
credentials that let it write only under its own prefix."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import fedfabric.he  # noqa: F401  (TenSEAL first)
from fedfabric.admin.objectstore import PORTS, ObjectStoreServer, ensure_weed, port_free
from fedfabric.he import CKKS
from fedfabric.store import S3Store, StoreError, open_store
from support.consortium import ORGS, cli, make_consortium, wait_for
from support.smalltask import SmallTask

MSPS = [f"{o}MSP" for o in ORGS]


def _free_base(start: int) -> int:
    for base in range(start, start + 400, 10):
        if all(port_free(p) for p in range(base, base + PORTS)):
            return base
    raise RuntimeError(f"no {PORTS} free ports from {start}")


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ObjectStoreServer,
                                                                  dict[str, Path]]]:
    """The S3 server, one identity per organisation (named by MSP id: also its prefix)."""
    server = ObjectStoreServer(tmp_path_factory.mktemp("s3"), _free_base(int(os.environ.get(
        "FEDFABRIC_TEST_S3_TRAINING_PORT", "28633"))), weed=ensure_weed())
    identities = {m: (f"{m.lower()}-{secrets.token_hex(6)}", secrets.token_urlsafe(24))
                  for m in MSPS}
    server.up(identities)
    try:
        yield server, server.write_credentials(identities)
    finally:
        server.down(timeout=5)


def _org_store(server: ObjectStoreServer, credentials: dict[str, Path], msp: str) -> S3Store:
    import json

    c = json.loads(credentials[msp].read_text())
    store = open_store(c["url"], c["endpoint"], access_key=c["access_key"],
                       secret_key=c["secret_key"])
    assert isinstance(store, S3Store)
    return store


def _keys(server: ObjectStoreServer, prefix: str = "") -> list[str]:
    client = server.client(*server.admin_credentials())
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=server.bucket,
                                                            Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def test_a_task_exchanges_every_blob_through_s3(network, profile, ledgers, s3, tmp_path):
    server, credentials = s3
    consortium = make_consortium(network, profile, tmp_path, ledgers[("Org3", "User1")])
    try:
        for org, msp in zip(ORGS, MSPS, strict=True):
            consortium.services.start(org, consortium.app.root, consortium.data[org],
                                      ["--store-credentials", str(credentials[msp])])
        created = cli("task", "create", "--app", str(consortium.app.root), "--org", "Org1",
                      "--profile", str(consortium.services.profile("Org1")),
                      "--store-credentials", str(credentials["Org1MSP"]), "--rounds", "2",
                      *[a for o in ORGS for a in ("-p", f"{o}MSP={consortium.datasets[o]}")])
        assert created.returncode == 0, created.stderr
        task_id = created.stdout.strip().splitlines()[-1]
        wait_for("the task to complete", lambda: consortium.history(task_id).task.status ==
                 "COMPLETED" and len(consortium.history(task_id).rounds[-1].metrics) == 3,
                 timeout=300)
        history = consortium.history(task_id)
        for r in history.rounds:
            for u in r.updates:  # each update sits under its submitter's own prefix
                assert _org_store(server, credentials, u.msp_id).has(u.manifest_hash)
            for e in r.endorsements:  # and each aggregator's copy under its own
                assert _org_store(server, credentials, e.msp_id).has(e.aggregate_hash)
        assert all(_keys(server, f"{m}/") for m in MSPS)
        assert all(k.split("/")[0] in MSPS for k in _keys(server))  # only under their prefixes
        local = network.layout.root / "blobs"  # and none went to the local directory
        assert not any((local / u.manifest_hash[:2] / u.manifest_hash).exists()
                       for r in history.rounds for u in r.updates)
    finally:
        consortium.services.stop_all()


def test_a_blob_tampered_in_the_bucket_is_excluded_alike_by_every_aggregator(ledgers, s3):
    server, credentials = s3
    stores = {o: _org_store(server, credentials, f"{o}MSP") for o in ORGS}
    ckks = CKKS.generate()
    task = SmallTask(ledgers, stores, ckks)
    for org in ORGS:
        task.submit(org, 1)
    closed = task.close(1)
    org3 = next(i for i in closed.included if i.msp_id == "Org3MSP")
    shard = stores["Org3"].get_manifest(org3.manifest_hash).segments[0]
    # Org1 cannot plant anything under Org3's prefix: the server refuses it.
    with pytest.raises(StoreError):
        stores["Org1"].sibling("Org3MSP").put(b"planted")
    # Whoever can write there (here the server's admin) can damage it: readers detect it.
    admin = server.client(*server.admin_credentials())
    admin.put_object(Bucket=server.bucket, Key=stores["Org3"].key(shard), Body=b"damaged")

    results = [task.aggregate(org, 1) for org in ("Org1", "Org2")]
    assert all(list(r.excluded) == ["Org3MSP"] for r in results)
    assert results[0].digest == results[1].digest
    task.finalize(1)
    assert np.allclose(task.decrypted(1), task.sent[("Org1", 1)] + task.sent[("Org2", 1)],
                       atol=1e-6)
