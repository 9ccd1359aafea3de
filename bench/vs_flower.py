"""Seconds per round: fedfabric (encrypted, on chain) and Flower 1.42 side by side.

    python bench/vs_flower.py [--orgs 3] [--params 100k,1M] [--rounds 3]
                              [--base-port 14000] [--flower-port 13000] [--keep]

Both sides train the same generated Keras dense model (bench/apps/dense) on the same data files
(one per organisation), with the same local epochs, batch size and number of rounds, and each
round both evaluate the new global model on every organisation's held-out part.

* Flower: its deployment runtime, one SuperLink and one SuperNode process per organisation on
  127.0.0.1, a hand-written app (bench/apps/flower: Flower's own FedAvg, its ClientApp training
  as a fedfabric participant does) started with `flwr run`. The ServerApp records when each
  round ends. Flower 1.42 has no offline `flwr new`, and its SuperLink and SuperNodes talk HTTP
  (its Fleet API left gRPC). Not the in-process simulation.
* fedfabric: the participant processes of bench/round.py, on a native network of their own
  (bench/consortium.py); a round's seconds are its opened_at to finalized_at on the chain.

Flower runs first, with no Fabric network up; then fedfabric. Round 1 of each (TensorFlow's
warm-up, Flower's waiting for its nodes) is left out of the mean when there are several.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean

from rich.console import Console
from rich.table import Table

from consortium import (  # bench/consortium.py (a script's directory is on sys.path)
    HERE,
    TaskResult,
    add_run_arguments,
    cores,
    load,
    parse_run,
    run_network,
    seconds,
    size_label,
    stop_tree,
)
from fedfabric.fl import FLApp
from fedfabric.fl.app import partition

FLOWER_APP = HERE / "apps" / "flower"
BIN = Path(sys.executable).parent  # flower-superlink, flower-supernode, flwr
console = Console(highlight=False)


def say(message: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')} {message}[/dim]", soft_wrap=True)


@dataclass
class FlowerResult:
    orgs: int
    params: int
    rounds: list[float] = field(default_factory=list)  # seconds of each round
    accuracy: float | None = None  # the last round's federated evaluation
    error: str | None = None
    seconds: float = 0.0  # `flwr run`, start to end
    clients: list[dict[str, float]] = field(default_factory=list)  # per round, mean over nodes

    def per_round(self) -> float | None:
        measured = self.rounds[1:] if len(self.rounds) > 1 else self.rounds
        return mean(measured) if measured else None

    def client(self, key: str) -> float | None:
        """A ClientApp's own seconds (start-s, setup-s, fit-s) in a training round, mean over
        the rounds after the first."""
        measured = self.clients[1:] if len(self.clients) > 1 else self.clients
        values = [c[key] for c in measured if key in c]
        return mean(values) if values else None


def _wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.3)
    return False


def _wait_text(path: Path, text: str, count: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text(errors="replace").count(text) >= count:
            return True
        time.sleep(0.5)
    return False


def _tail(path: Path, lines: int = 12) -> str:
    text = path.read_text(errors="replace") if path.is_file() else ""
    return "\n".join(text.splitlines()[-lines:])


def write_flower_app(dest: Path, app_dir: Path, nodes: int, rounds: int, timings: Path) -> Path:
    """The Flower app: bench/apps/flower with the fedfabric app's model package beside it and
    the fedfabric app's hyperparameters in its run configuration."""
    hp = FLApp.load(app_dir).hyperparameters
    shutil.copytree(FLOWER_APP / "flower_bench", dest / "flower_bench",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(app_dir / "dense_app", dest / "dense_app",
                    ignore=shutil.ignore_patterns("__pycache__"))
    text = (FLOWER_APP / "pyproject.toml.in").read_text()
    for key, value in {"ROUNDS": rounds, "NODES": nodes, "EPOCHS": hp.epochs,
                       "BATCH_SIZE": hp.batch_size, "SEED": hp.seed,
                       "TIMINGS": str(timings)}.items():
        text = text.replace(f"@{key}@", str(value))
    (dest / "pyproject.toml").write_text(text)
    return dest


def run_flower(work: Path, app_dir: Path, params: int, data: list[str], rounds: int,
               port: int, timeout: float) -> FlowerResult:
    """One Flower run: a SuperLink, one SuperNode per organisation (each with its own data
    file), `flwr run`; every process stopped by pid afterwards (bounded wait, then SIGKILL)."""
    n = len(data)
    result = FlowerResult(n, params)
    label = f"Flower, {n} orgs, {size_label(params)}"
    home, logs = work / "flwr-home", work / "logs"
    home.mkdir(parents=True)
    logs.mkdir()
    (home / "config.toml").write_text(
        f'[superlink]\ndefault = "bench"\n\n[superlink.bench]\naddress = "127.0.0.1:{port}"\n'
        "insecure = true\n")
    timings = work / "timings.json"
    app = write_flower_app(work / "app", app_dir, n, rounds, timings)
    env = {**os.environ, "FLWR_HOME": str(home), "FLWR_TELEMETRY_ENABLED": "0",
           "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, *command: str) -> Path:
        log = logs / f"{name}.log"
        with log.open("wb") as out:
            started.append(subprocess.Popen(command, env=env, cwd=work, stdout=out,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True))
        return log

    try:
        superlink = start("superlink", str(BIN / "flower-superlink"), "--insecure",
                          "--disable-runtime-dependency-installation", "--port", str(port))
        if not _wait_port(port, 60):
            raise RuntimeError(f"the SuperLink did not listen on {port} within 60s:\n"
                               + _tail(superlink))
        for i, location in enumerate(data):
            start(f"supernode-{i + 1}", str(BIN / "flower-supernode"), "--insecure",
                  "--superlink", f"127.0.0.1:{port}", "--port", str(port + 1 + i),
                  "--node-config", f'data-path="{location}"')
        if not _wait_text(superlink, "Activated node_id", n, 120):
            raise RuntimeError(f"{n} SuperNodes did not register within 120s:\n"
                               + _tail(superlink))
        say(f"{label}: SuperLink and {n} SuperNodes up; flwr run")
        began = time.monotonic()
        with (logs / "flwr-run.log").open("wb") as out:
            run = subprocess.run([str(BIN / "flwr"), "run", str(app), "bench", "--stream"],
                                 env=env, cwd=work, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, timeout=timeout)
        result.seconds = time.monotonic() - began
        if not timings.is_file():
            raise RuntimeError(f"flwr run exited {run.returncode} and the ServerApp wrote no "
                               f"timings:\n{_tail(logs / 'flwr-run.log')}")
        recorded = json.loads(timings.read_text())
        marks = [t for _, t in sorted(recorded["marks"])]
        result.rounds = [b - a for a, b in zip(marks, marks[1:], strict=False)]
        accuracy = recorded.get("accuracy", {})
        result.accuracy = accuracy.get(str(rounds))
        clients = recorded.get("clients", {})
        result.clients = [clients.get(str(r), {}) for r in range(1, rounds + 1)]
    except subprocess.TimeoutExpired:
        result.error = f"flwr run did not end within {timeout:.0f}s"
    except Exception as e:
        result.error = f"{type(e).__name__}: {e}"
    finally:
        for proc in reversed(started):  # SuperNodes, then the SuperLink (each with its tree)
            stop_tree(proc.pid, grace=5.0)
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
    say(f"{label}: " + (f"failed: {result.error}" if result.error else
                        "rounds " + ", ".join(f"{s:.1f}s" for s in result.rounds)))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orgs", default="3", help="organisation counts, e.g. 3 or 3,6")
    parser.add_argument("--params", default="100k,1M", help="model sizes, e.g. 100k,1M")
    parser.add_argument("--rounds", type=int, default=3, help="rounds on each side")
    parser.add_argument("--base-port", type=int, default=14000,
                        help="the fedfabric network's base port")
    parser.add_argument("--flower-port", type=int, default=13000,
                        help="the SuperLink's port; SuperNodes use the next ones")
    parser.add_argument("--keep", action="store_true", help="leave the fedfabric network up")
    add_run_arguments(parser)
    args, run = parse_run(parser, "fedfabric-bench-flower-")
    work, orgs, apps, settings = run.work, run.orgs, run.apps, run.settings
    began, load_before = time.monotonic(), load()
    say(f"working in {work}; {cores()} cores, load average {load_before}")
    flower: dict[tuple[int, int], FlowerResult] = {}
    fedfabric: dict[tuple[int, int], TaskResult] = {}
    notes: list[str] = []
    try:
        for index, n in enumerate(orgs):
            # The same data files on both sides: one per organisation.
            data = partition(FLApp.load(apps[0][0]), work / f"data-{n}", n)
            flower_began = time.monotonic()
            for app_dir, params in apps:
                flower[(n, params)] = run_flower(
                    work / f"flower-{n}-{size_label(params)}", app_dir, params, data,
                    args.rounds, args.flower_port, args.timeout)
            notes.append(f"Flower, {n} orgs: {time.monotonic() - flower_began:.0f}s in all "
                         "(processes up, flwr run, processes stopped)")
            for r in run_network(work, index, n, apps, settings, say, notes, data):
                fedfabric[(n, r.params)] = r
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    which = (f"mean of rounds 2..{args.rounds} (round 1 left out)" if args.rounds > 1
             else "round 1")
    t = Table(title=f"Seconds per round, {which}; same model, data, epochs (1), batch size and "
                    f"{args.rounds} rounds on each side")
    for name in ("orgs", "params", "fedfabric s/round", "Flower s/round",
                 "fedfabric / Flower", "fedfabric rounds", "Flower rounds",
                 "fedfabric train", "Flower ClientApp start/setup/fit",
                 "accuracy fedfabric / Flower"):
        t.add_column(name, justify="right")
    for n in orgs:
        for _, params in apps:
            f, fl = fedfabric.get((n, params)), flower[(n, params)]
            ours = f.wall() if f is not None else None
            theirs = fl.per_round()
            ratio = f"{ours / theirs:.2f}" if ours and theirs else "-"
            rounds_ours = ", ".join(seconds(r.wall) for r in f.rounds) if f else "-"
            train = f.phase("train") if f is not None else None
            client = "/".join(seconds(fl.client(k)) for k in ("start-s", "setup-s", "fit-s"))
            t.add_row(str(n), f"{params:,}", seconds(ours), seconds(theirs), ratio,
                      rounds_ours or "-", ", ".join(seconds(s) for s in fl.rounds) or "-",
                      seconds(train[0] if train else None), client,
                      f"{_accuracy(f.accuracy if f else None)} / {_accuracy(fl.accuracy)}")
    out = Console(width=max(console.width, 200), highlight=False)
    out.print(t)
    out.print(
        f"Machine: {cores()} cores; load average {load_before} before, {load()} after (other "
        f"work on the machine shares the cores). Whole run: {time.monotonic() - began:.0f}s.\n"
        + "\n".join(notes) + "\n"
        "fedfabric: a round is opened_at to finalized_at on the chain (participant processes train,"
        " encrypt (threshold CKKS), store, submit; every member verifies, adds and endorses; a "
        "quorum finalizes); from round 2 on it holds the previous round's decrypt, apply and held-"
        "out evaluation. Flower: a round is FedAvg's train and evaluate on every SuperNode (the "
        "ServerApp's clock); with its default isolation each SuperNode starts a fresh ClientApp "
        "process, which imports TensorFlow, for every message (two per round). 'fedfabric train': a"
        " participant's local training phase (the task's model reset, fit), mean over participants."
        " 'Flower ClientApp start/setup/fit': in a training round, a ClientApp's seconds from its "
        "process's start to its handler, then importing TensorFlow, building the model and loading "
        "the data, then fit; mean over nodes. Accuracy: the last round's held-out accuracy, mean "
        "over organisations.")
    for key, r in fedfabric.items():
        if r.error:
            out.print(f"[red]fedfabric, {key[0]} orgs, {size_label(key[1]) if key[1] else '-'}: "
                      f"{r.error}[/red]")
        for w in r.warnings:
            out.print(f"  [yellow]fedfabric, {key[0]} orgs, {size_label(key[1])}: {w}[/yellow]")
    for key, fl in flower.items():
        if fl.error:
            out.print(f"[red]Flower, {key[0]} orgs, {size_label(key[1])}: {fl.error}[/red]")


def _accuracy(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
