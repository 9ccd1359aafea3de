"""Homomorphic aggregation cost: threshold CKKS, CKKS, Paillier and plain numpy.

    python bench/he.py [--params 100000 1000000] [--clients 10] [--paillier-sample 2000]

For each size: encrypt throughput (parameters/s, one client), aggregation throughput
(parameters x clients / s), decrypt throughput (threshold CKKS: t decryption shares and their
combination, t = a majority of the clients), and bytes per parameter (threshold CKKS: update /
decryption share). bench/he_threshold.py has the threshold scheme in detail. Paillier is measured
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


def measure_threshold(n: int, clients: int) -> dict[str, Any]:
    from he_threshold import keys
    from he_threshold import measure as measure_t

    t = clients // 2 + 1
    scheme, secrets, per_org = keys(clients, t)
    row = measure_t(scheme, secrets, n, clients, t, 1.0)
    decrypt = 1 / (1 / row["share"] * t + 1 / row["combine"])  # t shares, then the combine
    return {"n": n, "encrypt": row["encrypt"], "aggregate": row["aggregate"],
            "decrypt": decrypt, "bytes": f"{row['update_bytes']:.1f} / {row['share_bytes']:.1f}",
            "keys": per_org, "t": t}


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
        th = measure_threshold(n, args.clients)
        for name, row in ((f"threshold-ckks (t={th['t']}, keys {th['keys']:.3f}s/org)", th),
                          ("ckks", measure(ckks, n, args.clients)),
                          (f"paillier (sample {min(n, args.paillier_sample)})",
                           measure(paillier, min(n, args.paillier_sample), args.clients)),
                          ("numpy float32", measure_numpy(n, args.clients))):
            table.add_row(name, f"{n:,}", fmt(row["encrypt"]), fmt(row["aggregate"]),
                          fmt(row["decrypt"]), row["bytes"] if isinstance(row["bytes"], str)
                          else f"{row['bytes']:.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
