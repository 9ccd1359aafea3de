"""Round bookkeeping and the model registry on the real network, with concurrent parties."""

from __future__ import annotations

import datetime
import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from fedfabric.ledger import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from fedfabric.ledger.schema import ModelSpec, Participant, Provenance, TaskSpec
from support.consortium import same_block

from .conftest import unique

ORGS = ("Org1", "Org2", "Org3")
LATER = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)


def h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def task(ledgers):
    """Each org registers a dataset and grants training to Org1, which creates a 2-round task."""
    datasets = {}
    for org in ORGS:
        did = unique(f"ward-{org.lower()}")
        admin = ledgers[(org, "Admin")]
        admin.datasets.register(did, f"{org} ward", h(did), f"file:///{did}", {}, 100, {})
        if org != "Org1":
            admin.datasets.grant(did, "Org1MSP", "training", LATER)
        datasets[org] = did
    spec = TaskSpec(
        id=unique("task"), app_hash=h("app"), model_spec_hash=h("spec"),
        initial_weights_hash=h("w0"), initial_weights_uri="file:///w0", he_scheme="ckks",
        he_context_hash=h("ctx"), he_context_uri="file:///ctx",
        participants=[Participant(f"{o}MSP", datasets[o], 100) for o in ORGS], rounds=2,
        min_updates=2, quorum=2, strategy="fedavg", hyperparameters={"epochs": 1})
    return spec, datasets


def at_once(fn, items):
    """Call fn for every item at the same moment, as independent organisations would; returns
    each call's result or the exception it raised."""
    def call(item):
        try:
            return fn(item)
        except Exception as e:  # collected for the test to inspect
            return e

    with ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(call, items))


def test_create_task_refusals_write_nothing(ledgers, task):
    spec, datasets = task
    org1 = ledgers[("Org1", "Admin")]
    with pytest.raises(PermissionDenied):
        ledgers[("Org1", "User1")].tasks.create(spec)
    with pytest.raises(InvalidArgument):
        org1.tasks.create(TaskSpec(**{**spec.__dict__, "min_updates": 9}))
    # Org3 revokes its grant: a task on its data is refused.
    ledgers[("Org3", "Admin")].datasets.revoke(datasets["Org3"], "Org1MSP", "training")
    with pytest.raises(PermissionDenied, match="no live training grant"):
        org1.tasks.create(spec)
    with pytest.raises(NotFound):
        org1.tasks.get(spec.id)


def test_a_task_from_creation_to_a_verified_model(ledgers, task, profile, network):
    spec, datasets = task
    org1 = ledgers[("Org1", "Admin")]
    created = org1.tasks.create(spec)
    assert (created.status, created.current_round) == ("PENDING", 0)
    assert created.initiator_msp == "Org1MSP" and len(created.terms_hash) == 64
    with pytest.raises(AlreadyExists):
        org1.tasks.create(spec)

    # Every participant accepts the terms (all at once), then anyone starts the task once.
    joins = at_once(lambda o: ledgers[(o, "Admin")].tasks.join(spec.id, created.terms_hash), ORGS)
    assert all(j.terms_hash == created.terms_hash for j in joins)
    with pytest.raises(InvalidArgument):
        ledgers[("Org2", "Admin")].tasks.join(spec.id, h("other terms"))
    starts = at_once(lambda o: ledgers[(o, "User1")].tasks.start(spec.id), ORGS)
    assert sum(not isinstance(s, Exception) for s in starts) == 1
    assert all(isinstance(s, FailedPrecondition) for s in starts if isinstance(s, Exception))
    assert ledgers[("Org3", "User1")].tasks.get(spec.id).members == [f"{o}MSP" for o in ORGS]

    # Round 1: all three submit at the same moment: one block, no resubmission.
    def submit(org: str, round: int):
        return ledgers[(org, "User1")].tasks.submit_update(
            spec.id, round, h(f"{org}-{round}"), 4, 30 * (ORGS.index(org) + 1))

    updates = at_once(lambda o: submit(o, 1), ORGS)
    assert len({u.tx_id for u in updates}) == 3
    assert ledgers[("Org3", "User1")].tasks.round(spec.id, 1).status == "OPEN"
    with pytest.raises(InvalidArgument):
        ledgers[("Org2", "User1")].tasks.submit_update(spec.id, 1, h("x"), 1, 101)  # > max

    # Everyone sees the round full and closes it at once: exactly one close, the rest refused.
    closes = at_once(lambda o: ledgers[(o, "User1")].tasks.close_round(spec.id, 1), ORGS)
    assert [c.name for c in closes if not isinstance(c, Exception)] == ["RoundClosed"]
    assert all(isinstance(c, FailedPrecondition) for c in closes if isinstance(c, Exception))
    closed = ledgers[("Org3", "User1")].tasks.round(spec.id, 1)
    assert closed.status == "CLOSED" and closed.total_samples == 180
    # Included in the order they were submitted (transaction time, then MSP id).
    order = sorted(updates, key=lambda u: (datetime.datetime.fromisoformat(u.time), u.msp_id))
    assert [i.msp_id for i in closed.included] == [u.msp_id for u in order]
    with pytest.raises(FailedPrecondition):
        submit("Org2", 1)  # the round is closed: a late or replayed update is refused
    assert len(ledgers[("Org2", "User1")].tasks.updates(spec.id, 1)) == 3

    # Endorsements: Org3's aggregate differs; Org1 and Org2 agree, all at the same moment.
    hashes = {"Org1": h("agg1"), "Org2": h("agg1"), "Org3": h("wrong")}
    at_once(lambda o: ledgers[(o, "User1")].tasks.endorse_aggregate(spec.id, 1, hashes[o],
                                                                    "file:///agg"), ORGS)
    finals = at_once(lambda o: ledgers[(o, "User1")].tasks.finalize_round(spec.id, 1), ORGS)
    assert [f.name for f in finals if not isinstance(f, Exception)] == ["RoundFinalized"]
    finalized = ledgers[("Org2", "User1")].tasks.round(spec.id, 1)
    assert (finalized.status, finalized.final_hash) == ("FINALIZED", h("agg1"))
    endorsements = ledgers[("Org1", "User1")].tasks.endorsements(spec.id, 1)
    assert {e.msp_id: e.aggregate_hash for e in endorsements}["Org3MSP"] == h("wrong")
    with pytest.raises(FailedPrecondition):  # the round is final: no more endorsements
        ledgers[("Org1", "User1")].tasks.finalize_round(spec.id, 1)
    metrics = at_once(lambda o: ledgers[(o, "User1")].tasks.record_metrics(
        spec.id, 1, {"accuracy": 0.9}), ORGS)
    assert {m.msp_id for m in metrics} == {f"{o}MSP" for o in ORGS}

    # Round 2: endorsed first, then sent together, two updates land in one block, both valid:
    # no submission reads what another writes.
    statuses = same_block(profile, [(o, "SubmitUpdate", [spec.id, "2", h(f"{o}-2"), "4", "30"])
                                    for o in ("Org1", "Org2")])
    assert all(st.successful for st in statuses)
    assert len({st.block_number for st in statuses}) == 1
    network.wait_for_block(statuses[0].block_number)
    with pytest.raises(AlreadyExists):  # one update per participant per round
        submit("Org1", 2)
    with pytest.raises(FailedPrecondition, match="2 of 3 updates"):
        org1.tasks.close_round(spec.id, 2)  # no round_timeout: it waits for every member
    submit("Org3", 2)
    assert org1.tasks.close_round(spec.id, 2).name == "RoundClosed"
    for org in ("Org1", "Org2"):
        ledgers[(org, "User1")].tasks.endorse_aggregate(spec.id, 2, h("agg2"), "file:///agg2")
    assert ledgers[("Org3", "User1")].tasks.finalize_round(spec.id, 2).data["task_status"] == \
        "COMPLETED"
    done = ledgers[("Org3", "User1")].tasks.get(spec.id)
    assert done.status == "COMPLETED"
    history = ledgers[("Org3", "User1")].tasks.history(spec.id)
    assert [len(r.updates) for r in history.rounds] == [3, 3]
    assert [len(r.metrics) for r in history.rounds] == [3, 0] and len(history.joins) == 3

    # The model registry.
    model = ModelSpec(name=unique("diagnosis"), version="1",
                      provenance=Provenance("task", task_id=spec.id, round=2),
                      weights_hash=h("weights"), weights_uri="file:///weights",
                      framework="tensorflow", metrics={"accuracy": 0.95},
                      input_spec={"features": 30})
    with pytest.raises(PermissionDenied):
        ledgers[("Org1", "User1")].models.register(model)
    registered = org1.models.register(model)
    assert registered.status == "REGISTERED" and registered.owner_msp == "Org1MSP"
    with pytest.raises(AlreadyExists):
        org1.models.register(model)
    with pytest.raises(FailedPrecondition):  # not deployed yet
        org1.models.record_inference(unique("inf"), model.name, "1", h("in"), h("out"))
    with pytest.raises(PermissionDenied):
        ledgers[("Org2", "Admin")].models.deploy(model.name, "1")
    with pytest.raises(FailedPrecondition, match="weights attestations"):
        org1.models.deploy(model.name, "1")  # no member has vouched for these weights yet
    with pytest.raises(PermissionDenied):  # a model name belongs to its first registrant
        ledgers[("Org2", "Admin")].models.register(ModelSpec(**{**model.__dict__,
                                                                "version": "2"}))
    for org in ("Org1", "Org2"):
        ledgers[(org, "User1")].models.attest_weights(model.name, "1", h("weights"))
    assert org1.models.deploy(model.name, "1").status == "DEPLOYED"

    ledgers[("Org2", "User1")].models.attest_metrics(model.name, "1", {"accuracy": 0.93})
    with pytest.raises(PermissionDenied):
        ledgers[("Org1", "User1")].models.attest_metrics(model.name, "1", {"accuracy": 1.0})
    view = ledgers[("Org3", "User1")].models.get(model.name, "1")
    assert [a.msp_id for a in view.attestations] == ["Org2MSP"]
    assert model.name in {m.name for m in ledgers[("Org3", "User1")].models.list().items}

    good, forged = unique("inf"), unique("inf")
    ledgers[("Org1", "User1")].models.record_inference(good, model.name, "1", h("in"), h("out"))
    ledgers[("Org1", "User1")].models.record_inference(forged, model.name, "1", h("in"),
                                                       h("forged"))
    assert ledgers[("Org2", "User1")].models.attest_inference(good, h("out")).verdict == "VERIFIED"
    assert ledgers[("Org2", "User1")].models.attest_inference(forged, h("out")).verdict == \
        "DISPUTED"
    with pytest.raises(PermissionDenied):
        ledgers[("Org1", "User1")].models.attest_inference(good, h("out"))
    assert ledgers[("Org3", "User1")].models.inference(good).status == "VERIFIED"
    assert ledgers[("Org3", "User1")].models.inference(forged).status == "DISPUTED"
    # One dissent does not decide it for good: the record counts verdicts.
    ledgers[("Org3", "User1")].models.attest_inference(good, h("other"))
    view = ledgers[("Org1", "User1")].models.inference(good)
    assert (view.status, view.verified, view.disputed) == ("CONTESTED", 1, 1)

    lineage = ledgers[("Org3", "User1")].models.lineage(model.name, "1")
    assert lineage.task is not None and lineage.task.id == spec.id
    assert [r.final_hash for r in lineage.rounds] == [h("agg1"), h("agg2")]
    assert ledgers[("Org1", "Admin")].models.retire(model.name, "1").status == "RETIRED"


def test_org_keys(ledgers):
    with pytest.raises(PermissionDenied):
        ledgers[("Org2", "User1")].tasks.publish_key("X25519", "pem")
    key = ledgers[("Org2", "Admin")].tasks.publish_key("X25519", "-----BEGIN PUBLIC KEY-----")
    assert ledgers[("Org3", "User1")].tasks.org_key("Org2MSP") == key
