"""Threshold CKKS (Lattigo) cost: keys, encrypt, aggregate, decryption shares, combine.

    python bench/he_threshold.py [--params 100000 1000000] [--clients 10] [--threshold 10]

Every client is also an organisation holding a key share; --threshold of them decrypt (default:
all, the largest flooding noise). Key generation is per organisation: its secret and public-key
share, its Shamir shares for every organisation, and its threshold secret from the shares it
received. Throughputs are parameters per second: encrypt and decryption share for one party,
aggregate over all clients' parameters, combine for the whole vector. The error is max |decrypted
- sum| / max |sum| for updates with entries ~ N(0, std^2).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from fedfabric.he import threshold as th

CRS = b"bench/he_threshold.py common reference string"


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - began


def keys(clients: int, t: int) -> tuple[th.ThresholdCKKS, dict[int, bytes], float]:
    """(scheme, threshold secrets by point, seconds of key generation per organisation)."""
    points = list(range(1, clients + 1))
    began = time.perf_counter()
    pairs = {p: th.keygen(CRS) for p in points}
    sent = {i: th.shamir_shares(pairs[i][0], points, t) for i in points}
    secrets = {j: th.threshold_secret([sent[i][j] for i in points]) for j in points}
    per_org = (time.perf_counter() - began) / clients
    public_key = th.combine_public_key(CRS, [pairs[p][1] for p in points])
    return th.ThresholdCKKS(public_key), secrets, per_org


def measure(scheme: th.ThresholdCKKS, secrets: dict[int, bytes], n: int, clients: int, t: int,
            std: float) -> dict[str, float]:
    rng = np.random.default_rng(0)
    plain = [rng.normal(0, std, n) for _ in range(clients)]
    encrypted, t_enc = timed(lambda: [scheme.encrypt(u) for u in plain])
    total, t_agg = timed(lambda: scheme.aggregate(encrypted))
    active = list(secrets)[:t]
    shares, t_dec = timed(lambda: {j: th.decryption_share(secrets[j], j, active, total, t)
                                   for j in active})
    got, t_comb = timed(lambda: th.combine(shares, total, n))
    want = np.sum(plain, axis=0)
    return {"encrypt": n * clients / t_enc, "aggregate": n * clients / t_agg,
            "share": n * t / t_dec, "combine": n / t_comb,
            "update_bytes": sum(len(s) for s in encrypted[0]) / n,
            "share_bytes": sum(len(s) for s in shares[active[0]]) / n,
            "error": float(np.max(np.abs(got - want)) / np.max(np.abs(want)))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--threshold", type=int, default=None)
    parser.add_argument("--std", type=float, nargs="+", default=[1e-3, 10.0])
    args = parser.parse_args()
    t = args.threshold or args.clients

    scheme, secrets, t_keys = keys(args.clients, t)
    params = th.parameters()
    table = Table(title=f"Threshold CKKS ({params['params_id']}), {args.clients} organisations, "
                        f"{t} decrypt; key generation {t_keys:.3f} s per organisation")
    for col in ("params", "std", "encrypt p/s", "aggregate p/s", "dec. share p/s", "combine p/s",
                "update B/param", "share B/param", "max rel. error"):
        table.add_column(col, justify="right")
    for n in args.params:
        for std in args.std:
            row = measure(scheme, secrets, n, args.clients, t, std)
            table.add_row(f"{n:,}", f"{std:g}", *(f"{row[k]:,.0f}" for k in (
                "encrypt", "aggregate", "share", "combine")),
                f"{row['update_bytes']:.2f}", f"{row['share_bytes']:.2f}", f"{row['error']:.1e}")
    Console().print(table)


if __name__ == "__main__":
    main()
