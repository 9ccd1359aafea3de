"""The platform's path end to end: Gateway client -> peers -> orderers -> chaincode service."""

from __future__ import annotations

import collections
import json

import grpc
import pytest

from fedfabric.gateway import Contract, GatewayError

from .conftest import unique


def test_write_as_org1_read_through_org2_and_org3(contracts: dict[str, Contract], network):
    rid = unique("rec")
    submitted = contracts["Org1"].submit_async("PutRecord", args=[rid, '{"n": 1}'])
    network.wait_for_block(submitted.status().block_number)  # every peer has it
    written = json.loads(submitted.result)
    assert written["owner_msp"] == "Org1MSP"
    for org in ("Org2", "Org3"):
        read = json.loads(contracts[org].evaluate_transaction("GetRecord", rid))
        assert read == written
        assert read["value"] == {"n": 1}


def test_submit_async_reports_the_commit_block(contracts: dict[str, Contract]):
    rid = unique("async")
    submitted = contracts["Org2"].submit_async("PutRecord", args=[rid, '{"a": true}'])
    status = submitted.status()
    assert status.successful and status.code_name == "VALID"
    assert status.block_number > 0 and status.transaction_id == submitted.transaction_id
    assert json.loads(submitted.result)["tx_id"] == submitted.transaction_id


def test_a_refusal_carries_the_chaincode_message_and_writes_nothing(
    contracts: dict[str, Contract],
):
    with pytest.raises(GatewayError) as caught:
        contracts["Org1"].submit_transaction("PutRecord", "bad id", "{}")
    assert "INVALID_ARGUMENT" in str(caught.value)
    assert any("INVALID_ARGUMENT" in d.message for d in caught.value.details)
    with pytest.raises(GatewayError, match="NOT_FOUND"):
        contracts["Org2"].evaluate_transaction("GetRecord", "bad-id")  # the refused write
    rid = unique("nojson")
    with pytest.raises(GatewayError, match="must be a JSON object"):
        contracts["Org1"].submit_transaction("PutRecord", rid, "[1, 2]")
    with pytest.raises(GatewayError, match="NOT_FOUND"):
        contracts["Org3"].evaluate_transaction("GetRecord", rid)


def test_endorsement_needs_a_majority_and_gets_it_across_orgs(contracts: dict[str, Contract],
                                                              network):
    """MAJORITY of 3 orgs: a submit through one org's gateway is endorsed by two orgs' peers."""
    rid = unique("maj")
    submitted = contracts["Org3"].submit_async("PutRecord", args=[rid, '{"x": 3}'])
    status = submitted.status()
    assert status.successful
    network.wait_for_block(status.block_number)
    assert json.loads(contracts["Org1"].evaluate_transaction("GetRecord", rid))["value"] == {
        "x": 3}


def test_a_block_is_cut_as_soon_as_it_holds_one_transaction_per_member(
    contracts: dict[str, Contract],
):
    """The orderers cut a block at 3 transactions (one per member) without waiting out the batch
    timeout: six endorsed first and sent together all commit, never more than three a block."""
    endorsed = [contracts[org].new_proposal("PutRecord", [unique("cut"), "{}"]).endorse()
                for org in ("Org1", "Org2", "Org3") * 2]
    submitted = [t.submit() for t in endorsed]
    statuses = [s.status() for s in submitted]
    assert all(s.successful for s in statuses)
    per_block = collections.Counter(s.block_number for s in statuses)
    assert len(per_block) >= 2 and max(per_block.values()) <= 3, per_block


def test_an_evaluate_deadline_is_enforced(contracts: dict[str, Contract]):
    with pytest.raises(GatewayError) as caught:
        contracts["Org1"].evaluate("GetRecord", args=["x"], timeout=0.000001)
    assert caught.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
