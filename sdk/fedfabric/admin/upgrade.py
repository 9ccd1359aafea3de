"""Chaincode upgrade: the current chaincode as a new definition, ledger data kept.

Each member packages the chaincode service anew (a new label, so a new package id), installs it
and approves the definition at the next sequence; one member commits it (the lifecycle
endorsement policy is MAJORITY, and every member approves); then every chaincode service is
restarted with the current binary under its new package id. World state lives in the peers, so
every record stays.

Example::

    sequence = upgrade_chaincode(NativeNetwork(root))    # 2 after the first upgrade
"""

from __future__ import annotations

from fedfabric.admin import chaincode
from fedfabric.admin.fabric import chaincode_binary
from fedfabric.admin.launcher import NativeNetwork
from fedfabric.admin.progress import Progress, SilentProgress


def upgrade_chaincode(net: NativeNetwork, progress: Progress | None = None) -> int:
    """Upgrade the chaincode definition to the next sequence; returns that sequence."""
    p = progress or SilentProgress()
    topo = net.topology
    layout = net.layout
    with p.step("build the chaincode service from the current source"):
        chaincode_binary()
    first = topo.org_list[0]
    sequence = chaincode.committed_sequence(layout, topo, first) + 1
    packages: dict[str, str] = dict(net.state()["packages"])
    with p.step(f"package and install the chaincode (sequence {sequence}) on every peer"):
        for org in topo.org_list:
            packages[org.msp_id] = net.make_package(topo, org, sequence)
            chaincode.install(layout, org, packages[org.msp_id])
    with p.step(f"approve the definition at sequence {sequence} in every org"):
        for org in topo.org_list:
            chaincode.approve(layout, topo, org, packages[org.msp_id], sequence)
    with p.step(f"commit the definition (sequence {sequence})"):
        chaincode.commit(layout, topo, sequence)
    net.update_state(packages=packages, sequence=sequence)
    with p.step("restart the chaincode services under their new package ids"):
        net.start_chaincode(topo, packages, restart=True)
    with p.step("check the chaincode answers on every peer"):
        for org in topo.org_list:
            net.wait_chaincode(org, 60.0)
    return sequence
