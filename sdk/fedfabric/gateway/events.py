"""Chaincode event streams from the Gateway.

Streams do not reconnect by themselves: after an error, open a new one from a checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import grpc
from fabric_protos.gateway import gateway_pb2
from fabric_protos.orderer import ab_pb2

from fedfabric.gateway.client import Client
from fedfabric.gateway.errors import GatewayError, from_rpc_error


@dataclass(frozen=True)
class ChaincodeEvent:
    block_number: int
    transaction_id: str
    chaincode_name: str
    event_name: str
    payload: bytes


def events_request(client: Client, channel_id: str, chaincode_name: str,
                   start_block: int | None, after_transaction_id: str | None
                   ) -> gateway_pb2.SignedChaincodeEventsRequest:
    """An unsigned request; start at start_block, or with the next block committed."""
    if start_block is None:
        position = ab_pb2.SeekPosition(next_commit=ab_pb2.SeekNextCommit())
    else:
        position = ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=start_block))
    request = gateway_pb2.ChaincodeEventsRequest(
        channel_id=channel_id, chaincode_id=chaincode_name,
        identity=client.identity.creator(), start_position=position,
        after_transaction_id=after_transaction_id or "")
    return gateway_pb2.SignedChaincodeEventsRequest(request=request.SerializeToString())


class ChaincodeEventsRequest:
    """A signed-or-not events request: ``bytes()``/``digest()`` for offline signing."""

    def __init__(self, client: Client, signed: gateway_pb2.SignedChaincodeEventsRequest) -> None:
        self._client, self._signed = client, signed

    def to_bytes(self) -> bytes:
        return bytes(self._signed.SerializeToString())

    def digest(self) -> bytes:
        return self._client.hash(self._signed.request)

    def events(self, timeout: float | None = None) -> ChaincodeEvents:
        if not self._signed.signature:
            self._signed.signature = self._client.sign(self.digest())
        call = self._client.stub.ChaincodeEvents(
            self._signed, timeout=timeout or self._client.chaincode_events_timeout)
        return ChaincodeEvents(call)


class ChaincodeEvents:
    """An iterator over events, in ledger order; close it (or use ``with``) to end the stream.

    Example::

        with network.chaincode_events("fedfabric", start_block=10) as events:
            for event in events:
                print(event.block_number, event.event_name, event.payload)
    """

    def __init__(self, call: Any) -> None:
        self._call = call
        self._closed = False

    def __iter__(self) -> Iterator[ChaincodeEvent]:
        try:
            for response in self._call:
                for event in response.events:
                    yield ChaincodeEvent(response.block_number, event.tx_id, event.chaincode_id,
                                         event.event_name, bytes(event.payload))
        except grpc.RpcError as e:
            if self._closed and e.code() == grpc.StatusCode.CANCELLED:
                return
            raise from_rpc_error(e, GatewayError) from e

    def close(self) -> None:
        self._closed = True
        self._call.cancel()

    def __enter__(self) -> ChaincodeEvents:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
