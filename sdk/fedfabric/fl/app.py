"""FL apps: the user's model and data, named as entry points in a directory.

An app is a directory holding a small Python package and a ``fedfabric.toml``::

    [app]
    name = "breast-cancer"
    model = "bc_app.model:build"         # () -> a compiled Keras model
    data = "bc_app.data:load"            # (location: str) -> (train, held_out)
    evaluate = "bc_app.model:evaluate"   # optional: (model, held_out) -> {"metric": value}
    partition = "bc_app.data:partition"  # optional, for demos: (out_dir, parts) -> locations

    [hyperparameters]                    # optional; these are the defaults
    strategy = "fedavg"                  # or "fedsgd"
    epochs = 1
    batch_size = 32
    learning_rate = 0.1                  # fedsgd's step
    dp_clip = 0.0                        # L2 clip of each update (0: no differential privacy)
    dp_noise = 0.0                       # Gaussian noise, times dp_clip
    seed = 0

``train`` and ``held_out`` are each ``(x, y)`` numpy arrays or a ``tf.data.Dataset`` of
``(x, y)`` batches. The data location is the organisation's own (a path or URL given to its
participant); it never goes on chain. A task records the app's content hash, and a participant
trains only when its own copy of the app hashes the same: no code travels through the chain or
the store.

Example::

    app = FLApp.load("examples/apps/breast_cancer")
    model = app.model()
    data = app.data("/srv/ward-b.npz")
    print(app.content_hash, data.train.samples, app.evaluate(model, data.held_out))
"""

from __future__ import annotations

import hashlib
import importlib
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

CONFIG = "fedfabric.toml"
_SKIPPED_DIRS = {"__pycache__"}


class AppError(ValueError):
    """The app directory, one of its entry points, or what an entry point returned is wrong."""


@dataclass(frozen=True)
class Hyperparameters:
    strategy: str = "fedavg"
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 0.1
    dp_clip: float = 0.0
    dp_noise: float = 0.0
    seed: int = 0

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str) -> Hyperparameters:
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise AppError(f"{where}: unknown hyperparameter(s) {', '.join(unknown)} "
                           f"(known: {', '.join(known)})")
        hp = cls(**values)
        checks = [(hp.strategy in ("fedavg", "fedsgd"), "strategy must be fedavg or fedsgd"),
                  (isinstance(hp.epochs, int) and hp.epochs >= 1, "epochs must be >= 1"),
                  (isinstance(hp.batch_size, int) and hp.batch_size >= 1,
                   "batch_size must be >= 1"),
                  (hp.learning_rate > 0, "learning_rate must be > 0"),
                  (hp.dp_clip >= 0 and hp.dp_noise >= 0, "dp_clip and dp_noise must be >= 0"),
                  (isinstance(hp.seed, int), "seed must be an integer")]
        for ok, message in checks:
            if not ok:
                raise AppError(f"{where}: {message}")
        return hp


@dataclass(frozen=True)
class Split:
    """Training or held-out data: numpy arrays ``x, y``, or a tf.data.Dataset of batches."""

    x: np.ndarray | None
    y: np.ndarray | None
    dataset: Any
    samples: int
    _kept: dict[int, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, value: Any, what: str) -> Split:
        if isinstance(value, tuple | list) and len(value) == 2:
            x, y = np.asarray(value[0]), np.asarray(value[1])
            if len(x) != len(y) or len(x) == 0:
                raise AppError(f"{what}: x has {len(x)} rows and y {len(y)}; they must be equal "
                               "and non-zero")
            return cls(x, y, None, len(x))
        if type(value).__module__.startswith("tensorflow") and hasattr(value, "element_spec"):
            samples = sum(int(len(batch[0])) for batch in value)
            if samples == 0:
                raise AppError(f"{what}: the dataset is empty")
            return cls(None, None, value, samples)
        raise AppError(f"{what} must be (x, y) numpy arrays or a tf.data.Dataset of (x, y) "
                       f"batches, not {type(value).__name__}")

    def batched(self, batch_size: int, shuffle: bool = False) -> Any:
        """What model.fit and model.evaluate take: the app's own tf.data.Dataset, or the arrays
        as one. Shuffled, it reshuffles every epoch from TensorFlow's global seed (the round's,
        see fl.localmodel); unshuffled, it is made once and kept. Either way Keras does not
        adapt the arrays again on every call (at 100 rows that took 0.1 s an evaluation)."""
        if self.dataset is not None:
            return self.dataset
        import tensorflow as tf

        if not shuffle and batch_size in self._kept:
            return self._kept[batch_size]
        data = tf.data.Dataset.from_tensor_slices((self.x, self.y))
        if shuffle:
            data = data.shuffle(self.samples, reshuffle_each_iteration=True)
        data = data.batch(batch_size).prefetch(tf.data.AUTOTUNE)
        if not shuffle:
            self._kept[batch_size] = data
        return data

    def batches(self) -> list[tuple[np.ndarray, np.ndarray]]:
        if self.dataset is not None:
            return [(np.asarray(x), np.asarray(y)) for x, y in self.dataset]
        assert self.x is not None and self.y is not None
        return [(self.x, self.y)]

    def digest(self) -> str:
        """sha256 of the values (dtype, shape and bytes of every batch, in order)."""
        h = hashlib.sha256()
        for x, y in self.batches():
            for a in (np.ascontiguousarray(x), np.ascontiguousarray(y)):
                h.update(f"{a.dtype.str}{a.shape}".encode())
                h.update(a.tobytes())
        return h.hexdigest()


@dataclass(frozen=True)
class LocalData:
    train: Split
    held_out: Split

    def digest(self) -> str:
        """What the organisation registers as its dataset's sha256: both splits' values."""
        return hashlib.sha256((self.train.digest() + self.held_out.digest()).encode()).hexdigest()


def content_hash(root: Path) -> str:
    """sha256 over every file of the app (relative path and content), in canonical order;
    caches (__pycache__, *.pyc) and hidden files are left out."""
    h = hashlib.sha256()
    for path in sorted(_files(root), key=lambda p: p.relative_to(root).as_posix()):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).hexdigest().encode() + b"\n")
    return h.hexdigest()


def _files(root: Path) -> list[Path]:
    out = []
    for path in root.rglob("*"):
        parts = path.relative_to(root).parts
        if any(p.startswith(".") or p in _SKIPPED_DIRS for p in parts) or path.suffix == ".pyc":
            continue
        if path.is_file():
            out.append(path)
    return out


@dataclass(frozen=True)
class FLApp:
    root: Path
    name: str
    entry_points: dict[str, str]
    hyperparameters: Hyperparameters
    content_hash: str

    @classmethod
    def load(cls, directory: str | Path) -> FLApp:
        root = Path(directory).expanduser().resolve()
        config = root / CONFIG
        if not root.is_dir():
            raise AppError(f"app directory {root} does not exist")
        if not config.is_file():
            raise AppError(f"{root} is not an FL app: it has no {CONFIG}")
        try:
            data = tomllib.loads(config.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise AppError(f"{config}: {e}") from e
        section = data.get("app")
        if not isinstance(section, dict):
            raise AppError(f"{config} has no [app] section")
        entry_points = {}
        for key in ("model", "data", "evaluate", "partition"):
            value = section.get(key)
            if value is None and key in ("evaluate", "partition"):
                continue
            if not isinstance(value, str) or value.count(":") != 1 or not all(value.split(":")):
                raise AppError(f"{config}: [app] {key} must be \"module:function\", "
                               f"not {value!r}")
            entry_points[key] = value
        hp = Hyperparameters.from_dict(dict(data.get("hyperparameters", {})),
                                       f"{config} [hyperparameters]")
        name = str(section.get("name", root.name))
        return cls(root, name, entry_points, hp, content_hash(root))

    def entry_point(self, key: str) -> Callable[..., Any]:
        """The function an entry point names, imported from the app's directory."""
        module_name, function = self.entry_points[key].split(":")
        _purge_foreign(module_name.split(".")[0], self.root)
        sys.path.insert(0, str(self.root))
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            raise AppError(f"{self.name}: entry point {key} = {self.entry_points[key]!r}: "
                           f"cannot import {module_name}: {e}") from e
        finally:
            sys.path.remove(str(self.root))
        fn = getattr(module, function, None)
        if not callable(fn):
            raise AppError(f"{self.name}: entry point {key} = {self.entry_points[key]!r}: "
                           f"{module_name} has no function {function}")
        return fn  # type: ignore[no-any-return]

    def model(self) -> Any:
        """A fresh compiled Keras model from the app's ``model`` entry point."""
        import keras

        model = self.entry_point("model")()
        if not isinstance(model, keras.Model):
            raise AppError(f"{self.name}: model() returned {type(model).__name__}, not a Keras "
                           "model")
        if not model.weights:
            raise AppError(f"{self.name}: model() returned a model without weights (give it "
                           "an Input so it is built)")
        if model.optimizer is None or not getattr(model, "compiled", True):
            raise AppError(f"{self.name}: model() must return a compiled model")
        return model

    def data(self, location: str) -> LocalData:
        """The organisation's training and held-out data at location."""
        if "://" not in location and not Path(location).expanduser().exists():
            raise AppError(f"data location {location} does not exist")
        value = self.entry_point("data")(location)
        if not isinstance(value, tuple | list) or len(value) != 2:
            raise AppError(f"{self.name}: data() must return (train, held_out), not "
                           f"{type(value).__name__}")
        return LocalData(Split.of(value[0], f"{self.name}: data() train"),
                         Split.of(value[1], f"{self.name}: data() held-out"))

    def evaluate(self, model: Any, held_out: Split) -> dict[str, float]:
        """Metrics of model on held-out data: the app's ``evaluate``, else Keras' own."""
        if "evaluate" in self.entry_points:
            result = self.entry_point("evaluate")(model, held_out)
        else:
            result = model.evaluate(held_out.batched(self.hyperparameters.batch_size),
                                    verbose=0, return_dict=True)
        if not isinstance(result, dict):
            raise AppError(f"{self.name}: evaluate() must return a dict of metrics")
        try:
            return {str(k): float(v) for k, v in result.items()}
        except (TypeError, ValueError) as e:
            raise AppError(f"{self.name}: evaluate() returned a non-numeric metric: {e}") from e


def partition(app: FLApp, out_dir: Path, parts: int) -> list[str]:
    """Demo data: one location per organisation, from the app's optional ``partition``."""
    if "partition" not in app.entry_points:
        raise AppError(f"{app.name} has no partition entry point: give each organisation's "
                       "data location")
    locations = app.entry_point("partition")(str(out_dir), parts)
    if not isinstance(locations, list) or len(locations) != parts:
        raise AppError(f"{app.name}: partition() must return {parts} locations")
    return [str(x) for x in locations]


def _purge_foreign(package: str, root: Path) -> None:
    """Forget an already-imported package of the same name from another directory, so that
    two apps (or two versions of one) in one process never share modules."""
    module = sys.modules.get(package)
    if module is None:
        return
    origin = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", [])), "")
    if origin and Path(origin).resolve().is_relative_to(root):
        return
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]
