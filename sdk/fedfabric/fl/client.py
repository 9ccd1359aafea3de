"""A training participant: trains on its own data, encrypts, stores, submits; then applies the
finalized aggregate to get the next global weights."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fedfabric.fl.strategy import FedAvg
from fedfabric.he import Scheme
from fedfabric.ledger import Ledger
from fedfabric.ledger.schema import Event
from fedfabric.store import LocalStore


@dataclass(frozen=True)
class PreparedUpdate:
    task_id: str
    round: int
    manifest_hash: str
    shards: int
    samples: int


@dataclass
class Client:
    """Example::

        client = Client(ledger, store, scheme_with_secret, FedAvg(), model, x, y, "ward-b")
        client.submit(task, 1, global_weights)
        ... (aggregators finalize the round) ...
        weights = client.next_weights(task.id, 1, global_weights)
    """

    ledger: Ledger
    store: LocalStore
    scheme: Scheme  # holds the secret key: only data owners have it
    strategy: FedAvg
    model: Any
    x: np.ndarray
    y: np.ndarray
    dataset_id: str

    def prepare(self, task_id: str, round: int, global_weights: np.ndarray) -> PreparedUpdate:
        """Train, encrypt and store this round's update (nothing on chain yet)."""
        update, samples = self.strategy.local_update(self.model, global_weights, self.x, self.y)
        shards = self.scheme.encrypt(update)
        manifest = self.store.put_shards(shards, len(update), self.scheme.name,
                                         {"task_id": task_id, "round": round})
        return PreparedUpdate(task_id, round, manifest, len(shards), samples)

    def send(self, prepared: PreparedUpdate) -> Event:
        """Submit a prepared update to the round (RoundClosed if it was the last one)."""
        return self.ledger.tasks.submit_update(prepared.task_id, prepared.round,
                                               prepared.manifest_hash, prepared.shards,
                                               prepared.samples, self.dataset_id)

    def submit(self, task_id: str, round: int, global_weights: np.ndarray) -> Event:
        return self.send(self.prepare(task_id, round, global_weights))

    def next_weights(self, task_id: str, round: int, global_weights: np.ndarray) -> np.ndarray:
        """Decrypt the round's finalized aggregate and apply it to the global weights."""
        r = self.ledger.tasks.round(task_id, round)
        if r.status != "FINALIZED" or not r.final_hash:
            raise ValueError(f"round {round} of task {task_id} is {r.status}, not FINALIZED")
        manifest, shards = self.store.get_shards(r.final_hash)
        summed = self.scheme.decrypt(shards, manifest.length)
        return self.strategy.apply(global_weights, summed, int(manifest.meta["samples"]))
