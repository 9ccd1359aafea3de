"""The SDK's cross-organisation smoke test against the network in containers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fedfabric.admin import health
from fedfabric.admin.docker import DockerNetwork
from fedfabric.gateway import ConnectionProfile, GatewayError


def unique(prefix: str) -> str:
    return f"{prefix}-{os.urandom(4).hex()}"


def _contract(profile: ConnectionProfile, org: str):
    gateway = profile.connect(org)
    return gateway, gateway.get_network(profile.channel).get_contract(profile.chaincode)


@pytest.fixture
def profile(docker_network: DockerNetwork, docker_services) -> ConnectionProfile:
    docker_services.wait_until_responsive(
        check=lambda: all(n.healthy for n in docker_network.status()), timeout=90, pause=0.5)
    return ConnectionProfile.from_dict(docker_network.profile())


def test_every_node_runs_in_its_own_container(docker_network: DockerNetwork, docker_services):
    nodes = docker_network.status()
    assert len(nodes) == 10 and all(n.healthy for n in nodes), nodes
    out = subprocess.run(["docker", "ps", "--filter", f"name={docker_network.project}-",
                          "--format", "{{.Names}}"], capture_output=True, text=True).stdout
    assert len(out.split()) == 10 and docker_network.container("store") in out.split()


def test_write_as_org1_read_through_org2_and_org3(profile: ConnectionProfile,
                                                  docker_network: DockerNetwork):
    rid = unique("dock")
    gw, contract = _contract(profile, "Org1")
    submitted = contract.submit_async("PutRecord", args=[rid, '{"where": "docker"}'])
    docker_network.wait_for_block(submitted.status().block_number)
    written = submitted.result
    with pytest.raises(GatewayError, match="INVALID_ARGUMENT"):
        contract.submit_transaction("PutRecord", "bad id", "{}")
    gw.close()
    for org in ("Org2", "Org3"):
        gw, contract = _contract(profile, org)
        assert contract.evaluate_transaction("GetRecord", rid) == written
        gw.close()


def test_a_restarted_peer_container_keeps_its_ledger(docker_network: DockerNetwork,
                                                     profile: ConnectionProfile,
                                                     docker_services):
    rid = unique("restart")
    gw, contract = _contract(profile, "Org1")
    submitted = contract.submit_async("PutRecord", args=[rid, "{}"])
    docker_network.wait_for_block(submitted.status().block_number)
    written = submitted.result
    gw.close()
    org2 = docker_network.topology.org("Org2")

    def height() -> int | None:
        return health.peer_height(org2.operations_port, docker_network.topology.channel)

    docker_services.wait_until_responsive(  # Org2's peer has the block before the restart
        check=lambda: (height() or 0) >= (health.peer_height(
            docker_network.topology.org("Org1").operations_port, "fedfabric") or 0),
        timeout=30, pause=0.2)
    before = height()
    docker_network.restart(org2.peer_name)
    docker_services.wait_until_responsive(
        check=lambda: health.healthz(org2.operations_port)[0] and height() is not None,
        timeout=90, pause=0.5)
    assert (height() or 0) >= (before or 0)
    gw, contract = _contract(profile, "Org2")

    def reads_back() -> bool:
        try:
            return contract.evaluate_transaction("GetRecord", rid) == written
        except GatewayError:  # the restarted peer's gateway may need a moment
            return False

    try:
        docker_services.wait_until_responsive(check=reads_back, timeout=60, pause=0.5)
    finally:
        gw.close()


def test_the_cli_knows_the_docker_network(docker_network: DockerNetwork, docker_services):
    root = str(docker_network.layout.root)
    status = subprocess.run([sys.executable, "-m", "fedfabric.cli", "network", "status", "--docker",
                             "--dir", root, "--json"], capture_output=True, text=True)
    assert status.returncode == 0, status.stderr
    assert all(n["healthy"] for n in json.loads(status.stdout))
    profile = subprocess.run([sys.executable, "-m", "fedfabric.cli", "network", "profile",
                              "--docker", "--dir", root], capture_output=True, text=True)
    assert sorted(json.loads(profile.stdout)["organizations"]) == ["Org1MSP", "Org2MSP",
                                                                   "Org3MSP"]


def test_the_store_container_keeps_its_blobs_across_a_restart(docker_network: DockerNetwork,
                                                               docker_services):
    from fedfabric.store import StoreError, open_store

    c = json.loads(docker_network.store_credentials(docker_network.topology.org("Org1"))
                   .read_text())
    assert c["endpoint"] == f"http://127.0.0.1:{docker_network.topology.store_port}"
    org1 = open_store(c["url"], c["endpoint"], access_key=c["access_key"],
                      secret_key=c["secret_key"])
    name = org1.put(b"kept by the store volume " + os.urandom(8))
    docker_network.restart("store")

    def reads_back() -> bool:
        try:
            return org1.get(name).startswith(b"kept by the store volume")
        except StoreError:
            return False

    docker_services.wait_until_responsive(check=reads_back, timeout=60, pause=0.5)
