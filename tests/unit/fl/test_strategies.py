"""Strategies and model vectors, with a real (small) Keras model."""

from __future__ import annotations

from pathlib import Path

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
from fedfabric.fl.app import FLApp, partition

APP = FLApp.load(Path(__file__).resolve().parents[3] / "examples" / "apps" / "breast_cancer")


def classifier(features: int = 30):
    assert features == 30
    return APP.model()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    paths = partition(APP, tmp_path_factory.mktemp("data"), 2)
    return [APP.data(p) for p in paths]


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
    train = data[0].train
    model = classifier(30)
    start = to_vector(model)
    update, n = FedAvg(epochs=1).local_update(model, start, train, seed=1)
    assert n == train.samples
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

    train = data[0].train
    x, y = train.x, train.y
    model = classifier(30)
    start = to_vector(model)
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=True))
    grads = tape.gradient(loss, model.trainable_weights)
    expected = start - 0.1 * np.concatenate([g.numpy().ravel() for g in grads])
    update, n = FedSGD(learning_rate=0.1).local_update(model, start, train, seed=1)
    assert np.allclose(start + update / n, expected, atol=1e-6)
