"""One real native Fabric network per test session, in a temporary directory, torn down after."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from fedfabric.admin import NativeNetwork, Topology, ports
from fedfabric.admin.progress import PrintProgress
from fedfabric.gateway import ConnectionProfile, Contract, Gateway
from fedfabric.ledger import Ledger
from support.ports import base_port

BASE_PORT = base_port("FEDFABRIC_TEST_BASE_PORT", 27000)


@pytest.fixture(scope="session")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeNetwork]:
    topology = Topology(base_port=BASE_PORT)
    try:
        ports.check_free(topology.ports())
    except ports.PortClash as e:
        pytest.fail(f"{e} (or set FEDFABRIC_TEST_BASE_PORT to a free range)")
    net = NativeNetwork(tmp_path_factory.mktemp("fabric") / "network")
    try:
        net.up(topology, progress=PrintProgress())
        yield net
    finally:
        net.down(purge=True)


@pytest.fixture(scope="session")
def profile(network: NativeNetwork) -> ConnectionProfile:
    return ConnectionProfile.from_dict(network.profile())


@pytest.fixture
def gateways(profile: ConnectionProfile) -> Iterator[dict[str, Gateway]]:
    """A User1 gateway per org, each connected to its own org's peer."""
    opened = {org: profile.connect(org) for org in ("Org1", "Org2", "Org3")}
    try:
        yield opened
    finally:
        for g in opened.values():
            g.close()


@pytest.fixture
def contracts(gateways: dict[str, Gateway], profile: ConnectionProfile) -> dict[str, Contract]:
    return {org: g.get_network(profile.channel).get_contract(profile.chaincode)
            for org, g in gateways.items()}


def unique(prefix: str) -> str:
    return f"{prefix}-{os.urandom(4).hex()}"



@pytest.fixture(scope="session")
def ledgers(network: NativeNetwork, profile: ConnectionProfile
            ) -> Iterator[dict[tuple[str, str], Ledger]]:
    """A Ledger per (org, user) for Org1..Org3 and users Admin and User1; every write waits
    until all peers have its block, so any org can read it at once."""
    opened: dict[tuple[str, str], Ledger] = {}
    gateways = []
    for org in ("Org1", "Org2", "Org3"):
        for user in ("Admin", "User1"):
            gateway = profile.connect(org, user=user)
            gateways.append(gateway)
            opened[(org, user)] = Ledger(gateway.get_network(profile.channel), profile.chaincode,
                                         after_commit=network.wait_for_block)
    try:
        yield opened
    finally:
        for g in gateways:
            g.close()
