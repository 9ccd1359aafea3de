"""One organisation's aggregator: a long-running follower of RoundClosed events.

It holds only the public HE context. For each closed round of its tasks it fetches every
included update, verifies each shard's hash (a tampered update is left out, identically at
every honest aggregator), adds the ciphertexts in the round's fixed order, stores the aggregate
and endorses its hash on chain. Its position in the event stream is a file checkpoint, so a
restarted aggregator resumes where it stopped; a round it already endorsed is skipped.

Example::

    aggregator = Aggregator(ledger, network, "fedfabric", store, Path("agg-org1.json"), "Org1MSP")
    aggregator.run(task_id="task-1")        # returns when the task completes
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from fedfabric.gateway import FileCheckpointer, GatewayError, Network
from fedfabric.he import CKKS, Paillier, Scheme
from fedfabric.ledger import FailedPrecondition, Ledger
from fedfabric.ledger.schema import Included
from fedfabric.store import LocalStore, StoreError

log = logging.getLogger("fedfabric.aggregator")


def public_scheme(context: bytes) -> Scheme:
    """The scheme of a task's public HE context blob."""
    if context.startswith(b"{"):
        from phe import paillier

        n = int(json.loads(context)["n"])
        return Paillier(paillier.PaillierPublicKey(n))
    return CKKS(context)


@dataclass(frozen=True)
class AggregateResult:
    task_id: str
    round: int
    aggregate_hash: str
    included: list[str]
    excluded: list[str]
    event: str


class Aggregator:
    def __init__(self, ledger: Ledger, network: Network, chaincode: str, store: LocalStore,
                 checkpoint: Path, msp_id: str) -> None:
        self.ledger, self.network, self.chaincode = ledger, network, chaincode
        self.store, self.msp_id = store, msp_id
        self.checkpoint = FileCheckpointer(checkpoint)
        self.results: list[AggregateResult] = []

    def aggregate_round(self, task_id: str, round: int,
                        included: list[Included]) -> AggregateResult | None:
        """Aggregate and endorse one closed round; None when this org already endorsed it."""
        if any(e.msp_id == self.msp_id for e in self.ledger.tasks.endorsements(task_id, round)):
            return None
        task = self.ledger.tasks.get(task_id)
        scheme = public_scheme(self.store.get(task.he_context_hash))
        updates, used, left_out, length, samples = [], [], [], None, 0
        for inc in included:
            try:
                manifest, shards = self.store.get_shards(inc.manifest_hash)
            except StoreError as e:
                log.warning("task %s round %d: leaving out %s's update: %s", task_id, round,
                            inc.msp_id, e)
                left_out.append(inc.msp_id)
                continue
            updates.append(shards)
            used.append(inc.msp_id)
            samples += inc.samples
            length = manifest.length
        if not updates or length is None:
            raise StoreError(f"task {task_id} round {round}: no update could be verified")
        total = scheme.aggregate(updates)
        digest = self.store.put_shards(total, length, scheme.name, {
            "task_id": task_id, "round": round, "included": used, "excluded": left_out,
            "samples": samples})
        try:
            event = self.ledger.tasks.endorse_aggregate(task_id, round, digest,
                                                        self.store.uri(digest))
        except FailedPrecondition:  # finalized by the others meanwhile
            return None
        result = AggregateResult(task_id, round, digest, used, left_out, event.name)
        self.results.append(result)
        return result

    def run(self, task_id: str | None = None, stop: threading.Event | None = None,
            start_block: int | None = None, timeout: float | None = None) -> None:
        """Follow events until task_id completes (or is cancelled), or until stop is set."""
        stream = self.network.chaincode_events(
            self.chaincode, start_block=start_block if self.checkpoint.block_number is None
            else None, checkpoint=self.checkpoint, timeout=timeout)
        if stop is not None:
            def close_on_stop() -> None:
                stop.wait()
                stream.close()

            threading.Thread(target=close_on_stop, daemon=True).start()
        with stream:
            try:
                for event in stream:
                    done = self._handle(event.event_name, json.loads(event.payload or b"{}"),
                                        task_id)
                    self.checkpoint.checkpoint_chaincode_event(event)
                    if done:
                        return
            except GatewayError:
                if stop is not None and stop.is_set():
                    return
                raise

    def _handle(self, name: str, data: dict[str, object], task_id: str | None) -> bool:
        if task_id is not None and data.get("task_id") != task_id:
            return False
        if name == "RoundClosed":
            included = [Included(**i) for i in data["included"]]  # type: ignore[attr-defined]
            self.aggregate_round(str(data["task_id"]), int(data["round"]),  # type: ignore[call-overload]
                                 included)
        if task_id is None:
            return False
        return (name == "RoundFinalized" and data.get("task_status") == "COMPLETED") or \
            name == "TaskCancelled"
