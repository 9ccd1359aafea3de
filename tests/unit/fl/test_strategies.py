"""Strategies and model vectors, with a real (small) Keras model."""

from __future__ import annotations

import numpy as np
import pytest

import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
from fedfabric.fl import (
    FedAvg,
    FedSGD,
    Layout,
    Privacy,
    from_vector,
    model_spec,
    spec_hash,
    to_vector,
)
from fedfabric.fl.samples import breast_cancer, classifier


@pytest.fixture(scope="module")
def data():
    parts, test = breast_cancer(2, seed=3)
    return parts, test


def test_model_vector_round_trip_and_layout(data):
    model = classifier(30)
    vector = to_vector(model)
    layout = Layout.of(model)
    assert layout.size == len(vector) == 30 * 16 + 16 + 16 + 1
    other = classifier(30)
    from_vector(other, vector)
    assert np.array_equal(to_vector(other), vector.astype(np.float32).astype(np.float64))
    with pytest.raises(ValueError, match="513"):
        from_vector(other, vector[:-1])
    assert spec_hash(model_spec(model)) == spec_hash(model_spec(other))


def test_fedavg_update_is_scaled_by_samples_and_apply_averages(data):
    (x, y), _ = data[0]
    model = classifier(30)
    start = to_vector(model)
    update, n = FedAvg(epochs=1).local_update(model, start, x, y)
    assert n == len(x)
    trained = to_vector(model)
    assert np.allclose(update, (trained - start) * n)
    # two identical updates average to the same weights a single client would reach
    assert np.allclose(FedAvg().apply(start, update * 2, 2 * n), trained)
    with pytest.raises(ValueError):
        FedAvg().apply(start, update, 0)


def test_privacy_clips_the_update_norm_and_adds_noise():
    rng = np.random.default_rng(0)
    delta = np.full(10_000, 3.0)
    clipped = Privacy(clip=1.0, sigma=0.0).apply(delta, rng)
    assert np.isclose(np.linalg.norm(clipped), 1.0)
    noisy = Privacy(clip=1.0, sigma=0.5).apply(delta, rng)
    assert abs(np.std(noisy - clipped) - 0.5) < 0.02


def test_fedsgd_is_one_gradient_step_on_all_local_data(data):
    import tensorflow as tf

    (x, y), _ = data[0]
    model = classifier(30)
    start = to_vector(model)
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=True))
    grads = tape.gradient(loss, model.trainable_weights)
    expected = start - 0.1 * np.concatenate([g.numpy().ravel() for g in grads])
    update, n = FedSGD(learning_rate=0.1).local_update(model, start, x, y)
    assert np.allclose(start + update / n, expected, atol=1e-6)
