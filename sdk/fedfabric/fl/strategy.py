"""Federated strategies as small classes with hooks, FedAvg as the base (Flower's shape).

A round: each client calls ``local_update`` (train from the global weights, return its update
already multiplied by its sample count, so that aggregation is a plain sum of ciphertexts);
after aggregation each client calls ``apply`` with the decrypted sum and the total sample count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fedfabric.fl.vector import from_vector, to_vector


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
    """E local epochs from w(t-1); update = n_i * (w_i - w(t-1)); w(t) = w(t-1) + sum / sum(n_i)."""

    name = "fedavg"

    def __init__(self, epochs: int = 1, batch_size: int = 32, privacy: Privacy | None = None,
                 seed: int = 0) -> None:
        self.epochs, self.batch_size, self.privacy = epochs, batch_size, privacy
        self.rng = np.random.default_rng(seed)

    def hyperparameters(self) -> dict[str, Any]:
        hp: dict[str, Any] = {"epochs": self.epochs, "batch_size": self.batch_size}
        if self.privacy:
            hp["dp"] = {"clip": self.privacy.clip, "sigma": self.privacy.sigma}
        return hp

    def train(self, model: Any, x: np.ndarray, y: np.ndarray) -> None:
        """The local training step (hook)."""
        model.fit(x, y, epochs=self.epochs, batch_size=self.batch_size, verbose=0,
                  shuffle=True)

    def local_update(self, model: Any, global_weights: np.ndarray, x: np.ndarray,
                     y: np.ndarray) -> tuple[np.ndarray, int]:
        """(n_i * delta_i, n_i) for this client's data."""
        from_vector(model, global_weights)
        self.train(model, x, y)
        delta = to_vector(model) - global_weights
        if self.privacy:
            delta = self.privacy.apply(delta, self.rng)
        return delta * len(x), len(x)

    def apply(self, global_weights: np.ndarray, summed: np.ndarray,
              total_samples: int) -> np.ndarray:
        if total_samples <= 0:
            raise ValueError("no samples were aggregated")
        return global_weights + summed / total_samples


class FedSGD(FedAvg):
    """One local gradient step: w_t = w_{t-1} + sum_i alpha_i grad F_i(w_{t-1}).

    With the step -lr and alpha_i = n_i / sum(n): the update of client i is
    n_i * (-lr) * grad F_i(w_{t-1}), its whole local data as one batch.
    """

    name = "fedsgd"

    def __init__(self, learning_rate: float = 0.1, privacy: Privacy | None = None,
                 seed: int = 0) -> None:
        super().__init__(epochs=1, batch_size=0, privacy=privacy, seed=seed)
        self.learning_rate = learning_rate

    def hyperparameters(self) -> dict[str, Any]:
        return {**super().hyperparameters(), "learning_rate": self.learning_rate}

    def train(self, model: Any, x: np.ndarray, y: np.ndarray) -> None:
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        for var, grad in zip(model.trainable_weights, grads, strict=True):
            var.assign_sub(self.learning_rate * grad)


STRATEGIES = {"fedavg": FedAvg, "fedsgd": FedSGD}
