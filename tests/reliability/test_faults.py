"""Fault injection: each test runs a two-round encrypted task across three participant processes
on the real native network, injects one fault mid-round, and checks that the task completes
with every record and blob intact."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fedfabric.admin import NativeNetwork, process
from fedfabric.store import LocalStore, StoreError
from support.consortium import ORGS, Consortium, wait_for

from .conftest import OUTCOMES, Outcome


def _progress(consortium: Consortium, task_id: str, actor: str | None) -> int:
    """How many records of the task (of one organisation, if named) are on chain."""
    h = consortium.history(task_id)
    records = [x.msp_id for r in h.rounds for x in (*r.updates, *r.endorsements, *r.metrics)]
    return sum(1 for m in records if actor is None or m == actor) + \
        int(h.task.status == "COMPLETED")


def _lost(consortium: Consortium, task_id: str) -> int:
    """Records or blobs missing or failing their hash after the task (0 when intact)."""
    h = consortium.history(task_id)
    store, lost = LocalStore(consortium.store), 0
    lost += 0 if h.task.status == "COMPLETED" else 1
    for r in h.rounds:
        lost += abs(3 - len(r.updates)) + abs(3 - len(r.metrics))
        lost += int(r.status != "FINALIZED")
        for manifest in [u.manifest_hash for u in r.updates] + [r.final_hash or ""]:
            try:
                store.get_shards(manifest)
            except StoreError:
                lost += 1
    return lost + abs(2 - len(h.rounds))


def run_with_fault(consortium: Consortium, fault: str, inject: Callable[[], None],
                   restore: Callable[[], None], actor: str | None = None) -> None:
    """Inject the fault once round 1 has a first update, restore, and measure the time until
    the task (or the faulted organisation, actor) commits its next record."""
    task_id = consortium.create("--rounds", "2", "--round-timeout", "300")
    wait_for("round 1 to get its first update", lambda: any(
        r.updates for r in consortium.history(task_id).rounds))
    inject()
    before = _progress(consortium, task_id, actor)
    restore()
    restored = time.monotonic()
    wait_for("the task to move again", lambda: _progress(consortium, task_id, actor) > before
             or consortium.history(task_id).task.done, timeout=240)
    recovered = time.monotonic() - restored
    wait_for("the task to complete", lambda: consortium.history(task_id).task.status ==
             "COMPLETED" and len(consortium.history(task_id).rounds[-1].metrics) == 3,
             timeout=300)
    lost = _lost(consortium, task_id)
    OUTCOMES.append(Outcome(fault, recovered, lost))
    assert lost == 0
    for org in ORGS:  # every service is still up
        assert consortium.services.pid(org) is not None, consortium.log(org)[-2000:]


def _kill_node(network: NativeNetwork, name: str) -> None:
    pid_file = network.layout.pid(name)
    pid = process.running_pid(pid_file)
    assert pid is not None, f"{name} is not running"
    os.kill(pid, signal.SIGKILL)
    wait_for(f"{name} to die", lambda: process.running_pid(pid_file) is None, timeout=30)


def test_one_of_three_orderers_killed_mid_round_and_restarted(fault_network, consortium):
    run_with_fault(consortium, "1 of 3 orderers killed, restarted",
                   lambda: _kill_node(fault_network, "orderer0.example.com"),
                   fault_network.up)


def test_a_peer_killed_mid_round_and_restarted(fault_network, consortium):
    run_with_fault(consortium, "Org2's peer killed, restarted",
                   lambda: _kill_node(fault_network, "peer0.org2.example.com"),
                   fault_network.up, actor="Org2MSP")


def test_a_chaincode_service_killed(fault_network, consortium):
    supervisor = process.running_pid(fault_network.layout.pid("chaincode.org3.example.com"))
    assert supervisor is not None
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children")

    def kill() -> None:
        child = int(children.read_text().split()[0])
        os.kill(child, signal.SIGKILL)

    def restarted() -> None:  # the supervisor brings it back by itself
        wait_for("the chaincode service to be restarted", lambda: children.read_text().strip())

    run_with_fault(consortium, "Org3's chaincode service killed", kill, restarted,
                   actor="Org3MSP")


def test_a_participant_killed_and_restarted(consortium):
    run_with_fault(consortium, "Org2's participant killed (SIGKILL), restarted",
                   lambda: consortium.services.kill("Org2"),
                   lambda: consortium.start("Org2"), actor="Org2MSP")


@pytest.fixture
def read_only():
    """Make a directory read-only for the moment (root ignores modes: it is made immutable)."""
    made: list[Path] = []

    def lock(path: Path) -> None:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "+i", str(path)], check=True)
        else:
            path.chmod(0o555)
        made.append(path)

    def unlock(path: Path) -> None:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        else:
            path.chmod(0o755)
        made.remove(path)

    yield lock, unlock
    for path in list(made):
        unlock(path)


def test_the_blob_store_read_only_for_a_moment(consortium, read_only):
    lock, unlock = read_only

    def inject() -> None:
        lock(consortium.store)
        probe = consortium.store / ".probe"
        with pytest.raises(OSError):  # the fault is real
            probe.write_bytes(b"x")
        # The participants hit it: at least one logs a failed write and will retry.
        wait_for("a participant to hit the read-only store", lambda: any(
            "Permission" in consortium.log(o) or "not permitted" in consortium.log(o)
            for o in ORGS), timeout=120)

    run_with_fault(consortium, "blob store directory read-only", inject,
                   lambda: unlock(consortium.store))


def test_two_of_three_orderers_down_is_one_clear_line_and_up_heals(fault_network):
    """Raft loses its majority: the CLI says so in one line naming the nodes, not a traceback;
    `network up` brings the orderers back and the same command then works."""
    from support.consortium import cli

    for name in ("orderer1.example.com", "orderer2.example.com"):
        _kill_node(fault_network, name)
    args = ("dataset", "register", f"raft-{os.getpid()}", "--name", "n", "--sha256", "a" * 64,
            "--uri", "file:///x", "--rows", "1", "--dir", str(fault_network.layout.root))
    refused = cli(*args)
    lines = [ln for ln in refused.stderr.splitlines() if ln.strip()]
    assert refused.returncode == 1 and len(lines) == 1, refused.stderr
    assert "Traceback" not in refused.stderr
    assert "2 of 3 orderers are down" in lines[0] and "orderer1.example.com" in lines[0]
    assert "fedfabric network up" in lines[0]
    began = time.monotonic()
    fault_network.up()
    wait_for("the orderers to elect a leader and take the command", lambda: cli(
        *args[:2], f"raft-healed-{os.getpid()}", *args[3:]).returncode == 0, timeout=120)
    OUTCOMES.append(Outcome("2 of 3 orderers killed (CLI: one line), network up", time.monotonic()
                            - began, 0))
