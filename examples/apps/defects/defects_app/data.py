"""Each plant's sensor log is one .npz file: x_train, y_train, x_test, y_test."""

from pathlib import Path

import numpy as np


def load(location: str):
    with np.load(location, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def partition(out_dir: str, parts: int, seed: int = 3, per_plant: int = 1500) -> list[str]:
    """Generate a sensor log per plant. Each plant runs its machines in a different regime
    (speeds, temperatures: non-IID); a part is defective more often with heat, vibration, tool
    wear and pressure far from nominal."""
    rng = np.random.default_rng(seed)
    logs = []
    for plant in range(parts):
        n, k = per_plant, plant % 3
        rpm = rng.normal(1500 + 300 * k, 120, n)
        temperature = rng.normal(65 + 5 * k, 6, n) + 0.004 * (rpm - 1500)
        vibration = np.abs(rng.normal(2.0 + 0.3 * k, 0.6, n)) + 0.0005 * rpm
        pressure = rng.normal(6.0, 0.4 + 0.1 * k, n)
        current = rng.normal(12 + 0.002 * rpm, 1.0, n)
        tool_wear = rng.uniform(0, 240, n)
        humidity = rng.uniform(30, 70, n)
        logit = (-4.0 + 0.12 * (temperature - 70) + 0.9 * (vibration - 2.5) + 0.012 * tool_wear
                 + 1.2 * np.abs(pressure - 6.0) + 0.01 * (humidity - 50))
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(np.float32)
        logs.append((np.column_stack([rpm, temperature, vibration, pressure, current, tool_wear,
                                      humidity]), y))
    x_all = np.concatenate([x for x, _ in logs])
    mean, std = x_all.mean(axis=0), x_all.std(axis=0) + 1e-9
    paths = []
    for i, (x, y) in enumerate(logs):
        x = ((x - mean) / std).astype(np.float32)
        order = rng.permutation(len(y))
        cut = len(y) * 4 // 5
        path = Path(out_dir) / f"part-{i + 1}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, x_train=x[order[:cut]], y_train=y[order[:cut]],
                 x_test=x[order[cut:]], y_test=y[order[cut:]])
        paths.append(str(path))
    return paths
