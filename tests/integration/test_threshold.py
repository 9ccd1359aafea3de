"""Threshold CKKS on the real network: the members make the keys themselves, a quorum fixes the
collective key, any t members decrypt the aggregate together, and a bad decryption share is
detected and left out."""

from __future__ import annotations

import datetime
import json
import logging
import uuid
from pathlib import Path

import numpy as np
import pytest

import fedfabric.he  # noqa: F401  (TenSEAL first)
from fedfabric.fl import rounds, threshold
from fedfabric.fl.encoding import Encoding
from fedfabric.he import ThresholdCKKS
from fedfabric.keys import org_key, public_pem
from fedfabric.ledger import InvalidArgument
from fedfabric.ledger.schema import Participant, Task, TaskSpec
from fedfabric.store import LocalStore, sha256
from support.consortium import make_consortium, wait_for

ORGS = ("Org1", "Org2", "Org3")
LENGTH = 5000
LOG = logging.getLogger("test.threshold")


class ThresholdTask:
    """A started threshold-ckks task over the three orgs (t = 2), driven through the SDK."""

    def __init__(self, ledgers, root: Path, length: int = LENGTH) -> None:
        self.ledgers, self.store = ledgers, LocalStore(root / "blobs")
        self.length = length
        self.keys = {o: org_key(root / "keys", f"{o}MSP") for o in ORGS}
        self.id = f"th-{uuid.uuid4().hex[:8]}"
        later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
        datasets = {}
        for org in ORGS:
            admin = ledgers[(org, "Admin")]
            admin.tasks.ensure_key(f"{org}MSP", public_pem(self.keys[org].public_key()))
            did = f"{self.id}-{org.lower()}"
            admin.datasets.register(did, "d", sha256(did.encode()), "u", {}, 10, {})
            if org != "Org1":
                admin.datasets.grant(did, "Org1MSP", "training", later)
            datasets[org] = did
        params = self.store.put(json.dumps(ThresholdCKKS.parameters()).encode())
        created = ledgers[("Org1", "Admin")].tasks.create(TaskSpec(
            id=self.id, app_hash=sha256(b"app"), model_spec_hash=sha256(b"spec"),
            initial_weights_hash=sha256(b"w"), initial_weights_uri="u",
            he_scheme="threshold-ckks", he_context_hash=params, he_context_uri="u",
            participants=[Participant(f"{o}MSP", datasets[o], 10) for o in ORGS], rounds=1,
            min_updates=2, quorum=2, threshold=2, round_timeout=600))
        for org in ORGS:
            bundle = threshold.make_key_bundle(created, f"{org}MSP", self.keys[org],
                                               ledgers[(org, "Admin")], self.store,
                                               root / "state" / org)
            ledgers[(org, "Admin")].tasks.join(self.id, created.terms_hash, bundle)
        ledgers[("Org1", "User1")].tasks.start(self.id)
        members = threshold.bundles(ledgers[("Org1", "User1")], self.store, self.task)
        key = self.store.put(threshold.collective_key(self.store, self.task, members))
        for org in ORGS:
            ledgers[(org, "User1")].tasks.endorse_key(self.id, key)
        ledgers[("Org2", "User1")].tasks.finalize_key(self.id)
        self.scheme = ThresholdCKKS(self.store.get(key))
        self.secrets = {o: threshold.threshold_secret(self.store, self.task, f"{o}MSP",
                                                      self.keys[o], members) for o in ORGS}

    @property
    def task(self) -> Task:
        return self.ledgers[("Org3", "User1")].tasks.get(self.id)

    def play_round(self, shares: bool = False, dissent: str | None = None
                   ) -> dict[str, np.ndarray]:
        """Every org submits an update (samples 10); Org1 and Org2 (or Org1 and Org3 when
        dissent names Org2) aggregate, endorse and finalize. shares: the first decryption set
        posts its shares with its endorsements; dissent: that org endorses (and, with shares,
        decrypts) an aggregate of its own instead."""
        sent = {}
        encoding = Encoding.of(self.task, self.length)
        for i, org in enumerate(ORGS):
            sent[org] = np.random.default_rng(i).normal(0, 3, self.length)
            manifest, shards = rounds.encrypt_update(
                self.store, self.scheme, encoding, sent[org], 10,
                {"kind": "update", "task_id": self.id, "round": 1, "writer": f"{org}MSP",
                 "samples": 10})
            self.ledgers[(org, "User1")].tasks.submit_update(self.id, 1, manifest, shards, 10)
        self.ledgers[("Org1", "User1")].tasks.close_round(self.id, 1)
        endorsers = ("Org1", "Org2") if dissent is None else ("Org1", dissent, "Org3")
        for org in endorsers:
            rnd = self.ledgers[(org, "User1")].tasks.round(self.id, 1)
            digest = rounds.aggregate(self.store, self.scheme, self.task, rnd,
                                      self.length).digest
            if org == dissent:  # an aggregate of zeros, stored like any other
                digest, _ = rounds.encrypt_update(self.store, self.scheme, encoding,
                                                  np.zeros(self.length), 0,
                                                  self.store.get_manifest(digest).meta)
            share = ""
            if shares and f"{org}MSP" in threshold.first_set(self.task, rnd):
                share = threshold.post_share(self.store, self.task, rnd, 0,
                                             threshold.first_set(self.task, rnd), f"{org}MSP",
                                             self.secrets[org], digest,
                                             self.store.get_manifest(digest), [self.store])
            self.ledgers[(org, "User1")].tasks.endorse_aggregate(self.id, 1, digest, "u", share)
        self.ledgers[("Org3", "User1")].tasks.finalize_round(self.id, 1)
        return sent

    def decrypt(self, org: str) -> np.ndarray | None:
        """One pass of org's side of the joint decryption."""
        rnd = self.ledgers[(org, "User1")].tasks.round(self.id, 1)
        manifest, areas = rounds.final_manifest(self.store, rnd, ["Org1MSP"])
        samples = rounds.final_samples(manifest, self.task, rnd)
        return threshold.decrypt_round(self.ledgers[(org, "User1")], self.store, self.task, rnd,
                                       f"{org}MSP", self.secrets[org], manifest, areas,
                                       self.length, samples, LOG)

    def decrypt_all(self) -> dict[str, np.ndarray]:
        results: dict[str, np.ndarray] = {}

        def step() -> bool:
            for org in ORGS:
                if org not in results:
                    got = self.decrypt(org)
                    if got is not None:
                        results[org] = got
            return len(results) == len(ORGS)

        wait_for("every member to decrypt", step, timeout=120)
        return results


def relative_error(result: np.ndarray, expected: np.ndarray) -> float:
    return float(np.max(np.abs(result - expected)) / np.max(np.abs(expected)))


def share_attempts(ledgers, task: ThresholdTask) -> set[tuple[int, str]]:
    """(attempt, member) of every decryption share posted for round 1."""
    return {(s.attempt, s.msp_id)
            for s in ledgers[("Org1", "User1")].tasks.decryption_shares(task.id, 1)}


def test_t_members_decrypt_the_aggregate_and_no_one_alone(ledgers, tmp_path):
    task = ThresholdTask(ledgers, tmp_path)
    assert task.task.collective_key_hash and task.task.current_round == 1
    sent = task.play_round()
    results = task.decrypt_all()
    expected = sum(sent.values())
    for org, result in results.items():  # every member gets the same, right sum
        assert relative_error(result, expected) < 1e-4, org
        assert np.array_equal(result, results["Org1"])
    shares = ledgers[("Org1", "User1")].tasks.decryption_shares(task.id, 1)
    assert sorted(s.msp_id for s in shares) == ["Org1MSP", "Org2MSP"]  # t of them, not all


def test_a_tampered_decryption_share_is_left_out_and_the_result_is_still_right(ledgers,
                                                                                  tmp_path):
    task = ThresholdTask(ledgers, tmp_path)
    sent = task.play_round()
    assert task.decrypt("Org1") is None and task.decrypt("Org2") is None  # both posted
    share = next(s for s in ledgers[("Org1", "User1")].tasks.decryption_shares(task.id, 1)
                 if s.msp_id == "Org2MSP")
    part = json.loads(task.store.get(share.share_hash))["parts"][0]
    (task.store.root / part[:2] / part).write_bytes(b"tampered")  # in the store, after posting
    results = task.decrypt_all()
    expected = sum(sent.values())
    assert all(relative_error(r, expected) < 1e-4 for r in results.values())
    assert share_attempts(ledgers, task) == {(0, "Org1MSP"), (0, "Org2MSP"), (1, "Org1MSP"),
                                             (1, "Org3MSP")}


def test_shares_posted_with_the_endorsements_decrypt_the_round_with_no_more_blocks(
        ledgers, tmp_path):
    task = ThresholdTask(ledgers, tmp_path, length=300_000)  # two segments
    sent = task.play_round(shares=True)
    tasks = ledgers[("Org1", "User1")].tasks
    assert len(task.store.get_manifest(tasks.round(task.id, 1).final_hash).segments) == 2
    height = ledgers[("Org1", "User1")].block_height()
    results = {org: task.decrypt(org) for org in ORGS}  # one pass each: nothing to wait for
    expected = sum(sent.values())
    for org, result in results.items():
        assert result is not None, org
        assert relative_error(result, expected) < 1e-4, org
    assert ledgers[("Org1", "User1")].block_height() == height  # nobody posted anything more
    final = tasks.round(task.id, 1).final_hash
    assert {(s.attempt, s.msp_id, s.aggregate_hash) for s in
            tasks.decryption_shares(task.id, 1)} == {(0, "Org1MSP", final),
                                                     (0, "Org2MSP", final)}
    assert {e.msp_id: bool(e.share_hash) for e in tasks.endorsements(task.id, 1)} == {
        "Org1MSP": True, "Org2MSP": True}


def test_a_share_of_an_aggregate_the_quorum_did_not_finalize_is_left_out(ledgers, tmp_path):
    task = ThresholdTask(ledgers, tmp_path)
    sent = task.play_round(shares=True, dissent="Org2")  # in the first set, decrypting zeros
    results = task.decrypt_all()
    expected = sum(sent.values())
    assert all(relative_error(r, expected) < 1e-4 for r in results.values())
    assert share_attempts(ledgers, task) == {(0, "Org1MSP"), (0, "Org2MSP"), (1, "Org1MSP"),
                                             (1, "Org3MSP")}


def test_shares_outside_the_rules_are_refused(ledgers, tmp_path):
    task = ThresholdTask(ledgers, tmp_path)
    task.play_round()
    tasks = ledgers[("Org1", "User1")].tasks
    with pytest.raises(InvalidArgument):
        tasks.submit_decryption_share(task.id, 1, 64, sha256(b"x"))  # no such attempt
    with pytest.raises(InvalidArgument):
        tasks.submit_decryption_share(task.id, 1, 0, "not a hash")


def test_one_member_gone_after_round_one_and_the_task_completes(network, profile, ledgers,
                                                                tmp_path):
    """t = 2 of 3: Org3 stops before its round-2 update; the round closes by timeout and
    Org1 and Org2 decrypt without it."""
    consortium = make_consortium(network, profile, tmp_path, ledgers[("Org3", "User1")])
    try:
        consortium.start("Org1")
        consortium.start("Org2")
        consortium.start("Org3", env={"FEDFABRIC_PARTICIPANT_HOLD": "submit:2"})
        task_id = consortium.create("--rounds", "2", "--round-timeout", "20")
        wait_for("the task to complete", lambda: consortium.history(task_id).task.status ==
                 "COMPLETED", timeout=300)
        h = consortium.history(task_id)
        assert h.task.he_scheme == "threshold-ckks" and h.task.threshold == 2
        assert sorted(i.msp_id for i in h.rounds[1].included) == ["Org1MSP", "Org2MSP"]
        wait_for("Org1 and Org2 to record round 2's metrics", lambda: len(
            consortium.history(task_id).rounds[1].metrics) == 2, timeout=60)
        assert all(m.metrics["accuracy"] > 0.5 for r in h.rounds for m in r.metrics)
    finally:
        consortium.services.stop_all()
