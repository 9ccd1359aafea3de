"""Transaction proposals, built exactly as the official Gateway clients build them."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Mapping, Sequence

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2
from google.protobuf import timestamp_pb2

from fedfabric.gateway.client import Client
from fedfabric.gateway.errors import EndorseError, GatewayError, from_rpc_error
from fedfabric.gateway.transaction import Transaction

Arg = str | bytes


def transaction_id(nonce: bytes, creator: bytes) -> str:
    """Always SHA-256 over nonce and creator, whatever hash signs (the peer recomputes it)."""
    return hashlib.sha256(nonce + creator).hexdigest()


def _as_bytes(arg: Arg) -> bytes:
    return arg.encode() if isinstance(arg, str) else bytes(arg)


def build_proposal(
    creator: bytes, channel_id: str, chaincode_name: str, transaction_name: str,
    args: Iterable[Arg] = (), transient: Mapping[str, bytes] | None = None,
    nonce: bytes | None = None, now_ns: int | None = None,
) -> tuple[str, proposal_pb2.Proposal]:
    """(transaction id, unsigned Proposal) for one chaincode call."""
    nonce = nonce if nonce is not None else os.urandom(24)
    tx_id = transaction_id(nonce, creator)
    now_ns = now_ns if now_ns is not None else time.time_ns()
    extension = proposal_pb2.ChaincodeHeaderExtension(
        chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode_name))
    channel_header = common_pb2.ChannelHeader(
        type=common_pb2.ENDORSER_TRANSACTION, channel_id=channel_id, tx_id=tx_id, epoch=0,
        timestamp=timestamp_pb2.Timestamp(seconds=now_ns // 10**9, nanos=now_ns % 10**9),
        extension=extension.SerializeToString())
    header = common_pb2.Header(
        channel_header=channel_header.SerializeToString(),
        signature_header=common_pb2.SignatureHeader(creator=creator,
                                                    nonce=nonce).SerializeToString())
    invocation = chaincode_pb2.ChaincodeInvocationSpec(chaincode_spec=chaincode_pb2.ChaincodeSpec(
        chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode_name),
        input=chaincode_pb2.ChaincodeInput(
            args=[transaction_name.encode()] + [_as_bytes(a) for a in args])))
    payload = proposal_pb2.ChaincodeProposalPayload(
        input=invocation.SerializeToString(), TransientMap=dict(transient or {}))
    return tx_id, proposal_pb2.Proposal(header=header.SerializeToString(),
                                        payload=payload.SerializeToString())


class Proposal:
    """A proposal to evaluate, or to endorse and then submit.

    Example::

        proposal = contract.new_proposal("GetRecord", args=["r1"])
        print(proposal.transaction_id, proposal.evaluate())
    """

    def __init__(self, client: Client, channel_id: str,
                 proposed: gateway_pb2.ProposedTransaction) -> None:
        self._client, self._channel_id, self._proposed = client, channel_id, proposed

    @property
    def transaction_id(self) -> str:
        return str(self._proposed.transaction_id)

    @property
    def endorsing_organizations(self) -> Sequence[str]:
        return list(self._proposed.endorsing_organizations)

    def to_bytes(self) -> bytes:
        """The serialized ProposedTransaction, for offline signing."""
        return bytes(self._proposed.SerializeToString())

    def digest(self) -> bytes:
        return self._client.hash(self._proposed.proposal.proposal_bytes)

    def _signed(self) -> proposal_pb2.SignedProposal:
        signed = self._proposed.proposal
        if not signed.signature:
            signed.signature = self._client.sign(self.digest())
        return signed

    def evaluate(self, timeout: float | None = None) -> bytes:
        """Run the transaction on one peer without ordering it; returns its result."""
        request = gateway_pb2.EvaluateRequest(
            transaction_id=self.transaction_id, channel_id=self._channel_id,
            proposed_transaction=self._signed(),
            target_organizations=self._proposed.endorsing_organizations)
        try:
            response = self._client.stub.Evaluate(
                request, timeout=timeout or self._client.evaluate_timeout)
        except grpc.RpcError as e:
            raise from_rpc_error(e, GatewayError) from e
        return bytes(response.result.payload)

    def endorse(self, timeout: float | None = None) -> Transaction:
        """Collect the endorsements the policy needs; returns the transaction to submit."""
        request = gateway_pb2.EndorseRequest(
            transaction_id=self.transaction_id, channel_id=self._channel_id,
            proposed_transaction=self._signed(),
            endorsing_organizations=self._proposed.endorsing_organizations)
        try:
            response = self._client.stub.Endorse(
                request, timeout=timeout or self._client.endorse_timeout)
        except grpc.RpcError as e:
            raise from_rpc_error(e, EndorseError, transaction_id=self.transaction_id) from e
        prepared = gateway_pb2.PreparedTransaction(
            transaction_id=self.transaction_id, envelope=response.prepared_transaction)
        return Transaction(self._client, self._channel_id, prepared)
