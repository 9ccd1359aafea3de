"""The steps of one round as one organisation performs them: prepare an update, verify and add
the round's updates, read the finalized aggregate. The participant service calls them in turn;
bench/round.py times them through the service.

Updates stream: a vector is cut into segments (Encoding), and every step takes one segment at a
time: encrypt it and store it as one blob; fetch segment k of every included update, verify
it, add it and store the sum; decrypt the aggregate segment by segment into the result. No step
holds more than a segment of ciphertext per update, whatever the model's size.

Every blob another organisation wrote is checked before it is used, and a failed check excludes
that update in the same way at every honest aggregator: the manifest must name the task, the
round and the organisation the chain says submitted it, carry the chain's sample count, and hold
exactly the ciphertexts the task's model and scheme imply.

A participant that has sent its own update need not wait for the close to start: Presum
verifies and adds each update as it reaches the chain, so that at the close only the updates
it has not seen are left. Addition is exact and commutative, so the sum is the same bytes in any
order.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from fedfabric.fl.app import Split
from fedfabric.fl.encoding import Encoding
from fedfabric.fl.localmodel import LocalModel
from fedfabric.fl.strategy import Strategy
from fedfabric.he import Additive, Scheme
from fedfabric.ledger.schema import Included, Round, Task, Update
from fedfabric.store import Manifest, Store, StoreError

UPDATE, AGGREGATE = "update", "aggregate"
PRESUM_LIMIT = 256 << 20  # bytes of ciphertext a running sum holds (16M threshold-ckks values)
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


def local_update(local: LocalModel, strategy: Strategy, weights: np.ndarray, train: Split,
                 seed: int) -> tuple[np.ndarray, int]:
    """A participant's scaled update: a pure function of the global weights, its data and the
    seed (the model is reset as fresh before training, see fl.localmodel)."""
    return strategy.local_update(local.reset(seed), weights, train, seed)


def prepare_update(task: Task, round: int, msp_id: str, local: LocalModel,
                   strategy: Strategy, weights: np.ndarray, train: Split, scheme: Additive,
                   store: Store, seed: int, timer: Timer | None = None) -> PreparedUpdate:
    """Train from the global weights, then encrypt and store the scaled update (nothing on
    chain)."""
    timer = timer or Timer()
    update, samples = timer("train", local_update, local, strategy, weights, train, seed)
    manifest, shards = encrypt_update(store, scheme, Encoding.of(task, len(update)), update,
                                      samples, {"kind": UPDATE, "task_id": task.id,
                                                "round": round, "writer": msp_id,
                                                "samples": samples}, timer)
    return PreparedUpdate(task.id, round, manifest, shards, samples)


def encrypt_update(store: Store, scheme: Additive, encoding: Encoding, update: np.ndarray,
                   samples: int, meta: dict[str, Any], timer: Timer | None = None
                   ) -> tuple[str, int]:
    """Encrypt and store an update segment by segment, then its manifest: (the manifest's
    hash, the shards in all)."""
    timer = timer or Timer()

    def encrypt(start: int, end: int) -> list[bytes]:
        return scheme.encrypt(encoding.encode(update[start:end], samples))

    segments, shards = [], 0
    for start, end in encoding.segments():
        encrypted = timer("encrypt", encrypt, start, end)
        shards += len(encrypted)
        segments.append(timer("store", store.put_segment, encrypted))
        del encrypted
    manifest = timer("store", store.put_manifest, Manifest(
        segments, shards, encoding.encrypted(len(update)), scheme.name, meta))
    return manifest, shards


def check_manifest(manifest: Manifest, scheme: Additive, encoding: Encoding) -> None:
    """Excluded unless the manifest holds the segments the task's model and scheme imply."""
    want = encoding.encrypted(encoding.length)
    if manifest.scheme != scheme.name or manifest.length != want or \
            len(manifest.segments) != len(encoding.segments()):
        raise Excluded(f"its manifest holds {manifest.length} {manifest.scheme} values in "
                       f"{len(manifest.segments)} segments, not {want} {scheme.name} values in "
                       f"{len(encoding.segments())}")


def verify_manifest(store: Store, scheme: Additive, task: Task, round: int, inc: Included,
                    encoding: Encoding) -> Manifest:
    """The update's manifest, or Excluded with the reason. It is read from the area of the
    organisation the chain says submitted it (with S3, only it can write there)."""
    try:
        manifest = store.sibling(inc.msp_id).get_manifest(inc.manifest_hash)
    except StoreError as e:
        raise Excluded(f"its blobs fail: {e}") from e
    meta = manifest.meta
    expected = {"kind": UPDATE, "task_id": task.id, "round": round, "writer": inc.msp_id,
                "samples": inc.samples}
    for key, want in expected.items():
        if meta.get(key) != want:
            raise Excluded(f"its manifest says {key}={meta.get(key)!r}, not {want!r}")
    check_manifest(manifest, scheme, encoding)
    return manifest


class Area(Protocol):
    """Where a segment may be read from: a store, or the segments a member kept (Kept)."""

    def get_segment(self, digest: str) -> list[bytes]: ...


KEEP_AGGREGATE = 64 << 20  # bytes of its aggregate a member keeps in memory (Kept)


class Kept:
    """Segments this member made and holds in memory, read like a store area (read_segment):
    the aggregate it computed, so that its decryption share and the decryption do not read it
    back from the store. Segments are named by their hash, so a kept one is exactly the stored
    one. Up to `budget` bytes; the rest are read from the store."""

    def __init__(self, budget: int = KEEP_AGGREGATE) -> None:
        self.budget, self.size = budget, 0
        self._segments: dict[str, list[bytes]] = {}

    def keep(self, digest: str, shards: list[bytes]) -> None:
        size = sum(len(s) for s in shards)
        if self.size + size <= self.budget:
            self._segments[digest] = shards
            self.size += size

    def get_segment(self, digest: str) -> list[bytes]:
        try:
            return self._segments[digest]
        except KeyError:
            raise StoreError(f"segment {digest} is not kept in memory") from None


def read_segment(areas: Sequence[Area], digest: str) -> list[bytes]:
    """A segment from the first of the areas that holds a good copy (StoreError: none)."""
    errors = []
    for area in areas:
        try:
            return area.get_segment(digest)
        except StoreError as e:
            errors.append(str(e))
    raise StoreError("; ".join(errors) or "no area to read from")


def verify_segment(store: Store, scheme: Additive, inc: Included, manifest: Manifest, k: int,
                   values: int) -> list[bytes]:
    """Segment k of an update, checked to hold `values` values under the scheme; Excluded
    otherwise."""
    try:
        shards = store.sibling(inc.msp_id).get_segment(manifest.segments[k])
    except StoreError as e:
        raise Excluded(f"its blobs fail: {e}") from e
    try:
        scheme.validate(shards, values)
    except ValueError as e:
        raise Excluded(f"segment {k}: {e}") from e
    return shards


class Presum:
    """A round's updates verified and added as they reach the chain, before it closes: at the
    close, aggregate() has only the updates not added yet left to read. The running sum is one
    update's worth of ciphertext in memory (up to PRESUM_LIMIT bytes). An update that fails a
    check, or a sum that outgrows the limit, spoils it: the aggregate is then made from the
    start, excluding that update the same way every aggregator does.

    Example::

        early = Presum(store, scheme, Encoding.of(task, length), task, round)
        for u in ledger.tasks.updates(task.id, round):
            early.add(Included(u.msp_id, u.manifest_hash, u.samples))
        result = aggregate(store, scheme, task, closed_round, length, early=early)
    """

    def __init__(self, store: Store, scheme: Additive, encoding: Encoding, task: Task,
                 round: int, timer: Timer | None = None) -> None:
        self.store, self.scheme, self.encoding = store, scheme, encoding
        self.task, self.round, self.timer = task, round, timer or Timer()
        self.added: dict[str, Included] = {}
        self.manifests: dict[str, Manifest] = {}
        self.sums: list[list[bytes]] = []  # per segment: the sum of the added updates
        self.spoiled: str | None = None  # why it is no longer used

    def add(self, inc: Included) -> None:
        """Verify one update and add it to the sum (nothing if it is in, or the sum spoiled)."""
        if self.spoiled or inc.msp_id in self.added:
            return
        timer = self.timer
        try:
            manifest = timer("verify", verify_manifest, self.store, self.scheme, self.task,
                             self.round, inc, self.encoding)
            held, shards = 0, 0
            for k, (start, end) in enumerate(self.encoding.segments()):
                part = timer("verify", verify_segment, self.store, self.scheme, inc, manifest,
                             k, self.encoding.encrypted(end - start))
                shards += len(part)
                if k < len(self.sums):
                    self.sums[k] = timer("aggregate", self.scheme.aggregate, [self.sums[k], part])
                else:
                    self.sums.append(part)
                held += sum(len(s) for s in self.sums[k])
                if held > PRESUM_LIMIT:
                    raise Excluded(f"the running sum outgrew {PRESUM_LIMIT} bytes")
            if manifest.shards != shards:
                raise Excluded(f"its manifest names {manifest.shards} shards; its segments "
                               f"hold {shards}")
        except (Excluded, ValueError) as e:
            self.spoiled = f"{inc.msp_id}: {e}"
            self.sums, self.added, self.manifests = [], {}, {}
            return
        self.added[inc.msp_id], self.manifests[inc.msp_id] = inc, manifest

    def usable_for(self, rnd: Round) -> bool:
        """Whether every update in the sum is one the closed round includes, as it is."""
        included = {inc.msp_id: inc for inc in rnd.included}
        return not self.spoiled and rnd.round == self.round and \
            all(included.get(msp) == inc for msp, inc in self.added.items())


def close_order(updates: list[Update]) -> list[Included]:
    """The updates as CloseRound includes them: by their transactions' times to the
    nanosecond, then MSP id (the chaincode's sortBySubmission)."""
    return [Included(u.msp_id, u.manifest_hash, u.samples)
            for u in sorted(updates, key=lambda u: (*chain_instant(u.time), u.msp_id))]


_TIME = re.compile(r"(?P<whole>[^.]+?)(?:\.(?P<fraction>\d{1,9}))?(?P<zone>Z|[+-]\d\d:\d\d)")


def chain_instant(value: str) -> tuple[datetime.datetime, int]:
    """An RFC 3339 chain time as (its whole seconds, nanoseconds), to sort transactions as the
    chaincode does: Python's datetime keeps only microseconds, and the number of digits
    varies, so neither it nor the text sorts exactly."""
    match = _TIME.fullmatch(value)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {value!r}")
    whole = datetime.datetime.fromisoformat(match["whole"] + match["zone"])
    return whole, int((match["fraction"] or "").ljust(9, "0"))


@dataclass(frozen=True)
class Aggregate:
    digest: str
    included: list[str]
    excluded: dict[str, str]  # MSP id -> why
    samples: int
    kept: Kept = field(default_factory=Kept, compare=False, repr=False)  # its segments


class _Failed(Exception):
    def __init__(self, msp_id: str, reason: str) -> None:
        super().__init__(reason)
        self.msp_id, self.reason = msp_id, reason


def aggregate(store: Store, scheme: Additive, task: Task, rnd: Round, length: int,
              timer: Timer | None = None, early: Presum | None = None,
              keep: int = KEEP_AGGREGATE) -> Aggregate:
    """Verify every included update (length: the model's values), add the survivors segment
    by segment and store the aggregate. An update failing at any segment is excluded and the
    sum starts again without it. Honest aggregators produce the same bytes, so its manifest
    hash is what they endorse. early: the updates already verified and added (Presum), if it
    holds only updates the round includes. keep: bytes of the aggregate's segments the result
    holds in memory (Aggregate.kept)."""
    timer = timer or Timer()
    encoding = Encoding.of(task, length)
    if early is not None and not early.usable_for(rnd):
        early = None
    manifests: dict[str, Manifest] = dict(early.manifests) if early else {}
    excluded: dict[str, str] = {}
    for inc in rnd.included:
        if inc.msp_id in manifests:
            continue
        try:
            manifests[inc.msp_id] = timer("verify", verify_manifest, store, scheme, task,
                                          rnd.round, inc, encoding)
        except Excluded as e:
            excluded[inc.msp_id] = str(e)
    while True:
        used = [inc for inc in rnd.included if inc.msp_id in manifests]
        if len(used) < 2:
            raise NoAggregate(f"only {len(used)} of {len(rnd.included)} updates passed "
                              "verification "
                              f"({'; '.join(f'{k}: {v}' for k, v in excluded.items())})")
        kept = Kept(keep)
        try:
            segments, shards = _add_segments(store, scheme, used, manifests, encoding, timer,
                                             early, kept)
            break
        except _Failed as e:
            excluded[e.msp_id] = e.reason
            del manifests[e.msp_id]
            if early is not None and e.msp_id in early.added:
                early = None  # its sum holds the update: add the rest from the start
    samples = sum(inc.samples for inc in used)
    digest = timer("store_aggregate", store.put_manifest, Manifest(
        segments, shards, encoding.encrypted(length), scheme.name,
        {"kind": AGGREGATE, "task_id": task.id, "round": rnd.round,
         "included": [inc.msp_id for inc in used], "excluded": sorted(excluded),
         "samples": samples}))
    return Aggregate(digest, [inc.msp_id for inc in used], excluded, samples, kept)


def _add_segments(store: Store, scheme: Additive, used: list[Included],
                  manifests: dict[str, Manifest], encoding: Encoding,
                  timer: Timer, early: Presum | None, kept: Kept) -> tuple[list[str], int]:
    """Sum the updates segment by segment, starting from early's sum: (the sum's segment
    hashes, its shards; kept holds the segments within its budget); _Failed names the first
    update that fails."""
    fresh = [inc for inc in used if early is None or inc.msp_id not in early.added]
    segments, shards = [], 0
    for k, (start, end) in enumerate(encoding.segments()):
        parts = [early.sums[k]] if early is not None and early.added else []
        for inc in fresh:
            try:
                parts.append(timer("verify", verify_segment, store, scheme, inc,
                                   manifests[inc.msp_id], k, encoding.encrypted(end - start)))
            except Excluded as e:
                raise _Failed(inc.msp_id, str(e)) from e
        total = parts[0] if len(parts) == 1 else timer("aggregate", scheme.aggregate, parts)
        del parts
        shards += len(total)
        segments.append(timer("store_aggregate", store.put_segment, total))
        kept.keep(segments[-1], total)
    for inc in used:
        if manifests[inc.msp_id].shards != shards:
            raise _Failed(inc.msp_id, f"its manifest names {manifests[inc.msp_id].shards} "
                                      f"shards; its segments hold {shards}")
    return segments, shards


def final_manifest(store: Store, rnd: Round, endorsers: list[str]
                   ) -> tuple[Manifest, list[Store]]:
    """The finalized aggregate's manifest and the areas its segments may be read from: the
    organisations that endorsed it (each stored its own copy: the bytes are the same)."""
    if rnd.status != "FINALIZED" or not rnd.final_hash:
        raise ValueError(f"round {rnd.round} of task {rnd.task_id} is {rnd.status}, not "
                         "FINALIZED")
    errors, manifest = [], None
    for msp in endorsers:
        try:
            manifest = store.sibling(msp).get_manifest(rnd.final_hash)
            break
        except StoreError as e:
            errors.append(f"{msp}: {e}")
    if manifest is None:
        raise StoreError(f"no endorser's copy of the aggregate of round {rnd.round} could be "
                         f"read ({'; '.join(errors) or 'no endorsers'})")
    return manifest, [store.sibling(msp) for msp in endorsers]


def read_final(store: Store, scheme: Scheme, task: Task, rnd: Round, length: int,
               endorsers: list[str], timer: Timer | None = None) -> tuple[np.ndarray, int]:
    """Decrypt a finalized round's aggregate segment by segment: (sum of the included scaled
    updates, their total sample count), checked against the chain's record of the round.
    endorsers: the organisations that endorsed the final hash, whose copies may be read."""
    timer = timer or Timer()
    manifest, areas = final_manifest(store, rnd, endorsers)
    samples = final_samples(manifest, task, rnd)
    encoding = Encoding.of(task, length)
    try:
        check_manifest(manifest, scheme, encoding)
    except Excluded as e:
        raise ValueError(f"the finalized aggregate of round {rnd.round}: {e}") from e
    summed = np.empty(length, dtype=np.float64)
    for k, (start, end) in enumerate(encoding.segments()):
        shards = read_segment(areas, manifest.segments[k])
        scheme.validate(shards, end - start)
        summed[start:end] = timer("decrypt", scheme.decrypt, shards, end - start)
    return summed, samples


def final_samples(manifest: Manifest, task: Task, rnd: Round) -> int:
    """The finalized aggregate's total sample count, checked against the chain's record of the
    round (ValueError when they disagree)."""
    meta = manifest.meta
    chain = {inc.msp_id: inc.samples for inc in rnd.included}
    members = meta.get("included")
    if meta.get("kind") != AGGREGATE or meta.get("task_id") != task.id or \
            meta.get("round") != rnd.round or not isinstance(members, list) or \
            not set(members) <= set(chain) or len(members) < 2 or \
            meta.get("samples") != sum(chain[m] for m in members):
        raise ValueError(f"the finalized aggregate of round {rnd.round} does not match the "
                         "chain's record of the round")
    return int(meta["samples"])
