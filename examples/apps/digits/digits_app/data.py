"""Each organisation's images are one .npz file: x_train, y_train, x_test, y_test."""

from pathlib import Path

import numpy as np


def load(location: str):
    with np.load(location, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def partition(out_dir: str, parts: int, seed: int = 11) -> list[str]:
    """Split the 1,797 images over `parts` organisations by label with some mixing (label
    skew), each with its own held-out fifth."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).reshape(-1, 8, 8, 1).astype(np.float32)
    rng = np.random.default_rng(seed)
    order = np.argsort(y + rng.uniform(-2.5, 2.5, len(y)))
    paths = []
    for i, chunk in enumerate(np.array_split(order, parts)):
        chunk = rng.permutation(chunk)
        cut = len(chunk) * 4 // 5
        path = Path(out_dir) / f"part-{i + 1}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, x_train=x[chunk[:cut]], y_train=y[chunk[:cut]].astype(np.int64),
                 x_test=x[chunk[cut:]], y_test=y[chunk[cut:]].astype(np.int64))
        paths.append(str(path))
    return paths
