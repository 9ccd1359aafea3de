"""A closed round's aggregate decrypted from the first set's shares before it is finalized
(fl.threshold.decrypt_early): real threshold CKKS, a real blob store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from fedfabric.fl import rounds, threshold
from fedfabric.fl.encoding import Encoding
from fedfabric.he import ThresholdCKKS
from fedfabric.he import threshold as th
from fedfabric.ledger.schema import DecryptionShare, Included, Participant, Round, Task
from fedfabric.store import LocalStore, StoreError

ORGS = ["Org1MSP", "Org2MSP", "Org3MSP"]
LENGTH = 5_000


def make_task() -> Task:
    return Task(id="t", initiator_msp="Org1MSP", app_hash="a", model_spec_hash="s",
                initial_weights_hash="w", initial_weights_uri="u", he_scheme="threshold-ckks",
                he_context_hash="c", he_context_uri="u", strategy="fedavg",
                participants=[Participant(m, f"d{i}", 100) for i, m in enumerate(ORGS)],
                rounds=1, min_updates=2, quorum=2, threshold=2, status="ACTIVE",
                current_round=1, members=list(ORGS), created_at="", updated_at="",
                terms_hash="h", tx_id="x")


@dataclass
class Closed:
    """A closed round of three real threshold-CKKS updates in a real store."""

    task: Task
    store: LocalStore
    scheme: ThresholdCKKS
    secrets: dict[str, bytes]
    updates: dict[str, np.ndarray]
    rnd: Round


def closed_round(tmp_path: Path, length: int = LENGTH) -> Closed:
    task, store = make_task(), LocalStore(tmp_path)
    crs = threshold.crs(task)
    keys = [th.keygen(crs) for _ in ORGS]
    scheme = ThresholdCKKS(th.combine_public_key(crs, [share for _, share in keys]))
    points = threshold.points(task)
    sent = [th.shamir_shares(secret, list(points.values()), 2) for secret, _ in keys]
    secrets = {m: th.threshold_secret([s[points[m]] for s in sent]) for m in ORGS}

    rng = np.random.default_rng(7)
    updates = {m: rng.normal(0, 1.0, length) for m in ORGS}
    included = []
    for i, m in enumerate(ORGS):
        manifest, _ = rounds.encrypt_update(
            store, scheme, Encoding.of(task, length), updates[m], 10 + i,
            {"kind": rounds.UPDATE, "task_id": "t", "round": 1, "writer": m, "samples": 10 + i})
        included.append(Included(m, manifest, 10 + i))
    rnd = Round("t", 1, "CLOSED", "", included=included, total_samples=33)
    return Closed(task, store, scheme, secrets, updates, rnd)


def test_the_first_sets_shares_decrypt_the_aggregate_they_were_made_for(tmp_path: Path):
    c = closed_round(tmp_path)
    task, store, secrets, updates, rnd = c.task, c.store, c.secrets, c.updates, c.rnd
    made = rounds.aggregate(store, c.scheme, task, rnd, LENGTH)
    manifest = store.get_manifest(made.digest)
    first = threshold.first_set(task, rnd)
    assert first == ORGS[:2]

    def share(m: str, aggregate: str) -> DecryptionShare:
        digest = threshold.post_share(store, task, rnd, 0, first, m, secrets[m], aggregate,
                                      manifest, [store])
        return DecryptionShare("t", 1, 0, m, m, digest, "", "", aggregate_hash=aggregate)

    shares = [share(m, made.digest) for m in first]
    got = threshold.decrypt_early(store, task, rnd, made.digest, shares, manifest, [store],
                                  LENGTH, 33)
    assert got is not None
    assert np.max(np.abs(got - sum(updates.values()))) < 2e-3  # flooding noise: ~1e-4

    # The check values must equal the round's total samples.
    assert threshold.decrypt_early(store, task, rnd, made.digest, shares, manifest, [store],
                                   LENGTH, 34) is None
    # Not yet decryptable: one share of the set is missing, or endorses another aggregate.
    assert threshold.decrypt_early(store, task, rnd, made.digest, shares[:1], manifest, [store],
                                   LENGTH, 33) is None
    other = DecryptionShare("t", 1, 0, first[1], first[1], shares[1].share_hash, "", "",
                            aggregate_hash="0" * 64)
    assert threshold.decrypt_early(store, task, rnd, made.digest, [shares[0], other], manifest,
                                   [store], LENGTH, 33) is None
    # A share of a later attempt is not attempt 0's.
    later = DecryptionShare("t", 1, 1, first[1], first[1], shares[1].share_hash, "", "",
                            aggregate_hash=made.digest)
    assert threshold.decrypt_early(store, task, rnd, made.digest, [shares[0], later], manifest,
                                   [store], LENGTH, 33) is None


def test_the_aggregate_a_member_keeps_serves_its_share_and_decryption_alike(tmp_path: Path):
    """Its segments held in memory (rounds.Kept) read as the stored ones do, so the share and
    the early decryption need not read the aggregate back; past the budget, the store does."""
    c = closed_round(tmp_path, length=300_000)  # two segments
    made = rounds.aggregate(c.store, c.scheme, c.task, c.rnd, 300_000)
    manifest = c.store.get_manifest(made.digest)
    assert len(manifest.segments) == 2
    for digest in manifest.segments:
        assert made.kept.get_segment(digest) == c.store.get_segment(digest)
    first = threshold.first_set(c.task, c.rnd)

    def decrypted(areas: list[rounds.Area]) -> np.ndarray:
        shares = [DecryptionShare("t", 1, 0, m, m, threshold.post_share(
            c.store, c.task, c.rnd, 0, first, m, c.secrets[m], made.digest, manifest, areas),
            "", "", aggregate_hash=made.digest) for m in first]
        got = threshold.decrypt_early(c.store, c.task, c.rnd, made.digest, shares, manifest,
                                      areas, 300_000, 33)
        assert got is not None
        return got

    from_memory = decrypted([made.kept])  # no store area at all
    assert np.max(np.abs(from_memory - sum(c.updates.values()))) < 2e-3
    assert np.max(np.abs(from_memory - decrypted([c.store]))) < 2e-3  # fresh flooding noise

    first_size = sum(len(s) for s in made.kept.get_segment(manifest.segments[0]))
    one = rounds.aggregate(c.store, c.scheme, c.task, c.rnd, 300_000,
                           keep=first_size)  # room for the first segment only
    assert one.digest == made.digest
    assert one.kept.get_segment(manifest.segments[0]) == made.kept.get_segment(
        manifest.segments[0])
    with pytest.raises(StoreError, match="not kept"):
        one.kept.get_segment(manifest.segments[1])
    assert rounds.read_segment([one.kept, c.store], manifest.segments[1]) == \
        c.store.get_segment(manifest.segments[1])
