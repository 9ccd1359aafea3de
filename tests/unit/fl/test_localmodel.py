"""A model kept across rounds trains exactly as a fresh one would, and traces only once."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
from fedfabric.fl import FedAvg, Split, to_vector
from fedfabric.fl.localmodel import LocalModel, limit_threads
from fedfabric.fl.rounds import local_update


def build():
    """Stateful in every way a reset must undo: Adam's slots and step, Dropout's generator."""
    import keras

    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.5), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


def data() -> Split:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 8)).astype(np.float32)
    return Split.of((x, x.sum(axis=1, keepdims=True)), "train")


def test_a_kept_model_trains_each_round_as_a_fresh_one_and_traces_once():
    train, strategy = data(), FedAvg(epochs=2, batch_size=16)
    kept = LocalModel(build())
    weights = to_vector(kept.model)
    first, n = local_update(kept, strategy, weights, train, seed=1)
    function = kept.model.train_function
    second, _ = local_update(kept, strategy, weights + first / n, train, seed=2)
    assert kept.model.train_function is function  # traced in round 1 only
    again, _ = local_update(kept, strategy, weights, train, seed=1)
    assert np.array_equal(again, first)

    # a participant restarted before round 2 builds its model anew: the same update
    fresh = LocalModel(build())
    assert np.array_equal(local_update(fresh, strategy, weights + first / n, train, seed=2)[0],
                          second)
    # the seed is what varies: dropout masks and shuffling differ
    assert not np.array_equal(local_update(fresh, strategy, weights, train, seed=3)[0], first)


def test_reset_restores_the_optimizer_and_reseeds_the_dropout():
    kept = LocalModel(build())
    optimizer = kept.model.optimizer
    before = [np.array(v.numpy()) for v in optimizer.variables]
    local_update(kept, FedAvg(epochs=1, batch_size=16), to_vector(kept.model), data(), seed=5)
    assert int(optimizer.iterations.numpy()) > 0
    kept.reset(5)
    assert all(np.array_equal(v.numpy(), b) for v, b in zip(optimizer.variables, before,
                                                              strict=True))
    dropout = kept.model.layers[1]
    state = np.array(dropout.seed_generator.state.numpy())
    kept.reset(6)
    assert not np.array_equal(dropout.seed_generator.state.numpy(), state)
    kept.reset(5)
    assert np.array_equal(dropout.seed_generator.state.numpy(), state)


def test_limit_threads_sets_tensorflows_pools_in_a_fresh_process():
    script = ("from fedfabric.fl.localmodel import limit_threads\n"
              "limit_threads(1)\n"
              "import tensorflow as tf\n"
              "print(tf.config.threading.get_intra_op_parallelism_threads(),"
              " tf.config.threading.get_inter_op_parallelism_threads())\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["1", "1"]
    with pytest.raises(ValueError, match="at least 1"):
        limit_threads(0)
