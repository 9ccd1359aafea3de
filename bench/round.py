"""Training rounds through the SDK's own round path, phase by phase, per organisation count and
model size.

    python bench/round.py [--orgs 3,9,16] [--params 10k,100k,1M] [--rounds 2]
                          [--base-port 10000] [--keep]

For each organisation count it brings up a native network of its own (its own directory and
ports), and for each model size it runs one task the way a consortium does: every
organisation's participant service is a separate process (`fedfabric participant run`) with its
own exported profile, data, state and key; Org1 creates the task with fedfabric.fl.create_task,
every organisation a participant. The model is a generated Keras dense model of about that many
parameters (Input(64) -> Dense(h) -> Dense(1)), trained 1 epoch with batch 64 on 400 generated
rows per organisation (bench/apps/dense).

Every number comes from the participants (the seconds they measured per phase, which each writes
to <state>/tasks/<task>/timings-<round>.json) or from the chain (a round's opened_at to
finalized_at). Nothing is asserted: it prints a table.
"""

from __future__ import annotations

import argparse
import shutil
import time

from rich.console import Console
from rich.table import Table

from consortium import (  # bench/consortium.py (a script's directory is on sys.path)
    PHASES,
    PORTS_PER_NETWORK,
    TaskResult,
    add_run_arguments,
    cores,
    load,
    megabytes,
    parse_run,
    run_network,
    seconds,
    size_label,
)

console = Console(highlight=False)


def say(message: str) -> None:
    console.print(f"[dim]{time.strftime('%H:%M:%S')} {message}[/dim]", soft_wrap=True)


def table(results: list[TaskResult], rounds: int) -> Table:
    which = (f"mean of rounds 2..{rounds} (round 1, with TensorFlow's warm-up, left out)"
             if rounds > 1 else "round 1 (the only one)")
    t = Table(title=f"One training round through participant processes, per phase: mean/max "
                    f"over participants, seconds; {which}")
    t.add_column("orgs", justify="right")
    t.add_column("params", justify="right")
    for phase in PHASES:
        t.add_column(phase.replace("_", " "), justify="right")
    t.add_column("blocks", justify="right")
    t.add_column("round (chain)", justify="right", style="bold")
    t.add_column("overhead", justify="right", style="bold")
    t.add_column("peak RSS MB", justify="right")
    for r in results:
        if r.error and not r.measured():
            t.add_row(str(r.orgs), size_label(r.params) if r.params else "-",
                      "[red]failed (see below)[/red]", *[""] * (len(PHASES) + 3))
            continue
        cells = []
        for phase in PHASES:
            value = r.phase(phase)
            cell = "-" if value is None else f"{seconds(value[0])}/{seconds(value[1])}"
            if value is not None and phase in ("close", "finalize", "endorse"):
                cell += f" ×{r.senders(phase):g}"
            cells.append(cell)
        wall, train = r.wall(), r.phase("train")
        overhead = None if wall is None or train is None else wall - train[1]
        rss = list(r.rss.values())
        blocks = r.blocks()
        t.add_row(str(r.orgs), f"{r.params:,}", *cells, "-" if blocks is None else f"{blocks:g}",
                  seconds(wall), seconds(overhead),
                  f"{megabytes(sum(rss) / len(rss))}/{megabytes(max(rss))}" if rss else "-")
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orgs", default="3", help="organisation counts, e.g. 3,9,16")
    parser.add_argument("--params", default="10k,100k,1M", help="model sizes, e.g. 10k,100k,1M")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds per task; with more than 1 the table reports the mean of "
                             "the rounds after the first")
    parser.add_argument("--base-port", type=int, default=10000,
                        help=f"the first network's base port; the next ones add "
                             f"{PORTS_PER_NETWORK}")
    parser.add_argument("--keep", action="store_true", help="leave the networks up")
    add_run_arguments(parser)
    args, run = parse_run(parser, "fedfabric-bench-round-")
    work = run.work
    began, load_before = time.monotonic(), load()
    say(f"working in {work}; {cores()} cores, load average {load_before}")
    results: list[TaskResult] = []
    notes: list[str] = []
    try:
        for index, n in enumerate(run.orgs):
            results += run_network(work, index, n, run.apps, run.settings, say, notes)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    out = Console(width=max(console.width, 230), highlight=False)
    out.print(table(results, args.rounds))
    out.print(
        f"Machine: {cores()} cores; load average {load_before} before, {load()} after (other "
        "work on the machine shares the cores). Whole run: "
        f"{time.monotonic() - began:.0f}s.\n" + "\n".join(notes) + "\n"
        "Phases, as each participant process measured them: train (local epoch from the global "
        "weights), encrypt (threshold CKKS), store (shards and manifest to the blob store), "
        "submit (SubmitUpdate, to commit), close (CloseRound, by the orgs that tried to send it: "
        "×k says how many per round; the first to commit wins, the others are refused), verify "
        "(fetch and check every included update), aggregate (add the ciphertexts), store "
        "aggregate, share (a member of the round's first decryption set: its share of the "
        "aggregate, sent with its endorsement), endorse (EndorseAggregate, to commit; orgs that "
        "finish after the quorum has finalized the round do not endorse: ×k how many did), "
        "finalize (FinalizeRound, by the orgs that tried, ×k), decrypt (the finalized aggregate, "
        "after finalized_at), apply (the new global weights, saved), evaluate (on the held-out "
        "data: in the background, after the next round's update is sent). 'blocks': the blocks on"
        " the round's path from the one with the last update: that one, the close, the "
        "endorsements (with the first decryption set's shares), the finalization and any "
        "decryption shares posted after it (4 at best). 'round (chain)' is the round's opened_at "
        "to finalized_at on the chain; from round 2 on it also holds the previous round's decrypt"
        " and apply, which run after that round's finalisation. overhead = round (chain) - the "
        "slowest participant's train. Peak RSS: VmHWM of each participant process just before it "
        "was stopped, mean/max over participants.")
    for r in results:
        if r.error:
            out.print(f"[red]{r.orgs} orgs, {size_label(r.params) if r.params else '-'}"
                      f"{f' (task {r.task_id})' if r.task_id else ''}: {r.error}[/red]")
        for w in r.warnings:
            out.print(f"  [yellow]{r.orgs} orgs, {size_label(r.params)}: {w}[/yellow]")


if __name__ == "__main__":
    main()
