import hashlib

from fabric_protos.common import common_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2

from fedfabric.gateway.proposal import build_proposal, transaction_id


def test_transaction_id_is_sha256_of_nonce_and_creator():
    assert transaction_id(b"n" * 24, b"creator") == hashlib.sha256(
        b"n" * 24 + b"creator").hexdigest()


def test_proposal_decodes_to_what_fabric_expects(identity):
    creator = identity.creator()
    nonce = bytes(range(24))
    tx_id, proposal = build_proposal(
        creator, "ch1", "cc1", "records:PutRecord", ["r1", b"\x00\x01"],
        transient={"secret": b"xyz"}, nonce=nonce, now_ns=1_700_000_000_123_456_789)
    assert tx_id == hashlib.sha256(nonce + creator).hexdigest()

    header = common_pb2.Header.FromString(proposal.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    assert channel_header.type == common_pb2.ENDORSER_TRANSACTION
    assert (channel_header.channel_id, channel_header.tx_id, channel_header.epoch) == (
        "ch1", tx_id, 0)
    assert (channel_header.timestamp.seconds, channel_header.timestamp.nanos) == (
        1_700_000_000, 123_456_789)
    extension = proposal_pb2.ChaincodeHeaderExtension.FromString(channel_header.extension)
    assert extension.chaincode_id.name == "cc1"

    signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
    assert signature_header.nonce == nonce
    serialized = identities_pb2.SerializedIdentity.FromString(signature_header.creator)
    assert serialized.mspid == "Org1MSP" and serialized.id_bytes == identity.credentials

    payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
    assert dict(payload.TransientMap) == {"secret": b"xyz"}
    spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input).chaincode_spec
    assert spec.chaincode_id.name == "cc1"
    assert list(spec.input.args) == [b"records:PutRecord", b"r1", b"\x00\x01"]


def test_every_proposal_gets_a_fresh_nonce(identity):
    ids = {build_proposal(identity.creator(), "c", "cc", "F")[0] for _ in range(50)}
    assert len(ids) == 50
