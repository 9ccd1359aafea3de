"""`fedfabric task|round`: create a training task from an app, follow it, show its record."""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

from fedfabric.cli.common import (
    DirOption,
    JsonOption,
    OrgOption,
    ProfileOption,
    StoreCredentialsOption,
    StoreEndpointOption,
    StoreOption,
    as_json,
    console,
    fail,
    open_store_option,
    plain,
    safe,
    table,
)
from fedfabric.cli.ledger import ledger_as
from fedfabric.ledger import EventStream, Ledger, LedgerError, all_pages
from fedfabric.ledger.schema import Task, TaskHistory

task_app = typer.Typer(no_args_is_help=True, help="Create, follow and show training tasks.")
round_app = typer.Typer(no_args_is_help=True, help="Show a training round.")
APPS = {"task": task_app, "round": round_app}

AdminUser = Annotated[str, typer.Option("--user", "-u", help="Act as this user of the org.")]
METRICS_WAIT = 60.0  # seconds a completed task's watch waits for its last metrics and model


@task_app.command("create")
def task_create(
    app_dir: Annotated[Path, typer.Option("--app", help="The FL app directory.")],
    participant: Annotated[list[str], typer.Option(
        "--participant", "-p", metavar="MSP=DATASET",
        help="A participant and the dataset it trains on; repeat for each.")],
    rounds: Annotated[int, typer.Option(help="Training rounds.")] = 5,
    min_updates: Annotated[int | None, typer.Option(
        help="Updates a round needs [default: the quorum].")] = None,
    quorum: Annotated[int | None, typer.Option(
        help="Agreeing endorsements that finalize a round [default: a majority, at least 2]."
    )] = None,
    round_timeout: Annotated[int, typer.Option(
        help="Seconds after which a round closes with min_updates (0: never).")] = 600,
    scheme: Annotated[str, typer.Option(
        help="threshold-ckks (no organisation can decrypt alone), or ckks or paillier (one "
        "secret key, which every participant holds).")] = "threshold-ckks",
    threshold: Annotated[int | None, typer.Option(
        help="threshold-ckks: members that decrypt together [default: a majority, at least 2]."
    )] = None,
    model_name: Annotated[str | None, typer.Option(
        help="Name of the model registered at the end [default: <app>-<task id>].")] = None,
    task_id: Annotated[str | None, typer.Option("--id", help="Task id [default: random].")
                       ] = None,
    store: StoreOption = None, store_endpoint: StoreEndpointOption = None,
    store_credentials: StoreCredentialsOption = None, org: OrgOption = "Org1",
    user: AdminUser = "Admin",
    dir: DirOption = None, profile: ProfileOption = None,
) -> None:
    """Create a task as the initiator: HE keys (the secret wrapped to each participant's
    organisation key), initial weights, the terms on chain. Prints the task id."""
    import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
    from fedfabric.fl import AppError, FLApp, TaskSetupError, create_task
    from fedfabric.store import StoreError

    participants = {}
    for item in participant:
        msp, sep, dataset = item.partition("=")
        if not sep or not msp or not dataset:
            raise fail(f"--participant {item!r}: give MSP=DATASET_ID", 2)
        if msp in participants:
            raise fail(f"--participant {msp} is given twice", 2)
        participants[msp] = dataset
    try:
        app = FLApp.load(app_dir)
    except AppError as e:
        raise fail(str(e), 2) from e
    with ledger_as(org, user, dir, profile) as ledger:
        try:
            task = create_task(ledger, open_store_option(store, store_endpoint,
                                                         store_credentials, dir, org, profile),
                               app, participants, rounds, min_updates, quorum, round_timeout,
                               scheme, task_id, model_name, threshold)
        except (TaskSetupError, AppError, StoreError) as e:
            raise fail(str(e), 2) from e
    console.print(f"task [bold]{task.id}[/bold] created by {task.initiator_msp}: {app.name} "
                  f"(app {app.content_hash[:12]}…), {task.rounds} rounds, "
                  f"{len(task.participants)} participants, quorum {task.quorum}, "
                  f"min_updates {task.min_updates}, round timeout {task.round_timeout}s",
                  highlight=False)
    print(task.id)


@task_app.command("watch")
def task_watch(
    task_id: str, org: OrgOption = "Org1", user: AdminUser = "User1", dir: DirOption = None,
    profile: ProfileOption = None,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of each participant's metric "
                                             "per round at the end.")] = None,
    metric: Annotated[str, typer.Option(help="The metric to plot.")] = "accuracy",
) -> None:
    """Follow a task until it ends: a progress bar per round and each participant's metrics.
    Exit code 0 when it completes, 1 when it is cancelled or fails."""
    with ledger_as(org, user, dir, profile) as ledger:
        history = _watch(ledger, task_id)
    console.print(metrics_table(history))
    t = history.task
    if plot is not None:
        plot_metrics(history, metric, plot)
        console.print(f"plot written to {plot}")
    if t.status != "COMPLETED":
        raise fail(f"task {plain(t.id)} {t.status}" + (f": {plain(t.failure_reason)}"
                                                       if t.failure_reason else ""))
    console.print(f"[green]task {safe(t.id)} completed[/green]: {t.rounds} rounds")


def _watch(ledger: Ledger, task_id: str) -> TaskHistory:
    """Refresh the progress on every event of the task (and every few seconds)."""
    history = ledger.tasks.history(task_id)
    wake: queue.Queue[object] = queue.Queue()
    stop = threading.Event()

    def follow() -> None:
        while not stop.is_set():
            try:
                with ledger.follow(ledger.block_height()) as events:
                    def close(stream: EventStream = events) -> None:
                        stop.wait()
                        stream.close()

                    stopper = threading.Thread(target=close, daemon=True)
                    stopper.start()
                    for event in events:
                        if event.task_id == task_id:
                            wake.put(event)
            except LedgerError:
                stop.wait(1.0)

    threading.Thread(target=follow, daemon=True).start()
    progress = Progress(TextColumn("{task.description}"), BarColumn(),
                        TextColumn("{task.fields[state]}"), console=console,
                        disable=not console.is_terminal)
    bars: dict[int, TaskID] = {}
    said: dict[int, str] = {}
    settle: float | None = None  # after completion, wait (bounded) for the last metrics
    try:
        with progress:
            while True:
                for key, state in _draw(progress, bars, history).items():
                    if not console.is_terminal and said.get(key) != state:  # a log, not a bar
                        console.print(f"{'joining' if key == 0 else f'round {key}'}: {state}",
                                      highlight=False)
                    said[key] = state
                if history.task.status in ("CANCELLED", "FAILED"):
                    return history
                if history.task.status == "COMPLETED":
                    settle = settle or time.monotonic() + METRICS_WAIT
                    if _settled(ledger, history) or time.monotonic() > settle:
                        return history
                with contextlib.suppress(queue.Empty):
                    wake.get(timeout=1.0 if settle else 3.0)
                history = ledger.tasks.history(task_id)
    finally:
        stop.set()


def _settled(ledger: Ledger, history: TaskHistory) -> bool:
    """A completed task's last metrics, its model and every member's weights attestation are
    on chain."""
    if len(history.rounds[-1].metrics) < len(history.task.members):
        return False
    name = history.task.hyperparameters.get("model_name")
    if not isinstance(name, str):
        return True
    try:
        view = ledger.models.get(name, "1")
    except LedgerError:
        return False
    return len(view.weights_attestations) >= len(history.task.members)


def _draw(progress: Progress, bars: dict[int, TaskID], history: TaskHistory) -> dict[int, str]:
    """Update the bars; returns each bar's state line (0 is the joining phase)."""
    t = history.task
    states: dict[int, str] = {}
    members = len(t.members) or len(t.participants)
    if not history.rounds:
        joined = len(history.joins)
        bar = bars.setdefault(0, progress.add_task("joining", total=len(t.participants),
                                                   state=""))
        states[0] = f"{joined}/{len(t.participants)} joined, {t.status}"
        progress.update(bar, completed=joined, state=states[0])
        return states
    if 0 in bars:
        progress.update(bars[0], completed=len(t.participants), state="started")
    for r in history.rounds:
        # steps: every member's update, the close, the quorum's endorsements, the finalize,
        # every member's metrics
        total = members + 1 + t.quorum + 1 + members
        agreeing = sum(1 for e in r.endorsements if r.final_hash and
                       e.aggregate_hash == r.final_hash) if r.final_hash else \
            len(r.endorsements)
        done = len(r.updates) + (1 if r.status != "OPEN" else 0) + min(agreeing, t.quorum) + \
            (1 if r.status == "FINALIZED" else 0) + len(r.metrics)
        bar = bars.setdefault(r.round, progress.add_task(f"round {r.round}/{t.rounds}",
                                                         total=total, state=""))
        state = {"OPEN": f"{len(r.updates)}/{members} updates",
                 "CLOSED": f"{len(r.endorsements)} endorsements",
                 "FINALIZED": f"finalized; {len(r.metrics)}/{members} metrics"}[r.status]
        progress.update(bar, completed=min(done, total), state=state)
        states[r.round] = state
    return states


def metrics_table(history: TaskHistory) -> Table:
    """Each participant's metrics per round, as recorded on chain, and their mean."""
    names = sorted({k for r in history.rounds for m in r.metrics for k in m.metrics})
    members = sorted({m.msp_id for r in history.rounds for m in r.metrics})
    rows = []
    for r in history.rounds:
        by = {m.msp_id: m.metrics for m in r.metrics}
        for name in names:
            values = [by[o][name] for o in members if o in by and name in by[o]]
            mean = sum(values) / len(values) if values else None
            rows.append([r.round, name, *(f"{by[o][name]:.4f}" if o in by and name in by[o]
                                          else None for o in members),
                         f"{mean:.4f}" if mean is not None else None])
    return table(f"metrics of task {history.task.id} (each participant's own held-out data)",
                 ["round", "metric", *members, "mean"], rows)


def plot_metrics(history: TaskHistory, metric: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    members = sorted({m.msp_id for r in history.rounds for m in r.metrics})
    xs = [r.round for r in history.rounds]
    for msp in members:
        ys = [next((m.metrics.get(metric) for m in r.metrics if m.msp_id == msp), None)
              for r in history.rounds]
        ax.plot(xs, ys, marker="o", label=msp)
    means = [sum(m.metrics.get(metric, 0.0) for m in r.metrics) / len(r.metrics)
             if r.metrics else None for r in history.rounds]
    ax.plot(xs, means, marker="s", linewidth=3, label="mean")
    ax.set_xticks(xs)
    ax.set(xlabel="round", ylabel=f"{metric} (own held-out data)",
           title=f"{history.task.id}: each participant's attested metrics")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


@task_app.command("cancel")
def task_cancel(task_id: str, org: OrgOption = "Org1", user: AdminUser = "Admin",
                dir: DirOption = None, profile: ProfileOption = None) -> None:
    """Cancel a pending or active task (the initiator's admin)."""
    with ledger_as(org, user, dir, profile) as ledger:
        task = ledger.tasks.cancel(task_id)
    console.print(f"task {safe(task.id)} {safe(task.status)}")


@task_app.command("list")
def task_list(org: OrgOption = "Org1", user: AdminUser = "User1", dir: DirOption = None,
              profile: ProfileOption = None, output_json: JsonOption = False) -> None:
    """Every task on the channel."""
    with ledger_as(org, user, dir, profile) as ledger:
        items = list(all_pages(ledger.tasks.list))
    if output_json:
        print(as_json(items))
        return
    console.print(table("tasks", ["id", "initiator", "status", "round", "participants",
                                  "strategy", "created"],
                        [[t.id, t.initiator_msp, t.status, f"{t.current_round}/{t.rounds}",
                          len(t.participants), t.strategy, t.created_at] for t in items]))


@task_app.command("show")
def task_show(task_id: str, org: OrgOption = "Org1", user: AdminUser = "User1",
              dir: DirOption = None, profile: ProfileOption = None,
              output_json: JsonOption = False) -> None:
    """A task and the record of its rounds: who submitted, who endorsed which aggregate."""
    with ledger_as(org, user, dir, profile) as ledger:
        history = ledger.tasks.history(task_id)
    if output_json:
        print(as_json(history))
        return
    console.print(task_summary(history.task), highlight=False)
    console.print(record_table(history))


def task_summary(t: Task) -> str:
    text = (f"[bold]task {safe(t.id)}[/bold]: {safe(t.status)}, round {t.current_round} of "
            f"{t.rounds}, initiator {safe(t.initiator_msp)}, members "
            f"{safe(', '.join(t.members)) or '-'}, "
            f"min_updates {t.min_updates}, quorum {t.quorum}, round timeout {t.round_timeout}s")
    if t.failure_reason:
        text += f"\n  reason: {safe(t.failure_reason)}"
    return text


def record_table(history: TaskHistory) -> Table:
    rows: list[list[Any]] = []
    for r in history.rounds:
        updates = ", ".join(f"{u.msp_id} ({u.samples})" for u in r.updates)
        endorsed = ", ".join(f"{e.msp_id}{'' if e.aggregate_hash == r.final_hash else ' ✗'}"
                             for e in r.endorsements)
        rows.append([r.round, r.status, updates, endorsed,
                     (r.final_hash or "")[:16] + ("…" if r.final_hash else "")])
    return table(f"what the chain recorded for task {history.task.id}",
                 ["round", "status", "updates (samples)", "endorsed by", "final aggregate"],
                 rows)


@round_app.command("show")
def round_show(task_id: str, round_number: Annotated[int, typer.Argument(metavar="ROUND")],
               org: OrgOption = "Org1", user: AdminUser = "User1", dir: DirOption = None,
               profile: ProfileOption = None, output_json: JsonOption = False) -> None:
    """A round with its updates, aggregate endorsements and metrics."""
    with ledger_as(org, user, dir, profile) as ledger:
        r = ledger.tasks.round(task_id, round_number)
        updates = ledger.tasks.updates(task_id, round_number)
        endorsements = ledger.tasks.endorsements(task_id, round_number)
        metrics = ledger.tasks.metrics(task_id, round_number)
    if output_json:
        print(json.dumps({"round": json.loads(as_json(r)),
                                  "updates": json.loads(as_json(updates)),
                                  "endorsements": json.loads(as_json(endorsements)),
                                  "metrics": json.loads(as_json(metrics))}, indent=2))
        return
    console.print(f"[bold]task {safe(task_id)} round {r.round}[/bold]: {safe(r.status)}"
                  + (f", final aggregate {r.final_hash}" if r.final_hash else ""))
    console.print(table("updates", ["org", "samples", "shards", "manifest", "time"],
                        [[u.msp_id, u.samples, u.shards, u.manifest_hash[:16] + "…", u.time]
                         for u in updates]))
    console.print(table("endorsements", ["org", "aggregate", "agrees", "time"],
                        [[e.msp_id, e.aggregate_hash[:16] + "…",
                          "" if not r.final_hash else e.aggregate_hash == r.final_hash, e.time]
                         for e in endorsements]))
    console.print(table("metrics", ["org", "metrics", "time"],
                        [[m.msp_id, json.dumps(m.metrics), m.time] for m in metrics]))
