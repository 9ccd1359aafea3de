"""A small started task over the three organisations, driven step by step through the SDK's
round functions (no TensorFlow, no participant processes): what the aggregation tests use."""

from __future__ import annotations

import datetime
import uuid

import numpy as np

import fedfabric.he  # noqa: F401  (TenSEAL first)
from fedfabric.fl import rounds
from fedfabric.he import CKKS
from fedfabric.ledger.schema import Participant, Task, TaskSpec
from fedfabric.store import Store, sha256

ORGS = ("Org1", "Org2", "Org3")
LATER = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
LENGTH = 5000  # two CKKS shards


class SmallTask:
    """A started 2-round task over the three orgs with 5000-value updates (no TensorFlow)."""

    def __init__(self, ledgers, store: Store | dict[str, Store], ckks: CKKS,
                 min_updates: int = 2):
        """store: one store for every organisation, or each organisation's own."""
        self.ledgers, self.ckks = ledgers, ckks
        self.stores = store if isinstance(store, dict) else {o: store for o in ORGS}
        self.store = self.stores["Org1"]
        self.id = f"fl-{uuid.uuid4().hex[:8]}"
        datasets = {}
        for org in ORGS:
            did = f"{self.id}-{org.lower()}"
            admin = ledgers[(org, "Admin")]
            admin.datasets.register(did, "d", sha256(did.encode()), "u", {}, 10, {})
            if org != "Org1":
                admin.datasets.grant(did, "Org1MSP", "training", LATER)
            datasets[org] = did
        context = self.store.put(ckks.public_bytes())
        task = ledgers[("Org1", "Admin")].tasks.create(TaskSpec(
            id=self.id, app_hash=sha256(b"app"), model_spec_hash=sha256(b"spec"),
            initial_weights_hash=sha256(b"w"), initial_weights_uri="u", he_scheme="ckks",
            he_context_hash=context, he_context_uri=self.store.uri(context),
            participants=[Participant(f"{o}MSP", datasets[o], 10) for o in ORGS], rounds=2,
            min_updates=min_updates, quorum=2))
        for org in ORGS:
            ledgers[(org, "Admin")].tasks.join(self.id, task.terms_hash)
        ledgers[("Org1", "User1")].tasks.start(self.id)
        self.sent: dict[tuple[str, int], np.ndarray] = {}

    @property
    def task(self) -> Task:
        return self.ledgers[("Org3", "User1")].tasks.get(self.id)

    def vector(self, org: str, round: int) -> np.ndarray:
        return np.random.default_rng(hash((org, round)) % 2**32).normal(0, 5, LENGTH)

    def submit(self, org: str, round: int, manifest: str | None = None, shards: int = 2) -> None:
        vector = self.vector(org, round)
        if manifest is None:
            manifest = self.stores[org].put_shards(self.ckks.encrypt(vector), LENGTH, "ckks", {
                "kind": "update", "task_id": self.id, "round": round, "writer": f"{org}MSP",
                "samples": 10})
        self.ledgers[(org, "User1")].tasks.submit_update(self.id, round, manifest, shards, 10)
        self.sent[(org, round)] = vector

    def close(self, round: int):
        self.ledgers[("Org1", "User1")].tasks.close_round(self.id, round)
        return self.round(round)

    def round(self, n: int):
        return self.ledgers[("Org3", "User1")].tasks.round(self.id, n)

    def aggregate(self, org: str, round: int) -> rounds.Aggregate:
        """What org's participant does for a closed round: verify, add, store, endorse."""
        store = self.stores[org]
        result = rounds.aggregate(store, self.ckks, self.task, self.round(round), LENGTH)
        self.ledgers[(org, "User1")].tasks.endorse_aggregate(self.id, round, result.digest,
                                                             store.uri(result.digest))
        return result

    def finalize(self, round: int) -> None:
        self.ledgers[("Org2", "User1")].tasks.finalize_round(self.id, round)

    def decrypted(self, n: int) -> np.ndarray:
        endorsers = [e.msp_id for e in self.ledgers[("Org3", "User1")].tasks.endorsements(
            self.id, n)]
        summed, _ = rounds.read_final(self.store, self.ckks, self.task, self.round(n), LENGTH,
                                      endorsers)
        return summed
