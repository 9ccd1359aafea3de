"""A whole consortium in one process: the quick simulation behind ``fedfabric train``.

Every organisation's participant runs in a thread of this process, with its own gateway
connection, state directory and organisation key, through exactly the code path the separate
participant services use (fedfabric.fl.participant); only the processes are shared.

Example::

    history = simulate({"Org1MSP": org1_admin, "Org2MSP": org2_admin, "Org3MSP": org3_admin},
                       store, FLApp.load("examples/apps/breast_cancer"),
                       {"Org1MSP": "a.npz", "Org2MSP": "b.npz", "Org3MSP": "c.npz"},
                       Path("work"), rounds=3)
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from fedfabric.fl.app import FLApp
from fedfabric.fl.participant import Participant
from fedfabric.fl.setup import create_task
from fedfabric.keys import org_key
from fedfabric.ledger import AlreadyExists, Ledger, NotFound
from fedfabric.ledger.schema import Task, TaskHistory
from fedfabric.store import Store


def ensure_dataset(participant: Participant, initiator_msp: str) -> str:
    """Register the participant's data (once per content) and grant training to the initiator;
    returns the dataset id."""
    dataset_id = f"{participant.app.name}-{participant.msp_id.lower()}-" \
                 f"{participant.data_digest[:10]}"
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)
    try:
        participant.ledger.datasets.get(dataset_id)
    except NotFound:
        participant.register_dataset(dataset_id, f"{participant.app.name} data of "
                                     f"{participant.msp_id}", [], expires)
    if participant.msp_id != initiator_msp:
        decision = participant.ledger.datasets.check(dataset_id, initiator_msp, "training")
        if not decision.allowed:
            try:
                participant.ledger.datasets.grant(dataset_id, initiator_msp, "training", expires)
            except AlreadyExists:  # an expired or revoked grant is still on record: replace it
                participant.ledger.datasets.revoke(dataset_id, initiator_msp, "training")
                participant.ledger.datasets.grant(dataset_id, initiator_msp, "training", expires)
    return dataset_id


def simulate(admins: dict[str, Ledger], store: Store | Mapping[str, Store], app: FLApp,
             data: dict[str, str], workdir: Path, rounds: int, round_timeout: int = 300,
             timeout: float = 1800.0, on_task: Callable[[Task], None] | None = None,
             scheme: str = "threshold-ckks") -> TaskHistory:
    """Run one task over the organisations (the first one initiates) and return its history.

    store: one store they share, or each organisation's own (S3 with per-org credentials)."""
    initiator = next(iter(admins))
    stores = store if isinstance(store, Mapping) else dict.fromkeys(admins, store)
    participants = {
        msp: Participant(ledger, msp, app, data[msp], stores[msp], workdir / msp,
                         org_key(workdir / msp / "keys", msp), poll=0.5,
                         log=logging.getLogger(f"fedfabric.participant.{msp}"))
        for msp, ledger in admins.items()}
    datasets = {}
    for msp, p in participants.items():
        p.publish_key()
        datasets[msp] = ensure_dataset(p, initiator)
    task = create_task(admins[initiator], stores[initiator], app, datasets, rounds,
                       round_timeout=round_timeout, scheme=scheme)
    if on_task is not None:
        on_task(task)
    stops = {msp: threading.Event() for msp in participants}
    errors: list[BaseException] = []

    def run(msp: str, p: Participant) -> None:
        try:
            p.run(stop=stops[msp], until_task=task.id)
        except BaseException as e:  # reported to the caller below
            errors.append(e)
            for stop in stops.values():
                stop.set()

    threads = [threading.Thread(target=run, args=(msp, p), daemon=True)
               for msp, p in participants.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    for stop in stops.values():
        stop.set()
    if errors:
        raise errors[0]
    history = admins[initiator].tasks.history(task.id)
    if history.task.status != "COMPLETED":
        reason = history.task.failure_reason
        raise RuntimeError(f"task {task.id} ended {history.task.status}"
                           + (f": {reason}" if reason else ""))
    return history
