"""Typed access to fedfabric's ledger: datasets and grants, training tasks, the model registry.

Example::

    with profile.connect("Org1", user="Admin") as gateway:
        ledger = Ledger(gateway.get_network(profile.channel), profile.chaincode)
        ledger.datasets.register("ward-a", "Ward A", sha, "file:///...", {"cols": 30}, 569,
                                 {"algorithm": "AES-256-GCM"})
        ledger.datasets.grant("ward-a", "Org2MSP", "training", "2030-01-01T00:00:00Z")
"""

from __future__ import annotations

from collections.abc import Callable

from fedfabric.gateway import (
    Checkpointer,
    FileCheckpointer,
    GatewayError,
    InMemoryCheckpointer,
    Network,
)
from fedfabric.ledger.api import Datasets, Models, Tasks, all_pages
from fedfabric.ledger.calls import ContractCalls
from fedfabric.ledger.endorsers import MajorityEndorsers
from fedfabric.ledger.errors import (
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    LedgerError,
    NotFound,
    PermissionDenied,
    from_gateway_error,
)
from fedfabric.ledger.events import (
    EventStream,
    LedgerEvent,
    RoundClosed,
    RoundFinalized,
    TaskFailed,
    TaskStarted,
    follow,
)
from fedfabric.ledger.schema import *  # noqa: F403 (the record types are part of the API)


class Ledger:
    """The three contracts of the fedfabric chaincode on one channel.

    A submit returns once its transaction is committed on this gateway's peer; other
    organisations' peers get the block moments later. after_commit(block_number), if given,
    runs after every successful submit: pass a network's ``wait_for_block`` when what you write
    must be readable at once through every organisation's peer.
    """

    def __init__(self, network: Network, chaincode: str = "fedfabric", retries: int = 8,
                 after_commit: Callable[[int], None] | None = None) -> None:
        endorsers = MajorityEndorsers(network)

        def calls(contract: str) -> ContractCalls:
            return ContractCalls(network, chaincode, contract, retries, after_commit, endorsers)

        self.network, self.chaincode = network, chaincode
        self.datasets = Datasets(calls("datasets"))
        self.tasks = Tasks(calls("tasks"))
        self.models = Models(calls("models"))

    def follow(self, start_block: int | None = None, checkpointer: Checkpointer | None = None,
               timeout: float | None = None) -> EventStream:
        """Typed chaincode events from the checkpointer's position, else start_block, else the
        next commit (see fedfabric.ledger.events)."""
        return follow(self.network, self.chaincode, start_block, checkpointer, timeout)

    def block_height(self) -> int:
        """The channel's height on this gateway's peer."""
        try:
            return self.network.block_height()
        except GatewayError as e:
            raise from_gateway_error(e) from e


__all__ = [
    "AlreadyExists", "Checkpointer", "Conflict", "Datasets", "EventStream", "FileCheckpointer",
    "InMemoryCheckpointer", "FailedPrecondition", "Internal",
    "InvalidArgument", "Ledger", "LedgerError", "LedgerEvent", "Models", "NotFound",
    "PermissionDenied", "RoundClosed", "RoundFinalized", "TaskFailed", "TaskStarted", "Tasks",
    "all_pages",
]
