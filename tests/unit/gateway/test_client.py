"""The client against an in-process Gateway server: errors, offline signing, result parsing."""

import grpc
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import proposal_pb2, proposal_response_pb2, transaction_pb2

from fedfabric.gateway import (
    ECDSASigner,
    EndorseError,
    FileCheckpointer,
    GatewayError,
    InMemoryCheckpointer,
    connect,
    sha256,
)
from fedfabric.gateway.events import ChaincodeEvent
from fedfabric.gateway.transaction import parse_result

from .fake_gateway import serve


def _detail(address, msp, message):
    return gateway_pb2.ErrorDetail(address=address, msp_id=msp, message=message)


def test_evaluate_error_carries_every_endorsers_message(identity, key):
    with serve() as (fake, channel):
        fake.failure = (grpc.StatusCode.ABORTED, "failed to evaluate", [
            _detail("peer0.org1:7051", "Org1MSP", "chaincode response 500, boom"),
            _detail("peer0.org2:9051", "Org2MSP", "chaincode response 500, bang"),
        ])
        contract = connect(identity, ECDSASigner(key), channel).get_network("ch").get_contract(
            "cc")
        with pytest.raises(GatewayError) as caught:
            contract.evaluate_transaction("F", "a")
    error = caught.value
    assert error.code == grpc.StatusCode.ABORTED
    assert [(d.msp_id, d.message) for d in error.details] == [
        ("Org1MSP", "chaincode response 500, boom"), ("Org2MSP", "chaincode response 500, bang")]
    assert "boom" in str(error) and "bang" in str(error) and "peer0.org2:9051" in str(error)


def test_endorse_error_names_the_transaction(identity, key):
    with serve() as (fake, channel):
        fake.failure = (grpc.StatusCode.ABORTED, "failed to endorse", [
            _detail("p", "Org1MSP", "INVALID_ARGUMENT: bad")])
        contract = connect(identity, ECDSASigner(key), channel).get_network("ch").get_contract(
            "cc")
        proposal = contract.new_proposal("F")
        with pytest.raises(EndorseError) as caught:
            proposal.endorse()
    assert caught.value.transaction_id == proposal.transaction_id
    assert caught.value.details[0].message == "INVALID_ARGUMENT: bad"


def test_an_error_without_details_came_from_the_gateway_itself(identity, key):
    with serve() as (fake, channel):
        fake.failure = (grpc.StatusCode.UNAVAILABLE, "no peers", [])
        contract = connect(identity, ECDSASigner(key), channel).get_network("ch").get_contract(
            "cc")
        with pytest.raises(GatewayError) as caught:
            contract.evaluate_transaction("F")
    assert caught.value.details == [] and caught.value.message == "no peers"


def test_offline_signing_round_trip(identity, key):
    with serve() as (fake, channel):
        unsigned = connect(identity, None, channel)  # holds no key at all
        contract = unsigned.get_network("ch").get_contract("cc", "records")
        proposal = contract.new_proposal("GetRecord", args=["r1"],
                                         endorsing_organizations=["Org2MSP"])
        with pytest.raises(ValueError, match="no signer"):
            proposal.evaluate()
        data, digest = proposal.to_bytes(), proposal.digest()
        signature = ECDSASigner(key)(digest)  # elsewhere, e.g. an HSM
        signed = unsigned.new_signed_proposal(data, signature)
        assert signed.transaction_id == proposal.transaction_id
        assert signed.evaluate() == b"ok"
    request = fake.requests[-1]
    assert request.channel_id == "ch" and list(request.target_organizations) == ["Org2MSP"]
    sent = request.proposed_transaction
    key.public_key().verify(sent.signature, sha256(sent.proposal_bytes),
                            ec.ECDSA(Prehashed(hashes.SHA256())))


def test_result_is_parsed_from_the_endorsed_envelope():
    action = proposal_pb2.ChaincodeAction(response=proposal_response_pb2.Response(status=200,
                                                                         payload=b"result"))
    response_payload = proposal_response_pb2.ProposalResponsePayload(
        extension=action.SerializeToString())
    action_payload = transaction_pb2.ChaincodeActionPayload(
        action=transaction_pb2.ChaincodeEndorsedAction(
            proposal_response_payload=response_payload.SerializeToString()))
    transaction = transaction_pb2.Transaction(actions=[transaction_pb2.TransactionAction(
        payload=action_payload.SerializeToString())])
    envelope = common_pb2.Envelope(payload=common_pb2.Payload(
        data=transaction.SerializeToString()).SerializeToString())
    assert parse_result(envelope) == b"result"


def test_checkpointers_follow_the_official_semantics(tmp_path):
    memory = InMemoryCheckpointer()
    assert memory.block_number is None and memory.transaction_id is None
    memory.checkpoint_chaincode_event(ChaincodeEvent(7, "tx1", "cc", "E", b""))
    assert (memory.block_number, memory.transaction_id) == (7, "tx1")
    memory.checkpoint_block(7)
    assert (memory.block_number, memory.transaction_id) == (8, None)

    path = tmp_path / "sub" / "cp.json"
    FileCheckpointer(path).checkpoint_transaction(12, "tx9")
    reloaded = FileCheckpointer(path)  # as a restarted process would
    assert (reloaded.block_number, reloaded.transaction_id) == (12, "tx9")
