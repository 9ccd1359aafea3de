"""Aggregation under failure and attack, on the real network: tampered and malformed updates are
left out identically by every honest aggregator, a wrong aggregate does not finalize, and too
few surviving updates are never decrypted as an 'aggregate'."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import fedfabric.he  # noqa: F401  (TenSEAL first)
from fedfabric.fl import rounds
from fedfabric.he import CKKS
from fedfabric.ledger.schema import Included
from fedfabric.store import MANIFEST_LIMIT, SEGMENT_LIMIT, LocalStore, Manifest
from support.smalltask import LENGTH, ORGS, SmallTask


@pytest.fixture(scope="module")
def ckks() -> CKKS:
    return CKKS.generate()


def test_a_tampered_update_is_left_out_by_every_honest_aggregator(ledgers, ckks, tmp_path):
    store = LocalStore(tmp_path / "blobs")
    task = SmallTask(ledgers, store, ckks)
    for org in ORGS:
        task.submit(org, 1)
    closed = task.close(1)
    assert closed.status == "CLOSED"
    tampered = next(i for i in closed.included if i.msp_id == "Org3MSP")
    shard = store.get_manifest(tampered.manifest_hash).segments[0]
    (store.root / shard[:2] / shard).write_bytes(b"not the ciphertext")

    results = [task.aggregate(org, 1) for org in ("Org1", "Org2")]
    assert all(list(r.excluded) == ["Org3MSP"] for r in results)
    assert results[0].digest == results[1].digest
    task.finalize(1)
    assert task.round(1).status == "FINALIZED"
    honest = task.sent[("Org1", 1)] + task.sent[("Org2", 1)]
    assert np.allclose(task.decrypted(1), honest, atol=1e-6)
    assert store.get_manifest(task.round(1).final_hash).meta["samples"] == 20


def test_malformed_updates_are_excluded_alike_and_never_stop_aggregation(ledgers, ckks,
                                                                         tmp_path):
    """A hostile member can submit anything: another shard count, bytes that are not a
    ciphertext, another scale, a manifest naming another writer or round. Each is excluded,
    with the same result at every aggregator."""
    import tenseal as ts

    store = LocalStore(tmp_path / "blobs")
    task = SmallTask(ledgers, store, ckks)
    honest = {"kind": "update", "task_id": task.id, "round": 1, "samples": 10}
    other = ts.context(ts.SCHEME_TYPE.CKKS, 8192, coeff_mod_bit_sizes=[60, 60])
    other.global_scale = 2.0**30
    wrong_scale = [bytes(ts.ckks_vector(other, [1.0] * 4096).serialize()),
                   bytes(ts.ckks_vector(other, [1.0] * 904).serialize())]
    good = ckks.encrypt(np.ones(LENGTH))
    oversized = store.put(b"s" * (SEGMENT_LIMIT + 1))  # read no further than the limit
    cases = {
        "one shard": store.put_shards(good[:1], LENGTH, "ckks", {**honest, "writer": "Org3MSP"}),
        "not a ciphertext": store.put_shards([b"x" * 100, good[1]], LENGTH, "ckks",
                                             {**honest, "writer": "Org3MSP"}),
        "another scale": store.put_shards(wrong_scale, LENGTH, "ckks",
                                          {**honest, "writer": "Org3MSP"}),
        "another writer": store.put_shards(good, LENGTH, "ckks", {**honest, "writer": "Org1MSP"}),
        "another round": store.put_shards(good, LENGTH, "ckks",
                                          {**honest, "round": 2, "writer": "Org3MSP"}),
        "not a manifest": store.put(b"{\"shards\": 3}"),
        "an oversized manifest": store.put(b"{" + b" " * MANIFEST_LIMIT + b"}"),
        "an oversized segment": store.put_manifest(Manifest(
            [oversized], 2, LENGTH, "ckks", {**honest, "writer": "Org3MSP"})),
    }
    task.submit("Org1", 1)
    task.submit("Org2", 1)
    submitted = [Included(u.msp_id, u.manifest_hash, u.samples)
                 for u in ledgers[("Org1", "User1")].tasks.updates(task.id, 1)]
    for name, manifest in cases.items():
        # The round as it would close with Org3's malformed update included.
        closed = dataclasses.replace(task.round(1), status="CLOSED", included=[
            *submitted, Included("Org3MSP", manifest, 10)])
        first = rounds.aggregate(store, ckks, task.task, closed, LENGTH)
        second = rounds.aggregate(store, ckks, task.task, closed, LENGTH)
        assert list(first.excluded) == ["Org3MSP"], name
        assert first.digest == second.digest, name

    # Through the chain: Org3 submits the worst of them; the round still finalizes correctly.
    task.submit("Org3", 1, cases["another scale"])
    task.close(1)
    results = [task.aggregate(org, 1) for org in ("Org1", "Org3")]
    assert results[0].digest == results[1].digest and list(results[0].excluded) == ["Org3MSP"]
    task.finalize(1)
    assert np.allclose(task.decrypted(1), task.sent[("Org1", 1)] + task.sent[("Org2", 1)],
                       atol=1e-6)


def test_an_update_cannot_be_submitted_twice_under_another_name(ledgers, ckks, tmp_path):
    from fedfabric.ledger import AlreadyExists

    store = LocalStore(tmp_path / "blobs")
    task = SmallTask(ledgers, store, ckks)
    task.submit("Org1", 1)
    mine = ledgers[("Org1", "User1")].tasks.updates(task.id, 1)[0].manifest_hash
    with pytest.raises(AlreadyExists, match="already submitted by Org1MSP"):
        task.submit("Org2", 1, mine)  # free-riding on Org1's update
    assert [u.msp_id for u in ledgers[("Org1", "User1")].tasks.updates(task.id, 1)] == \
        ["Org1MSP"]


def test_a_wrong_aggregate_does_not_finalize_and_the_honest_quorum_does(ledgers, ckks,
                                                                       tmp_path):
    from fedfabric.ledger import FailedPrecondition

    store = LocalStore(tmp_path / "blobs")
    task = SmallTask(ledgers, store, ckks)
    for org in ORGS:
        task.submit(org, 1)
    task.close(1)
    bogus = store.put_shards(ckks.encrypt(np.zeros(LENGTH)), LENGTH, "ckks")
    ledgers[("Org3", "User1")].tasks.endorse_aggregate(task.id, 1, bogus, store.uri(bogus))
    first = task.aggregate("Org1", 1)
    with pytest.raises(FailedPrecondition, match="1 of the 2 agreeing"):
        task.finalize(1)  # one honest, one wrong: no quorum
    assert task.round(1).status == "CLOSED"
    second = task.aggregate("Org2", 1)
    task.finalize(1)
    assert task.round(1).final_hash == first.digest == second.digest != bogus
    assert np.allclose(task.decrypted(1), sum(task.sent[(o, 1)] for o in ORGS), atol=1e-6)


def test_one_surviving_update_is_never_aggregated(ledgers, ckks, tmp_path):
    store = LocalStore(tmp_path / "blobs")
    task = SmallTask(ledgers, store, ckks)
    task.submit("Org1", 1)
    for org, writer in (("Org2", "Org1MSP"), ("Org3", "Org2MSP")):  # misattributed: excluded
        planted = store.put_shards(ckks.encrypt(np.ones(LENGTH)), LENGTH, "ckks", {
            "kind": "update", "task_id": task.id, "round": 1, "writer": writer, "samples": 10})
        task.submit(org, 1, planted)
    closed = task.close(1)
    with pytest.raises(rounds.NoAggregate, match="only 1 of 3"):
        rounds.aggregate(store, ckks, task.task, closed, LENGTH)
