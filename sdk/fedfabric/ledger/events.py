"""The chaincode's events, decoded into typed records, from a resumable stream.

Example::

    checkpoint = FileCheckpointer("org2-events.json")
    with ledger.follow(checkpointer=checkpoint) as events:
        for event in events:
            if isinstance(event.record, RoundClosed):
                ...
            checkpoint.checkpoint_chaincode_event(event.source)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from fedfabric.gateway import ChaincodeEvent, ChaincodeEvents, Checkpointer, GatewayError, Network
from fedfabric.ledger.decode import decode
from fedfabric.ledger.errors import LedgerError
from fedfabric.ledger.schema import (
    AccessEntry,
    Attestation,
    Dataset,
    DecryptionShare,
    Endorsement,
    Grant,
    Included,
    Inference,
    Join,
    KeyEndorsement,
    Model,
    OrgKey,
    RoundMetrics,
    Task,
    Update,
    Verdict,
    WeightsAttestation,
)


@dataclass(frozen=True)
class TaskStarted:
    task_id: str
    round: int
    started_at: str
    members: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RoundClosed:
    task_id: str
    round: int
    total_samples: int
    closed_at: str
    included: list[Included] = field(default_factory=list)


@dataclass(frozen=True)
class RoundFinalized:
    task_id: str
    round: int
    aggregate_hash: str
    aggregate_uri: str
    endorsements: int
    task_status: str
    total_samples: int = 0
    next_round: int | None = None


@dataclass(frozen=True)
class KeyFinalized:
    task_id: str
    key_hash: str
    endorsements: int
    round: int


@dataclass(frozen=True)
class TaskFailed:
    task_id: str
    round: int
    reason: str
    task_status: str


RECORDS: dict[str, type[Any]] = {
    "DatasetRegistered": Dataset, "DatasetRekeyed": Dataset, "AccessGranted": Grant,
    "AccessRevoked": Grant,
    "DataAccessed": AccessEntry, "TaskCreated": Task, "TaskJoined": Join,
    "TaskStarted": TaskStarted, "UpdateSubmitted": Update, "RoundClosed": RoundClosed,
    "AggregateEndorsed": Endorsement, "RoundFinalized": RoundFinalized,
    "MetricsRecorded": RoundMetrics, "TaskCancelled": Task, "TaskFailed": TaskFailed,
    "OrgKeyPublished": OrgKey, "ModelRegistered": Model, "ModelStatusChanged": Model,
    "MetricsAttested": Attestation, "InferenceRecorded": Inference, "InferenceAttested": Verdict,
    "WeightsAttested": WeightsAttestation, "KeyEndorsed": KeyEndorsement,
    "KeyFinalized": KeyFinalized, "DecryptionShareSubmitted": DecryptionShare,
}


@dataclass(frozen=True)
class LedgerEvent:
    """One chaincode event: its name, its payload as a typed record (the JSON dict for event
    names this SDK does not know), and where it is in the ledger."""

    name: str
    record: Any
    block_number: int
    transaction_id: str
    source: ChaincodeEvent

    @property
    def task_id(self) -> str | None:
        value = getattr(self.record, "task_id", None)
        if value is None and isinstance(self.record, Task):
            value = self.record.id
        return value if isinstance(value, str) else None


def decode_event(event: ChaincodeEvent) -> LedgerEvent:
    """A typed event; a payload that is not what the event name promises raises LedgerError."""
    try:
        data = json.loads(event.payload or b"{}")
        cls = RECORDS.get(event.event_name)
        record = decode(cls, data) if cls is not None else data
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise LedgerError(f"event {event.event_name} in block {event.block_number} has a "
                          f"malformed payload: {e}", event.transaction_id) from e
    return LedgerEvent(event.event_name, record, event.block_number, event.transaction_id, event)


class EventStream:
    """Typed events in ledger order until closed; ``with`` closes it. Errors of the underlying
    stream (a peer going away) surface as LedgerError: open a new stream from the checkpoint."""

    def __init__(self, events: ChaincodeEvents) -> None:
        self._events = events

    def __iter__(self) -> Iterator[LedgerEvent]:
        try:
            for event in self._events:
                yield decode_event(event)
        except GatewayError as e:
            raise LedgerError(f"event stream ended: {e}") from e

    def close(self) -> None:
        self._events.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def follow(network: Network, chaincode: str, start_block: int | None = None,
           checkpointer: Checkpointer | None = None, timeout: float | None = None
           ) -> EventStream:
    """Events from the checkpointer's position, else from start_block, else from the next
    commit."""
    try:
        events = network.chaincode_events(chaincode, start_block=start_block,
                                          checkpoint=checkpointer, timeout=timeout)
    except GatewayError as e:
        raise LedgerError(f"cannot follow the chaincode's events: {e}") from e
    return EventStream(events)
