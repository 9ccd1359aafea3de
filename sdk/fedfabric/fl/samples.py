"""Sample data and model for demos and tests: scikit-learn's breast-cancer data (it ships with
the package), split non-IID across organisations, and a small Keras classifier."""

from __future__ import annotations

from typing import Any

import numpy as np


def breast_cancer(parts: int, seed: int = 0, test_fraction: float = 0.2
                  ) -> tuple[list[tuple[np.ndarray, np.ndarray]], tuple[np.ndarray, np.ndarray]]:
    """(per-organisation (x, y), held-out (x, y)), standardised with the training statistics.

    Non-IID: each organisation gets a different share of malignant cases (label skew).
    """
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-9
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    rng = np.random.default_rng(seed)
    order = np.argsort(y_train + rng.uniform(-0.6, 0.6, len(y_train)))  # mostly sorted by label
    chunks = np.array_split(order, parts)
    data = [(x_train[c].astype(np.float32), y_train[c].astype(np.float32)) for c in chunks]
    return data, (x_test.astype(np.float32), y_test.astype(np.float32))


def classifier(features: int, learning_rate: float = 0.01) -> Any:
    import tensorflow as tf

    model = tf.keras.Sequential([
        tf.keras.Input(shape=(features,)),
        tf.keras.layers.Dense(16, activation="relu"),
        tf.keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def evaluator(x: np.ndarray, y: np.ndarray) -> Any:
    def evaluate(model: Any) -> dict[str, float]:
        loss, accuracy = model.evaluate(x, y, verbose=0)
        return {"accuracy": float(accuracy), "loss": float(loss)}

    return evaluate
