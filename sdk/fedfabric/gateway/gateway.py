"""Connecting to a Fabric Gateway peer as one identity."""

from __future__ import annotations

from types import TracebackType

import grpc
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc

from fedfabric.gateway.client import Client
from fedfabric.gateway.commit import Commit
from fedfabric.gateway.events import ChaincodeEventsRequest
from fedfabric.gateway.identity import Identity
from fedfabric.gateway.network import Network
from fedfabric.gateway.proposal import Proposal
from fedfabric.gateway.signing import Hash, Signer, sha256
from fedfabric.gateway.transaction import Transaction


class Gateway:
    """A connection to the network through one peer's Gateway service, as one identity.

    Example::

        channel = tls_channel("127.0.0.1:7210", tls_ca_pem)
        with connect(identity, signer, channel) as gateway:
            contract = gateway.get_network("fedfabric").get_contract("fedfabric")
            contract.submit_transaction("PutRecord", "r1", "{}")
        channel.close()  # the application owns the channel
    """

    def __init__(self, client: Client) -> None:
        self._client = client
        self._owned: list[grpc.Channel] = []

    @property
    def identity(self) -> Identity:
        return self._client.identity

    def get_network(self, name: str) -> Network:
        return Network(self._client, name)

    def close_channel_on_close(self, channel: grpc.Channel) -> None:
        """Hand the channel to the gateway: ``close()`` then closes it too."""
        self._owned.append(channel)

    def close(self) -> None:
        for channel in self._owned:
            channel.close()
        self._owned.clear()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ---- offline signing: rebuild an object from its bytes, optionally with a signature ----
    def new_proposal(self, data: bytes) -> Proposal:
        proposed = gateway_pb2.ProposedTransaction.FromString(data)
        channel_id = _proposal_channel(proposed)
        return Proposal(self._client, channel_id, proposed)

    def new_signed_proposal(self, data: bytes, signature: bytes) -> Proposal:
        proposal = self.new_proposal(data)
        proposal._proposed.proposal.signature = signature
        return proposal

    def new_transaction(self, data: bytes) -> Transaction:
        prepared = gateway_pb2.PreparedTransaction.FromString(data)
        return Transaction(self._client, _envelope_channel(prepared), prepared)

    def new_signed_transaction(self, data: bytes, signature: bytes) -> Transaction:
        transaction = self.new_transaction(data)
        transaction._prepared.envelope.signature = signature
        return transaction

    def new_commit(self, data: bytes) -> Commit:
        signed = gateway_pb2.SignedCommitStatusRequest.FromString(data)
        request = gateway_pb2.CommitStatusRequest.FromString(signed.request)
        return Commit(self._client, request.transaction_id, signed)

    def new_signed_commit(self, data: bytes, signature: bytes) -> Commit:
        commit = self.new_commit(data)
        commit._request.signature = signature
        return commit

    def new_chaincode_events_request(self, data: bytes) -> ChaincodeEventsRequest:
        return ChaincodeEventsRequest(
            self._client, gateway_pb2.SignedChaincodeEventsRequest.FromString(data))

    def new_signed_chaincode_events_request(self, data: bytes,
                                            signature: bytes) -> ChaincodeEventsRequest:
        signed = gateway_pb2.SignedChaincodeEventsRequest.FromString(data)
        signed.signature = signature
        return ChaincodeEventsRequest(self._client, signed)


def _proposal_channel(proposed: gateway_pb2.ProposedTransaction) -> str:
    from fabric_protos.common import common_pb2
    from fabric_protos.peer import proposal_pb2

    proposal = proposal_pb2.Proposal.FromString(proposed.proposal.proposal_bytes)
    header = common_pb2.Header.FromString(proposal.header)
    return str(common_pb2.ChannelHeader.FromString(header.channel_header).channel_id)


def _envelope_channel(prepared: gateway_pb2.PreparedTransaction) -> str:
    from fabric_protos.common import common_pb2

    payload = common_pb2.Payload.FromString(prepared.envelope.payload)
    return str(common_pb2.ChannelHeader.FromString(payload.header.channel_header).channel_id)


def connect(
    identity: Identity, signer: Signer | None, channel: grpc.Channel, hash: Hash = sha256,
    evaluate_timeout: float | None = 5.0, endorse_timeout: float | None = 15.0,
    submit_timeout: float | None = 5.0, commit_status_timeout: float | None = 60.0,
    chaincode_events_timeout: float | None = None,
) -> Gateway:
    """A Gateway over an application-owned gRPC channel. Timeouts are seconds per call
    (a call's own ``timeout=`` overrides them); signer may be None for offline signing."""
    client = Client(gateway_pb2_grpc.GatewayStub(channel), identity, signer, hash,
                    evaluate_timeout, endorse_timeout, submit_timeout, commit_status_timeout,
                    chaincode_events_timeout)
    return Gateway(client)
