"""The steps of one round as one organisation performs them: prepare an update, verify and add
the round's updates, read the finalized aggregate. The participant service calls them in turn;
bench/round.py times them through the service.

Every blob another organisation wrote is checked before it is used, and a failed check excludes
that update in the same way at every honest aggregator: the manifest must name the task, the
round and the organisation the chain says submitted it, carry the chain's sample count, and hold
exactly the ciphertexts the task's model and scheme imply.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from fedfabric.fl.app import Split
from fedfabric.fl.strategy import Strategy
from fedfabric.he import Additive, Scheme
from fedfabric.ledger.schema import Included, Round, Task
from fedfabric.store import Manifest, Store, StoreError

UPDATE, AGGREGATE = "update", "aggregate"
T = TypeVar("T")


class Excluded(Exception):
    """An update that fails verification; every honest aggregator leaves it out alike."""


class NoAggregate(Exception):
    """Fewer than two updates survived verification: nothing may be decrypted as an aggregate."""


@dataclass
class Timer:
    """Seconds spent per phase (train, encrypt, store, aggregate, decrypt, ...)."""

    phases: dict[str, float] = field(default_factory=dict)

    def __call__(self, phase: str, fn: Callable[..., T], *args: Any) -> T:
        began = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.phases[phase] = self.phases.get(phase, 0.0) + time.perf_counter() - began


def training_seed(app_seed: int, task_id: str, round: int, msp_id: str) -> int:
    """The seed of one organisation's local training in one round: reproducible, and distinct
    across organisations and rounds."""
    text = f"{app_seed}|{task_id}|{round}|{msp_id}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


@dataclass(frozen=True)
class PreparedUpdate:
    task_id: str
    round: int
    manifest_hash: str
    shards: int
    samples: int


def local_update(model_fn: Callable[[], Any], strategy: Strategy, weights: np.ndarray,
                 train: Split, seed: int) -> tuple[np.ndarray, int]:
    """A participant's scaled update: a pure function of the global weights, its data and the
    seed. A fresh model (and so fresh optimizer state) every round, so that a participant
    restarted mid-task trains exactly as it would have."""
    import keras

    keras.utils.set_random_seed(seed)
    return strategy.local_update(model_fn(), weights, train, seed)


def prepare_update(task: Task, round: int, msp_id: str, model_fn: Callable[[], Any],
                   strategy: Strategy, weights: np.ndarray, train: Split, scheme: Additive,
                   store: Store, seed: int, timer: Timer | None = None,
                   encode: Callable[[np.ndarray, int], np.ndarray] | None = None
                   ) -> PreparedUpdate:
    """Train from the global weights, encrypt the scaled update and store it (nothing on
    chain). encode lays the update out for the scheme (threshold-ckks adds check values)."""
    timer = timer or Timer()
    update, samples = timer("train", local_update, model_fn, strategy, weights, train, seed)
    if encode is not None:
        update = encode(update, samples)
    shards = timer("encrypt", scheme.encrypt, update)
    manifest = timer("store", store.put_shards, shards, len(update), scheme.name, {
        "kind": UPDATE, "task_id": task.id, "round": round, "writer": msp_id,
        "samples": samples})
    return PreparedUpdate(task.id, round, manifest, len(shards), samples)


def verify_update(store: Store, scheme: Additive, task: Task, round: int, inc: Included,
                  length: int) -> list[bytes]:
    """The update's shards, or Excluded with the reason. They are read from the area of the
    organisation the chain says submitted it (with S3, only it can write there)."""
    try:
        manifest, shards = store.sibling(inc.msp_id).get_shards(inc.manifest_hash)
    except StoreError as e:
        raise Excluded(f"its blobs fail: {e}") from e
    meta = manifest.meta if isinstance(manifest.meta, dict) else {}
    expected = {"kind": UPDATE, "task_id": task.id, "round": round, "writer": inc.msp_id,
                "samples": inc.samples}
    for key, want in expected.items():
        if meta.get(key) != want:
            raise Excluded(f"its manifest says {key}={meta.get(key)!r}, not {want!r}")
    if manifest.scheme != scheme.name or manifest.length != length:
        raise Excluded(f"its manifest holds {manifest.length} {manifest.scheme} values, not "
                       f"{length} {scheme.name}")
    try:
        scheme.validate(shards, length)
    except ValueError as e:
        raise Excluded(str(e)) from e
    return shards


@dataclass(frozen=True)
class Aggregate:
    digest: str
    included: list[str]
    excluded: dict[str, str]  # MSP id -> why
    samples: int


def aggregate(store: Store, scheme: Additive, task: Task, rnd: Round, length: int,
              timer: Timer | None = None) -> Aggregate:
    """Verify every included update, add the survivors in the round's fixed order and store the
    aggregate. Honest aggregators produce the same bytes, so its manifest hash is what they
    endorse."""
    timer = timer or Timer()
    used: list[tuple[Included, list[bytes]]] = []
    excluded: dict[str, str] = {}
    for inc in rnd.included:
        try:
            used.append((inc, timer("verify", verify_update, store, scheme, task, rnd.round, inc,
                                    length)))
        except Excluded as e:
            excluded[inc.msp_id] = str(e)
    if len(used) < 2:
        raise NoAggregate(f"only {len(used)} of {len(rnd.included)} updates passed verification "
                          f"({'; '.join(f'{k}: {v}' for k, v in excluded.items())})")
    total = timer("aggregate", scheme.aggregate, [shards for _, shards in used])
    samples = sum(inc.samples for inc, _ in used)
    digest = timer("store_aggregate", store.put_shards, total, length, scheme.name, {
        "kind": AGGREGATE, "task_id": task.id, "round": rnd.round,
        "included": [inc.msp_id for inc, _ in used], "excluded": sorted(excluded),
        "samples": samples})
    return Aggregate(digest, [inc.msp_id for inc, _ in used], excluded, samples)


def fetch_final(store: Store, rnd: Round, endorsers: list[str]) -> tuple[Manifest, list[bytes]]:
    """The finalized aggregate, from the area of an organisation that endorsed it (each stored
    its own copy: the bytes are the same)."""
    if rnd.status != "FINALIZED" or not rnd.final_hash:
        raise ValueError(f"round {rnd.round} of task {rnd.task_id} is {rnd.status}, not "
                         "FINALIZED")
    errors = []
    for msp in endorsers:
        try:
            return store.sibling(msp).get_shards(rnd.final_hash)
        except StoreError as e:
            errors.append(f"{msp}: {e}")
    raise StoreError(f"no endorser's copy of the aggregate of round {rnd.round} could be read "
                     f"({'; '.join(errors) or 'no endorsers'})")


def read_final(store: Store, scheme: Scheme, task: Task, rnd: Round, length: int,
               endorsers: list[str], timer: Timer | None = None) -> tuple[np.ndarray, int]:
    """Decrypt a finalized round's aggregate: (sum of the included scaled updates, their total
    sample count), checked against the chain's record of the round. endorsers: the
    organisations that endorsed the final hash, whose copies may be read."""
    timer = timer or Timer()
    manifest, shards = fetch_final(store, rnd, endorsers)
    samples = final_samples(manifest, task, rnd)
    scheme.validate(shards, length)
    summed = timer("decrypt", scheme.decrypt, shards, length)
    return summed, samples


def final_samples(manifest: Manifest, task: Task, rnd: Round) -> int:
    """The finalized aggregate's total sample count, checked against the chain's record of the
    round (ValueError when they disagree)."""
    meta = manifest.meta if isinstance(manifest.meta, dict) else {}
    chain = {inc.msp_id: inc.samples for inc in rnd.included}
    members = meta.get("included")
    if meta.get("kind") != AGGREGATE or meta.get("task_id") != task.id or \
            meta.get("round") != rnd.round or not isinstance(members, list) or \
            not set(members) <= set(chain) or len(members) < 2 or \
            meta.get("samples") != sum(chain[m] for m in members):
        raise ValueError(f"the finalized aggregate of round {rnd.round} does not match the "
                         "chain's record of the round")
    return int(meta["samples"])
