"""The consortium demo (`make demo`): three hospitals, each running its own participant service
as a separate process with only its own crypto material, data, state and keys, train one
breast-cancer classifier with encrypted updates, with the chain as the record.

    python examples/consortium.py [--dir NETWORK_DIR] [--rounds 5] [--app examples/apps/...]

It types the commands each organisation's admin would type, and prints them. Run it after
`fedfabric network up` (make demo does both).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

from rich.console import Console

import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
from fedfabric.admin.layout import default_network_dir
from fedfabric.admin.participants import ParticipantServices
from fedfabric.fl import FLApp
from fedfabric.fl.app import partition

HERE = Path(__file__).resolve().parent
ORGS = ["Org1", "Org2", "Org3"]
HOSPITALS = {"Org1": "Hospital A", "Org2": "Hospital B", "Org3": "Hospital C"}
console = Console()


def fedfabric(*args: str, capture: bool = False) -> str:
    """Run one CLI command as an admin would type it."""
    console.print(f"[dim]$ fedfabric {shlex.join(args)}[/dim]", highlight=False)
    result = subprocess.run([sys.executable, "-m", "fedfabric.cli", *args], text=True,
                            stdout=subprocess.PIPE if capture else None,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if result.returncode != 0:
        raise SystemExit(f"fedfabric {args[0]} {args[1]} failed (exit {result.returncode})")
    return result.stdout or ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=default_network_dir())
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--app", type=Path, default=HERE / "apps" / "breast_cancer")
    parser.add_argument("--plot", type=Path, default=Path("demo-accuracy.png"))
    args = parser.parse_args()
    network, app = args.dir.expanduser().resolve(), FLApp.load(args.app)
    store = network / "blobs"
    services = ParticipantServices(network / "participants")
    where = ("--dir", str(network), "--services", str(services.root))
    run = uuid.uuid4().hex[:6]

    console.rule(f"[bold]{len(ORGS)} hospitals train {app.name} with encrypted updates")
    locations = partition(app, services.root / "demo-data", len(ORGS))
    datasets = {}
    for org, location in zip(ORGS, locations, strict=True):
        # Each organisation keeps its own directory: its Fabric identity, data, state and key.
        own = services.org_dir(org)
        data = own / "data.npz"
        data.parent.mkdir(parents=True, exist_ok=True)
        Path(location).replace(data)
        console.print(f"[bold]{HOSPITALS[org]}[/bold] ({org}): its data at {data}")
        fedfabric("network", "profile", "--dir", str(network), "--org", org, "--export",
                  str(own / "fabric"))
        datasets[org] = f"{app.name}-{org.lower()}-{run}"
        fedfabric("participant", "register", "--org", org, "--app", str(args.app), "--data",
                  str(data), "--dataset", datasets[org], *(["--grant", "Org1MSP"] if org != "Org1"
                                                            else []),
                  "--profile", str(services.profile(org)), "--state", str(services.state(org)),
                  "--store", str(store))

    console.rule("participant services, one per organisation")
    threads = max(1, (os.cpu_count() or 1) // len(ORGS))  # they share this host's cores
    try:
        for org in ORGS:
            fedfabric("participant", "start", "--org", org, "--app", str(args.app), "--data",
                      str(services.org_dir(org) / "data.npz"), "--store", str(store),
                      "--threads", str(threads), *where)
        console.rule("Org1 creates the task; every participant joins and trains")
        out = fedfabric("task", "create", "--app", str(args.app), "--org", "Org1",
                        *[a for org in ORGS for a in ("--participant",
                                                      f"{org}MSP={datasets[org]}")],
                        "--rounds", str(args.rounds), "--round-timeout", "300",
                        "--profile", str(services.profile("Org1")), "--store", str(store),
                        capture=True)
        task_id = out.strip().splitlines()[-1]
        began = time.monotonic()
        fedfabric("task", "watch", task_id, "--org", "Org1", "--profile",
                  str(services.profile("Org1")), "--plot", str(args.plot))
        console.print(f"{args.rounds} rounds in {time.monotonic() - began:.1f}s, "
                      f"{(time.monotonic() - began) / args.rounds:.1f}s per round")
        console.rule("what the chain recorded (read by Org3)")
        fedfabric("task", "show", task_id, "--org", "Org3", "--profile",
                  str(services.profile("Org3")))
        fedfabric("model", "lineage", f"{app.name}-{task_id}:1", "--org", "Org3", "--profile",
                  str(services.profile("Org3")))
    finally:
        fedfabric("participant", "stop", *where)


if __name__ == "__main__":
    main()
