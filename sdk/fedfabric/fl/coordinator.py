"""Run a federated training task end to end on the ledger, every party in this process.

Each organisation is a participant (its data, its client) and runs an aggregator. The initiator
creates the HE keys, stores the public context and the initial weights, wraps the secret context
to each participant's published X25519 key (aggregators never receive it) and creates the task;
then, round by round, clients train and submit, aggregators endorse, clients apply the result.
"""

from __future__ import annotations

import datetime
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fedfabric.fl.aggregator import Aggregator
from fedfabric.fl.client import Client
from fedfabric.fl.strategy import FedAvg
from fedfabric.fl.vector import from_vector, model_spec, spec_hash, to_vector
from fedfabric.gateway import ConnectionProfile, Gateway, Network
from fedfabric.he import CKKS
from fedfabric.keys import generate_org_key, unwrap, wrap
from fedfabric.ledger import Ledger
from fedfabric.ledger.schema import ModelSpec, Participant, Provenance, TaskSpec
from fedfabric.store import LocalStore, sha256


@dataclass
class Party:
    """One organisation: its ledger as admin and as user, its data, its event network."""

    msp_id: str
    admin: Ledger
    user: Ledger
    network: Network
    x: np.ndarray
    y: np.ndarray
    dataset_id: str = ""


@dataclass
class RoundReport:
    round: int
    weights: np.ndarray
    metrics: dict[str, float]
    aggregate_hash: str


@dataclass
class TrainingResult:
    task_id: str
    rounds: list[RoundReport] = field(default_factory=list)
    model_name: str = ""
    model_version: str = ""


def parties_from_profile(
    profile: ConnectionProfile, names: list[str], data: list[tuple[np.ndarray, np.ndarray]],
    after_commit: Callable[[int], None] | None = None,
) -> tuple[list[Party], list[Gateway]]:
    """A Party per organisation name (its Admin and User1 connections); close the gateways.

    after_commit: see Ledger (e.g. a network's wait_for_block, so every org reads its writes).
    """
    parties, gateways = [], []
    for name, (x, y) in zip(names, data, strict=True):
        admin, user = profile.connect(name, user="Admin"), profile.connect(name)
        gateways += [admin, user]
        network = user.get_network(profile.channel)
        parties.append(Party(
            profile.org(name).msp_id,
            Ledger(admin.get_network(profile.channel), profile.chaincode,
                   after_commit=after_commit),
            Ledger(network, profile.chaincode, after_commit=after_commit), network, x, y))
    return parties, gateways


def _register_datasets(parties: list[Party], initiator: Party) -> None:
    expiry = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    for p in parties:
        if not p.dataset_id:
            p.dataset_id = f"{p.msp_id.lower()}-{uuid.uuid4().hex[:8]}"
        data = np.ascontiguousarray(np.column_stack([p.x, p.y])).tobytes()
        p.admin.datasets.register(p.dataset_id, f"{p.msp_id} training data", sha256(data),
                                  f"local://{p.msp_id}/{p.dataset_id}",
                                  {"features": int(p.x.shape[1])}, len(p.x),
                                  {"stored": "at the owner, never shared"})
        if p is not initiator:
            p.admin.datasets.grant(p.dataset_id, initiator.msp_id, "training", expiry)


def train(parties: list[Party], chaincode: str, store: LocalStore, model_fn: Callable[[], Any],
          rounds: int, strategy: FedAvg, evaluate: Callable[[Any], dict[str, float]],
          workdir: Path, min_updates: int | None = None, quorum: int = 2,
          scheme: CKKS | None = None, seed: int = 0,
          on_round: Callable[[RoundReport], None] | None = None) -> TrainingResult:
    initiator = parties[0]
    _register_datasets(parties, initiator)

    # Keys: each participant publishes an X25519 key; the initiator wraps the HE secret to it.
    org_keys = {}
    for p in parties:
        private, public = generate_org_key()
        p.admin.tasks.publish_key("X25519", public)
        org_keys[p.msp_id] = private
    he = scheme or CKKS.generate()
    context_hash = store.put(he.public_bytes())
    task_id = f"task-{uuid.uuid4().hex[:10]}"
    wrapped = {p.msp_id: store.put(wrap(he.secret_bytes(),
                                        initiator.user.tasks.org_key(p.msp_id).public_key,
                                        context=task_id.encode()))
               for p in parties}

    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    models = {p.msp_id: model_fn() for p in parties}
    weights = to_vector(models[initiator.msp_id])
    spec = model_spec(models[initiator.msp_id])
    weights_hash = store.put(weights.astype(np.float64).tobytes())
    start_block = initiator.network.block_height()  # aggregators follow events from here
    initiator.admin.tasks.create(TaskSpec(
        id=task_id, model_spec_hash=spec_hash(spec), initial_weights_hash=weights_hash,
        initial_weights_uri=store.uri(weights_hash), he_context_hash=context_hash,
        he_context_uri=store.uri(context_hash),
        participants=[Participant(p.msp_id, p.dataset_id) for p in parties], rounds=rounds,
        min_updates=min_updates or len(parties), quorum=quorum, strategy=strategy.name,
        hyperparameters={**strategy.hyperparameters(), "wrapped_keys": wrapped,
                         "he": he.name}))

    clients = {}
    for p in parties:
        secret = unwrap(store.get(wrapped[p.msp_id]), org_keys[p.msp_id], task_id.encode())
        mine = CKKS(store.get(context_hash), secret)
        clients[p.msp_id] = Client(p.user, store, mine, strategy, models[p.msp_id], p.x, p.y,
                                   p.dataset_id)
    stop = threading.Event()
    aggregators = [Aggregator(p.user, p.network, chaincode, store,
                              workdir / f"aggregator-{p.msp_id}.json", p.msp_id)
                   for p in parties]
    threads = [threading.Thread(target=a.run, daemon=True, kwargs={
        "task_id": task_id, "stop": stop, "start_block": start_block}) for a in aggregators]
    for t in threads:
        t.start()

    result = TrainingResult(task_id)
    try:
        for r in range(1, rounds + 1):
            # Train one after the other (a fixed use of TensorFlow's random state), then
            # submit all at once, as independent organisations would.
            prepared = [(c, c.prepare(task_id, r, weights)) for c in clients.values()]
            with ThreadPoolExecutor(len(parties)) as pool:
                for f in [pool.submit(c.send, u) for c, u in prepared]:
                    f.result()
            _wait_finalized(initiator.user, task_id, r)
            final = initiator.user.tasks.round(task_id, r)
            weights = clients[initiator.msp_id].next_weights(task_id, r, weights)
            from_vector(models[initiator.msp_id], weights)
            report = RoundReport(r, weights, evaluate(models[initiator.msp_id]),
                                 final.final_hash or "")
            result.rounds.append(report)
            if on_round:
                on_round(report)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)

    final_hash = store.put(weights.astype(np.float64).tobytes())
    architecture = store.put(models[initiator.msp_id].to_json().encode())
    name = f"model-{task_id}"
    initiator.admin.models.register(ModelSpec(
        name=name, version="1", provenance=Provenance("task", task_id=task_id, round=rounds),
        weights_hash=final_hash, weights_uri=store.uri(final_hash),
        framework=f"tensorflow-{tf.__version__}", metrics=result.rounds[-1].metrics,
        input_spec={"features": int(initiator.x.shape[1]), "layout": spec["layout"],
                    "architecture": architecture, "weights_dtype": "float64"}))
    result.model_name, result.model_version = name, "1"
    return result


def _wait_finalized(ledger: Ledger, task_id: str, round: int, timeout: float = 120.0) -> None:
    """Poll (bounded) until the round is FINALIZED."""
    import time

    deadline = time.monotonic() + timeout
    while ledger.tasks.round(task_id, round).status != "FINALIZED":
        if time.monotonic() > deadline:
            raise TimeoutError(f"round {round} of {task_id} was not finalized in {timeout}s")
        time.sleep(0.2)
