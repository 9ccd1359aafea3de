"""Participant services as containers of the locally built participant image: a two-round task
runs through them, each container mounting only its own organisation's material and data and
exchanging blobs through the network's S3 store container with its own credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from fedfabric.admin.docker import DockerNetwork
from fedfabric.admin.participants import ParticipantContainers

APP = Path(__file__).resolve().parents[2] / "examples" / "apps" / "breast_cancer"
ORGS = ("Org1", "Org2", "Org3")


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fedfabric.cli", *args], capture_output=True,
                          text=True, timeout=timeout,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


@pytest.mark.timeout(1500)  # three containers of a 1.9 GB image on the vfs driver: copies
def test_a_task_runs_through_participant_containers(docker_network: DockerNetwork,
                                                    docker_services, tmp_path):
    import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
    from fedfabric.fl import FLApp
    from fedfabric.fl.app import partition

    root = docker_network.layout.root
    where = ["--dir", str(root)]
    services = ParticipantContainers(root / "participants", docker_network)
    run = uuid.uuid4().hex[:6]
    parts = partition(FLApp.load(APP), tmp_path, len(ORGS))
    datasets = {}
    try:
        for org, part in zip(ORGS, parts, strict=True):
            data = services.org_dir(org) / "data.npz"
            data.parent.mkdir(parents=True, exist_ok=True)
            Path(part).replace(data)
            exported = cli("network", "profile", "--org", org, "--export",
                           str(services.org_dir(org) / "fabric"), *where)
            assert exported.returncode == 0, exported.stderr
            datasets[org] = f"dock-{org.lower()}-{run}"
            registered = cli("participant", "register", "--org", org, "--app", str(APP),
                             "--data", str(data), "--dataset", datasets[org],
                             *(["--grant", "Org1MSP"] if org != "Org1" else []),
                             "--profile", str(services.profile(org)),
                             "--state", str(services.state(org)), *where)
            assert registered.returncode == 0, registered.stderr
            started = cli("participant", "start", "--org", org, "--app", str(APP), "--data",
                          str(data), *where)
            assert started.returncode == 0, started.stderr
            assert services.running(org)

        created = cli("task", "create", "--app", str(APP), "--rounds", "2", "--round-timeout",
                      "300", *[a for o in ORGS for a in ("-p", f"{o}MSP={datasets[o]}")],
                      *where)
        assert created.returncode == 0, created.stderr
        task_id = created.stdout.strip().splitlines()[-1]
        watched = cli("task", "watch", task_id, "--org", "Org3", *where)
        assert watched.returncode == 0, watched.stdout[-3000:] + services.logs("Org1")[-3000:]

        shown = json.loads(cli("task", "show", task_id, "--json", *where).stdout)
        assert shown["task"]["status"] == "COMPLETED"
        for r in shown["rounds"]:
            assert sorted(m["msp_id"] for m in r["metrics"]) == [f"{o}MSP" for o in ORGS]
        for org in ORGS:
            mounts = json.loads(subprocess.run(
                ["docker", "inspect", "-f", "{{json .Mounts}}", services.container(org)],
                capture_output=True, text=True).stdout)
            sources = {m["Source"]: m["RW"] for m in mounts}
            assert sources[str(services.org_dir(org))] is True
            assert sources[str(APP)] is False  # the app is read-only
            others = [o for o in ORGS if o != org]
            assert not any(str(services.org_dir(o)) in s for o in others for s in sources)
            assert f"task {task_id} round 2: submitted update" in services.logs(org)

        server = docker_network.store_server()  # every update is under its writer's prefix
        client = server.client(*server.admin_credentials())
        for org in ORGS:
            listed = client.list_objects_v2(Bucket=server.bucket, Prefix=f"{org}MSP/")
            keys = [o["Key"] for o in listed.get("Contents", [])]
            for r in shown["rounds"]:
                update = next(u for u in r["updates"] if u["msp_id"] == f"{org}MSP")
                assert any(update["manifest_hash"] in k for k in keys), (org, keys[:5])
        assert not (root / "blobs").exists() or not any((root / "blobs").rglob("*"))
    finally:
        for org in ORGS:
            services.stop(org)
