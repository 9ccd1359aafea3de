"""Checkpointers record how far an event stream was processed, so a new stream resumes there.

``block_number`` is the block in which the next event is expected, ``transaction_id`` the last
transaction processed within that block (as in the official clients).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol

from fedfabric.gateway.events import ChaincodeEvent


class Checkpointer(Protocol):
    @property
    def block_number(self) -> int | None: ...

    @property
    def transaction_id(self) -> str | None: ...

    def checkpoint_block(self, block_number: int) -> None:
        """The whole block was processed."""

    def checkpoint_transaction(self, block_number: int, transaction_id: str) -> None:
        """One transaction of the block was processed."""

    def checkpoint_chaincode_event(self, event: ChaincodeEvent) -> None:
        """The event was processed."""


class InMemoryCheckpointer:
    """Example::

        checkpoint = InMemoryCheckpointer()
        for event in network.chaincode_events("fedfabric", checkpoint=checkpoint):
            handle(event)
            checkpoint.checkpoint_chaincode_event(event)
    """

    def __init__(self) -> None:
        self._block: int | None = None
        self._tx: str | None = None

    @property
    def block_number(self) -> int | None:
        return self._block

    @property
    def transaction_id(self) -> str | None:
        return self._tx

    def checkpoint_block(self, block_number: int) -> None:
        self._block, self._tx = block_number + 1, None
        self._saved()

    def checkpoint_transaction(self, block_number: int, transaction_id: str) -> None:
        self._block, self._tx = block_number, transaction_id
        self._saved()

    def checkpoint_chaincode_event(self, event: ChaincodeEvent) -> None:
        self.checkpoint_transaction(event.block_number, event.transaction_id)

    def _saved(self) -> None:
        """Hook for subclasses that persist the position."""


class FileCheckpointer(InMemoryCheckpointer):
    """A checkpoint kept in a JSON file, written atomically, read back on construction."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        if self.path.exists():
            data = json.loads(self.path.read_text())
            self._block, self._tx = data.get("block_number"), data.get("transaction_id")

    def _saved(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w") as f:
            json.dump({"block_number": self._block, "transaction_id": self._tx}, f)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self.path)
