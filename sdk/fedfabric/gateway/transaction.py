"""An endorsed transaction, ready to be signed and sent to the orderer."""

from __future__ import annotations

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)

from fedfabric.gateway.client import Client
from fedfabric.gateway.commit import SubmittedTransaction
from fedfabric.gateway.errors import SubmitError, from_rpc_error


def _chaincode_action(envelope: common_pb2.Envelope) -> proposal_pb2.ChaincodeAction:
    payload = common_pb2.Payload.FromString(envelope.payload)
    transaction = transaction_pb2.Transaction.FromString(payload.data)
    for action in transaction.actions:
        action_payload = transaction_pb2.ChaincodeActionPayload.FromString(action.payload)
        response_payload = proposal_response_pb2.ProposalResponsePayload.FromString(
            action_payload.action.proposal_response_payload)
        return proposal_pb2.ChaincodeAction.FromString(response_payload.extension)
    raise ValueError("the endorsed transaction has no chaincode action")


def parse_result(envelope: common_pb2.Envelope) -> bytes:
    """The chaincode's return value, as carried inside the endorsed envelope."""
    return bytes(_chaincode_action(envelope).response.payload)


def parse_event(envelope: common_pb2.Envelope) -> tuple[str, bytes] | None:
    """The chaincode event the transaction will emit when committed: (name, payload) or None."""
    raw = _chaincode_action(envelope).events
    if not raw:
        return None
    event = chaincode_event_pb2.ChaincodeEvent.FromString(raw)
    return (str(event.event_name), bytes(event.payload)) if event.event_name else None


class Transaction:
    """Example::

        transaction = contract.new_proposal("PutRecord", args=["r1", "{}"]).endorse()
        print(transaction.result)
        status = transaction.submit().status()
    """

    def __init__(self, client: Client, channel_id: str,
                 prepared: gateway_pb2.PreparedTransaction) -> None:
        self._client, self._channel_id, self._prepared = client, channel_id, prepared
        self.result = parse_result(prepared.envelope)
        self.chaincode_event = parse_event(prepared.envelope)

    @property
    def transaction_id(self) -> str:
        return str(self._prepared.transaction_id)

    def to_bytes(self) -> bytes:
        """The serialized PreparedTransaction, for offline signing."""
        return bytes(self._prepared.SerializeToString())

    def digest(self) -> bytes:
        """Hash of the envelope payload exactly as the gateway returned it."""
        return self._client.hash(self._prepared.envelope.payload)

    def submit(self, timeout: float | None = None) -> SubmittedTransaction:
        """Sign (unless signed offline) and send to the orderer; returns once it is accepted."""
        envelope = self._prepared.envelope
        if not envelope.signature:
            envelope.signature = self._client.sign(self.digest())
        # Built before Submit, so that nothing can fail locally after the transaction is sent.
        request = gateway_pb2.CommitStatusRequest(
            transaction_id=self.transaction_id, channel_id=self._channel_id,
            identity=self._client.identity.creator()).SerializeToString()
        signed = gateway_pb2.SignedCommitStatusRequest(request=request)
        signed.signature = self._client.sign(self._client.hash(request)) \
            if self._client.signer else b""
        try:
            self._client.stub.Submit(
                gateway_pb2.SubmitRequest(transaction_id=self.transaction_id,
                                          channel_id=self._channel_id,
                                          prepared_transaction=envelope),
                timeout=timeout or self._client.submit_timeout)
        except grpc.RpcError as e:
            raise from_rpc_error(e, SubmitError, transaction_id=self.transaction_id) from e
        return SubmittedTransaction(self._client, self.transaction_id, signed, self.result,
                                    self.chaincode_event)
