"""A closed round's aggregate decrypted from the first set's shares before it is finalized
(fl.threshold.decrypt_early): real threshold CKKS, a real blob store."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fedfabric.fl import rounds, threshold
from fedfabric.fl.encoding import Encoding
from fedfabric.he import ThresholdCKKS
from fedfabric.he import threshold as th
from fedfabric.ledger.schema import DecryptionShare, Included, Participant, Round, Task
from fedfabric.store import LocalStore

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


def test_the_first_sets_shares_decrypt_the_aggregate_they_were_made_for(tmp_path: Path):
    task, store = make_task(), LocalStore(tmp_path)
    crs = threshold.crs(task)
    keys = [th.keygen(crs) for _ in ORGS]
    scheme = ThresholdCKKS(th.combine_public_key(crs, [share for _, share in keys]))
    points = threshold.points(task)
    sent = [th.shamir_shares(secret, list(points.values()), 2) for secret, _ in keys]
    secrets = {m: th.threshold_secret([s[points[m]] for s in sent]) for m in ORGS}

    rng = np.random.default_rng(7)
    updates = {m: rng.normal(0, 1.0, LENGTH) for m in ORGS}
    included = []
    for i, m in enumerate(ORGS):
        manifest, _ = rounds.encrypt_update(
            store, scheme, Encoding.of(task, LENGTH), updates[m], 10 + i,
            {"kind": rounds.UPDATE, "task_id": "t", "round": 1, "writer": m, "samples": 10 + i})
        included.append(Included(m, manifest, 10 + i))
    rnd = Round("t", 1, "CLOSED", "", included=included, total_samples=33)
    made = rounds.aggregate(store, scheme, task, rnd, LENGTH)
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
