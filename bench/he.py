"""Homomorphic aggregation cost: CKKS, Paillier and plain numpy.

    python bench/he.py [--params 100000 1000000] [--clients 10] [--paillier-sample 2000]

For each size: encrypt throughput (parameters/s, one client), aggregation throughput
(parameters x clients / s), decrypt throughput, and bytes per parameter. Paillier is measured
on a sample of --paillier-sample parameters (a full million would take hours) and reported per
parameter; the sample size is printed.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from fedfabric.he import CKKS, Paillier


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - began


def measure(scheme: Any, n: int, clients: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    vector = rng.normal(0, 5, n)
    encrypted, t_enc = timed(lambda: scheme.encrypt(vector))
    size = sum(len(s) for s in encrypted)
    updates = [encrypted] * clients  # aggregation cost does not depend on the values
    total, t_agg = timed(lambda: scheme.aggregate(updates))
    _, t_dec = timed(lambda: scheme.decrypt(total, n))
    return {"n": n, "encrypt": n / t_enc, "aggregate": n * clients / t_agg,
            "decrypt": n / t_dec, "bytes": size / n}


def measure_numpy(n: int, clients: int) -> dict[str, float]:
    updates = [np.random.default_rng(i).normal(0, 5, n).astype(np.float32)
               for i in range(clients)]
    _, t_agg = timed(lambda: np.sum(updates, axis=0))
    return {"n": n, "encrypt": float("inf"), "aggregate": n * clients / t_agg,
            "decrypt": float("inf"), "bytes": 4.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--paillier-sample", type=int, default=2000)
    parser.add_argument("--paillier-bits", type=int, default=2048)
    args = parser.parse_args()

    ckks = CKKS.generate()
    paillier = Paillier.generate(args.paillier_bits)
    table = Table(title=f"HE aggregation, {args.clients} clients "
                        f"(CKKS {CKKS.parameters()}, Paillier {args.paillier_bits}-bit)")
    for col in ("scheme", "params", "encrypt p/s", "aggregate p/s", "decrypt p/s", "bytes/param"):
        table.add_column(col, justify="right")

    def fmt(x: float) -> str:
        return "-" if x == float("inf") else f"{x:,.0f}"

    for n in args.params:
        for name, row in (("ckks", measure(ckks, n, args.clients)),
                          (f"paillier (sample {min(n, args.paillier_sample)})",
                           measure(paillier, min(n, args.paillier_sample), args.clients)),
                          ("numpy float32", measure_numpy(n, args.clients))):
            table.add_row(name, f"{n:,}", fmt(row["encrypt"]), fmt(row["aggregate"]),
                          fmt(row["decrypt"]), f"{row['bytes']:.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
