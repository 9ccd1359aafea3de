"""Manufacturing: three plants train a defect predictor on generated sensor data.

    python examples/manufacturing.py [--dir NETWORK_DIR] [--rounds 5]

Each plant runs its machines in a different regime (speeds, temperatures: non-IID); a part is
defective more often with heat, vibration, tool wear and pressure far from nominal.
"""

import numpy as np
from usecase import run


def sensor_logs(parts: int, seed: int, per_plant: int = 1500):
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for plant in range(parts):
        n = per_plant
        rpm = rng.normal(1500 + 300 * plant, 120, n)
        temperature = rng.normal(65 + 5 * plant, 6, n) + 0.004 * (rpm - 1500)
        vibration = np.abs(rng.normal(2.0 + 0.3 * plant, 0.6, n)) + 0.0005 * rpm
        pressure = rng.normal(6.0, 0.4 + 0.1 * plant, n)
        current = rng.normal(12 + 0.002 * rpm, 1.0, n)
        tool_wear = rng.uniform(0, 240, n)
        humidity = rng.uniform(30, 70, n)
        logit = (-4.0 + 0.12 * (temperature - 70) + 0.9 * (vibration - 2.5) + 0.012 * tool_wear
                 + 1.2 * np.abs(pressure - 6.0) + 0.01 * (humidity - 50))
        ys.append((rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(np.float32))
        xs.append(np.column_stack([rpm, temperature, vibration, pressure, current, tool_wear,
                                   humidity]))
    x_all, y_all = np.concatenate(xs), np.concatenate(ys)
    mean, std = x_all.mean(axis=0), x_all.std(axis=0) + 1e-9
    test = rng.uniform(size=len(y_all)) < 0.2
    plants, offset = [], 0
    for x, y in zip(xs, ys, strict=True):
        keep = ~test[offset:offset + len(y)]
        plants.append((((x - mean) / std)[keep].astype(np.float32), y[keep]))
        offset += len(y)
    return plants, (((x_all - mean) / std)[test].astype(np.float32), y_all[test])


if __name__ == "__main__":
    run("defect prediction", ["Plant Lyon", "Plant Torino", "Plant Brno"], sensor_logs)
