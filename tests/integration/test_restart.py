"""Nothing is lost when processes stop: down/up keeps ledgers; a dead chaincode is restarted."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from fedfabric.admin import NativeNetwork, process
from fedfabric.gateway import ConnectionProfile

from .conftest import unique


def _contract(profile: ConnectionProfile, org: str):
    gw = profile.connect(org)
    return gw, gw.get_network(profile.channel).get_contract(profile.chaincode)


def test_down_then_up_keeps_every_record(network: NativeNetwork, profile: ConnectionProfile):
    gw, contract = _contract(profile, "Org1")
    written = {}
    for _ in range(3):
        rid = unique("keep")
        written[rid] = contract.submit_transaction("PutRecord", rid, json.dumps({"id": rid}))
    gw.close()
    heights = {n.name: n.height for n in network.status() if n.kind == "peer"}

    stopped = network.down()
    assert len(stopped) == 9  # 3 orderers, 3 peers, 3 chaincode services
    assert not any(n.running for n in network.status())
    network.up()

    assert all(n.healthy for n in network.status())
    for org in ("Org1", "Org2", "Org3"):
        gw, contract = _contract(profile, org)
        for rid, record in written.items():
            assert contract.evaluate_transaction("GetRecord", rid) == record
        gw.close()
    for node in network.status():
        if node.kind == "peer":
            assert node.height is not None and node.height >= heights[node.name]


def test_a_killed_chaincode_service_is_restarted_by_its_supervisor(
    network: NativeNetwork, profile: ConnectionProfile,
):
    name = "chaincode.org2.example.com"
    supervisor = process.running_pid(network.layout.pid(name))
    assert supervisor is not None
    children_file = Path(f"/proc/{supervisor}/task/{supervisor}/children")
    children = [int(p) for p in children_file.read_text().split()]
    assert len(children) == 1
    os.kill(children[0], signal.SIGKILL)

    gw, contract = _contract(profile, "Org2")
    rid = unique("after-crash")
    deadline = time.monotonic() + 60
    while True:  # poll, bounded, until the restarted service endorses again
        try:
            contract.submit_transaction("PutRecord", rid, "{}")
            break
        except Exception:
            assert time.monotonic() < deadline, "chaincode service did not come back"
            time.sleep(0.5)
    gw.close()
    new_children = children_file.read_text().split()
    assert new_children and int(new_children[0]) != children[0]
    assert process.running_pid(network.layout.pid(name)) == supervisor
