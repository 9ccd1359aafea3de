"""An organisation joins a network in containers; its containers mount only its own material.

A network of its own (identities from each organisation's CA) at
FEDFABRIC_DOCKER_TEST_ADMIN_BASE_PORT (default 24000), apart from the session's Docker network.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from fedfabric.admin import Topology
from fedfabric.admin.docker import DockerNetwork, docker, engine_ready
from fedfabric.admin.progress import PrintProgress
from fedfabric.gateway import ConnectionProfile
from support.ports import base_port

BASE_PORT = base_port("FEDFABRIC_DOCKER_TEST_ADMIN_BASE_PORT", 24000)


@pytest.fixture(scope="module")
def ca_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerNetwork]:
    reason = engine_ready()
    if reason:
        pytest.fail(f"no Docker engine answers (start one with docker/engine.sh): {reason}")
    net = DockerNetwork(tmp_path_factory.mktemp("docker-admin") / "network")
    try:
        net.up(Topology(runtime="docker", base_port=BASE_PORT, crypto="ca"),
               progress=PrintProgress())
        yield net
    finally:
        net.down(purge=True)


def test_org4_joins_the_containers_and_mounts_only_its_own_material(ca_network: DockerNetwork):
    root = str(ca_network.layout.root)
    profile = ConnectionProfile.from_dict(ca_network.profile())
    gateway = profile.connect("Org1")
    contract = gateway.get_network(profile.channel).get_contract(profile.chaincode)
    submitted = contract.submit_async("PutRecord", args=["before-org4", "{}"])
    ca_network.wait_for_block(submitted.status().block_number)
    written = submitted.result
    gateway.close()

    added = subprocess.run([sys.executable, "-m", "fedfabric.cli", "org", "add", "Org4",
                            "--docker", "--dir", root], capture_output=True, text=True,
                           timeout=600)
    assert added.returncode == 0, added.stderr

    profile = ConnectionProfile.from_dict(ca_network.profile())
    gateway = profile.connect("Org4")
    contract = gateway.get_network(profile.channel).get_contract(profile.chaincode)
    assert contract.evaluate_transaction("GetRecord", "before-org4") == written
    gateway.close()
    org4 = ca_network.topology.org("Org4")
    for node in ("peer0.org4.example.com", "chaincode.org4.example.com", "ca.org4.example.com"):
        mounts = json.loads(docker("inspect", "-f", "{{json .Mounts}}",
                                   ca_network.container(node)))
        sources = [m["Source"] for m in mounts if m["Type"] == "bind"]
        assert sources, node
        for source in sources:
            assert source.startswith(root)
            assert org4.domain in source or source.endswith("/chaincode/org4"), source
    assert all(n.healthy for n in ca_network.status())
