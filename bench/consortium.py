"""What bench/round.py and bench/vs_flower.py share: a generated dense FL app of a chosen size,
a native network of its own per organisation count, and a task run the way a consortium runs
it: every organisation's participant service a separate process (fedfabric.admin.participants)
with its own exported profile, data, state and key, Org1 creating the task through
fedfabric.fl.create_task and the bench waiting (bounded) for every participant to finish it.

Nothing here times the SDK's steps itself: the participants write what they measured per phase
(``<state>/tasks/<task>/timings-<round>.json``), and the chain's record of each round gives its
wall time (opened_at to finalized_at).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import re
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # this process imports TensorFlow too

import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
from fedfabric.admin import NativeNetwork, Topology
from fedfabric.admin.participants import ParticipantProcesses
from fedfabric.fl import FLApp, Participant, create_task
from fedfabric.fl.app import partition
from fedfabric.fl.state import TaskState
from fedfabric.gateway import ConnectionProfile
from fedfabric.keys import org_key
from fedfabric.ledger import Ledger, LedgerError
from fedfabric.ledger.schema import TaskHistory

HERE = Path(__file__).resolve().parent
DENSE_APP = HERE / "apps" / "dense"
FEATURES = 64
PHASES = ("train", "encrypt", "store", "submit", "close", "verify", "aggregate",
          "store_aggregate", "share", "endorse", "finalize", "decrypt", "apply", "evaluate")
PORTS_PER_NETWORK = 600  # a network with base port B uses B+100 .. B+200+10*orgs+5


# ---- sizes and the generated app -----------------------------------------------------------------
def parse_size(text: str) -> int:
    """'10k' -> 10000, '1M' -> 1000000, '2500' -> 2500."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not match:
        raise ValueError(f"{text!r} is not a size (e.g. 10k, 100k, 1M)")
    factor = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    return int(float(match.group(1)) * factor)


def parse_list(text: str, item: Callable[[str], Any]) -> list[Any]:
    return [item(x) for x in text.split(",") if x.strip()]


def size_label(n: int) -> str:
    """About n, to 3 significant digits: 999,967 -> '1M', 99,991 -> '100k'."""
    if n >= 999_500:
        return f"{n / 1_000_000:.3g}M"
    if n >= 1_000:
        return f"{n / 1_000:.3g}k"
    return str(n)


def dense_parameters(hidden: int, features: int = FEATURES) -> int:
    """Input(features) -> Dense(hidden) -> Dense(1)."""
    return hidden * (features + 2) + 1


def write_dense_app(dest: Path, params: int) -> tuple[Path, int]:
    """Copy the dense app template to dest with a hidden layer sized to about `params`
    parameters; returns (dest, the exact parameter count)."""
    hidden = max(1, round((params - 1) / (FEATURES + 2)))
    shutil.copytree(DENSE_APP, dest, ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "dense_app" / "size.py").write_text(
        '"""The model\'s and the data\'s size (written by bench/consortium.py)."""\n\n'
        f"FEATURES = {FEATURES}\nHIDDEN = {hidden}  # {dense_parameters(hidden):,} parameters\n"
        "ROWS = 400  # training rows per organisation\n"
        "HELD_OUT = 100  # held-out rows per organisation\n")
    return dest, dense_parameters(hidden)


# ---- processes -----------------------------------------------------------------------------------
def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) of a process, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), fields[0], int(fields[19])


def descendants(pid: int) -> list[int]:
    """Every live process below pid (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None and stat[1] != "Z":
                children.setdefault(stat[0], []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _memory(pid: int, field: str) -> int | None:
    """A memory field of /proc/<pid>/status in bytes (None when the process has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def peak_rss(pid: int) -> int | None:
    """VmHWM of a process in bytes (None when it has gone)."""
    return _memory(pid, "VmHWM")


def rss(pid: int) -> int | None:
    """VmRSS of a process in bytes (None when it has gone)."""
    return _memory(pid, "VmRSS")


def stop_tree(pid: int, grace: float = 10.0) -> None:
    """Stop a process this bench started and everything below it, by pid: SIGTERM to it, a
    bounded wait, then SIGKILL to whatever of the tree is left (checked by start time, so a
    reused pid is never signalled)."""
    tree = [(p, s[2]) for p in [pid, *descendants(pid)] if (s := _stat(p)) is not None]

    def alive() -> list[int]:
        return [p for p, started in tree if (s := _stat(p)) is not None and s[2] == started
                and s[1] != "Z"]

    if not alive():
        return
    for p in alive()[:1]:
        os.kill(p, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive() and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.2)
    for p in alive():
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while alive() and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.1)
    _reap(pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def load() -> str:
    """The machine's load averages (1, 5, 15 min)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# ---- the network ---------------------------------------------------------------------------------
class Network:
    """One native network of `orgs` organisations in its own directory and ports."""

    def __init__(self, root: Path, orgs: int, base_port: int, say: Callable[[str], None],
                 batch_timeout: str | None = None):
        self.root, self.orgs, self.base_port, self.say = root, orgs, base_port, say
        self.batch_timeout = batch_timeout
        self.native = NativeNetwork(root)
        self.up_seconds = self.down_seconds = 0.0

    def up(self) -> None:
        began = time.monotonic()
        self.say(f"{self.orgs} orgs: bringing a network up in {self.root} "
                 f"(base port {self.base_port})")
        extra = {"batch_timeout": self.batch_timeout} if self.batch_timeout else {}
        self.native.up(Topology(orgs=self.orgs, base_port=self.base_port, **extra))
        self.up_seconds = time.monotonic() - began
        self.say(f"{self.orgs} orgs: network up in {self.up_seconds:.0f}s")

    def down(self, purge: bool = True) -> None:
        began = time.monotonic()
        self.native.down(purge=purge)
        self.down_seconds = time.monotonic() - began

    @property
    def profile(self) -> ConnectionProfile:
        return ConnectionProfile.from_dict(self.native.profile())


# ---- results -------------------------------------------------------------------------------------
def chain_time(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class RoundResult:
    round: int
    wall: float | None  # opened_at to finalized_at on the chain
    phases: dict[str, dict[str, float]]  # org -> phase -> seconds (as the participant measured)
    blocks: int | None = None  # blocks holding the round's submissions, close, endorsements,
    #                            finalization and decryption shares

    def phase(self, name: str) -> list[float]:
        return [p[name] for p in self.phases.values() if name in p]


@dataclass
class TaskResult:
    orgs: int
    params: int
    task_id: str = ""
    rounds: list[RoundResult] = field(default_factory=list)
    rss: dict[str, int] = field(default_factory=dict)  # org -> peak RSS (bytes)
    accuracy: float | None = None  # mean over orgs of the last round's held-out accuracy
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # what the bench itself took

    def measured(self) -> list[RoundResult]:
        """The rounds a table reports: those after the first when there are several."""
        complete = [r for r in self.rounds if r.wall is not None and r.phases]
        return complete[1:] if len(complete) > 1 else complete

    def wall(self) -> float | None:
        rounds = self.measured()
        return mean(r.wall for r in rounds if r.wall is not None) if rounds else None

    def blocks(self) -> float | None:
        """Blocks per round (mean over the rounds reported)."""
        counts = [r.blocks for r in self.measured() if r.blocks is not None]
        return mean(counts) if counts else None

    def senders(self, name: str) -> float:
        """How many participants measured a phase, per round (mean over the rounds)."""
        return mean(len(r.phase(name)) for r in self.measured()) if self.measured() else 0

    def phase(self, name: str) -> tuple[float, float] | None:
        """(mean over participants, max over participants), each averaged over the rounds."""
        per_round = [(mean(v), max(v)) for r in self.measured() if (v := r.phase(name))]
        if not per_round:
            return None
        return mean(m for m, _ in per_round), mean(x for _, x in per_round)


# ---- the consortium ------------------------------------------------------------------------------
class Consortium:
    """The organisations of one network, each with its own directory (profile, data, state,
    key), its dataset registered on chain and its key published: what each organisation's
    admin does before taking part (see tests/integration/test_participants.py)."""

    def __init__(self, network: Network, root: Path, say: Callable[[str], None]) -> None:
        self.network, self.root, self.say = network, root, say
        self.services = ParticipantProcesses(root / "participants")
        self.store = root / "blobs"
        self.store.mkdir(parents=True, exist_ok=True)
        self.profile = network.profile
        self.orgs = [o.name for o in self.profile.organizations.values()]
        self.data: dict[str, Path] = {}
        self.datasets: dict[str, str] = {}

    def prepare(self, app_dir: Path, locations: list[str] | None = None) -> float:
        """Partition the app's generated data (one file per organisation; the same for every
        model size) unless given, export each organisation's profile, publish its key and
        register its dataset (training granted to Org1). Returns the seconds it took."""
        from fedfabric.store import LocalStore

        began = time.monotonic()
        app = FLApp.load(app_dir)
        locations = locations or partition(app, self.root / "data", len(self.orgs))
        run = uuid.uuid4().hex[:6]
        expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
        for org, location in zip(self.orgs, locations, strict=True):
            self.data[org] = Path(location)
            self.services.export(self.profile, org)
            self.datasets[org] = f"bench-{org.lower()}-{run}"
            gateway = self.profile.connect(org, user="Admin")
            try:
                ledger = Ledger(gateway.get_network(self.profile.channel), self.profile.chaincode,
                                after_commit=self.network.native.wait_for_block)
                state = self.services.state(org)
                p = Participant(ledger, f"{org}MSP", app, location, LocalStore(self.store),
                                state, org_key(state / "keys", f"{org}MSP"))
                waited = _until_endorsable(p.publish_key)
                if waited is not None:
                    self.say(f"{org}: its first transaction found no peers to satisfy the "
                             f"endorsement policy; it went through {waited:.0f}s later (the "
                             "peers' gossip membership was not complete yet)")
                p.register_dataset(self.datasets[org], "generated",
                                   [] if org == self.orgs[0] else [f"{self.orgs[0]}MSP"], expires)
            finally:
                gateway.close()
        seconds = time.monotonic() - began
        self.say(f"{len(self.orgs)} orgs: keys published and datasets registered in "
                 f"{seconds:.0f}s")
        return seconds

    def run_task(self, app_dir: Path, params: int, rounds: int, round_timeout: int,
                 stall: float, timeout: float) -> TaskResult:
        """Start every organisation's participant process with this app, create the task as
        Org1 (every organisation a participant), wait for every participant to have finished
        it (bounded), read what they measured, stop them. Never raises for a failed task: the
        result carries the error."""
        from fedfabric.store import LocalStore

        n = len(self.orgs)
        result = TaskResult(n, params)
        label = f"{n} orgs, {size_label(params)}"
        began = time.monotonic()
        try:
            # Participants sharing this host share its cores: TensorFlow's pools each theirs.
            threads = ["--threads", str(max(1, cores() // n))]
            for org in self.orgs:
                self.services.start(org, app_dir, self.data[org], self.store, threads)
            first = self.orgs[0]
            with self.profile.connect(first, user="Admin") as gateway:
                ledger = Ledger(gateway.get_network(self.profile.channel), self.profile.chaincode)
                start = ledger.block_height()
                task = create_task(ledger, LocalStore(self.store), FLApp.load(app_dir),
                                   {f"{o}MSP": self.datasets[o] for o in self.orgs},
                                   rounds=rounds, round_timeout=round_timeout)
                result.task_id = task.id
                self.say(f"{label}: task {task.id} created ({rounds} rounds, quorum "
                         f"{task.quorum}, round_timeout {round_timeout}s)")
                history = self._wait(ledger, task.id, result, label, stall, timeout)
                blocks = round_blocks(ledger, task.id, start) if history is not None and \
                    history.task.status == "COMPLETED" else {}
            result.seconds["task"] = time.monotonic() - began
            for org in self.orgs:  # just before stopping: each process's peak resident memory
                pid = self.services.pid(org)
                if pid is not None:
                    rss = peak_rss(pid)
                    if rss is not None:
                        result.rss[org] = rss + sum(peak_rss(c) or 0 for c in descendants(pid))
            if history is not None:
                self._collect(history, result, blocks)
        except Exception as e:  # report it with the others; the bench goes on
            result.error = f"{type(e).__name__}: {e}"
        finally:
            stopping = time.monotonic()
            with ThreadPoolExecutor(min(8, n)) as pool:
                list(pool.map(self.services.stop, self.orgs))
            result.seconds["stop"] = time.monotonic() - stopping
            result.warnings = self._warnings(result.task_id)
        return result

    def _wait(self, ledger: Ledger, task_id: str, result: TaskResult, label: str,
              stall: float, timeout: float) -> TaskHistory | None:
        """Poll the chain (bounded) until every participant has ended the task here; sets
        result.error when the task fails, a process dies, or nothing moves for `stall`."""
        began = last_change = time.monotonic()
        seen: Any = None
        history: TaskHistory | None = None
        failures, where = 0, ""
        while True:
            time.sleep(2.0)
            now = time.monotonic()
            try:
                history = ledger.tasks.history(task_id)
                failures = 0
            except LedgerError as e:
                failures += 1
                if failures >= 10:
                    result.error = f"reading the task's history failed 10 times: {e}"
                    return history
                continue
            ended = [o for o in self.orgs
                     if TaskState(self.services.state(o), task_id).ending is not None]
            t = history.task
            now_seen = (t.status, len(history.joins), len(ended),
                        [(r.round, r.status, len(r.updates), len(r.endorsements),
                          len(r.metrics)) for r in history.rounds])
            if now_seen != seen:
                seen, last_change = now_seen, now
                where = "; ".join(f"round {r.round} {r.status} {len(r.updates)}u "
                                  f"{len(r.endorsements)}e {len(r.metrics)}m"
                                  for r in history.rounds[-1:])
                self.say(f"{label}: +{now - began:.0f}s {t.status}, {len(history.joins)}/"
                         f"{len(t.participants)} joined{', ' + where if where else ''}"
                         f"{f', {len(ended)} done' if ended else ''}")
            if t.status in ("FAILED", "CANCELLED"):
                result.error = f"task {t.status}: {t.failure_reason or '(no reason on chain)'}"
                return history
            if len(ended) == len(self.orgs):
                outcomes = {o: (TaskState(self.services.state(o), task_id).ending or {})
                            for o in self.orgs}
                bad = {o: e for o, e in outcomes.items() if e.get("outcome") != "completed"}
                if bad:
                    result.error = "; ".join(f"{o}: {e.get('outcome')}: {e.get('reason')}"
                                             for o, e in bad.items())
                return history
            dead = [o for o in self.orgs if self.services.pid(o) is None and o not in ended]
            if dead:
                result.error = (f"participant process(es) of {', '.join(dead)} exited; last "
                                f"lines of {dead[0]}'s log:\n" + self._tail(dead[0]))
                return history
            if now - last_change > stall:
                result.error = (f"nothing moved on chain for {stall:.0f}s (status {t.status}, "
                                f"{where or 'no round open'})")
                return history
            if now - began > timeout:
                result.error = f"the task did not end within {timeout:.0f}s"
                return history

    def _collect(self, history: TaskHistory, result: TaskResult,
                 blocks: dict[int, set[int]]) -> None:
        for r in history.rounds:
            wall = None
            if r.finalized_at:
                wall = (chain_time(r.finalized_at) - chain_time(r.opened_at)).total_seconds()
            phases = {}
            for org in self.orgs:
                measured = TaskState(self.services.state(org), history.task.id).timings(r.round)
                if measured:
                    phases[org] = {k: float(v) for k, v in measured.items()}
            result.rounds.append(RoundResult(r.round, wall, phases,
                                             len(blocks[r.round]) if r.round in blocks else None))
        if history.rounds:
            accuracies = [m.metrics["accuracy"] for m in history.rounds[-1].metrics
                          if isinstance(m.metrics, dict) and "accuracy" in m.metrics]
            result.accuracy = mean(accuracies) if accuracies else None

    def _tail(self, org: str, lines: int = 15) -> str:
        path = self.services.log(org)
        text = path.read_text(errors="replace") if path.is_file() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _warnings(self, task_id: str) -> list[str]:
        """The participants' warnings about this task (one line each, first occurrence)."""
        out: list[str] = []
        for org in self.orgs:
            path = self.services.log(org)
            if not path.is_file() or not task_id:
                continue
            for line in path.read_text(errors="replace").splitlines():
                if task_id in line and ("will retry" in line or "refused" in line or
                                        "left out" in line or "WARNING" in line):
                    text = f"{org}: {line.split(': ', 1)[-1]}"
                    if text not in out:
                        out.append(text)
        return out


ROUND_EVENTS = ("UpdateSubmitted", "RoundClosed", "AggregateEndorsed", "RoundFinalized",
                "DecryptionShareSubmitted")


def round_blocks(ledger: Ledger, task_id: str, start: int) -> dict[int, set[int]]:
    """For a completed task, the blocks on each round's path after the last update came in:
    the last update's block and those of the close, the endorsements, the finalization and any
    decryption shares posted after it (read back from the chain's events from block `start`).
    The protocol's minimum is 4: updates, close, endorsements (with the first decryption set's
    shares), finalization."""
    blocks: dict[int, set[int]] = {}
    last_update: dict[int, int] = {}
    rounds = ledger.tasks.get(task_id).rounds
    with ledger.follow(start, timeout=60) as events:
        for event in events:
            if event.task_id != task_id or event.name not in ROUND_EVENTS:
                continue
            r = event.record.round
            if event.name == "UpdateSubmitted":
                last_update[r] = event.block_number
            blocks.setdefault(r, set()).add(event.block_number)
            if event.name == "RoundFinalized" and r == rounds:
                break
    return {r: {b for b in found if b >= last_update.get(r, 0)} for r, found in blocks.items()}


def _until_endorsable(submit: Callable[[], object], timeout: float = 120.0) -> float | None:
    """Run a first transaction, retrying (bounded) while the peers do not know each other yet
    (just after `network up`, discovery finds no peer combination for the MAJORITY policy).
    Returns how long it retried (None: it went through at once)."""
    began, retried = time.monotonic(), False
    while True:
        try:
            submit()
            return time.monotonic() - began if retried else None
        except LedgerError as e:
            if "no combination of peers" not in str(e) or \
                    time.monotonic() - began > timeout:
                raise
            retried = True
            time.sleep(1.0)


@dataclass(frozen=True)
class Settings:
    rounds: int
    round_timeout: int
    stall: float
    timeout: float
    base_port: int
    keep: bool
    batch_timeout: str | None = None


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """--round-timeout, --stall, --timeout and --dir: how a bench runs a task and gives it up."""
    parser.add_argument("--round-timeout", type=int, default=1800,
                        help="the task's round_timeout (generous: a round closes when every "
                             "update is in)")
    parser.add_argument("--stall", type=float, default=900,
                        help="give a task up when nothing moves on chain for this long")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="give a task (or a Flower run) up after this long")
    parser.add_argument("--dir", type=Path, default=None,
                        help="working directory [default: a new temporary one]")
    parser.add_argument("--batch-timeout", default=None,
                        help="the orderers' batch timeout, e.g. 250ms [default: the network's, "
                             "100ms]")


@dataclass(frozen=True)
class Run:
    """A bench run from its command line: organisation counts, one app per model size, where it
    works and how it runs each task."""

    orgs: list[int]
    apps: list[tuple[Path, int]]
    work: Path
    settings: Settings


def parse_run(parser: argparse.ArgumentParser, prefix: str) -> tuple[argparse.Namespace, Run]:
    """Parse --orgs, --params, --rounds, --base-port, --keep and the run arguments; make the
    working directory and write one generated dense app per size in it."""
    args = parser.parse_args()
    orgs = parse_list(args.orgs, int)
    sizes = parse_list(args.params, parse_size)
    if args.rounds < 1 or not orgs or not sizes:
        parser.error("give at least one organisation count, one size and one round")
    work = args.dir or Path(tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    apps = [write_dense_app(work / "apps" / f"dense-{size_label(p)}", p) for p in sizes]
    return args, Run(orgs, apps, work, Settings(args.rounds, args.round_timeout, args.stall,
                                                args.timeout, args.base_port, args.keep,
                                                args.batch_timeout))


def run_network(work: Path, index: int, orgs: int, apps: list[tuple[Path, int]],
                settings: Settings, say: Callable[[str], None], notes: list[str],
                locations: list[str] | None = None) -> list[TaskResult]:
    """Bring a network of `orgs` organisations up (the index-th network of the run: its own
    directory and ports), run one task per app on it, bring it down (unless keep). Adds a line
    on what it took to notes. Never raises: a failure is a result with its error."""
    net_dir, consortium_dir = work / f"network-{orgs}", work / f"consortium-{orgs}"
    network = Network(net_dir, orgs, settings.base_port + index * PORTS_PER_NETWORK, say,
                      settings.batch_timeout)
    results: list[TaskResult] = []
    began = time.monotonic()
    setup = 0.0
    try:
        network.up()
        consortium = Consortium(network, consortium_dir, say)
        setup = consortium.prepare(apps[0][0], locations)
        for app_dir, params in apps:
            result = consortium.run_task(app_dir, params, settings.rounds,
                                         settings.round_timeout, settings.stall,
                                         settings.timeout)
            results.append(result)
            say(f"{orgs} orgs, {size_label(params)}: "
                + (f"failed: {result.error}" if result.error else
                   f"done in {result.seconds.get('task', 0):.0f}s"))
    except Exception as e:  # the network did not come up: say so, go on with the next
        failed = TaskResult(orgs, 0, error=f"{type(e).__name__}: {e}")
        results.append(failed)
        say(f"{orgs} orgs: {failed.error}")
    finally:
        if settings.keep:
            say(f"{orgs} orgs: network left up in {net_dir}")
        else:
            try:
                network.down(purge=True)
            except Exception as e:
                say(f"{orgs} orgs: network down failed: {type(e).__name__}: {e}")
            shutil.rmtree(consortium_dir, ignore_errors=True)
    tasks = ", ".join(f"{size_label(r.params)} {r.seconds.get('task', 0):.0f}s"
                      for r in results if r.params)
    notes.append(f"{orgs} orgs: {time.monotonic() - began:.0f}s in all: network up "
                 f"{network.up_seconds:.0f}s, keys and datasets {setup:.0f}s, tasks (start "
                 f"participants to every one done) {tasks or '-'}, network down "
                 f"{network.down_seconds:.0f}s")
    return results


def megabytes(n: float) -> str:
    return f"{n / 2**20:.0f}"


def seconds(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}" if x < 10 else f"{x:.1f}"


def cores() -> int:
    return os.cpu_count() or 1
