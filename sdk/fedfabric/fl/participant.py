"""One organisation's participant: a long-running service that takes part in every task naming
its organisation whose app it has.

It holds only its own organisation's identity, key and data. It follows the chain's events from
a file checkpoint and, on each event (and every few seconds, for timeouts), brings each of its
tasks forward from what the chain and its local state say:

* a new task: check the terms (app and model hash, scheme, quorum and min_updates against this
  organisation's floors, its dataset's hash and size), then join it, or refuse it with the
  reason logged; start it once the participants have joined;
* an open round: train from the global weights, encrypt, store and submit the update; close the
  round once every member's update is in, or when round_timeout has passed;
* a closed round: verify and add the included updates, store the aggregate and endorse its
  hash; finalize once the quorum agrees, or fail the task when round_timeout passes;
* a finalized round: decrypt the aggregate, apply it, evaluate the new global model on its own
  held-out data and record the metrics on chain;
* a completed task: the initiator's participant (or the first member) registers the model.

Each step first checks the chain and the local state (fedfabric.fl.state), so a restart after a
kill at any point resumes the round where it was and submits nothing twice.

Example::

    participant = Participant(ledger, "Org2MSP", FLApp.load("examples/apps/breast_cancer"),
                              "/data/ward-b.npz", store, Path("~/.fedfabric/org2"), org_key)
    participant.run()                  # until stopped; run(until_task="task-1") to stop after it
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from fedfabric.fl import rounds, threshold
from fedfabric.fl.app import AppError, FLApp, LocalData
from fedfabric.fl.artifact import weights_bytes, write_artifact
from fedfabric.fl.encoding import SHARD, Encoding, packed_length
from fedfabric.fl.localmodel import LocalModel
from fedfabric.fl.setup import key_context
from fedfabric.fl.state import TaskState
from fedfabric.fl.strategy import Strategy, strategy_for
from fedfabric.fl.vector import Layout, from_vector, model_spec, spec_hash
from fedfabric.he import Additive, Scheme, ThresholdCKKS, scheme_for
from fedfabric.keys import UnwrapError, public_pem, unwrap
from fedfabric.ledger import (
    AlreadyExists,
    Conflict,
    EventStream,
    FailedPrecondition,
    FileCheckpointer,
    Ledger,
    LedgerError,
    LedgerEvent,
    NotFound,
    all_pages,
)
from fedfabric.ledger.schema import (
    Endorsement,
    Included,
    ModelSpec,
    Provenance,
    Round,
    Task,
    Update,
)
from fedfabric.store import SEGMENT_LIMIT, OversizedBlob, Store, StoreError, sha256

# One Keras training or evaluation at a time in a process (simulations run several
# participants in threads of one process).
_KERAS = threading.Lock()
REGISTRATION_WAIT = 300  # seconds after completion a member waits for the model's registration
DESIGNATED_GRACE = 4.0  # seconds the other members give the designated one to send a step
SHARES_GRACE = 2.0  # seconds a quorum waits for the first decryption set's endorsements
METRICS_WAIT = 30.0  # seconds evaluated metrics wait for a step with room (_Live.room)
PRECOMPUTED_SHARDS = 256  # encryptions of zero kept ready per task (16 MiB: a 1M-value update)
PRECOMPUTE_STEP = 16  # made at a time (tens of ms), so the thread soon sees a stop


@dataclass(frozen=True)
class Floors:
    """The weakest terms this organisation accepts (the chain's own minimum is a majority of
    the participants, at least 2, for both)."""

    quorum: int = 2
    min_updates: int = 2


@dataclass
class _Live:
    """What the service holds for a task it takes part in."""

    task_id: str
    local: LocalModel | None = None  # the app's model, kept for the whole task
    scheme: Additive | None = None
    layout: int = 0  # values in the model
    secret: bytes | None = None  # threshold-ckks: this member's t-out-of-N secret
    errors: set[str] = field(default_factory=set)
    waiting: dict[str, float] = field(default_factory=dict)  # when a step's condition held
    presums: dict[int, rounds.Presum] = field(default_factory=dict)  # round -> updates added
    # round -> (the aggregate its quorum endorsed, that aggregate decrypted or None, samples)
    decrypted: dict[int, tuple[str, np.ndarray | None, int]] = field(default_factory=dict)
    kept: dict[int, rounds.Kept] = field(default_factory=dict)  # round -> its aggregate, held
    sending: dict[str, Future[bool]] = field(default_factory=dict)  # step -> its transaction
    # Set while this member's metrics fit in the block of a single transaction now due
    # (_metrics_fit), or no round runs (idle): they take no place in a block of the updates or
    # the endorsements that every member sends at once (a block is cut at one per member).
    room: threading.Event = field(default_factory=threading.Event)
    idle: bool = False  # the task has ended here, or the service stops
    closer: dict[int, str] = field(default_factory=dict)  # round -> who is to send its close

    @property
    def model(self) -> Any:
        return None if self.local is None else self.local.model


class Participant:
    def __init__(self, ledger: Ledger, msp_id: str, app: FLApp, data_location: str,
                 store: Store, state_dir: Path, key: X25519PrivateKey,
                 floors: Floors | None = None, poll: float = 2.0,
                 log: logging.Logger | None = None,
                 hold: Callable[[str, int], None] | None = None) -> None:
        self.ledger, self.msp_id, self.app, self.store = ledger, msp_id, app, store
        self.state_dir, self.key, self.poll = Path(state_dir), key, poll
        self.floors = floors or Floors()
        self.log = log or logging.getLogger(f"fedfabric.participant.{msp_id}")
        self.data: LocalData = app.data(data_location)  # AppError when it is not there
        self.location = data_location
        self.strategy: Strategy = strategy_for(app.hyperparameters)
        self.checkpoint = FileCheckpointer(self.state_dir / "checkpoint.json")
        self.live: dict[str, _Live] = {}
        self.timings: dict[tuple[str, int], rounds.Timer] = {}
        self._digest: str | None = None
        self._stream: EventStream | None = None
        # Each round's model is evaluated and its metrics go on chain from this thread.
        self._background = ThreadPoolExecutor(1, thread_name_prefix=f"metrics-{msp_id}")
        self._metrics_jobs: dict[tuple[str, int], Future[None]] = {}
        # Close, finalize and the like commit from this thread while the loop goes on.
        self._sender = ThreadPoolExecutor(1, thread_name_prefix=f"send-{msp_id}")
        self._more = False  # a pass left work for the next (updates to add early)
        self._used_zeros = threading.Event()  # wakes the thread that makes encryptions of zero
        self._idle = threading.Event()  # clear while the loop works on ciphertexts
        self._idle.set()
        # Fault injection: hold(step, round) runs before "submit", "endorse" and "apply".
        self.hold = hold or (lambda step, round: None)

    # ---- setup ---------------------------------------------------------------------------------
    def publish_key(self) -> None:
        """Publish this organisation's key on chain unless it is the published one (admin)."""
        if self.ledger.tasks.ensure_key(self.msp_id, public_pem(self.key.public_key())):
            self.log.info("published the organisation key of %s", self.msp_id)

    def register_dataset(self, dataset_id: str, name: str, grant_to: list[str],
                         expires: datetime.datetime) -> None:
        """Register the local training data (its hash and row count; the data stays here) and
        grant ``training`` to the initiators that may use it (as an admin)."""
        ds = self.ledger.datasets
        ds.register(dataset_id, name, self.data_digest, f"local://{self.msp_id}/{dataset_id}",
                    {"app": self.app.name}, self.data.train.samples,
                    {"stored": "at the owner; never shared"})
        for msp in grant_to:
            ds.grant(dataset_id, msp, "training", expires)

    @property
    def data_digest(self) -> str:
        if self._digest is None:
            self._digest = self.data.digest()
        return self._digest

    # ---- the service loop ------------------------------------------------------------------------
    def run(self, stop: threading.Event | None = None, until_task: str | None = None) -> None:
        """Take part until stop is set (or until_task has ended here)."""
        stop = stop or threading.Event()
        self.publish_key()
        self.discover()
        events: queue.Queue[LedgerEvent] = queue.Queue()
        reader = threading.Thread(target=self._read_events, args=(events, stop), daemon=True)
        reader.start()
        threading.Thread(target=self._make_zeros, args=(stop,), daemon=True,
                         name=f"zeros-{self.msp_id}").start()
        self.log.info("%s follows the chain with app %s (%s…) and %d training samples",
                      self.msp_id, self.app.name, self.app.content_hash[:12],
                      self.data.train.samples)
        try:
            while not stop.is_set():
                # A block's events: one pass, not one each; none awaited while work is left.
                batch = _drain(events, 0.0 if self._more else self.poll)
                for event in batch:
                    self._note(event)
                self.step()
                if batch:
                    self.checkpoint.checkpoint_chaincode_event(batch[-1].source)
                if until_task is not None and until_task not in self.live and \
                        TaskState(self.state_dir, until_task).ending is not None:
                    return
        finally:
            stop.set()
            if self._stream is not None:
                self._stream.close()
            for live in self.live.values():
                _idle(live)  # metrics waiting for room are recorded now, not in 30 s
            self._background.shutdown(wait=True)
            self._sender.shutdown(wait=True)

    def _read_events(self, out: queue.Queue[LedgerEvent], stop: threading.Event) -> None:
        """Feed events to the loop; reopen the stream from the checkpoint when it breaks."""
        backoff = 0.5
        while not stop.is_set():
            try:
                start = None if self.checkpoint.block_number is not None else \
                    self.ledger.block_height()
                with self.ledger.follow(start, self.checkpoint) as stream:
                    self._stream = stream  # run() closes it when it stops
                    if stop.is_set():
                        return
                    for event in stream:
                        out.put(event)
                        backoff = 0.5
            except LedgerError as e:
                if stop.is_set():
                    return
                self.log.warning("event stream: %s; reconnecting in %.1fs", e, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 15.0)

    def discover(self) -> None:
        """Find the tasks naming this organisation that have not ended here."""
        for task in all_pages(self.ledger.tasks.list):
            self._consider(task)

    def _note(self, event: LedgerEvent) -> None:
        if event.name == "TaskCreated":
            self._consider(event.record)

    def _consider(self, task: Task) -> None:
        """Take up a task naming this organisation: a live one, or an ended one this service
        was part of and has not finished (it stopped before applying the last round)."""
        if task.participant(self.msp_id) is None or task.id in self.live:
            return
        state = TaskState(self.state_dir, task.id)
        if state.ending is None and (not task.done or state.dir.is_dir()):
            self.live[task.id] = _Live(task.id)

    def step(self) -> None:
        """Bring every live task forward as far as it can go now."""
        self._more = False
        for task_id in list(self.live):
            live = self.live[task_id]
            try:
                if self._advance(live):
                    del self.live[task_id]
            except (LedgerError, StoreError, OSError, ValueError) as e:
                message = f"{type(e).__name__}: {e}"
                if message not in live.errors:  # say it once, retry quietly
                    live.errors.add(message)
                    self.log.warning("task %s: %s (will retry)", task_id, message)

    # ---- one task --------------------------------------------------------------------------------
    def _advance(self, live: _Live) -> bool:
        """One pass over a task; True when it has ended here."""
        task = self.ledger.tasks.get(live.task_id)
        state = TaskState(self.state_dir, task.id)
        if task.status == "PENDING":
            self._join_and_start(task, live, state)
            return state.ending is not None
        if task.status in ("CANCELLED", "FAILED"):
            _idle(live)
            reason = task.failure_reason or ""
            self.log.info("task %s %s%s", task.id, task.status.lower(),
                          f": {reason}" if reason else "")
            state.end(task.status.lower(), reason)
            return True
        if self.msp_id not in task.members:
            self.log.info("task %s started without %s: it did not join in time", task.id,
                          self.msp_id)
            state.end("left out", "did not join before the task started")
            return True
        if _is_threshold(task) and not task.collective_key_hash:
            self._key_phase(task, live, state)
            return False
        if not self._ready(task, live, state):
            return state.ending is not None
        r = state.applied() + 1
        live.room.clear()  # until this pass finds another member's single step due
        while r <= task.current_round:
            rnd = self.ledger.tasks.round(task.id, r)
            if rnd.status == "FINALIZED":
                if not self._apply(task, live, state, rnd):
                    break
                r += 1
            elif rnd.status == "OPEN":
                updates = self.ledger.tasks.updates(task.id, r)
                if self._submit(task, live, state, r, updates):
                    updates = self.ledger.tasks.updates(task.id, r)
                closer = self._maybe_close(task, live, rnd, updates)
                if closer is not None:
                    live.closer = {r: closer}
                    if _metrics_fit(self.msp_id, closer, finalizing=False):
                        live.room.set()
                self._add_early(task, live, state, r, updates)
                break
            else:
                endorsements = self.ledger.tasks.endorsements(task.id, rnd.round)
                if self._endorse(task, live, state, rnd, endorsements):
                    endorsements = self.ledger.tasks.endorsements(task.id, rnd.round)
                finalizer = self._maybe_finalize(task, live, rnd, endorsements)
                if finalizer is not None and _metrics_fit(
                        self.msp_id, live.closer.get(rnd.round), finalizing=True):
                    live.room.set()
                self._decrypt_early(task, live, state, rnd, endorsements)
                break
        if task.status == "COMPLETED" and state.applied() == task.rounds:
            _idle(live)
            return self._finish(task, live, state)
        self._evaluate_applied(task, live, state)  # this pass has trained if it had to
        return False

    def _terms_problem(self, task: Task, live: _Live) -> str | None:
        """Why this organisation refuses the task's terms, or None."""
        me = task.participant(self.msp_id)
        assert me is not None
        if task.app_hash != self.app.content_hash:
            return (f"its app hash {task.app_hash[:12]}… is not this participant's app "
                    f"{self.app.name} ({self.app.content_hash[:12]}… at {self.app.root})")
        if task.quorum < self.floors.quorum:
            return (f"its quorum {task.quorum} is below this organisation's floor "
                    f"{self.floors.quorum}")
        if task.min_updates < self.floors.min_updates:
            return (f"its min_updates {task.min_updates} is below this organisation's floor "
                    f"{self.floors.min_updates}")
        dataset = self.ledger.datasets.get(me.dataset_id)
        if dataset.owner_msp != self.msp_id or dataset.sha256 != self.data_digest:
            return (f"it trains on dataset {me.dataset_id}, whose registered hash is not the "
                    f"hash of the data at {self.location}")
        if self.data.train.samples > me.max_samples:
            return (f"it allows {me.max_samples} samples, fewer than the "
                    f"{self.data.train.samples} here")
        try:
            self._load(task, live)
        except (AppError, ValueError, UnwrapError, StoreError) as e:
            return str(e)
        return None

    def _load(self, task: Task, live: _Live) -> None:
        """The task's model (checked against its spec hash) and scheme (with the secret)."""
        if live.local is None:
            with _KERAS:
                model = self.app.model()
                if spec_hash(model_spec(model)) != task.model_spec_hash:
                    raise ValueError("the app's model does not match the task's model spec hash")
                live.local, live.layout = LocalModel(model), Layout.of(model).size
        if live.scheme is None and _is_threshold(task):
            if task.collective_key_hash:
                self._threshold_keys(task, live)
        elif live.scheme is None:
            me = task.participant(self.msp_id)
            assert me is not None
            if not me.wrapped_key:
                raise ValueError(f"the task carries no HE key for {self.msp_id}")
            initiator = self.store.sibling(task.initiator_msp)
            secret = unwrap(initiator.get(me.wrapped_key), self.key, key_context(task.id))
            live.scheme = scheme_for(task.he_scheme, initiator.get(task.he_context_hash),
                                     secret)

    def _join_and_start(self, task: Task, live: _Live, state: TaskState) -> None:
        joins = self.ledger.tasks.joins(task.id)
        if not any(j.msp_id == self.msp_id for j in joins):
            problem = self._terms_problem(task, live)
            if problem is not None:
                self.log.warning("task %s: refused: %s", task.id, problem)
                state.end("refused", problem)
                return
            key_share = ""
            if _is_threshold(task):
                made = state.key_bundle()  # made once: a restart posts the same bundle
                if made is None:
                    made = threshold.make_key_bundle(task, self.msp_id, self.key, self.ledger,
                                                     self.store, state.dir)
                    state.save_key_bundle(made)
                key_share = made
            try:
                self.ledger.tasks.join(task.id, task.terms_hash, key_share)
                self.log.info("task %s: joined (terms %s…)", task.id, task.terms_hash[:12])
            except AlreadyExists:
                pass
            joins = self.ledger.tasks.joins(task.id)
        if len(joins) == len(task.participants) or _expired(task.created_at, task.round_timeout):
            self._send_once(live, "start", task.participants[0].msp_id,
                            self.ledger.tasks.start, task.id, what="start")

    def _key_phase(self, task: Task, live: _Live, state: TaskState) -> None:
        """Combine the members' public-key shares, endorse the collective key, and finalize it
        once a quorum agrees (or the start's round_timeout ran out)."""
        endorsed = self.ledger.tasks.key_endorsements(task.id)
        if not any(e.msp_id == self.msp_id for e in endorsed):
            members = threshold.bundles(self.ledger, self.store, task)
            key = self.store.put(threshold.collective_key(self.store, task, members))
            with contextlib.suppress(AlreadyExists, FailedPrecondition):
                self.ledger.tasks.endorse_key(task.id, key)
                self.log.info("task %s: endorsed the collective key %s…", task.id, key[:12])
            endorsed = self.ledger.tasks.key_endorsements(task.id)
        counts: dict[str, int] = {}
        for e in endorsed:
            counts[e.key_hash] = counts.get(e.key_hash, 0) + 1
        if max(counts.values(), default=0) >= task.quorum or \
                _expired(task.started_at or task.created_at, task.round_timeout):
            self._send_once(live, "key", task.members[0], self.ledger.tasks.finalize_key,
                            task.id, what="finalize the collective key of")

    def _threshold_keys(self, task: Task, live: _Live) -> None:
        """The collective key the quorum endorsed, and this member's threshold secret."""
        assert task.collective_key_hash is not None
        endorsers = [e.msp_id for e in self.ledger.tasks.key_endorsements(task.id)
                     if e.key_hash == task.collective_key_hash]
        public = None
        for msp in [self.msp_id, *endorsers]:
            with contextlib.suppress(StoreError):
                public = self.store.sibling(msp).get(task.collective_key_hash, SEGMENT_LIMIT)
                break
        if public is None:
            raise StoreError(f"no copy of task {task.id}'s collective key can be read")
        members = threshold.bundles(self.ledger, self.store, task)
        live.secret = threshold.threshold_secret(self.store, task, self.msp_id, self.key,
                                                 members)
        live.scheme = ThresholdCKKS(public)

    def _send_once(self, live: _Live, step: str, designated: str, action: Any, *args: Any,
                   what: str, timer: rounds.Timer | None = None) -> None:
        """A transaction any member may send once its condition holds: the designated member
        sends it at once, the others only if it has not gone through DESIGNATED_GRACE seconds
        later (so a round costs one such transaction, not one per member). It commits from the
        sender thread while the loop goes on (decrypting, adding updates); once it has gone
        through it is not sent again. One that failed or was refused goes again on a later pass
        if its condition still holds (a refusal because another member's went through changes
        the chain, and so the condition). timer: where its seconds go, under the step's name."""
        key = f"{step}:{args}"
        first = live.waiting.setdefault(key, time.monotonic())
        if designated != self.msp_id and time.monotonic() - first < DESIGNATED_GRACE:
            return
        sent = live.sending.get(key)
        if sent is not None and (not sent.done() or (sent.exception() is None and
                                                     sent.result())):
            return
        live.sending[key] = self._sender.submit(self._send, live, step, action, args, what,
                                                timer)

    def _send(self, live: _Live, step: str, action: Any, args: tuple[Any, ...], what: str,
              timer: rounds.Timer | None) -> bool:
        began = time.perf_counter()
        try:
            return self._ignore_races(action, *args, what=what)
        except (LedgerError, OSError, ValueError) as e:
            message = f"{what} {args[0]}: {type(e).__name__}: {e}"
            if message not in live.errors:  # say it once; a later pass sends it again
                live.errors.add(message)
                self.log.warning("%s (will retry)", message)
            raise
        finally:
            if timer is not None:
                timer.phases[step] = timer.phases.get(step, 0.0) + time.perf_counter() - began

    def _ready(self, task: Task, live: _Live, state: TaskState) -> bool:
        """Model, scheme and the initial weights in place (after a restart too)."""
        try:
            self._load(task, live)
        except (AppError, ValueError, UnwrapError) as e:
            self.log.warning("task %s: cannot take part: %s", task.id, e)
            state.end("refused", str(e))
            return False
        if state.applied() < 0:
            try:
                blob = self.store.sibling(task.initiator_msp).get(task.initial_weights_hash,
                                                                  8 * live.layout)
            except OversizedBlob as e:
                state.end("refused", f"the initial weights are too large: {e}")
                return False
            weights = np.frombuffer(blob, dtype=np.float64)
            if len(weights) != live.layout:
                state.end("refused", f"the initial weights have {len(weights)} values, the "
                                     f"model {live.layout}")
                return False
            state.save_weights(0, weights)
        return True

    def _make_zeros(self, stop: threading.Event) -> None:
        """A thread that keeps encryptions of zero ready for the next update of each threshold
        task, so that encrypting it is quick once it is trained. It makes them on itself alone
        (one worker), at the lowest CPU priority, and pauses while the loop verifies, adds or
        decrypts: its work falls in the waits for blocks and beside the training."""
        with contextlib.suppress(OSError, AttributeError):  # Linux: a thread's own niceness
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        while not stop.is_set():
            self._used_zeros.clear()
            if self._idle.wait(1.0) and not self._precompute():
                self._used_zeros.wait(1.0)

    @contextlib.contextmanager
    def _ciphertext_work(self) -> Iterator[None]:
        """The loop verifies, adds or decrypts: the thread making encryptions of zero waits
        meanwhile (after the few it is making), not to take the cores from it."""
        self._idle.clear()
        try:
            yield
        finally:
            self._idle.set()

    def _precompute(self) -> bool:
        """Make a few encryptions of zero for a threshold task short of PRECOMPUTED_SHARDS (or
        of its update's size); False when none is short."""
        for live in list(self.live.values()):
            if isinstance(live.scheme, ThresholdCKKS):
                want = min(PRECOMPUTED_SHARDS, -(-packed_length(live.layout) // SHARD))
                if live.scheme.precomputed < want:
                    live.scheme.precompute(min(PRECOMPUTE_STEP, want - live.scheme.precomputed),
                                           workers=1)
                    return True
        return False

    def _timer(self, task: Task, round: int) -> rounds.Timer:
        return self.timings.setdefault((task.id, round), rounds.Timer())

    def _seed(self, task: Task, round: int) -> int:
        return rounds.training_seed(self.app.hyperparameters.seed, task.id, round, self.msp_id)

    def _submit(self, task: Task, live: _Live, state: TaskState, r: int,
                updates: list[Update]) -> bool:
        """Train, encrypt, store and submit this member's update unless it is among updates
        (the round's, read in this pass); True when it sent one."""
        if any(u.msp_id == self.msp_id for u in updates):
            return False
        prepared = state.update(r)
        timer = self._timer(task, r)
        if prepared is None:
            weights = state.weights(r - 1)
            assert weights is not None and live.scheme is not None and live.local is not None
            with _KERAS:
                update = rounds.prepare_update(task, r, self.msp_id, live.local,
                                               self.strategy, weights, self.data.train,
                                               live.scheme, self.store, self._seed(task, r),
                                               timer)
            self._used_zeros.set()
            prepared = {"manifest_hash": update.manifest_hash, "shards": update.shards,
                        "samples": update.samples}
            state.save_update(r, prepared)
            self.log.info("task %s round %d: trained on %d samples (%.2fs), encrypted %d "
                          "shards (%.2fs), stored %s…", task.id, r, update.samples,
                          timer.phases.get("train", 0.0), update.shards,
                          timer.phases.get("encrypt", 0.0), update.manifest_hash[:12])
        self.hold("submit", r)
        began = time.perf_counter()
        try:
            self.ledger.tasks.submit_update(task.id, r, prepared["manifest_hash"],
                                            prepared["shards"], prepared["samples"])
            self.log.info("task %s round %d: submitted update %s…", task.id, r,
                          prepared["manifest_hash"][:12])
        except AlreadyExists:
            pass  # a submission from before a restart got in
        except FailedPrecondition as e:
            self.log.info("task %s round %d: update not taken: %s", task.id, r, e.message)
        timer.phases["submit"] = timer.phases.get("submit", 0.0) + time.perf_counter() - began
        return True

    def _maybe_close(self, task: Task, live: _Live, rnd: Round,
                     updates: list[Update]) -> str | None:
        """Send the close if this member is to (now); the member to send it when it is due."""
        if len(updates) == len(task.members):
            # The member whose update completed the set sees it first: straight after its own
            # submission commits, with no event to wait for.
            sender = rounds.close_order(updates)[-1].msp_id
        elif _expired(rnd.opened_at, task.round_timeout):
            sender = _designated(task, rnd.round)
        else:
            return None
        self._send_once(live, "close", sender, self.ledger.tasks.close_round, task.id,
                        rnd.round, what=f"close round {rnd.round}",
                        timer=self._timer(task, rnd.round))
        return sender

    def _add_early(self, task: Task, live: _Live, state: TaskState, r: int,
                   updates: list[Update]) -> None:
        """Once its own update is in, verify and add the round's updates as they come, so the
        close leaves only the latest to add (rounds.Presum). One update a pass: the loop sees
        its events (the close) between two."""
        if live.scheme is None or state.aggregate(r) is not None or \
                not any(u.msp_id == self.msp_id for u in updates):
            return
        for old in [k for k in live.presums if k != r]:
            del live.presums[old]
        early = live.presums.get(r)
        if early is None:
            early = live.presums[r] = rounds.Presum(
                self.store, live.scheme, Encoding.of(task, live.layout), task, r,
                self._timer(task, r))
        pending = [u for u in updates if u.msp_id not in early.added]
        if early.spoiled or not pending:
            return
        with self._ciphertext_work():
            early.add(Included(pending[0].msp_id, pending[0].manifest_hash, pending[0].samples))
        self._more = self._more or (len(pending) > 1 and not early.spoiled)

    def _endorse(self, task: Task, live: _Live, state: TaskState, rnd: Round,
                 endorsements: list[Endorsement]) -> bool:
        """Aggregate, share (in the first decryption set) and endorse unless this member is
        among endorsements (the round's, read in this pass); True when it sent one."""
        if any(e.msp_id == self.msp_id for e in endorsements):
            return False
        made = state.aggregate(rnd.round)
        timer = self._timer(task, rnd.round)
        if made is None:
            assert live.scheme is not None
            try:
                with self._ciphertext_work():
                    result = rounds.aggregate(self.store, live.scheme, task, rnd, live.layout,
                                              timer, live.presums.pop(rnd.round, None))
            except rounds.NoAggregate as e:
                state.save_aggregate(rnd.round, {"none": str(e)})
                self.log.warning("task %s round %d: nothing to endorse: %s", task.id, rnd.round,
                                 e)
                return False
            made = {"digest": result.digest, "excluded": result.excluded}
            state.save_aggregate(rnd.round, made)
            if _is_threshold(task):  # for its share and its decryption (_kept)
                for old in [k for k in live.kept if k < rnd.round]:
                    del live.kept[old]
                live.kept[rnd.round] = result.kept
            for msp, why in result.excluded.items():
                self.log.warning("task %s round %d: left out %s's update: %s", task.id,
                                 rnd.round, msp, why)
        if "digest" not in made:
            return False
        if "share" not in made and _is_threshold(task) and \
                self.msp_id in threshold.first_set(task, rnd):
            assert live.secret is not None
            with _Phase(timer, "share"), self._ciphertext_work():
                made["share"] = threshold.post_share(
                    self.store, task, rnd, 0, threshold.first_set(task, rnd), self.msp_id,
                    live.secret, made["digest"], self.store.get_manifest(made["digest"]),
                    [*self._kept(live, rnd.round), self.store])
            state.save_aggregate(rnd.round, made)
        self.hold("endorse", rnd.round)
        try:
            with _Phase(timer, "endorse"):
                self.ledger.tasks.endorse_aggregate(task.id, rnd.round, made["digest"],
                                                    self.store.uri(made["digest"]),
                                                    made.get("share", ""))
            self.log.info("task %s round %d: endorsed aggregate %s… of %d updates", task.id,
                          rnd.round, made["digest"][:12],
                          len(rnd.included) - len(made.get("excluded", {})))
        except (AlreadyExists, FailedPrecondition):
            pass
        return True

    def _maybe_finalize(self, task: Task, live: _Live, rnd: Round,
                        endorsements: list[Endorsement]) -> str | None:
        """Send the finalization if this member is to (now); the member to send it when the
        quorum agrees (or the round timed out)."""
        # The member whose endorsement completed the quorum (with the first decryption set's
        # shares) sees that first, straight after its own endorsement commits.
        sender = _completing(task, rnd, endorsements)
        if sender is None:
            counts: dict[str, int] = {}
            for e in endorsements:
                counts[e.aggregate_hash] = counts.get(e.aggregate_hash, 0) + 1
            expired = _expired(rnd.closed_at or rnd.opened_at, task.round_timeout)
            sender = _designated(task, rnd.round)
            if max(counts.values(), default=0) >= task.quorum:
                # The first decryption set's endorsements carry their shares: finalizing
                # without them would cost a block of shares afterwards, so give them a moment.
                since = live.waiting.setdefault(f"first set:{rnd.round}", time.monotonic())
                if time.monotonic() - since < SHARES_GRACE and not expired:
                    return sender  # due, not sent yet
            elif not expired:
                return None
        self._send_once(live, "finalize", sender, self.ledger.tasks.finalize_round, task.id,
                        rnd.round, what=f"finalize round {rnd.round}",
                        timer=self._timer(task, rnd.round))
        return sender

    def _decrypt_early(self, task: Task, live: _Live, state: TaskState, rnd: Round,
                       endorsements: list[Endorsement]) -> None:
        """Threshold: decrypt the aggregate this member computed once its quorum and the first
        decryption set's shares are in, while the finalization commits (kept for _apply, which
        takes it if the round is finalized with that aggregate)."""
        made = state.aggregate(rnd.round) or {}
        digest = made.get("digest")
        if not _is_threshold(task) or digest is None or rnd.round in live.decrypted:
            return
        agreeing = [e.msp_id for e in endorsements if e.aggregate_hash == digest]
        if len(agreeing) < task.quorum or \
                not set(threshold.first_set(task, rnd)) <= set(agreeing):
            return
        for old in [k for k in live.decrypted if k < rnd.round]:
            del live.decrypted[old]
        with _Phase(self._timer(task, rnd.round), "decrypt"):
            manifest = self.store.get_manifest(digest)
            samples = rounds.final_samples(manifest, task, rnd)
            areas: list[rounds.Area] = [
                *self._kept(live, rnd.round), self.store,
                *(self.store.sibling(m) for m in agreeing if m != self.msp_id)]
            shares = self.ledger.tasks.decryption_shares(task.id, rnd.round)
            with self._ciphertext_work():
                result = threshold.decrypt_early(self.store, task, rnd, digest, shares,
                                                 manifest, areas, live.layout, samples)
        live.decrypted[rnd.round] = (digest, result, samples)
        live.kept.pop(rnd.round, None)  # its share is posted and it is decrypted

    @staticmethod
    def _kept(live: _Live, round: int) -> list[rounds.Kept]:
        """The round's aggregate as this member computed it, if it still holds it (not after
        a restart): read before the store (the same bytes, named by their hash)."""
        kept = live.kept.get(round)
        return [] if kept is None else [kept]

    def _apply(self, task: Task, live: _Live, state: TaskState, rnd: Round) -> bool:
        """Decrypt and apply; False while the decryption waits for others. The new model is
        evaluated later (_evaluate_applied), once the next round's update is on its way."""
        self.hold("apply", rnd.round)
        previous = state.weights(rnd.round - 1)
        assert previous is not None and live.scheme is not None
        timer = self._timer(task, rnd.round)
        endorsers = [e.msp_id for e in self.ledger.tasks.endorsements(task.id, rnd.round)
                     if e.aggregate_hash == rnd.final_hash]
        mine = [m for m in endorsers if m == self.msp_id]  # our own copy first
        endorsers = mine + [m for m in endorsers if m not in mine]
        if _is_threshold(task):
            with self._ciphertext_work():
                decrypted = self._decrypt_jointly(task, live, rnd, endorsers, timer)
            if decrypted is None:
                return False  # waiting for the other members' shares
            summed, samples = decrypted
        else:
            with self._ciphertext_work():
                summed, samples = rounds.read_final(self.store, cast(Scheme, live.scheme), task,
                                                    rnd, live.layout, endorsers, timer)
        with _Phase(timer, "apply"):
            weights = self.strategy.apply(previous, summed, samples)
            del summed
            state.save_weights(rnd.round, weights)
        state.save_timings(rnd.round, timer.phases)
        self.log.info("task %s round %d: applied aggregate %s… of %d samples", task.id,
                      rnd.round, (rnd.final_hash or "")[:12], samples)
        return True

    def _evaluate_applied(self, task: Task, live: _Live, state: TaskState) -> bool:
        """Evaluate every applied round's model on the held-out data and record the metrics on
        chain, in the background (one job per round, in order): after the next round's update
        is trained and sent, so the round does not wait for it. True when all are on chain."""
        pending = [r for r in range(1, state.applied() + 1) if not state.metrics_recorded(r)]
        for r in pending:
            job = self._metrics_jobs.get((task.id, r))
            if job is None or (job.done() and not state.metrics_recorded(r)):
                self._metrics_jobs[(task.id, r)] = self._background.submit(
                    self._evaluate_and_record, task, live, state, r)
        return not pending

    def _evaluate_and_record(self, task: Task, live: _Live, state: TaskState, r: int) -> None:
        try:
            metrics = state.metrics(r)
            if metrics is None:
                weights = state.weights(r)
                assert weights is not None
                timer = self._timer(task, r)
                with _KERAS, _Phase(timer, "evaluate"):
                    from_vector(live.model, weights)
                    metrics = self.app.evaluate(live.model, self.data.held_out)
                state.save_metrics(r, metrics)
                state.save_timings(r, timer.phases)
                self.log.info("task %s round %d: evaluated on %d held-out samples: %s",
                              task.id, r, self.data.held_out.samples,
                              ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
            if not live.room.wait(METRICS_WAIT):  # bounded: recorded anyway
                self.log.info("task %s round %d: no step with room for the metrics in %.0fs",
                              task.id, r, METRICS_WAIT)
            if not live.idle:
                live.room.clear()  # one record per such step
            with contextlib.suppress(AlreadyExists):  # recorded before a restart
                self.ledger.tasks.record_metrics(task.id, r, metrics)
            state.save_metrics_recorded(r)
        except (LedgerError, AppError, OSError, ValueError) as e:
            self.log.warning("task %s round %d: recording the metrics failed: %s (will retry)",
                             task.id, r, e)

    def _decrypt_jointly(self, task: Task, live: _Live, rnd: Round, endorsers: list[str],
                         timer: rounds.Timer) -> tuple[np.ndarray, int] | None:
        """The round's threshold decryption (fl.threshold.decrypt_round), or None while it
        waits for the other members' shares."""
        assert live.secret is not None
        digest, early, samples = live.decrypted.pop(rnd.round, ("", None, 0))
        if early is not None and digest == rnd.final_hash:
            return early, samples  # decrypted while the finalization committed
        manifest, areas = rounds.final_manifest(self.store, rnd, endorsers)
        samples = rounds.final_samples(manifest, task, rnd)
        began = time.perf_counter()
        result = threshold.decrypt_round(self.ledger, self.store, task, rnd, self.msp_id,
                                         live.secret, manifest, areas, live.layout, samples,
                                         self.log)
        timer.phases["decrypt"] = timer.phases.get("decrypt", 0.0) + time.perf_counter() - began
        return None if result is None else (result, samples)

    def _finish(self, task: Task, live: _Live, state: TaskState) -> bool:
        """Register the model (the initiator's participant, else the first member) and attest
        the final weights this organisation computed, which a deployment needs from a quorum
        of members. True when done here."""
        if not self._evaluate_applied(task, live, state):
            return False
        weights = state.weights(task.rounds)
        assert weights is not None
        digest = sha256(weights_bytes(weights))
        registrar = task.initiator_msp if task.initiator_msp in task.members else task.members[0]
        name = str(task.hyperparameters.get("model_name") or f"{self.app.name}-{task.id}")
        if registrar == self.msp_id:
            with _KERAS:
                from_vector(live.model, weights)
                artifact = write_artifact(self.store, live.model, weights)
            try:
                model = self.ledger.models.register(ModelSpec(
                    name=name, version="1", provenance=Provenance("task", task_id=task.id,
                                                                   round=task.rounds),
                    framework=_framework(), metrics=state.metrics(task.rounds) or {},
                    **artifact))
                self.log.info("task %s: registered model %s:%s (weights %s…)", task.id,
                              model.name, model.version, model.weights_hash[:12])
            except AlreadyExists:
                pass
        try:
            record = self.ledger.models.get(name, "1").model
        except NotFound:
            if not _expired(task.updated_at, max(task.round_timeout, REGISTRATION_WAIT)):
                return False  # the registrar has not registered it yet
            state.end("completed", f"no model {name}:1 was registered")
            self.log.warning("task %s: completed; no model %s:1 was registered", task.id, name)
            return True
        if record.provenance.task_id != task.id:
            self.log.warning("task %s: model %s:1 is not this task's model", task.id, name)
        else:
            try:
                self.ledger.models.attest_weights(name, "1", digest)
            except NotFound:
                return False  # an endorser has not committed the registration yet: next pass
            except AlreadyExists:
                pass
            else:
                self.log.info("task %s: attested the weights of %s:1 (%s)", task.id, name,
                              "they match ours" if digest == record.weights_hash else
                              f"ours are {digest[:12]}…, not {record.weights_hash[:12]}…")
        state.end("completed", f"model {name}:1")
        self.log.info("task %s: completed", task.id)
        return True

    def _ignore_races(self, action: Any, *args: Any, what: str) -> bool:
        """Send a transaction anyone may send once: True when it went through; False when it
        was refused (another organisation's went first, or the endorsers do not see the
        condition yet), which is no error."""
        try:
            action(*args)
            self.log.info("%s %s", what, args[0])
            return True
        except (FailedPrecondition, Conflict):
            return False


def _drain(events: queue.Queue[LedgerEvent], timeout: float) -> list[LedgerEvent]:
    """The next event (waiting up to timeout) and every event queued behind it."""
    try:
        batch = [events.get(timeout=timeout)]
    except queue.Empty:
        return []
    while True:
        try:
            batch.append(events.get_nowait())
        except queue.Empty:
            return batch


class _Phase:
    """``with _Phase(timer, "close"):`` adds the block's seconds to a timer's phase."""

    def __init__(self, timer: rounds.Timer, phase: str) -> None:
        self.timer, self.phase = timer, phase

    def __enter__(self) -> None:
        self.began = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timer.phases[self.phase] = self.timer.phases.get(self.phase, 0.0) + \
            time.perf_counter() - self.began


def _is_threshold(task: Task) -> bool:
    return task.he_scheme == ThresholdCKKS.name


def _metrics_fit(me: str, closer: str | None, finalizing: bool) -> bool:
    """Whether this member's metrics go into the block of the single transaction now due
    (_Live.room): every member's but the closer's into the close's, the closer's into the
    finalization's. Each member has one such step a round, and neither block holds more than
    one transaction per member. The close's comes first: after the finalization the members
    train, and metrics sent then often come late enough to land among the next updates."""
    return (closer == me) if finalizing else (closer is not None and closer != me)


def _idle(live: _Live) -> None:
    live.idle = True
    live.room.set()


def _designated(task: Task, round: int) -> str:
    """The member that sends a round's close or finalize when a timeout, not a member's own
    transaction, made it due (the others only if it does not)."""
    return task.members[(round - 1) % len(task.members)]


def _completing(task: Task, rnd: Round, endorsements: list[Endorsement]) -> str | None:
    """The member whose endorsement (in chain time order) first gave an aggregate its quorum
    with, under threshold CKKS, the whole first decryption set among its endorsers; None while
    no aggregate has that."""
    first = set(threshold.first_set(task, rnd)) if _is_threshold(task) else set()
    endorsers: dict[str, set[str]] = {}
    for e in sorted(endorsements, key=lambda e: (*rounds.chain_instant(e.time), e.msp_id)):
        agreeing = endorsers.setdefault(e.aggregate_hash, set())
        agreeing.add(e.msp_id)
        if len(agreeing) >= task.quorum and first <= agreeing:
            return e.msp_id
    return None


def _expired(since: str, timeout: int) -> bool:
    """Whether timeout seconds have passed since an RFC 3339 chain time (0: never)."""
    if timeout <= 0:
        return False
    began = datetime.datetime.fromisoformat(since)
    return datetime.datetime.now(datetime.UTC) >= began + datetime.timedelta(seconds=timeout)


def _framework() -> str:
    import keras

    return f"keras-{keras.__version__}"
