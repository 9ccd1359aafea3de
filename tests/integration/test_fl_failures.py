"""Aggregation under failure, on the real network: tampering, a dishonest aggregator, a missing
participant, an aggregator killed mid-task."""

from __future__ import annotations

import datetime
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

import fedfabric.he  # noqa: F401  (TenSEAL first)
from fedfabric.fl import Aggregator
from fedfabric.he import CKKS
from fedfabric.ledger.schema import Participant, TaskSpec
from fedfabric.store import LocalStore, sha256

ORGS = ("Org1", "Org2", "Org3")
LATER = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)


@pytest.fixture(scope="module")
def ckks() -> CKKS:
    return CKKS.generate()


class SmallTask:
    """A 2-round task over the three orgs with 100-value updates (no TensorFlow needed)."""

    def __init__(self, ledgers, profile, store: LocalStore, ckks: CKKS, min_updates: int = 3):
        self.ledgers, self.store, self.ckks = ledgers, store, ckks
        self.id = f"fl-{uuid.uuid4().hex[:8]}"
        self.datasets = {}
        for org in ORGS:
            did = f"{self.id}-{org.lower()}"
            admin = ledgers[(org, "Admin")]
            admin.datasets.register(did, "d", sha256(did.encode()), "u", {}, 10, {})
            if org != "Org1":
                admin.datasets.grant(did, "Org1MSP", "training", LATER)
            self.datasets[org] = did
        gateway = profile.connect("Org1")
        self.start_block = gateway.get_network(profile.channel).block_height()
        gateway.close()
        context = store.put(ckks.public_bytes())
        ledgers[("Org1", "Admin")].tasks.create(TaskSpec(
            id=self.id, model_spec_hash=sha256(b"spec"), initial_weights_hash=sha256(b"w"),
            initial_weights_uri="u", he_context_hash=context, he_context_uri=store.uri(context),
            participants=[Participant(f"{o}MSP", self.datasets[o]) for o in ORGS], rounds=2,
            min_updates=min_updates, quorum=2, strategy="fedavg"))
        self.sent: dict[tuple[str, int], np.ndarray] = {}

    def submit(self, org: str, round: int) -> None:
        vector = np.random.default_rng(hash((org, round)) % 2**32).normal(0, 5, 100)
        manifest = self.store.put_shards(self.ckks.encrypt(vector), 100, "ckks")
        self.ledgers[(org, "User1")].tasks.submit_update(self.id, round, manifest, 1, 10,
                                                        self.datasets[org])
        self.sent[(org, round)] = vector

    def round(self, n: int):
        return self.ledgers[("Org3", "User1")].tasks.round(self.id, n)

    def aggregator(self, org: str, profile, tmp: Path) -> Aggregator:
        gateway = profile.connect(org)
        network = gateway.get_network(profile.channel)
        return Aggregator(self.ledgers[(org, "User1")], network, profile.chaincode, self.store,
                          tmp / f"{org}.json", f"{org}MSP")

    def decrypted(self, n: int) -> np.ndarray:
        manifest, shards = self.store.get_shards(self.round(n).final_hash)
        return self.ckks.decrypt(shards, manifest.length)


def test_a_tampered_update_is_left_out_by_every_honest_aggregator(ledgers, profile, ckks,
                                                                   tmp_path):
    store = LocalStore(tmp_path / "blobs")
    task = SmallTask(ledgers, profile, store, ckks)
    for org in ORGS:
        task.submit(org, 1)
    closed = task.round(1)
    assert closed.status == "CLOSED"
    tampered = next(i for i in closed.included if i.msp_id == "Org3MSP")
    shard = store.get_manifest(tampered.manifest_hash).shards[0]
    (store.root / shard[:2] / shard).write_bytes(b"not the ciphertext")

    results = [task.aggregator(org, profile, tmp_path).aggregate_round(task.id, 1,
                                                                       closed.included)
               for org in ("Org1", "Org2")]
    assert all(r is not None and r.excluded == ["Org3MSP"] for r in results)
    assert results[0].aggregate_hash == results[1].aggregate_hash  # type: ignore[union-attr]
    assert task.round(1).status == "FINALIZED"
    honest = task.sent[("Org1", 1)] + task.sent[("Org2", 1)]
    assert np.allclose(task.decrypted(1), honest, atol=1e-6)
    assert store.get_manifest(task.round(1).final_hash).meta["samples"] == 20


def test_a_wrong_aggregate_does_not_finalize_and_the_honest_quorum_does(ledgers, profile, ckks,
                                                                       tmp_path):
    store = LocalStore(tmp_path / "blobs")
    task = SmallTask(ledgers, profile, store, ckks)
    for org in ORGS:
        task.submit(org, 1)
    bogus = store.put_shards(ckks.encrypt(np.zeros(100)), 100, "ckks")
    ledgers[("Org3", "User1")].tasks.endorse_aggregate(task.id, 1, bogus, store.uri(bogus))
    included = task.round(1).included
    first = task.aggregator("Org1", profile, tmp_path).aggregate_round(task.id, 1, included)
    assert first is not None and first.event == "AggregateEndorsed"
    assert task.round(1).status == "CLOSED"  # one honest, one wrong: no quorum
    second = task.aggregator("Org2", profile, tmp_path).aggregate_round(task.id, 1, included)
    assert second is not None and second.event == "RoundFinalized"
    assert task.round(1).final_hash == first.aggregate_hash != bogus
    expected = sum(task.sent[(o, 1)] for o in ORGS)
    assert np.allclose(task.decrypted(1), expected, atol=1e-6)


def test_a_participant_that_never_submits_does_not_block_the_round(ledgers, profile, ckks,
                                                                   tmp_path):
    store = LocalStore(tmp_path / "blobs")
    task = SmallTask(ledgers, profile, store, ckks, min_updates=2)
    task.submit("Org1", 1)
    task.submit("Org2", 1)  # Org3 stays silent
    assert task.round(1).status == "OPEN"
    ledgers[("Org1", "User1")].tasks.close_round(task.id, 1)
    included = task.round(1).included
    assert [i.msp_id for i in included] == ["Org1MSP", "Org2MSP"]
    for org in ("Org1", "Org2"):
        task.aggregator(org, profile, tmp_path).aggregate_round(task.id, 1, included)
    assert task.round(1).status == "FINALIZED"
    assert ledgers[("Org1", "User1")].tasks.get(task.id).current_round == 2


def _wait(predicate, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_an_aggregator_killed_mid_task_resumes_and_the_task_completes(network, ledgers, profile,
                                                                       ckks, tmp_path):
    store = LocalStore(tmp_path / "blobs")
    task = SmallTask(ledgers, profile, store, ckks)

    def service(org: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "fedfabric.cli", "aggregator", "run", "--org", org,
             "--dir", str(network.layout.root), "--store", str(store.root), "--checkpoint",
             str(tmp_path / f"{org}.json"), "--task", task.id,
             "--from-block", str(task.start_block)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    org1, org2 = service("Org1"), service("Org2")
    try:
        for org in ORGS:
            task.submit(org, 1)
        _wait(lambda: task.round(1).status == "FINALIZED")
        _wait(lambda: (tmp_path / "Org2.json").exists())
        org2.send_signal(signal.SIGKILL)
        org2.wait(timeout=30)

        for org in ORGS:
            task.submit(org, 2)
        _wait(lambda: len(ledgers[("Org1", "User1")].tasks.endorsements(task.id, 2)) == 1)
        assert task.round(2).status == "CLOSED"  # Org1 alone is no quorum

        org2 = service("Org2")  # the same checkpoint: resumes after round 1
        assert org2.wait(timeout=120) == 0 and org1.wait(timeout=120) == 0
        assert ledgers[("Org1", "User1")].tasks.get(task.id).status == "COMPLETED"
        expected = sum(task.sent[(o, 2)] for o in ORGS)
        assert np.allclose(task.decrypted(2), expected, atol=1e-6)
    finally:
        for proc in (org1, org2):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
