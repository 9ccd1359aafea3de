"""Keras model weights <-> one flat float64 vector, with the layout recorded in the model spec."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Layout:
    """The ordered (name, shape) of every weight; the flat vector concatenates them."""

    entries: tuple[tuple[str, tuple[int, ...]], ...]

    @classmethod
    def of(cls, model: Any) -> Layout:
        """By position and variable name ("0:kernel"): independent of Keras' layer numbering."""
        return cls(tuple((f"{i}:{w.name}", tuple(int(d) for d in w.shape))
                         for i, w in enumerate(model.weights)))

    @property
    def size(self) -> int:
        return sum(int(np.prod(shape)) for _, shape in self.entries)

    def to_json(self) -> list[list[Any]]:
        return [[name, list(shape)] for name, shape in self.entries]


def to_vector(model: Any) -> np.ndarray:
    return np.concatenate([np.asarray(w, dtype=np.float64).ravel()
                           for w in model.get_weights()])


def from_vector(model: Any, vector: np.ndarray) -> None:
    layout = Layout.of(model)
    if len(vector) != layout.size:
        raise ValueError(f"vector has {len(vector)} values, the model {layout.size}")
    weights, offset = [], 0
    for _, shape in layout.entries:
        n = int(np.prod(shape))
        weights.append(np.asarray(vector[offset:offset + n], dtype=np.float32).reshape(shape))
        offset += n
    model.set_weights(weights)


def _without_names(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_names(v) for k, v in value.items() if k != "name"}
    if isinstance(value, list):
        return [_without_names(v) for v in value]
    return value


def model_spec(model: Any) -> dict[str, Any]:
    """What the task records about the model: architecture (without Keras' generated layer
    names, so every organisation's copy hashes alike) and weight layout."""
    return {"architecture": _without_names(json.loads(model.to_json())),
            "layout": Layout.of(model).to_json()}


def spec_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
                          ).hexdigest()
