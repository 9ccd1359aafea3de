"""Creating a training task, as the initiator does it. It registers nothing on others' behalf:
each participant registered its own dataset and granted ``training`` to the initiator, and
published its organisation key (its participant service does that when it starts).

Example::

    task = create_task(org1_admin, store, FLApp.load("examples/apps/breast_cancer"),
                       {"Org1MSP": "ward-a", "Org2MSP": "ward-b", "Org3MSP": "ward-c"},
                       rounds=5, round_timeout=600)
    print(task.id)
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import numpy as np

from fedfabric.fl.app import FLApp
from fedfabric.fl.artifact import weights_bytes
from fedfabric.fl.vector import model_spec, spec_hash, to_vector
from fedfabric.he import CKKS, Paillier, Scheme, ThresholdCKKS
from fedfabric.keys import wrap
from fedfabric.ledger import Ledger, NotFound
from fedfabric.ledger.schema import Participant, Task, TaskSpec
from fedfabric.store import Store

SINGLE_KEY_SCHEMES = ("ckks", "paillier")
SCHEMES = ("threshold-ckks", *SINGLE_KEY_SCHEMES)


class TaskSetupError(ValueError):
    """The task cannot be created as asked (the message says why; nothing was written)."""


def default_quorum(participants: int) -> int:
    """The weakest quorum the chain accepts: a majority of the participants, at least 2."""
    return max(2, participants // 2 + 1)


def initial_weights(app: FLApp) -> tuple[Any, np.ndarray]:
    """The app's model and its initial weights, seeded by the app's seed."""
    import keras

    keras.utils.set_random_seed(app.hyperparameters.seed)
    model = app.model()
    return model, to_vector(model)


def key_context(task_id: str) -> bytes:
    """What a task's HE secret is wrapped under (binds the wrapped blob to the task)."""
    return f"fedfabric task {task_id} he secret".encode()


def create_task(initiator: Ledger, store: Store, app: FLApp, participants: dict[str, str],
                rounds: int, min_updates: int | None = None, quorum: int | None = None,
                round_timeout: int = 600, scheme: str = "threshold-ckks",
                task_id: str | None = None, model_name: str | None = None,
                threshold: int | None = None) -> Task:
    """Create the task: the initial weights and the HE parameters in the store, the terms on
    chain. threshold-ckks (the default): the members make the keys themselves when they join,
    and any `threshold` of them (default: a majority, at least 2) decrypt together. ckks or
    paillier (single key): the secret goes to every participant, wrapped to its published
    organisation key; the initiator keeps no copy."""
    if len(participants) < 2:
        raise TaskSetupError("a task needs at least two participants")
    task_id = task_id or f"task-{uuid.uuid4().hex[:12]}"
    quorum = quorum if quorum is not None else default_quorum(len(participants))
    min_updates = min_updates if min_updates is not None else quorum
    if quorum < default_quorum(len(participants)) or quorum > len(participants):
        raise TaskSetupError(f"quorum {quorum} must be from {default_quorum(len(participants))} "
                             f"(a majority, at least 2) to {len(participants)}")
    if not 2 <= min_updates <= len(participants):
        raise TaskSetupError(f"min_updates {min_updates} must be from 2 to {len(participants)}")
    if scheme not in SCHEMES:
        raise TaskSetupError(f"scheme {scheme!r} must be one of {', '.join(SCHEMES)}")
    t = 0
    if scheme == "threshold-ckks":
        t = threshold if threshold is not None else default_quorum(len(participants))
        if not 2 <= t <= len(participants):
            raise TaskSetupError(f"threshold {t} must be from 2 to {len(participants)}")
    elif threshold is not None:
        raise TaskSetupError(f"--threshold is for threshold-ckks; {scheme} has one secret")

    # Read and check everything first, so that a refusal leaves nothing behind.
    keys, rows = {}, {}
    for msp, dataset_id in participants.items():
        try:
            dataset = initiator.datasets.get(dataset_id)
            keys[msp] = initiator.tasks.org_key(msp).public_key
        except NotFound as e:
            raise TaskSetupError(f"{msp}: {e.message} (its participant service publishes the "
                                 "organisation key when it starts)") from e
        if dataset.owner_msp != msp:
            raise TaskSetupError(f"dataset {dataset_id} belongs to {dataset.owner_msp}, not {msp}")
        rows[msp] = dataset.rows
    model, weights = initial_weights(app)
    spec = model_spec(model)

    wrapped = {msp: "" for msp in participants}
    if scheme == "threshold-ckks":
        context_hash = store.put(json.dumps(ThresholdCKKS.parameters(), sort_keys=True).encode())
    else:
        he: Scheme = CKKS.generate() if scheme == "ckks" else Paillier.generate()
        context_hash = store.put(he.public_bytes())
        secret = he.secret_bytes()
        wrapped = {msp: store.put(wrap(secret, key, key_context(task_id)))
                   for msp, key in keys.items()}
        del he, secret  # the initiator keeps no copy of the secret
    weights_hash = store.put(weights_bytes(weights))
    hyperparameters: dict[str, Any] = {**app.hyperparameters.__dict__, "app": app.name,
                                       "model_name": model_name or f"{app.name}-{task_id}"}
    return initiator.tasks.create(TaskSpec(
        id=task_id, app_hash=app.content_hash, model_spec_hash=spec_hash(spec),
        initial_weights_hash=weights_hash, initial_weights_uri=store.uri(weights_hash),
        he_scheme=scheme, he_context_hash=context_hash, he_context_uri=store.uri(context_hash),
        participants=[Participant(msp, dataset_id, rows[msp], wrapped[msp])
                      for msp, dataset_id in participants.items()],
        rounds=rounds, min_updates=min_updates, quorum=quorum, round_timeout=round_timeout,
        threshold=t, strategy=app.hyperparameters.strategy, hyperparameters=hyperparameters))
