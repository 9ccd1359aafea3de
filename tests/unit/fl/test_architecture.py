"""Architectures another organisation registered are checked before Keras instantiates them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
from fedfabric.fl import FLApp
from fedfabric.fl.architecture import UnsafeArchitecture, model_from_architecture

APPS = Path(__file__).resolve().parents[3] / "examples" / "apps"


@pytest.mark.parametrize("app", ["breast_cancer", "digits", "credit"])
def test_the_shipped_models_rebuild(app):
    model = FLApp.load(APPS / app).model()
    rebuilt = model_from_architecture(model.to_json())
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in model.weights]


def _digits() -> dict:
    return json.loads(FLApp.load(APPS / "digits").model().to_json())


def test_a_lambda_layer_is_refused():
    tree = _digits()
    tree["config"]["layers"].append({"module": "keras.layers", "class_name": "Lambda",
                                     "config": {"function": "os.system"},
                                     "registered_name": None})
    with pytest.raises(UnsafeArchitecture, match="keras.layers.Lambda is not an allowed"):
        model_from_architecture(json.dumps(tree))


def test_a_custom_registered_class_is_refused():
    tree = _digits()
    tree["config"]["layers"][1]["registered_name"] = "evil>Conv2D"
    with pytest.raises(UnsafeArchitecture, match="not an allowed class"):
        model_from_architecture(json.dumps(tree))


def test_huge_layers_are_refused_before_anything_is_allocated():
    tree = _digits()
    tree["config"]["layers"][-1]["config"]["units"] = 10**9
    with pytest.raises(UnsafeArchitecture, match="units 1000000000 is beyond"):
        model_from_architecture(json.dumps(tree))


def test_an_unknown_activation_and_non_models_are_refused():
    tree = _digits()
    tree["config"]["layers"][1]["config"]["activation"] = "my_module.steal"
    with pytest.raises(UnsafeArchitecture, match="activation"):
        model_from_architecture(json.dumps(tree))
    with pytest.raises(UnsafeArchitecture, match="not JSON"):
        model_from_architecture("{")
    with pytest.raises(UnsafeArchitecture, match="not a Sequential"):
        model_from_architecture(json.dumps({"class_name": "Dense"}))


def test_keras_is_at_least_the_version_without_the_known_safe_mode_bypasses():
    from importlib.metadata import version
    from pathlib import Path

    installed = tuple(int(part) for part in version("keras").split(".")[:2])
    assert installed >= (3, 14), f"keras {version('keras')} has safe-mode bypasses"
    pyproject = (Path(__file__).resolve().parents[3] / "pyproject.toml").read_text()
    assert '"keras>=3.14"' in pyproject, "the package must keep requiring keras>=3.14"
