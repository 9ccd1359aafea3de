"""Naming the endorsers of a submit on a channel of many organisations (fedfabric.ledger.endorsers),
and ContractCalls letting discovery choose when the named ones cannot endorse."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from fedfabric.gateway import ErrorDetail, GatewayError
from fedfabric.ledger import FailedPrecondition
from fedfabric.ledger.calls import ContractCalls
from fedfabric.ledger.endorsers import MajorityEndorsers, majority

SIXTEEN = [f"Org{i}MSP" for i in range(1, 17)]


def test_a_majority_starts_with_its_own_organisation_and_wraps_around() -> None:
    assert majority(["B", "A", "C"], "B") == ["B", "C"]
    assert majority(["A", "B", "C", "D"], "D") == ["D", "A", "B"]
    assert majority(["A", "B", "C"], "Z") == ["A", "B"]  # not a member: from the first
    assert majority([], "A") == []
    picked = majority(SIXTEEN, "Org9MSP")
    assert len(picked) == 9 and picked[0] == "Org9MSP" and len(set(picked)) == 9


class FakeNetwork:
    """The channel's organisations, as many times read as asked."""

    def __init__(self, orgs: list[str], msp_id: str = "Org1MSP") -> None:
        self.orgs, self.msp_id, self.reads = orgs, msp_id, 0

    def organizations(self) -> list[str]:
        self.reads += 1
        if not self.orgs:
            raise GatewayError(grpc.StatusCode.PERMISSION_DENIED, "no access")
        return sorted(self.orgs)

    def get_contract(self, chaincode: str, contract: str) -> Any:
        return self.contract

    contract: Any = None


def endorsers(network: FakeNetwork, refresh: float = 60.0) -> MajorityEndorsers:
    return MajorityEndorsers(network, refresh=refresh)  # type: ignore[arg-type]


def test_small_channels_are_left_to_discovery_and_large_ones_named() -> None:
    assert endorsers(FakeNetwork(SIXTEEN[:8])).pick() is None
    assert endorsers(FakeNetwork([])).pick() is None  # the configuration cannot be read
    network = FakeNetwork(SIXTEEN, "Org16MSP")
    chooser = endorsers(network)
    assert chooser.pick() == ["Org16MSP", *SIXTEEN[:8]]
    chooser.pick()
    assert network.reads == 1  # read once, until REFRESH or forget()
    network.orgs = SIXTEEN[:8]
    chooser.forget()
    assert chooser.pick() is None and network.reads == 2


@dataclass
class Status:
    successful: bool
    code_name: str = "VALID"
    transaction_id: str = "tx"
    block_number: int = 7
    code: int = 0


class Submitted:
    def __init__(self, status: Status) -> None:
        self._status, self.chaincode_event, self.result = status, None, b"{}"

    def status(self) -> Status:
        return self._status


class FakeContract:
    """Answers each submit_async from a script: a GatewayError to raise, or a Status."""

    def __init__(self, script: list[GatewayError | Status]) -> None:
        self.script = script
        self.named: list[Sequence[str] | None] = []

    def submit_async(self, name: str, args: Sequence[str],
                     endorsing_organizations: Sequence[str] | None = None) -> Submitted:
        self.named.append(endorsing_organizations)
        step = self.script.pop(0)
        if isinstance(step, GatewayError):
            raise step
        return Submitted(step)


def calls(script: list[GatewayError | Status]) -> tuple[ContractCalls, FakeContract]:
    network = FakeNetwork(SIXTEEN)
    network.contract = FakeContract(script)
    chooser = endorsers(network)
    c = ContractCalls(network, "cc", "tasks", 3, None, chooser)  # type: ignore[arg-type]
    return c, network.contract


def test_a_named_peer_that_fails_hands_the_submit_to_discovery(
        caplog: pytest.LogCaptureFixture) -> None:
    down = GatewayError(grpc.StatusCode.UNAVAILABLE, "failed to endorse transaction",
                        [ErrorDetail("peer0.org5:7051", "Org5MSP", "connection refused")])
    c, contract = calls([down, Status(True)])
    with caplog.at_level(logging.WARNING, logger="fedfabric.ledger"):
        assert c.submit("SubmitUpdate", "t", "1").block_number == 7
    assert contract.named[0] == majority(SIXTEEN, "Org1MSP") and contract.named[1] is None
    assert "SubmitUpdate: the organisations named to endorse it could not" in caplog.text


def test_a_policy_failure_at_commit_hands_the_submit_to_discovery() -> None:
    c, contract = calls([Status(False, "ENDORSEMENT_POLICY_FAILURE"), Status(True)])
    c.submit("CloseRound", "t", "1")
    assert contract.named[1] is None


def test_a_refusal_by_the_chaincode_is_not_sent_again() -> None:
    refused = GatewayError(grpc.StatusCode.ABORTED, "failed to endorse transaction",
                           [ErrorDetail("peer0.org1:7051", "Org1MSP",
                                        "chaincode response 500, FAILED_PRECONDITION: closed")])
    c, contract = calls([refused])
    with pytest.raises(FailedPrecondition, match="closed"):
        c.submit("CloseRound", "t", "1")
    assert len(contract.named) == 1
