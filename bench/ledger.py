"""Ledger throughput and latency against a running network.

    python bench/ledger.py [--dir DIR] [-n 300] [-c 8]

Submits N PutRecord transactions from C concurrent clients (spread over the orgs, each with its
own connection) and prints throughput and p50/p95 submit-to-commit latency; then the same for N
evaluations of GetRecord.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from fedfabric.admin import NativeNetwork
from fedfabric.admin.layout import default_network_dir
from fedfabric.gateway import ConnectionProfile, Contract


def run(label: str, n: int, clients: list[Contract],
        work: Callable[[Contract, int], None]) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(n))

    def worker(contract: Contract) -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            began = time.perf_counter()
            try:
                work(contract, i)
            except Exception as e:  # a benchmark reports failures, it does not stop on them
                with lock:
                    errors.append(str(e).splitlines()[0])
                continue
            with lock:
                latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {"label": label, "ok": len(latencies), "errors": len(errors), "wall": wall,
            "tps": len(latencies) / wall, "p50": q[49] * 1000, "p95": q[94] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=default_network_dir())
    parser.add_argument("-n", type=int, default=300, help="transactions per phase")
    parser.add_argument("-c", type=int, default=8, help="concurrent clients")
    args = parser.parse_args()

    profile = ConnectionProfile.from_dict(NativeNetwork(args.dir).profile())
    orgs = list(profile.organizations)
    gateways = [profile.connect(orgs[i % len(orgs)]) for i in range(args.c)]
    clients = [g.get_network(profile.channel).get_contract(profile.chaincode) for g in gateways]
    prefix = uuid.uuid4().hex[:8]

    results = [
        run("submit (to commit)", args.n, clients,
            lambda c, i: c.submit_transaction("PutRecord", f"b{prefix}-{i}", '{"v": 1}')),
        run("evaluate", args.n, clients,
            lambda c, i: c.evaluate_transaction("GetRecord", f"b{prefix}-{i % args.n}")),
    ]
    for g in gateways:
        g.close()
    table = Table(title=f"ledger bench: {args.n} tx per phase, {args.c} concurrent clients, "
                        f"{len(orgs)} orgs")
    for col in ("phase", "ok", "errors", "wall s", "tx/s", "p50 ms", "p95 ms"):
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(str(r["label"]), f"{r['ok']:.0f}", f"{r['errors']:.0f}", f"{r['wall']:.1f}",
                      f"{r['tps']:.1f}", f"{r['p50']:.0f}", f"{r['p95']:.0f}")
    Console().print(table)


if __name__ == "__main__":
    main()
