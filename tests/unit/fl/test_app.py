"""FL apps: loading, content hash, entry points, and clear errors for bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
from fedfabric.fl.app import AppError, FLApp, Split, partition

APPS = Path(__file__).resolve().parents[3] / "examples" / "apps"


@pytest.fixture
def app_copy(tmp_path: Path) -> Path:
    target = tmp_path / "bc"
    shutil.copytree(APPS / "breast_cancer", target,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_the_shipped_apps_load_and_build(tmp_path):
    for name in ("breast_cancer", "digits", "credit", "defects"):
        app = FLApp.load(APPS / name)
        location = partition(app, tmp_path / name, 2)[0]
        data = app.data(location)
        model = app.model()
        assert data.train.samples > data.held_out.samples > 0
        assert set(app.evaluate(model, data.held_out)) >= {"accuracy", "loss"}


def test_the_content_hash_covers_every_file_and_ignores_caches(app_copy):
    before = FLApp.load(app_copy).content_hash
    (app_copy / "bc_app" / "__pycache__").mkdir(exist_ok=True)
    (app_copy / "bc_app" / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"cache")
    assert FLApp.load(app_copy).content_hash == before
    model = app_copy / "bc_app" / "model.py"
    model.write_text(model.read_text() + "\n# a change\n")
    assert FLApp.load(app_copy).content_hash != before
    (app_copy / "bc_app" / "extra.py").write_text("")
    assert len({before, FLApp.load(app_copy).content_hash}) == 2


def test_two_apps_with_one_package_name_do_not_share_modules(app_copy):
    original = FLApp.load(APPS / "breast_cancer")
    (app_copy / "bc_app" / "model.py").write_text(
        "def build():\n    return 'not a model'\n")
    changed = FLApp.load(app_copy)
    assert original.model() is not None
    with pytest.raises(AppError, match="not a Keras model"):
        changed.model()
    assert original.model() is not None  # and back again


def test_an_app_directory_without_its_config_is_refused(tmp_path):
    with pytest.raises(AppError, match="has no fedfabric.toml"):
        FLApp.load(tmp_path)
    with pytest.raises(AppError, match="does not exist"):
        FLApp.load(tmp_path / "nowhere")


@pytest.mark.parametrize("line, message", [
    ('model = "bc_app.model"', 'must be "module:function"'),
    ('model = "bc_app.nothing:build"', "cannot import bc_app.nothing"),
    ('model = "bc_app.model:nothing"', "has no function nothing"),
])
def test_a_bad_entry_point_is_refused_clearly(app_copy, line, message):
    config = app_copy / "fedfabric.toml"
    config.write_text(config.read_text().replace('model = "bc_app.model:build"', line))
    with pytest.raises(AppError, match=message):
        FLApp.load(app_copy).model()


def test_bad_hyperparameters_are_refused(app_copy):
    config = app_copy / "fedfabric.toml"
    config.write_text(config.read_text().replace("epochs = 1", "epochs = 0\nmomentum = 2"))
    with pytest.raises(AppError, match="unknown hyperparameter"):
        FLApp.load(app_copy)


def test_a_missing_data_location_is_refused(app_copy, tmp_path):
    with pytest.raises(AppError, match="does not exist"):
        FLApp.load(app_copy).data(str(tmp_path / "missing.npz"))


def test_data_of_the_wrong_shape_is_refused(app_copy, tmp_path):
    (app_copy / "bc_app" / "data.py").write_text(
        "import numpy as np\n"
        "def load(location):\n"
        "    return (np.zeros((3, 30)), np.zeros(2)), (np.zeros((1, 30)), np.zeros(1))\n")
    with pytest.raises(AppError, match="x has 3 rows and y 2"):
        FLApp.load(app_copy).data(str(tmp_path))


def test_tf_datasets_are_data_too():
    import tensorflow as tf

    x, y = np.ones((10, 30), np.float32), np.zeros(10, np.float32)
    split = Split.of(tf.data.Dataset.from_tensor_slices((x, y)).batch(4), "train")
    assert split.samples == 10
    assert split.digest() == Split.of(tf.data.Dataset.from_tensor_slices((x, y)).batch(4),
                                      "train").digest()
