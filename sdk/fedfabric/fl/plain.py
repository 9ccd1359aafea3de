"""The same federated training without encryption or chain, in one process: the reference that
encrypted training is compared against. Seeds follow the participants' (fl.rounds), so with the
same task id it trains exactly as the participants do, up to the encryption's rounding.

Example::

    history = train_plain(app, {"Org1MSP": data1, "Org2MSP": data2}, rounds=3, task_id=task.id)
    history[-1].metrics["Org1MSP"]["accuracy"], history[-1].weights
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedfabric.fl.app import FLApp, LocalData
from fedfabric.fl.localmodel import LocalModel
from fedfabric.fl.rounds import local_update, training_seed
from fedfabric.fl.setup import initial_weights
from fedfabric.fl.strategy import strategy_for
from fedfabric.fl.vector import from_vector


@dataclass(frozen=True)
class PlainRound:
    metrics: dict[str, dict[str, float]]  # each organisation's, on its held-out data
    weights: np.ndarray  # the global weights after the round


def train_plain(app: FLApp, data: dict[str, LocalData], rounds: int, task_id: str = ""
                ) -> list[PlainRound]:
    """Per round, the global weights and each organisation's metrics of them."""
    model, weights = initial_weights(app)
    strategy = strategy_for(app.hyperparameters)
    local = LocalModel(app.model())  # a pure function of weights, data and seed: one will do
    history = []
    for r in range(1, rounds + 1):
        updates = [local_update(local, strategy, weights, d.train,
                                training_seed(app.hyperparameters.seed, task_id, r, msp))
                   for msp, d in sorted(data.items())]
        weights = strategy.apply(weights, np.sum([u for u, _ in updates], axis=0),
                                 sum(n for _, n in updates))
        from_vector(model, weights)
        history.append(PlainRound({msp: app.evaluate(model, d.held_out)
                                   for msp, d in data.items()}, weights))
    return history
