"""Blob store throughput and latency: LocalStore against the S3 server (SeaweedFS).

    python bench/store.py [--rounds 1.0] [--endpoint URL --url s3://bucket/prefix
                           --access-key K --secret-key S]

Without --endpoint it starts its own SeaweedFS server in a temporary directory (ports from
FEDFABRIC_BENCH_S3_PORT, default 28633) and stops it at the end. For 4 KiB, 1 MiB and 64 MiB
blobs it times put and get of fresh random blobs one after the other (each put is a new blob; every
get verifies its hash), and for 64 MiB also put_file/get_file (streamed, multipart on S3). It
prints one table: MB/s over all operations of a kind, and the median latency of one.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.table import Table

from fedfabric.admin.objectstore import PORTS, ObjectStoreServer, port_free
from fedfabric.store import LocalStore, Store, open_store

SIZES = [("4 KiB", 4 << 10, 200), ("1 MiB", 1 << 20, 40), ("64 MiB", 64 << 20, 4)]
Row = tuple[str, str, str, int, float, float]
A = TypeVar("A")
R = TypeVar("R")


def timed(op: Callable[[A], R], inputs: list[A]) -> tuple[float, list[float], list[R]]:
    """Call op on each input in turn: total wall time, each call's latency, the results."""
    latencies, results = [], []
    began = time.perf_counter()
    for x in inputs:
        t = time.perf_counter()
        results.append(op(x))
        latencies.append(time.perf_counter() - t)
    return time.perf_counter() - began, latencies, results


def bench(name: str, store: Store, scratch: Path, rounds: float) -> list[Row]:
    rows: list[Row] = []

    def row(size_label: str, op: str, size: int, wall: float, lat: list[float]) -> None:
        rows.append((name, size_label, op, len(lat), len(lat) * size / wall / 1e6,
                     statistics.median(lat) * 1000))

    def get_file(digest: str) -> None:
        store.get_file(digest, scratch / "out")

    for label, size, count in SIZES:
        n = max(2, int(count * rounds))
        wall, lat, digests = timed(store.put, [os.urandom(size) for _ in range(n)])
        row(label, "put", size, wall, lat)
        wall, lat, _ = timed(store.get, digests)
        row(label, "get", size, wall, lat)
        if size >= 64 << 20:
            files = [scratch / f"src-{i}" for i in range(n)]
            for path in files:
                path.write_bytes(os.urandom(size))
            wall, lat, digests = timed(store.put_file, files)
            row(label, "put_file", size, wall, lat)
            wall, lat, _ = timed(get_file, digests)
            row(label, "get_file", size, wall, lat)
            for path in files:
                path.unlink()
    return rows


@contextmanager
def own_server(root: Path) -> Iterator[tuple[str, str, str, str]]:
    """A SeaweedFS server of the bench's own: (endpoint, url, access key, secret key)."""
    port = int(os.environ.get("FEDFABRIC_BENCH_S3_PORT", "28633"))
    while not all(port_free(p) for p in range(port, port + PORTS)):
        port += 10
    keys = ("bench-" + secrets.token_hex(6), secrets.token_urlsafe(24))
    server = ObjectStoreServer(root, port)
    try:
        server.up({"Bench": keys})
        yield server.endpoint, f"s3://{server.bucket}/Bench", *keys
    finally:
        server.down(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=float, default=1.0, help="scale the operation counts")
    parser.add_argument("--endpoint", help="an S3 server to use instead of starting one")
    parser.add_argument("--url", default="s3://fedfabric/Bench", help="with --endpoint")
    parser.add_argument("--access-key", help="with --endpoint [default: AWS env/profile]")
    parser.add_argument("--secret-key", help="with --endpoint [default: AWS env/profile]")
    args = parser.parse_args()
    console = Console()

    with tempfile.TemporaryDirectory(prefix="fedfabric-bench-store-") as tmp:
        work = Path(tmp)
        (work / "scratch").mkdir()
        rows = bench("local", LocalStore(work / "local"), work / "scratch", args.rounds)
        if args.endpoint:
            s3 = open_store(args.url, args.endpoint, access_key=args.access_key,
                            secret_key=args.secret_key)
            rows += bench("s3", s3, work / "scratch", args.rounds)
        else:
            with console.status("starting SeaweedFS"), own_server(work / "server") as server:
                endpoint, url, key, secret = server
                s3 = open_store(url, endpoint, access_key=key, secret_key=secret)
                rows += bench("s3 (SeaweedFS)", s3, work / "scratch", args.rounds)

    table = Table(title="store bench: sequential, one client, fresh random blobs, reads verified")
    for col in ("store", "blob", "op", "n", "MB/s", "p50 ms"):
        table.add_column(col, justify="right")
    for name, label, op, n, mbps, p50 in rows:
        table.add_row(name, label, op, str(n), f"{mbps:.1f}", f"{p50:.2f}")
    console.print(table)


if __name__ == "__main__":
    main()
