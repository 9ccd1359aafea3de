"""The round protocol's ledger cost alone, per organisation count: every organisation sends each
step at the same moment, as participants that finish their work together do.

    python bench/protocol.py [--orgs 3,9,16] [--rounds 3] [--base-port 21000]
                             [--batch-timeout 250ms] [--senders all|designated]

bench/round.py measures whole rounds, where on one small host the organisations' training and
aggregation finish at different times (16 TensorFlow processes share 2 cores), so their
transactions spread over more blocks than the protocol needs. This isolates the protocol: for
each count it brings up a native network of its own, registers a dataset per organisation and
creates a task naming all of them (hashes only: no blob is ever read), then for each round
every organisation, at once and through the SDK's own Ledger calls, submits its update
(SubmitUpdate), tries to close the round (CloseRound), endorses the aggregate
(EndorseAggregate) and tries to finalize (FinalizeRound), each step waiting for the last one's
commit. With --senders designated, the close and the finalization are sent only by the member
a participant service designates (the one whose update completed the set, the one
whose endorsement completed the quorum: fedfabric.fl.participant), as in a round that goes as
planned; with all (the default) every member sends them at once, the worst case. It prints the
blocks each round took (the protocol's minimum is 4), seconds per round (the first submission
sent to the finalization committed) and per step (sent at once to the last call that went
through committed), and how many of the duplicate closes and finalizations were refused.
Nothing is asserted: it prints a table.
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from consortium import (  # bench/consortium.py (a script's directory is on sys.path)
    PORTS_PER_NETWORK,
    Network,
    cores,
    load,
    parse_list,
    round_blocks,
)
from fedfabric.fl import rounds
from fedfabric.fl.participant import _completing  # who finalizes, as a participant decides
from fedfabric.gateway import ConnectionProfile, Gateway
from fedfabric.ledger import Ledger, LedgerError
from fedfabric.ledger.schema import Participant, TaskSpec
from fedfabric.store import sha256

STEPS = ("submit", "close", "endorse", "finalize")


@dataclass
class Result:
    orgs: int
    seconds: list[float] = field(default_factory=list)  # per round
    blocks: list[int] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=dict)
    refused: dict[str, list[int]] = field(default_factory=dict)
    error: str = ""


class Everywhere:
    """after_commit for many threads: returns once every peer has a block, polling the peers
    (their metrics endpoints) from one thread at a time, so the bench does not load them."""

    def __init__(self, network: Network) -> None:
        self.network, self.lock, self.reached = network, threading.Lock(), -1

    def __call__(self, block: int) -> None:
        with self.lock:
            if block > self.reached:
                self.network.native.wait_for_block(block)
                self.reached = block


class Members:
    """One Ledger per organisation (its own gateway connection), called all at once."""

    def __init__(self, network: Network, user: str, everywhere: Everywhere) -> None:
        profile: ConnectionProfile = network.profile
        self.orgs = [f"Org{i}" for i in range(1, network.orgs + 1)]
        self.gateways: list[Gateway] = [profile.connect(o, user=user) for o in self.orgs]
        self.ledgers = [Ledger(g.get_network(profile.channel), profile.chaincode,
                               after_commit=everywhere)
                        for g in self.gateways]
        self.pool = ThreadPoolExecutor(len(self.orgs))

    def at_once(self, call: Callable[[str, Ledger], object],
                only: str | None = None) -> tuple[float, int]:
        """Every organisation's call at once (or only that MSP's): (seconds until the last call
        that went through had committed, how many were refused: a duplicate close or
        finalization)."""
        began = time.perf_counter()

        def one(org: str, ledger: Ledger) -> float | None:
            try:
                call(org, ledger)
            except LedgerError:
                return None
            return time.perf_counter() - began

        pairs = [(o, ledger) for o, ledger in zip(self.orgs, self.ledgers, strict=True)
                 if only is None or f"{o}MSP" == only]
        done = list(self.pool.map(one, *zip(*pairs, strict=True)))
        through = [t for t in done if t is not None]
        if not through:
            raise RuntimeError("every organisation's call was refused")
        return max(through), done.count(None)

    def close(self) -> None:
        self.pool.shutdown()
        for g in self.gateways:
            g.close()


def one_round(users: Members, tid: str, r: int,
              designated: bool) -> dict[str, tuple[float, int]]:
    """Every step of round r, each sent by every organisation at once; with designated, the
    close and the finalization by the member a participant service picks."""
    reader = users.ledgers[0].tasks
    steps = {"submit": users.at_once(lambda org, ledger: ledger.tasks.submit_update(
        tid, r, sha256(f"{org}-{r}".encode()), 1, 10))}
    closer = rounds.close_order(reader.updates(tid, r))[-1].msp_id if designated else None
    steps["close"] = users.at_once(lambda org, ledger: ledger.tasks.close_round(tid, r), closer)
    steps["endorse"] = users.at_once(lambda org, ledger: ledger.tasks.endorse_aggregate(
        tid, r, sha256(f"aggregate-{r}".encode()), "none"))
    finalizer = None
    if designated:
        finalizer = _completing(reader.get(tid), reader.round(tid, r),
                                reader.endorsements(tid, r))
    steps["finalize"] = users.at_once(lambda org, ledger: ledger.tasks.finalize_round(tid, r),
                                      finalizer)
    return steps


def run_task(admins: Members, users: Members, count: int, designated: bool,
             result: Result) -> None:
    tid = f"protocol-{uuid.uuid4().hex[:8]}"
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)

    def register(org: str, ledger: Ledger) -> None:
        ledger.datasets.register(f"{tid}-{org}", "bench", sha256(org.encode()), "none", {}, 10,
                                 {})
        if org != "Org1":
            ledger.datasets.grant(f"{tid}-{org}", "Org1MSP", "training", later)

    admins.at_once(register)
    orgs = admins.orgs
    quorum = len(orgs) // 2 + 1
    first = admins.ledgers[0]
    task = first.tasks.create(TaskSpec(
        id=tid, app_hash=sha256(b"app"), model_spec_hash=sha256(b"spec"),
        initial_weights_hash=sha256(b"weights"), initial_weights_uri="none", he_scheme="ckks",
        he_context_hash=sha256(b"context"), he_context_uri="none",
        participants=[Participant(f"{o}MSP", f"{tid}-{o}", 10) for o in orgs], rounds=count,
        min_updates=quorum, quorum=quorum))
    admins.at_once(lambda org, ledger: ledger.tasks.join(tid, task.terms_hash))
    start = first.block_height()
    first.tasks.start(tid)
    for r in range(1, count + 1):
        began = time.perf_counter()
        steps = one_round(users, tid, r, designated)
        result.seconds.append(time.perf_counter() - began)
        for step, (seconds, refused) in steps.items():
            result.steps.setdefault(step, []).append(seconds)
            result.refused.setdefault(step, []).append(refused)
    done = first.tasks.get(tid)
    if done.status != "COMPLETED":
        raise RuntimeError(f"task {tid} ended {done.status}, not COMPLETED")
    blocks = round_blocks(first, tid, start)
    result.blocks = [len(blocks[r]) for r in sorted(blocks)]


def measure(work: Path, index: int, orgs: int, rounds: int, base_port: int,
            say: Callable[[str], None], batch_timeout: str | None = None,
            designated: bool = False) -> Result:
    result = Result(orgs)
    network = Network(work / f"network-{orgs}", orgs, base_port + index * PORTS_PER_NETWORK, say,
                      batch_timeout)
    try:
        network.up()
        everywhere = Everywhere(network)
        admins = Members(network, "Admin", everywhere)
        users = Members(network, "User1", everywhere)
        try:
            run_task(admins, users, rounds, designated, result)
        finally:
            admins.close()
            users.close()
        say(f"{orgs} orgs: {rounds} rounds in {sum(result.seconds):.1f}s")
    except Exception as e:  # a benchmark reports failures, it does not stop on them
        result.error = f"{type(e).__name__}: {e}"
        say(f"{orgs} orgs: {result.error}")
    finally:
        network.down(purge=True)
    return result


def table(results: list[Result], rounds: int, designated: bool) -> Table:
    who = ("every organisation sending updates and endorsements at once, the designated one "
           "the close and the finalization" if designated else
           "every organisation sending each step at once")
    t = Table(title=f"The round protocol alone, {who}: mean of {rounds} rounds, seconds")
    for name in ("orgs", "blocks per round", "round", *STEPS, "closes refused",
                 "finalizations refused"):
        t.add_column(name, justify="right")
    for r in results:
        if r.error:
            t.add_row(str(r.orgs), "-", r.error, *["-"] * (len(STEPS) + 2))
            continue
        t.add_row(str(r.orgs), f"{statistics.mean(r.blocks):.1f}",
                  f"{statistics.mean(r.seconds):.2f}",
                  *[f"{statistics.mean(r.steps[s]):.2f}" for s in STEPS],
                  f"{statistics.mean(r.refused['close']):.0f} of {1 if designated else r.orgs}",
                  f"{statistics.mean(r.refused['finalize']):.0f} of "
                  f"{1 if designated else r.orgs}")
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orgs", default="3,9,16", help="organisation counts, e.g. 3,9,16")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per task")
    parser.add_argument("--base-port", type=int, default=21000,
                        help="the first network's base port; the next ones add 600")
    parser.add_argument("--batch-timeout", default=None,
                        help="the orderers' batch timeout, e.g. 250ms [default: the network's]")
    parser.add_argument("--dir", type=Path, default=None,
                        help="working directory [default: a new temporary one]")
    parser.add_argument("--senders", choices=("all", "designated"), default="all",
                        help="who sends the close and the finalization: every organisation at "
                             "once, or the one a participant service designates [default: all]")
    args = parser.parse_args()
    designated = args.senders == "designated"
    counts = parse_list(args.orgs, int)
    if args.rounds < 1 or not counts:
        parser.error("give at least one organisation count and one round")
    console = Console()

    def say(text: str) -> None:
        console.print(f"{time.strftime('%H:%M:%S')} {text}", highlight=False)

    work = args.dir or Path(tempfile.mkdtemp(prefix="fedfabric-bench-protocol-"))
    say(f"working in {work}; {cores()} cores, load average {load()}")
    try:
        results = [measure(work, i, n, args.rounds, args.base_port, say, args.batch_timeout,
                           designated)
                   for i, n in enumerate(counts)]
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)
    console.print(table(results, args.rounds, designated))
    console.print("blocks per round: the blocks holding the round's updates, close, "
                  "endorsements and finalization (4 at best). A step's seconds run from the "
                  "organisations sending it at once to the last call that went through "
                  "committed (a duplicate close or finalization is refused after that).",
                  highlight=False)


if __name__ == "__main__":
    main()
