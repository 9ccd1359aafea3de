"""Federated strategies: a Strategy protocol with hook methods, FedAvg and FedSGD (Flower's shape).

A round: each participant calls ``local_update`` (train from the global weights, return its
update already multiplied by its sample count, so that aggregation is a plain sum of
ciphertexts); after aggregation each participant calls ``apply`` with the decrypted sum and the
total sample count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from fedfabric.fl.app import Hyperparameters, Split
from fedfabric.fl.vector import from_vector, to_vector


class Strategy(Protocol):
    name: str

    def hyperparameters(self) -> dict[str, Any]:
        """What the task records about the strategy."""

    def local_update(self, model: Any, global_weights: np.ndarray, train: Split,
                     seed: int) -> tuple[np.ndarray, int]:
        """(n_i * delta_i, n_i): this participant's update scaled by its sample count."""

    def apply(self, global_weights: np.ndarray, summed: np.ndarray,
              total_samples: int) -> np.ndarray:
        """The next global weights from the decrypted sum of updates."""


@dataclass(frozen=True)
class Privacy:
    """Differential privacy of one update: L2 clipping, then Gaussian noise of sigma * clip."""

    clip: float
    sigma: float

    def apply(self, delta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        norm = float(np.linalg.norm(delta))
        clipped = delta * min(1.0, self.clip / norm) if norm > 0 else delta
        return clipped + rng.normal(0.0, self.sigma * self.clip, size=delta.shape)


class FedAvg:
    """E local epochs from w(t-1); update = n_i * (w_i - w(t-1)); w(t) = w(t-1) + sum / sum(n_i).

    Example::

        strategy = FedAvg(epochs=2, batch_size=16)
        update, n = strategy.local_update(model, weights, Split.of((x, y), "train"), seed=1)
        weights = strategy.apply(weights, update + other_update, n + other_n)
    """

    name = "fedavg"

    def __init__(self, epochs: int = 1, batch_size: int = 32, privacy: Privacy | None = None
                 ) -> None:
        self.epochs, self.batch_size, self.privacy = epochs, batch_size, privacy

    def hyperparameters(self) -> dict[str, Any]:
        hp: dict[str, Any] = {"epochs": self.epochs, "batch_size": self.batch_size}
        if self.privacy:
            hp["dp"] = {"clip": self.privacy.clip, "sigma": self.privacy.sigma}
        return hp

    def train(self, model: Any, train: Split) -> None:
        """The local training step (hook)."""
        model.fit(train.batched(self.batch_size, shuffle=True), epochs=self.epochs, verbose=0,
                  shuffle=False)  # the dataset shuffles itself

    def local_update(self, model: Any, global_weights: np.ndarray, train: Split,
                     seed: int) -> tuple[np.ndarray, int]:
        import keras

        keras.utils.set_random_seed(seed)
        from_vector(model, global_weights)
        self.train(model, train)
        delta = to_vector(model)  # in place from here on: a large model has few copies
        delta -= global_weights
        if self.privacy:
            delta = self.privacy.apply(delta, np.random.default_rng(seed))
        delta *= train.samples
        return delta, train.samples

    def apply(self, global_weights: np.ndarray, summed: np.ndarray,
              total_samples: int) -> np.ndarray:
        if total_samples <= 0:
            raise ValueError("no samples were aggregated")
        weights = summed / total_samples
        weights += global_weights
        return weights


class FedSGD(FedAvg):
    """One local gradient step: w_t = w_{t-1} + sum_i alpha_i grad F_i(w_{t-1}).

    With the step -lr and alpha_i = n_i / sum(n): the update of participant i is
    n_i * (-lr) * grad F_i(w_{t-1}), its whole local data as one batch (a dataset's batches are
    averaged, weighted by their sizes).
    """

    name = "fedsgd"

    def __init__(self, learning_rate: float = 0.1, privacy: Privacy | None = None) -> None:
        super().__init__(epochs=1, batch_size=0, privacy=privacy)
        self.learning_rate = learning_rate

    def hyperparameters(self) -> dict[str, Any]:
        return {**super().hyperparameters(), "learning_rate": self.learning_rate}

    def train(self, model: Any, train: Split) -> None:
        import tensorflow as tf

        total: list[Any] | None = None
        for x, y in train.batches():
            with tf.GradientTape() as tape:
                loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=True))
            grads = tape.gradient(loss, model.trainable_weights)
            scaled = [g * (len(x) / train.samples) for g in grads]
            total = scaled if total is None else [a + b for a, b in zip(total, scaled,
                                                                        strict=True)]
        assert total is not None
        for var, grad in zip(model.trainable_weights, total, strict=True):
            var.assign_sub(self.learning_rate * grad)


def strategy_for(hp: Hyperparameters) -> Strategy:
    """The strategy an app's hyperparameters name."""
    privacy = Privacy(hp.dp_clip, hp.dp_noise) if hp.dp_clip > 0 else None
    if hp.strategy == "fedsgd":
        return FedSGD(learning_rate=hp.learning_rate, privacy=privacy)
    return FedAvg(epochs=hp.epochs, batch_size=hp.batch_size, privacy=privacy)


STRATEGIES = {"fedavg": FedAvg, "fedsgd": FedSGD}
