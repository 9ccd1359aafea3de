"""Which member sends a round's finalization: the one whose endorsement completed the quorum
(with the first decryption set's shares), which learns it first. And which single-transaction
step each member's metrics go with."""

from __future__ import annotations

from fedfabric.fl.participant import _completing, _metrics_fit
from fedfabric.ledger.schema import Endorsement, Included, Participant, Round, Task

ORGS = ["Org1MSP", "Org2MSP", "Org3MSP", "Org4MSP"]


def task(scheme: str) -> Task:
    return Task(id="t", initiator_msp="Org1MSP", app_hash="a", model_spec_hash="s",
                initial_weights_hash="w", initial_weights_uri="u", he_scheme=scheme,
                he_context_hash="c", he_context_uri="u", strategy="fedavg",
                participants=[Participant(m, f"d{i}", 100) for i, m in enumerate(ORGS)],
                rounds=1, min_updates=2, quorum=3, threshold=2, status="ACTIVE",
                current_round=1, members=list(ORGS), created_at="", updated_at="",
                terms_hash="h", tx_id="x")


# The updates came in as Org3, Org1, Org4, Org2: the first decryption set is Org3 and Org1.
ROUND = Round("t", 1, "CLOSED", "", included=[Included(m, f"m{m}", 10)
                                               for m in ("Org3MSP", "Org1MSP", "Org4MSP",
                                                         "Org2MSP")])


def endorsed(*entries: tuple[str, str, str]) -> list[Endorsement]:
    return [Endorsement("t", 1, msp, msp, digest, "", when, "tx") for msp, digest, when in entries]


def test_the_endorsement_that_completes_the_quorum_names_the_sender() -> None:
    # Chain times with varying digits of a second: 5.5 s comes before 5.25 s as text, not in time.
    got = endorsed(("Org2MSP", "A", "2026-12-06T10:00:05.5Z"),
                   ("Org3MSP", "A", "2026-12-06T10:00:05.25Z"),
                   ("Org4MSP", "A", "2026-12-06T10:00:04Z"))
    assert _completing(task("paillier"), ROUND, got) == "Org2MSP"
    # Under threshold CKKS the first set must be in too: Org1 has not endorsed yet.
    assert _completing(task("threshold-ckks"), ROUND, got) is None
    got += endorsed(("Org1MSP", "A", "2026-12-06T10:00:06Z"))
    assert _completing(task("threshold-ckks"), ROUND, got) == "Org1MSP"


def test_endorsements_of_other_aggregates_do_not_count() -> None:
    got = endorsed(("Org3MSP", "A", "2026-12-06T10:00:01Z"),
                   ("Org1MSP", "B", "2026-12-06T10:00:02Z"),
                   ("Org4MSP", "A", "2026-12-06T10:00:03Z"),
                   ("Org2MSP", "B", "2026-12-06T10:00:04Z"))
    assert _completing(task("paillier"), ROUND, got) is None  # 2 and 2: no quorum of 3


def test_each_member_records_its_metrics_with_one_single_transaction_step_a_round() -> None:
    for closer in ORGS:
        with_close = {m for m in ORGS if _metrics_fit(m, closer, finalizing=False)}
        with_finalization = {m for m in ORGS if _metrics_fit(m, closer, finalizing=True)}
        # every member once, and no block more than one transaction per member
        assert with_close == set(ORGS) - {closer} and with_finalization == {closer}
    # Who closed is not known after a restart: that member waits for the next round's close.
    assert not any(_metrics_fit(m, None, finalizing=True) for m in ORGS)
