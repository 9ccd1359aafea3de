"""Adding a round's updates as they arrive (rounds.Presum) gives the aggregate, to the byte,
that adding them all at the close gives; a bad update spoils the early sum, never the result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fedfabric.fl import rounds
from fedfabric.fl.encoding import Encoding
from fedfabric.he import Additive, Paillier, ThresholdCKKS
from fedfabric.he import threshold as th
from fedfabric.ledger.schema import Included, Participant, Round, Task, Update
from fedfabric.store import LocalStore, Manifest

ORGS = ["Org1MSP", "Org2MSP", "Org3MSP"]
LENGTH = 9_000  # three threshold-ckks shards


def task(scheme: str) -> Task:
    return Task(id="t", initiator_msp="Org1MSP", app_hash="a", model_spec_hash="s",
                initial_weights_hash="w", initial_weights_uri="u", he_scheme=scheme,
                he_context_hash="c", he_context_uri="u", strategy="fedavg",
                participants=[Participant(m, f"d{i}", 100) for i, m in enumerate(ORGS)],
                rounds=1, min_updates=2, quorum=2, status="ACTIVE", current_round=1,
                members=list(ORGS), created_at="", updated_at="", terms_hash="h", tx_id="x")


@pytest.fixture(scope="module")
def threshold_scheme() -> ThresholdCKKS:
    crs = b"test_presum common reference string"
    shares = [th.keygen(crs)[1] for _ in ORGS]
    return ThresholdCKKS(th.combine_public_key(crs, shares))


def submit(store: LocalStore, scheme: Additive, t: Task, msp: str, seed: int,
           length: int = LENGTH) -> Included:
    update = np.random.default_rng(seed).normal(0, 1e-2, length)
    manifest, _ = rounds.encrypt_update(
        store, scheme, Encoding.of(t, length), update, 10 + seed,
        {"kind": rounds.UPDATE, "task_id": t.id, "round": 1, "writer": msp,
         "samples": 10 + seed})
    return Included(msp, manifest, 10 + seed)


def closed(included: list[Included]) -> Round:
    return Round("t", 1, "CLOSED", "", included=included)


def schemes(threshold_scheme: ThresholdCKKS) -> list[tuple[str, Additive, int]]:
    return [("threshold-ckks", threshold_scheme, LENGTH),
            ("paillier", Paillier.generate(512), 600)]


def test_an_early_sum_in_any_order_gives_the_aggregate_of_the_close(threshold_scheme, tmp_path):
    for name, scheme, length in schemes(threshold_scheme):
        t, store = task(name), LocalStore(tmp_path / name)
        included = [submit(store, scheme, t, m, i, length) for i, m in enumerate(ORGS)]
        plain = rounds.aggregate(store, scheme, t, closed(included), length)
        early = rounds.Presum(store, scheme, Encoding.of(t, length), t, 1)
        for inc in reversed(included[1:]):  # the third and second arrive first
            early.add(inc)
        timer = rounds.Timer()
        result = rounds.aggregate(store, scheme, t, closed(included), length, timer, early)
        assert result == plain, name
        assert timer.phases.get("verify", 0) > 0  # the first update was still read at the close
        everything = rounds.Presum(store, scheme, Encoding.of(t, length), t, 1)
        for inc in included:
            everything.add(inc)
        assert rounds.aggregate(store, scheme, t, closed(included), length,
                                early=everything) == plain, name


def test_a_tampered_update_spoils_the_early_sum_and_is_excluded_alike(threshold_scheme,
                                                                      tmp_path: Path):
    t, store = task("threshold-ckks"), LocalStore(tmp_path)
    good = [submit(store, threshold_scheme, t, m, i) for i, m in enumerate(ORGS[:2])]
    manifest = store.get_manifest(submit(store, threshold_scheme, t, ORGS[2], 2).manifest_hash)
    # The third update's manifest is in order; its segment's shards are not ciphertexts.
    garbage = store.put_segment([b"not a ciphertext"] * manifest.shards)
    forged = store.put_manifest(Manifest([garbage], manifest.shards, manifest.length,
                                         manifest.scheme, manifest.meta))
    bad = Included(ORGS[2], forged, 12)
    plain = rounds.aggregate(store, threshold_scheme, t, closed([*good, bad]), LENGTH)
    assert plain.included == ORGS[:2] and ORGS[2] in plain.excluded
    early = rounds.Presum(store, threshold_scheme, Encoding.of(t, LENGTH), t, 1)
    early.add(good[1])
    early.add(bad)
    assert early.spoiled and early.spoiled.startswith(ORGS[2]) and not early.sums
    early.add(good[0])  # a spoiled sum takes nothing more
    assert not early.added
    assert rounds.aggregate(store, threshold_scheme, t, closed([*good, bad]), LENGTH,
                            early=early) == plain


def test_an_early_sum_is_not_used_for_a_round_that_does_not_include_its_updates(
        threshold_scheme, tmp_path: Path):
    t, store = task("threshold-ckks"), LocalStore(tmp_path)
    included = [submit(store, threshold_scheme, t, m, i) for i, m in enumerate(ORGS)]
    early = rounds.Presum(store, threshold_scheme, Encoding.of(t, LENGTH), t, 1)
    for inc in included:
        early.add(inc)
    without_third = closed(included[:2])
    assert not early.usable_for(without_third)  # its sum holds an update the close left out
    other = Included(ORGS[0], included[1].manifest_hash, included[0].samples)
    assert not early.usable_for(closed([other, *included[1:]]))
    assert rounds.aggregate(store, threshold_scheme, t, without_third, LENGTH, early=early) == \
        rounds.aggregate(store, threshold_scheme, t, without_third, LENGTH)


def test_a_sum_larger_than_the_limit_is_given_up(threshold_scheme, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(rounds, "PRESUM_LIMIT", 100_000)  # under one update of 3 shards
    t, store = task("threshold-ckks"), LocalStore(tmp_path)
    early = rounds.Presum(store, threshold_scheme, Encoding.of(t, LENGTH), t, 1)
    early.add(submit(store, threshold_scheme, t, ORGS[0], 0))
    assert early.spoiled and "outgrew" in early.spoiled and not early.sums


def test_close_order_is_the_chaincodes_submission_order():
    def update(msp: str, time: str) -> Update:
        return Update("t", 1, msp, msp, f"m{msp}", 1, 10, "d", time, "tx")

    # Digits of a second vary (RFC 3339 with nanoseconds, trailing zeros dropped): .5 s is
    # after .25 s; two times in one microsecond differ in the nanoseconds; a tie goes by MSP id;
    # 11:00:04.9+01:00 is 10:00:04.9Z.
    updates = [update("Org1MSP", "2026-12-06T10:00:05.5Z"),
               update("Org2MSP", "2026-12-06T10:00:05.250000002Z"),
               update("Org3MSP", "2026-12-06T10:00:05.250000001Z"),
               update("Org4MSP", "2026-12-06T10:00:05Z"),
               update("Org5MSP", "2026-12-06T10:00:05.5Z"),
               update("Org6MSP", "2026-12-06T11:00:04.9+01:00")]
    assert [i.msp_id for i in rounds.close_order(updates)] == \
        ["Org6MSP", "Org4MSP", "Org3MSP", "Org2MSP", "Org1MSP", "Org5MSP"]
    assert rounds.close_order(updates)[1] == Included("Org4MSP", "mOrg4MSP", 10)
    with pytest.raises(ValueError, match="RFC 3339"):
        rounds.close_order([update("Org1MSP", "yesterday")])
