"""The same federated training without encryption or chain, in one process: the reference
that encrypted training is compared against."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fedfabric.fl.strategy import FedAvg
from fedfabric.fl.vector import from_vector, to_vector


def train_plain(model_fn: Callable[[], Any], data: list[tuple[np.ndarray, np.ndarray]],
                rounds: int, strategy: FedAvg, evaluate: Callable[[Any], dict[str, float]],
                seed: int = 0) -> list[dict[str, float]]:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    models = [model_fn() for _ in data]
    weights = to_vector(models[0])
    history = []
    for _ in range(rounds):
        updates = [strategy.local_update(m, weights, x, y) for m, (x, y) in zip(models, data,
                                                                                strict=True)]
        weights = strategy.apply(weights, np.sum([u for u, _ in updates], axis=0),
                                 sum(n for _, n in updates))
        from_vector(models[0], weights)
        history.append(evaluate(models[0]))
    return history


def train_central(model_fn: Callable[[], Any], x: np.ndarray, y: np.ndarray, rounds: int,
                  epochs: int, batch_size: int, evaluate: Callable[[Any], dict[str, float]],
                  seed: int = 0) -> list[dict[str, float]]:
    """Everyone's data in one place: `epochs` epochs per 'round', for comparison."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    model = model_fn()
    history = []
    for _ in range(rounds):
        model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=True)
        history.append(evaluate(model))
    return history
