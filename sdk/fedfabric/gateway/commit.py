"""The commit status of a submitted transaction."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import transaction_pb2

from fedfabric.gateway.client import Client
from fedfabric.gateway.errors import CommitStatusError, from_rpc_error


@dataclass(frozen=True)
class Status:
    code: int
    code_name: str
    successful: bool
    transaction_id: str
    block_number: int


class Commit:
    """Waits for a transaction's commit.

    Example::

        commit = transaction.submit()
        status = commit.status()
        assert status.successful, status.code_name
    """

    def __init__(self, client: Client, transaction_id: str,
                 request: gateway_pb2.SignedCommitStatusRequest) -> None:
        self._client, self.transaction_id, self._request = client, transaction_id, request

    def to_bytes(self) -> bytes:
        """The serialized SignedCommitStatusRequest, for offline signing."""
        return bytes(self._request.SerializeToString())

    def digest(self) -> bytes:
        return self._client.hash(self._request.request)

    def status(self, timeout: float | None = None) -> Status:
        """Block until the transaction is committed (safe to call again after a timeout)."""
        if not self._request.signature:
            self._request.signature = self._client.sign(self.digest())
        try:
            response = self._client.stub.CommitStatus(
                self._request, timeout=timeout or self._client.commit_status_timeout)
        except grpc.RpcError as e:
            raise from_rpc_error(e, CommitStatusError, transaction_id=self.transaction_id) from e
        code = int(response.result)
        return Status(code, transaction_pb2.TxValidationCode.Name(code),
                      code == transaction_pb2.VALID, self.transaction_id, response.block_number)


class SubmittedTransaction(Commit):
    """A transaction accepted by the orderer: its result now, its commit status on demand."""

    def __init__(self, client: Client, transaction_id: str,
                 request: gateway_pb2.SignedCommitStatusRequest, result: bytes,
                 chaincode_event: tuple[str, bytes] | None = None) -> None:
        super().__init__(client, transaction_id, request)
        self.result = result
        self.chaincode_event = chaincode_event  # (name, payload) the commit will emit
