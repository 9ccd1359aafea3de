"""The typed API and the chaincode agree on one written contract: chaincode/contract.json."""

from __future__ import annotations

import contextlib
import inspect
import json
from pathlib import Path
from typing import Any

import grpc
import pytest

from fedfabric.gateway import ErrorDetail, GatewayError
from fedfabric.ledger import Datasets, Models, NotFound, PermissionDenied, Tasks
from fedfabric.ledger.decode import decode
from fedfabric.ledger.errors import LedgerError, from_gateway_error
from fedfabric.ledger.schema import (
    Event,
    ModelSpec,
    Provenance,
    RoundHistory,
    TaskHistory,
    TaskSpec,
)

CONTRACT = json.loads((Path(__file__).resolve().parents[3] / "chaincode" / "contract.json")
                      .read_text())


class Recorder:
    """Stands in for ContractCalls: records (function, kind, argument count)."""

    def __init__(self, contract: str, seen: set[tuple[str, str, str, int]]) -> None:
        self.contract, self.seen = contract, seen

    def _answer(self, function: str) -> Any:
        return {"items": [], "bookmark": ""} if function.startswith("List") or \
            function == "GetAccessLog" else {}

    def evaluate(self, function: str, *args: str) -> Any:
        assert all(isinstance(a, str) for a in args)
        self.seen.add((self.contract, function, "evaluate", len(args)))
        return self._answer(function)

    def submit(self, function: str, *args: str) -> Event:
        assert all(isinstance(a, str) for a in args)
        self.seen.add((self.contract, function, "submit", len(args)))
        return Event(function, {}, "tx")


SAMPLES: dict[str, Any] = {
    "spec": None, "schema": {}, "encryption": {}, "metrics": {}, "rows": 1, "round": 1,
    "shards": 1, "samples": 1, "page_size": 10, "expires_at": "2030-01-01T00:00:00Z",
}


def _call_everything(api: Any) -> None:
    for name, method in inspect.getmembers(api, inspect.ismethod):
        if name.startswith("_"):
            continue
        kwargs = {}
        for p in list(inspect.signature(method).parameters.values()):
            if p.default is not inspect.Parameter.empty:
                continue
            kwargs[p.name] = SAMPLES.get(p.name, "x")
        if name == "create":
            kwargs["spec"] = TaskSpec("t", "h", "h", "h", "u", "ckks", "h", "u", [], 1, 2, 2)
        if name == "register" and isinstance(api, Models):
            kwargs["spec"] = ModelSpec("m", "1", Provenance("external", description="d"), "h",
                                       "u", "tf")
        # Decoding the fake's empty answer may fail; the call is recorded by then.
        with contextlib.suppress(TypeError, KeyError, AttributeError):
            method(**kwargs)


def test_every_transaction_is_wrapped_with_the_right_kind_and_arity():
    seen: set[tuple[str, str, str, int]] = set()
    for cls, contract in ((Datasets, "datasets"), (Tasks, "tasks"), (Models, "models")):
        _call_everything(cls(Recorder(contract, seen)))  # type: ignore[arg-type]
    expected = {(c, fn, tx["kind"], len(tx["args"]))
                for c, body in CONTRACT["contracts"].items() if c != "records"
                for fn, tx in body["transactions"].items()}
    assert seen == expected


def test_error_codes_are_the_ones_in_the_contract_file():
    from fedfabric.ledger.errors import BY_CODE

    assert sorted(BY_CODE) == sorted(CONTRACT["errors"])


def test_a_refusal_becomes_the_class_of_its_code():
    error = GatewayError(grpc.StatusCode.ABORTED, "failed to endorse", [ErrorDetail(
        "127.0.0.1:7220", "Org2MSP", 'chaincode response 500, NOT_FOUND: dataset "d9" does not '
        "exist")])
    refusal = from_gateway_error(error)
    assert isinstance(refusal, NotFound) and refusal.message == 'dataset "d9" does not exist'
    denied = from_gateway_error(GatewayError(grpc.StatusCode.UNKNOWN,
                                             "PERMISSION_DENIED: only an admin may", []))
    assert isinstance(denied, PermissionDenied)
    other = from_gateway_error(GatewayError(grpc.StatusCode.UNAVAILABLE, "no peer", []))
    assert type(other) is LedgerError and "no peer" in str(other)


def test_decoding_follows_nested_types_and_ignores_unknown_keys():
    history = decode(TaskHistory, {
        "task": {"id": "t", "app_hash": "h", "model_spec_hash": "h", "initial_weights_hash": "h",
                 "initial_weights_uri": "u", "he_scheme": "ckks", "he_context_hash": "h",
                 "he_context_uri": "u", "participants": [{"msp_id": "Org1MSP",
                                                          "dataset_id": "d1", "max_samples": 9}],
                 "rounds": 2, "min_updates": 2, "quorum": 2, "status": "ACTIVE",
                 "future": True},
        "rounds": [{"task_id": "t", "round": 1, "status": "OPEN", "opened_at": "now",
                    "updates": [], "endorsements": [], "metrics": [
                        {"task_id": "t", "round": 1, "msp_id": "Org1MSP", "recorded_by": "A",
                         "metrics": {"accuracy": 0.5}, "time": "now", "tx_id": "x"}]}],
    })
    assert history.task.participants[0].dataset_id == "d1"
    assert history.task.participants[0].max_samples == 9
    assert history.rounds[0].metrics[0].metrics == {"accuracy": 0.5}
    assert isinstance(history.rounds[0], RoundHistory) and history.rounds[0].status == "OPEN"


@pytest.mark.parametrize("bad", ["2030-01-01T00:00:00"])
def test_naive_expiry_is_refused_before_any_call(bad):
    import datetime

    seen: set[tuple[str, str, str, int]] = set()
    datasets = Datasets(Recorder("datasets", seen))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone"):
        datasets.grant("d", "Org2MSP", "read", datetime.datetime.fromisoformat(bad))
    assert not seen
