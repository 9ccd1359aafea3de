"""One organisation's copy of the app's model, kept for a whole task and reset before each
round's training.

A fresh model every round would make TensorFlow trace its training function again every round:
at 1M parameters that tracing took three quarters of a round's local training. Instead the
model is built once and, before each round, everything training reads besides the weights is put
back as a fresh model would have it: the optimizer's variables (slots, step count, learning
rate) and the random generators of layers such as Dropout, which are reseeded from the round's
seed. So an update stays a pure function of the global weights, the data and the seed: a
participant restarted mid-task trains exactly as it would have.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class LocalModel:
    """Example::

        local = LocalModel(app.model())
        model = local.reset(seed)  # same optimizer and random state as any fresh copy
        update, n = strategy.local_update(model, weights, data.train, seed)
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        optimizer = model.optimizer
        if not optimizer.built:  # make the slots now, so that their initial values are known
            optimizer.build(model.trainable_variables)
        self._optimizer = [(v, np.array(v.numpy(), copy=True)) for v in optimizer.variables]
        # Keras 3 keeps a layer's random generators in _seed_generators (no public accessor).
        self._generators = [sg for layer in model._flatten_layers()
                            for sg in getattr(layer, "_seed_generators", [])]

    def reset(self, seed: int) -> Any:
        """The model with the optimizer as built and every random generator seeded from seed
        (the global ones too); the weights are left for the strategy to set."""
        import keras

        keras.utils.set_random_seed(seed)
        for variable, initial in self._optimizer:
            variable.assign(initial)
        draws = np.random.default_rng(seed).integers(1, 2**31 - 1, size=len(self._generators))
        for generator, draw in zip(self._generators, draws, strict=True):
            generator.state.assign(np.array([draw, 0]).astype(generator.state.dtype))
        return self.model


def limit_threads(threads: int) -> None:
    """Give TensorFlow `threads` CPU threads for an op and as many for running ops side by
    side, instead of one per core each: for participants sharing a host (three on two cores,
    1M parameters: 2.68 s a round with one thread each against 2.91 s with TensorFlow's pools,
    means of three paired runs). Call it before TensorFlow runs anything (RuntimeError after)."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, not {threads}")
    import tensorflow as tf  # after TenSEAL: fedfabric.fl imported fedfabric.he first

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)

