"""Terms a task is refused for before anything is written: by the initiator's SDK (create_task)
and by a participant's floors (the weakest quorum and min_updates its organisation accepts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
from fedfabric.fl.app import FLApp, partition
from fedfabric.fl.participant import Floors
from fedfabric.fl.participant import Participant as Service
from fedfabric.fl.setup import TaskSetupError, create_task
from fedfabric.ledger import Ledger
from fedfabric.ledger.schema import Participant, Task
from fedfabric.store import LocalStore

APPS = Path(__file__).resolve().parents[3] / "examples" / "apps"
ORGS = {"Org1MSP": "ds-1", "Org2MSP": "ds-2", "Org3MSP": "ds-3"}


class Untouchable:
    """A ledger that fails the test on any use: a refusal must come before the chain."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the ledger was used ({name}) for terms that are refused")


@pytest.fixture(scope="module")
def app() -> FLApp:
    return FLApp.load(APPS / "breast_cancer")


@pytest.mark.parametrize(("terms", "message"), [
    ({"quorum": 1}, "quorum 1 must be from 2 (a majority, at least 2) to 3"),
    ({"quorum": 4}, "quorum 4 must be from 2 (a majority, at least 2) to 3"),
    ({"min_updates": 1}, "min_updates 1 must be from 2 to 3"),
    ({"min_updates": 4}, "min_updates 4 must be from 2 to 3"),
    ({"scheme": "rot13"}, "scheme 'rot13' must be one of threshold-ckks"),
    ({"threshold": 1}, "threshold 1 must be from 2 to 3"),
    ({"threshold": 4}, "threshold 4 must be from 2 to 3"),
    ({"scheme": "ckks", "threshold": 2}, "--threshold is for threshold-ckks; ckks has one secret"),
])
def test_bad_terms_are_refused_before_the_ledger_or_the_store_is_touched(
        app: FLApp, tmp_path: Path, terms: dict[str, Any], message: str) -> None:
    store = LocalStore(tmp_path / "blobs")
    with pytest.raises(TaskSetupError, match=message.replace("(", r"\(").replace(")", r"\)")):
        create_task(cast(Ledger, Untouchable()), store, app, ORGS, rounds=2, **terms)
    assert not [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]


def test_a_single_participant_task_is_refused(app: FLApp, tmp_path: Path) -> None:
    with pytest.raises(TaskSetupError, match="at least two participants"):
        create_task(cast(Ledger, Untouchable()), LocalStore(tmp_path / "blobs"), app,
                    {"Org1MSP": "ds-1"}, rounds=1)


def _task(app: FLApp, quorum: int, min_updates: int, app_hash: str | None = None) -> Task:
    return Task(
        id="t-1", app_hash=app_hash or app.content_hash, model_spec_hash="m" * 64,
        initial_weights_hash="w" * 64, initial_weights_uri="", he_scheme="threshold-ckks",
        he_context_hash="c" * 64, he_context_uri="",
        participants=[Participant(msp, ds, 100) for msp, ds in ORGS.items()],
        rounds=2, min_updates=min_updates, quorum=quorum, threshold=2)


@pytest.fixture(scope="module")
def service(app: FLApp, tmp_path_factory: pytest.TempPathFactory) -> Service:
    root = tmp_path_factory.mktemp("participant")
    location = partition(app, root / "data", 2)[0]
    return Service(cast(Ledger, Untouchable()), "Org1MSP", app, str(location),
                   LocalStore(root / "blobs"), root / "state", X25519PrivateKey.generate(),
                   floors=Floors(quorum=3, min_updates=3))


def test_a_participant_refuses_a_quorum_below_its_floor(app: FLApp, service: Service) -> None:
    problem = service._terms_problem(_task(app, quorum=2, min_updates=3), None)  # type: ignore[arg-type]
    assert problem == "its quorum 2 is below this organisation's floor 3"


def test_a_participant_refuses_min_updates_below_its_floor(app: FLApp, service: Service) -> None:
    problem = service._terms_problem(_task(app, quorum=3, min_updates=2), None)  # type: ignore[arg-type]
    assert problem == "its min_updates 2 is below this organisation's floor 3"


def test_a_participant_refuses_another_app(app: FLApp, service: Service) -> None:
    problem = service._terms_problem(_task(app, 3, 3, app_hash="f" * 64), None)  # type: ignore[arg-type]
    assert problem is not None and problem.startswith("its app hash ffffffffffff… is not this "
                                                      "participant's app breast-cancer")
