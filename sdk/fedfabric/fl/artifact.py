"""A trained model as stored and registered: its weights (float64, content-addressed) and its
Keras architecture (JSON). Written once by the organisation that registers the model, read by
every organisation that uses it (fedfabric.fl.serving).

Example::

    spec = write_artifact(store, model, weights)           # -> fields for ModelSpec
    model = read_artifact(store, ledger.models.get("diagnosis", "1").model)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fedfabric.fl.architecture import MAX_BYTES, model_from_architecture
from fedfabric.fl.vector import Layout, from_vector, model_spec
from fedfabric.ledger.schema import Model
from fedfabric.store import Store

WEIGHTS_DTYPE = "float64"


def weights_bytes(weights: np.ndarray) -> bytes:
    return np.ascontiguousarray(weights, dtype=np.float64).tobytes()


def write_artifact(store: Store, model: Any, weights: np.ndarray) -> dict[str, Any]:
    """Store the weights and architecture; returns weights_hash, weights_uri and input_spec."""
    weights_hash = store.put(weights_bytes(weights))
    architecture = store.put(model.to_json().encode())
    spec = model_spec(model)
    return {"weights_hash": weights_hash, "weights_uri": store.uri(weights_hash),
            "input_spec": {"layout": spec["layout"], "architecture": architecture,
                           "weights_dtype": WEIGHTS_DTYPE}}


def read_artifact(store: Store, record: Model) -> Any:
    """The Keras model of a registered version: its architecture checked against an allowlist
    before Keras reads it (fl.architecture), its weights against the chain's hash."""
    architecture = record.input_spec.get("architecture")
    if not isinstance(architecture, str):
        raise ValueError(f"model {record.name}:{record.version} records no architecture blob")
    owner = store.sibling(record.owner_msp)  # the registering organisation wrote both
    model = model_from_architecture(owner.get(architecture, MAX_BYTES).decode())
    weights = np.frombuffer(owner.get(record.weights_hash, 8 * Layout.of(model).size),
                            dtype=np.float64)  # hash-checked
    if len(weights) != Layout.of(model).size:
        raise ValueError(f"model {record.name}:{record.version}: {len(weights)} weights for a "
                         f"model of {Layout.of(model).size}")
    from_vector(model, weights)
    return model
