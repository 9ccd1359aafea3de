"""Errors from the Gateway, with the message of every peer that answered."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import transaction_pb2
from google.rpc import status_pb2

STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class ErrorDetail:
    """What one peer or orderer said: its address, MSP id and message."""

    address: str
    msp_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.address} ({self.msp_id}): {self.message}"


@dataclass
class GatewayError(Exception):
    """A failed Gateway call; ``details`` holds each endorser's answer (empty when the gateway
    peer itself refused)."""

    code: grpc.StatusCode
    message: str
    details: list[ErrorDetail] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.code.name}: {self.message}"
        return text + "".join(f"\n  {d}" for d in self.details)


@dataclass
class EndorseError(GatewayError):
    transaction_id: str = ""


@dataclass
class SubmitError(GatewayError):
    transaction_id: str = ""


@dataclass
class CommitStatusError(GatewayError):
    transaction_id: str = ""


class CommitError(Exception):
    """The transaction was ordered but committed invalid (e.g. MVCC_READ_CONFLICT)."""

    def __init__(self, transaction_id: str, code: int) -> None:
        self.transaction_id, self.code = transaction_id, code
        self.code_name = transaction_pb2.TxValidationCode.Name(code)
        super().__init__(f"transaction {transaction_id} committed with status {self.code_name}")


E = TypeVar("E", bound=GatewayError)


def error_details(err: grpc.RpcError) -> list[ErrorDetail]:
    """Decode the ErrorDetail list carried in a failed call's trailing metadata."""
    trailers: Any = err.trailing_metadata() if hasattr(err, "trailing_metadata") else None
    for key, value in trailers or ():
        if key == STATUS_DETAILS_KEY:
            status = status_pb2.Status.FromString(value)
            out = []
            for any_detail in status.details:
                detail = gateway_pb2.ErrorDetail()
                if any_detail.Unpack(detail):
                    out.append(ErrorDetail(detail.address, detail.msp_id, detail.message))
            return out
    return []


def from_rpc_error(err: grpc.RpcError, cls: type[E] = GatewayError, **extra: Any) -> E:  # type: ignore[assignment]
    code: grpc.StatusCode = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    message: str = err.details() if hasattr(err, "details") else str(err)
    return cls(code, message or "", error_details(err), **extra)
