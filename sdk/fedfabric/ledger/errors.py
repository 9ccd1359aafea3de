"""Ledger refusals, one class per stable error code of the chaincode (chaincode/contract.json)."""

from __future__ import annotations

import re

from fedfabric.gateway import CommitError, GatewayError

_CODE = re.compile(r"\b(INVALID_ARGUMENT|NOT_FOUND|ALREADY_EXISTS|PERMISSION_DENIED|"
                   r"FAILED_PRECONDITION|INTERNAL): (.*)", re.S)


class LedgerError(Exception):
    """A refusal by the chaincode (``code`` is stable, ``message`` says why), or a failed call."""

    code = "UNKNOWN"

    def __init__(self, message: str, transaction_id: str | None = None) -> None:
        super().__init__(f"{self.code}: {message}")
        self.message, self.transaction_id = message, transaction_id


class InvalidArgument(LedgerError):
    code = "INVALID_ARGUMENT"


class NotFound(LedgerError):
    code = "NOT_FOUND"


class AlreadyExists(LedgerError):
    code = "ALREADY_EXISTS"


class PermissionDenied(LedgerError):
    code = "PERMISSION_DENIED"


class FailedPrecondition(LedgerError):
    code = "FAILED_PRECONDITION"


class Internal(LedgerError):
    code = "INTERNAL"


class Conflict(LedgerError):
    """The transaction kept losing MVCC/phantom-read races with concurrent ones."""

    code = "CONFLICT"


BY_CODE: dict[str, type[LedgerError]] = {
    c.code: c for c in (InvalidArgument, NotFound, AlreadyExists, PermissionDenied,
                        FailedPrecondition, Internal)}


def from_gateway_error(error: GatewayError) -> LedgerError:
    """The chaincode's refusal inside a Gateway error, or a LedgerError carrying the error."""
    for text in [d.message for d in error.details] + [error.message]:
        found = _CODE.search(text)
        if found:
            return BY_CODE[found.group(1)](found.group(2).strip(),
                                           getattr(error, "transaction_id", None))
    return LedgerError(str(error), getattr(error, "transaction_id", None))


def from_commit_error(error: CommitError) -> LedgerError:
    return LedgerError(f"transaction committed as {error.code_name}", error.transaction_id)
