"""A consortium of three organisations for tests: each with its own exported profile, data file,
dataset on chain (training granted to Org1), state directory and published key; participant
services started as separate processes on demand."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
from fedfabric.admin import NativeNetwork
from fedfabric.admin.participants import ParticipantProcesses
from fedfabric.fl import FLApp, Participant
from fedfabric.fl.app import partition
from fedfabric.gateway import ConnectionProfile, Status
from fedfabric.keys import org_key
from fedfabric.ledger import Ledger
from fedfabric.ledger.schema import TaskHistory
from fedfabric.store import LocalStore

APP_DIR = Path(__file__).resolve().parents[2] / "examples" / "apps" / "breast_cancer"
ORGS = ("Org1", "Org2", "Org3")


def wait_for(what: str, predicate: Callable[[], object], timeout: float = 180.0) -> None:
    """Poll (bounded) until predicate() is true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.25)


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fedfabric.cli", *args], capture_output=True,
                          text=True, timeout=timeout,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


@dataclass
class Consortium:
    services: ParticipantProcesses
    store: Path
    data: dict[str, Path]
    datasets: dict[str, str]
    app: FLApp
    reader: Ledger

    def start(self, org: str, app: Path | None = None, env: dict[str, str] | None = None
              ) -> str:
        return self.services.start(org, app or self.app.root, self.data[org], self.store,
                                   env=env)

    def create(self, *extra: str, participants: tuple[str, ...] = ORGS) -> str:
        created = cli("task", "create", "--app", str(self.app.root), "--org", "Org1",
                      "--profile", str(self.services.profile("Org1")), "--store",
                      str(self.store), *[a for o in participants
                                         for a in ("-p", f"{o}MSP={self.datasets[o]}")], *extra)
        assert created.returncode == 0, created.stderr
        return created.stdout.strip().splitlines()[-1]

    def log(self, org: str) -> str:
        path = self.services.log(org)
        return path.read_text() if path.exists() else ""

    def state(self, org: str, task_id: str) -> Path:
        return self.services.state(org) / "tasks" / task_id

    def history(self, task_id: str) -> TaskHistory:
        return self.reader.tasks.history(task_id)

    def peak_rss_mb(self, org: str) -> float:
        """The service process's peak resident memory so far (VmHWM)."""
        pid = self.services.pid(org)
        assert pid is not None
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmHWM")


def same_block(profile: ConnectionProfile, calls: list[tuple[str, str, list[str]]],
               contract: str = "tasks", user: str = "User1") -> list[Status]:
    """Endorse every (org, function, args) first, then send them all together; their commit
    statuses (what many organisations sending at the same moment looks like to the orderer)."""
    gateways = [profile.connect(org, user=user) for org, _, _ in calls]
    try:
        endorsed = [g.get_network(profile.channel).get_contract(profile.chaincode, contract)
                    .new_proposal(fn, args).endorse()
                    for g, (_, fn, args) in zip(gateways, calls, strict=True)]
        submitted = [t.submit() for t in endorsed]
        return [s.status() for s in submitted]
    finally:
        for g in gateways:
            g.close()


def make_consortium(network: NativeNetwork, profile: ConnectionProfile, root: Path,
                    reader: Ledger, app_dir: Path = APP_DIR) -> Consortium:
    """The consortium's directories, data, datasets and keys; no service runs yet."""
    services = ParticipantProcesses(root / "consortium")
    app = FLApp.load(app_dir)
    store = network.layout.root / "blobs"
    locations = partition(app, root / "partitions", len(ORGS))
    data, datasets = {}, {}
    run = uuid.uuid4().hex[:6]
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    for org, location in zip(ORGS, locations, strict=True):
        data[org] = services.org_dir(org) / "data.npz"
        data[org].parent.mkdir(parents=True)
        shutil.move(location, data[org])
        services.export(profile, org)
        datasets[org] = f"bc-{org.lower()}-{run}"
        gateway = profile.connect(org, user="Admin")
        try:
            ledger = Ledger(gateway.get_network(profile.channel), profile.chaincode,
                            after_commit=network.wait_for_block)
            p = Participant(ledger, f"{org}MSP", app, str(data[org]), LocalStore(store),
                            services.state(org), org_key(services.state(org) / "keys",
                                                         f"{org}MSP"))
            p.publish_key()
            p.register_dataset(datasets[org], "ward", [] if org == "Org1" else ["Org1MSP"],
                               expires)
        finally:
            gateway.close()
    return Consortium(services, store, data, datasets, app, reader)
