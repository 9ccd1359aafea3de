"""What one machine's network costs per organisation: memory, CPU at rest, ports and processes.

    python bench/footprint.py [--orgs 3,16,32] [--idle 20] [--base-port 52000]

For each organisation count it brings up a native network of its own (its own directory and
ports, three Raft orderers, the default settings), lets it sit idle, and prints per kind of
process (orderer, peer, chaincode service) the resident memory (RSS now and its peak, VmHWM),
the CPU it used at rest over the idle window (gossip, Raft heartbeats, health checks), how many
there are and the ports the network holds; then the totals and what one more organisation adds.
A participant service (TensorFlow and the user's model) comes on top: bench/round.py prints its
peak RSS. Nothing is asserted: it prints a table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from consortium import load, parse_list, peak_rss, rss  # bench/consortium.py
from fedfabric.admin import NativeNetwork, Topology

console = Console(highlight=False)
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    orgs: int
    kind: str
    count: int
    rss: list[int]
    peak: list[int]
    cpu: list[float]  # percent of one core at rest


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def measure(orgs: int, base_port: int, idle: float, work: Path) -> tuple[list[Sample], float, int]:
    net = NativeNetwork(work / f"net-{orgs}")
    topology = Topology(orgs=orgs, base_port=base_port)
    began = time.monotonic()
    console.print(f"[dim]{time.strftime('%H:%M:%S')} {orgs} orgs: network up "
                  f"(base port {base_port})[/dim]")
    try:
        net.up(topology)
        up = time.monotonic() - began
        nodes = [n for n in net.status() if n.pid is not None and n.kind != "ca"]
        before = {n.pid: cpu_seconds(n.pid) for n in nodes if n.pid is not None}
        console.print(f"[dim]{time.strftime('%H:%M:%S')} {orgs} orgs: up in {up:.0f}s; "
                      f"idle {idle:.0f}s[/dim]")
        start = time.monotonic()
        time.sleep(idle)  # the measurement window itself, not synchronisation
        window = time.monotonic() - start
        samples = []
        for kind in ("orderer", "peer", "chaincode"):
            pids = [n.pid for n in nodes if n.kind == kind and n.pid is not None]
            samples.append(Sample(
                orgs, kind, len(pids), [rss(p) or 0 for p in pids],
                [peak_rss(p) or 0 for p in pids],
                [100 * (cpu_seconds(p) - before[p]) / window for p in pids]))
        return samples, up, len(topology.ports())
    finally:
        net.down(purge=True)


def mb(values: list[int]) -> str:
    if not values:
        return "-"
    return f"{sum(values) / len(values) / 2**20:.0f}/{max(values) / 2**20:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orgs", default="3,16,32", help="organisation counts, e.g. 3,16,32")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds measured at rest")
    parser.add_argument("--base-port", type=int, default=16000)
    args = parser.parse_args()
    counts = parse_list(args.orgs, int)
    work = Path(tempfile.mkdtemp(prefix="fedfabric-footprint-"))
    console.print(f"load average before: {load()}")
    table = Table(title="A native network at rest, per kind of process: RSS now and peak "
                  "(mean/max, MB), CPU at rest (mean/max, % of one core)")
    for column in ("orgs", "kind", "processes", "RSS MB", "peak RSS MB", "CPU %"):
        table.add_column(column, justify="right" if column != "kind" else "left")
    totals = Table(title="Totals")
    for column in ("orgs", "ports", "network up s", "RSS MB", "CPU % of one core",
                   "RSS per org MB"):
        totals.add_column(column, justify="right")
    try:
        for orgs in counts:
            samples, up, ports = measure(orgs, args.base_port, args.idle, work)
            for s in samples:
                cpu = (f"{sum(s.cpu) / len(s.cpu):.1f}/{max(s.cpu):.1f}" if s.cpu else "-")
                table.add_row(str(orgs), s.kind, str(s.count), mb(s.rss), mb(s.peak), cpu)
            total = sum(sum(s.rss) for s in samples)
            per_org = sum(sum(s.rss) for s in samples if s.kind != "orderer") / orgs
            totals.add_row(str(orgs), str(ports), f"{up:.0f}", f"{total / 2**20:.0f}",
                           f"{sum(sum(s.cpu) for s in samples):.0f}",
                           f"{per_org / 2**20:.0f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    console.print(table)
    console.print(totals)
    console.print(f"Machine: {os.cpu_count()} cores; load average after: {load()}. A "
                  "participant process (TensorFlow, the model) adds its own RSS per organisation: "
                  "see bench/round.py.")


if __name__ == "__main__":
    main()
