"""Each hospital's data is one .npz file: x_train, y_train, x_test, y_test."""

from pathlib import Path

import numpy as np


def load(location: str):
    with np.load(location, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def partition(out_dir: str, parts: int, seed: int = 7) -> list[str]:
    """Split scikit-learn's data non-IID over `parts` hospitals (each gets a different share of
    malignant cases), each with its own held-out fifth; standardised with global statistics."""
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-9)
    rng = np.random.default_rng(seed)
    order = np.argsort(y + rng.uniform(-0.6, 0.6, len(y)))  # mostly sorted by label
    return write_parts(out_dir, x.astype(np.float32), y.astype(np.float32), order, parts, seed)


def write_parts(out_dir, x, y, order, parts, seed) -> list[str]:
    rng = np.random.default_rng(seed + 1)
    paths = []
    for i, chunk in enumerate(np.array_split(order, parts)):
        chunk = rng.permutation(chunk)
        cut = len(chunk) * 4 // 5
        path = Path(out_dir) / f"part-{i + 1}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, x_train=x[chunk[:cut]], y_train=y[chunk[:cut]],
                 x_test=x[chunk[cut:]], y_test=y[chunk[cut:]])
        paths.append(str(path))
    return paths
