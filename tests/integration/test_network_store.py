"""A network brought up with its own S3 store (`fedfabric network up --store s3`): the connection
profile names each organisation's credentials, participants started without store options
exchange every blob through the server, an organisation that leaves loses its access, and the
store's contents survive the network going down and up.

The module brings one network up at FEDFABRIC_TEST_STORE_NET_BASE_PORT (default 22000).
"""

from __future__ import annotations

import hashlib
import json
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
from fedfabric.admin import NativeNetwork, Topology, ports
from fedfabric.admin.participants import ParticipantProcesses
from fedfabric.fl import FLApp
from fedfabric.fl.app import partition
from fedfabric.store import S3Store, StoreError, open_store
from support.consortium import APP_DIR, ORGS, cli
from support.ports import base_port

BASE_PORT = base_port("FEDFABRIC_TEST_STORE_NET_BASE_PORT", 22000)


def ok(*args: str, timeout: float = 300) -> str:
    result = cli(*args, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    return result.stdout


def org_store(credentials: Path) -> S3Store:
    c = json.loads(credentials.read_text())
    store = open_store(c["url"], c["endpoint"], access_key=c["access_key"],
                       secret_key=c["secret_key"])
    assert isinstance(store, S3Store)
    return store


@pytest.fixture(scope="module")
def s3_net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeNetwork]:
    topology = Topology(orderers=1, base_port=BASE_PORT, store="s3")
    try:
        ports.check_free(topology.ports())
    except ports.PortClash as e:
        pytest.fail(f"{e} (or set FEDFABRIC_TEST_STORE_NET_BASE_PORT to a free range)")
    root = tmp_path_factory.mktemp("s3net") / "network"
    net = NativeNetwork(root)
    try:
        out = ok("network", "up", "--dir", str(root), "--store", "s3", "--orderers", "1",
                 "--crypto", "cryptogen", "--base-port", str(BASE_PORT))
        assert f"S3 store at http://127.0.0.1:{topology.store_port}" in out
        yield net
    finally:
        cli("participant", "stop", "--dir", str(root))
        net.down(purge=True)


def test_the_profile_names_each_orgs_own_store_credentials(s3_net: NativeNetwork, tmp_path):
    where = ["--dir", str(s3_net.layout.root)]
    profile = json.loads(ok("network", "profile", *where))
    files = {msp: Path(o["store_credentials"]) for msp, o in profile["organizations"].items()}
    assert sorted(files) == [f"{o}MSP" for o in ORGS]
    for msp, path in files.items():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        c = json.loads(path.read_text())
        assert c["url"] == f"s3://fedfabric/{msp}"
        assert c["endpoint"] == f"http://127.0.0.1:{s3_net.topology.store_port}"
    assert len({json.loads(p.read_text())["access_key"] for p in files.values()}) == 3

    org1, org2 = org_store(files["Org1MSP"]), org_store(files["Org2MSP"])
    name = org1.put(b"written by Org1 " + uuid.uuid4().bytes)
    assert org2.sibling("Org1MSP").get(name).startswith(b"written by Org1")  # all may read
    planted = b"planted by Org2 " + uuid.uuid4().bytes
    with pytest.raises(StoreError):
        org2.sibling("Org1MSP").put(planted)  # refused by the server's policy
    assert not org1.has(hashlib.sha256(planted).hexdigest())

    status = json.loads(ok("network", "status", "--json", *where))
    store = [n for n in status if n["kind"] == "store"]
    assert len(store) == 1 and store[0]["healthy"], store

    exported = tmp_path / "org2"
    ok("network", "profile", "--org", "Org2", "--export", str(exported), *where)
    own = json.loads((exported / "profile.json").read_text())["organizations"]
    assert list(own) == ["Org2MSP"]
    copied = Path(own["Org2MSP"]["store_credentials"])
    assert copied.is_relative_to(exported) and stat.S_IMODE(copied.stat().st_mode) == 0o600
    assert json.loads(copied.read_text()) == json.loads(files["Org2MSP"].read_text())
    assert not list(exported.rglob("Org1MSP.json")) and not list(exported.rglob("Org3MSP.json"))


@pytest.mark.timeout(900)
def test_participants_started_without_store_options_use_the_networks_s3_store(
        s3_net: NativeNetwork, tmp_path):
    root = s3_net.layout.root
    where = ["--dir", str(root)]
    services = ParticipantProcesses(root / "participants")
    run = uuid.uuid4().hex[:6]
    parts = partition(FLApp.load(APP_DIR), tmp_path, len(ORGS))
    datasets = {}
    for org, part in zip(ORGS, parts, strict=True):
        data = services.org_dir(org) / "data.npz"
        data.parent.mkdir(parents=True, exist_ok=True)
        Path(part).replace(data)
        ok("network", "profile", "--org", org, "--export", str(services.org_dir(org) / "fabric"),
           *where)
        datasets[org] = f"s3net-{org.lower()}-{run}"
        ok("participant", "register", "--org", org, "--app", str(APP_DIR), "--data", str(data),
           "--dataset", datasets[org], *(["--grant", "Org1MSP"] if org != "Org1" else []),
           "--profile", str(services.profile(org)), "--state", str(services.state(org)), *where)
        ok("participant", "start", "--org", org, "--app", str(APP_DIR), "--data", str(data),
           *where)
    created = ok("task", "create", "--app", str(APP_DIR), "--rounds", "2", "--round-timeout",
                 "300", *[a for o in ORGS for a in ("-p", f"{o}MSP={datasets[o]}")], *where)
    task_id = created.strip().splitlines()[-1]
    watched = cli("task", "watch", task_id, "--org", "Org3", *where, timeout=600)
    assert watched.returncode == 0, watched.stdout[-3000:] + services.log("Org1").read_text()[
        -3000:]
    shown = json.loads(ok("task", "show", task_id, "--json", *where))
    assert shown["task"]["status"] == "COMPLETED"

    server = s3_net.store_server()
    client = server.client(*server.admin_credentials())
    for org in ORGS:
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=server.bucket, Prefix=f"{org}MSP/")
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
        for r in shown["rounds"]:  # every update went to its writer's own prefix
            update = next(u for u in r["updates"] if u["msp_id"] == f"{org}MSP")
            assert any(update["manifest_hash"] in k for k in keys), (org, keys[:5])
    assert not (root / "blobs").exists() or not any((root / "blobs").rglob("*"))


def test_an_org_that_leaves_loses_its_access_and_the_store_survives_a_restart(
        s3_net: NativeNetwork):
    where = ["--dir", str(s3_net.layout.root)]
    credentials = {o.msp_id: s3_net.store_credentials(o) for o in s3_net.topology.org_list}
    org1, org3 = (org_store(credentials[m]) for m in ("Org1MSP", "Org3MSP"))
    kept = org1.put(b"kept across restarts " + uuid.uuid4().bytes)
    org3.put(b"Org3 still a member")

    ok("org", "remove", "Org3", *where)
    assert [o.name for o in s3_net.topology.org_list] == ["Org1", "Org2"]
    with pytest.raises(StoreError):
        org3.put(b"Org3 after it left " + uuid.uuid4().bytes)
    with pytest.raises(StoreError):
        org3.sibling("Org1MSP").get(kept)
    assert "Org3MSP" not in json.loads(ok("network", "profile", *where))["organizations"]

    ok("network", "down", *where)
    assert s3_net.store_server().pid() is None
    ok("network", "up", *where)
    assert org_store(credentials["Org1MSP"]).get(kept).startswith(b"kept across restarts")
