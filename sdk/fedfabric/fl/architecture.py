"""Rebuilding a Keras model from an architecture another organisation registered, safely.

`keras.models.model_from_json` instantiates whatever classes the JSON names, and Keras versions
before 3.14 had safe-mode bypasses (CVE-2025-1550, CVE-2025-8747, CVE-2025-9906,
CVE-2026-1462). So before Keras sees it, every object in the architecture must be a built-in
layer, initializer, regularizer, constraint or policy from an allowlist (no Lambda, no custom
or registered classes), and sizes are bounded before anything is allocated.

Example::

    blob = store.get(record.input_spec["architecture"], MAX_BYTES)
    model = model_from_architecture(blob.decode())
"""

from __future__ import annotations

import json
from typing import Any

LAYERS = {
    "InputLayer", "Dense", "Conv1D", "Conv2D", "Conv3D", "SeparableConv2D", "DepthwiseConv2D",
    "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
    "GlobalMaxPooling2D", "Flatten", "Reshape", "Dropout", "BatchNormalization",
    "LayerNormalization", "Activation", "ReLU", "LeakyReLU", "Softmax", "Embedding", "LSTM",
    "GRU", "SimpleRNN", "Bidirectional", "Add", "Concatenate", "Multiply", "Average",
    "ZeroPadding2D", "Rescaling", "Normalization",
}
OBJECTS = {
    "keras": {"Sequential", "Functional", "DTypePolicy", "Operation"},
    "keras.layers": LAYERS,
    "keras.initializers": {"GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "Zeros",
                           "Ones", "Constant", "RandomNormal", "RandomUniform",
                           "TruncatedNormal", "Orthogonal", "LecunNormal", "LecunUniform",
                           "VarianceScaling", "Identity"},
    "keras.regularizers": {"L1", "L2", "L1L2", "OrthogonalRegularizer"},
    "keras.constraints": {"MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm"},
}
ACTIVATIONS = {None, "linear", "relu", "relu6", "sigmoid", "softmax", "tanh", "elu", "selu",
               "gelu", "softplus", "softsign", "swish", "silu", "hard_sigmoid", "exponential",
               "leaky_relu", "log_softmax", "mish"}
SIZED = {"units", "filters", "input_dim", "output_dim", "kernel_size", "pool_size", "strides",
         "batch_shape", "target_shape", "dilation_rate"}
MAX_DIM = 1 << 16
MAX_OBJECTS = 2000
MAX_BYTES = 1 << 20


class UnsafeArchitecture(ValueError):
    """The architecture names something outside the allowlist, or sizes beyond the bounds."""


def check_architecture(text: str) -> dict[str, Any]:
    """The parsed architecture without its compile config, or UnsafeArchitecture saying what
    is refused."""
    if len(text) > MAX_BYTES:
        raise UnsafeArchitecture(f"the architecture has {len(text)} bytes, more than {MAX_BYTES}")
    try:
        tree = json.loads(text)
    except ValueError as e:
        raise UnsafeArchitecture(f"the architecture is not JSON: {e}") from e
    if not isinstance(tree, dict) or tree.get("class_name") not in ("Sequential", "Functional"):
        raise UnsafeArchitecture("the architecture is not a Sequential or Functional model")
    tree.pop("compile_config", None)  # optimizer and loss: not needed to predict, never loaded
    count = 0

    def walk(value: Any, key: str = "") -> None:
        nonlocal count
        if isinstance(value, dict):
            if "class_name" in value:
                count += 1
                module, name = value.get("module"), value.get("class_name")
                if count > MAX_OBJECTS:
                    raise UnsafeArchitecture(f"more than {MAX_OBJECTS} objects")
                if value.get("registered_name") is not None or \
                        name not in OBJECTS.get(str(module), set()):
                    raise UnsafeArchitecture(f"{module}.{name} is not an allowed class")
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif key == "activation" and value not in ACTIVATIONS:
            raise UnsafeArchitecture(f"activation {value!r} is not allowed")
        elif key in SIZED and isinstance(value, int | float) and not 0 <= value <= MAX_DIM:
            raise UnsafeArchitecture(f"{key} {value} is beyond the bound {MAX_DIM}")

    walk(tree)
    return tree


def model_from_architecture(text: str) -> Any:
    """A Keras model from checked architecture JSON (Keras' safe mode on, no custom objects)."""
    import keras

    return keras.models.model_from_json(json.dumps(check_architecture(text)))
