"""Generated data: one .npz per organisation (x_train, y_train, x_test, y_test), labels from a
noisy linear rule shared by all organisations, features shifted per organisation."""

from pathlib import Path

import numpy as np

from dense_app.size import FEATURES, HELD_OUT, ROWS


def load(location: str):
    with np.load(location, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def partition(out_dir: str, parts: int, seed: int = 7) -> list[str]:
    rule = np.random.default_rng(seed).normal(size=FEATURES)
    paths = []
    for i in range(parts):
        rng = np.random.default_rng(seed + 1 + i)
        x = rng.normal(loc=0.2 * i / max(parts - 1, 1), size=(ROWS + HELD_OUT, FEATURES))
        y = (x @ rule + rng.normal(scale=0.5, size=len(x)) > 0).astype(np.float32)
        x = x.astype(np.float32)
        path = Path(out_dir) / f"part-{i + 1}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, x_train=x[:ROWS], y_train=y[:ROWS], x_test=x[ROWS:], y_test=y[ROWS:])
        paths.append(str(path))
    return paths
