"""The fault suite: its own native network (ports 29000+, FEDFABRIC_RELIABILITY_BASE_PORT), a
consortium of three participant processes, and a summary table of the faults at the end."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from fedfabric.admin import NativeNetwork, Topology
from fedfabric.admin.progress import PrintProgress
from fedfabric.gateway import ConnectionProfile
from fedfabric.ledger import Ledger
from support.consortium import ORGS, Consortium, make_consortium
from support.ports import base_port

BASE_PORT = base_port("FEDFABRIC_RELIABILITY_BASE_PORT", 29000)


@dataclass
class Outcome:
    fault: str
    recovered_s: float
    records_lost: int


OUTCOMES: list[Outcome] = []


@pytest.fixture(scope="package")
def fault_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeNetwork]:
    net = NativeNetwork(tmp_path_factory.mktemp("faults") / "network")
    try:
        net.up(Topology(base_port=BASE_PORT), progress=PrintProgress())
        yield net
    finally:
        net.down(purge=True)


@pytest.fixture(scope="package")
def consortium(fault_network: NativeNetwork, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Consortium]:
    profile = ConnectionProfile.from_dict(fault_network.profile())
    gateway = profile.connect("Org3")
    reader = Ledger(gateway.get_network(profile.channel), profile.chaincode)
    c = make_consortium(fault_network, profile, tmp_path_factory.mktemp("consortium"), reader)
    for org in ORGS:
        c.start(org)
    try:
        yield c
    finally:
        c.services.stop_all()
        gateway.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not OUTCOMES:
        return
    terminalreporter.section("faults")
    terminalreporter.write_line(f"{'fault':<48} {'recovered in':>13} {'records lost':>13}")
    for o in OUTCOMES:
        terminalreporter.write_line(f"{o.fault:<48} {o.recovered_s:>12.1f}s {o.records_lost:>13}")
