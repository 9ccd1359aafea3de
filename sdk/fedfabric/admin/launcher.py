"""The native network: every node a process on 127.0.0.1, brought up, resumed, stopped, purged.

Example::

    net = NativeNetwork(Path("~/.fedfabric/network").expanduser())
    net.up(Topology(orgs=3, orderers=3), progress=PrintProgress())
    for node in net.status():
        print(node.name, node.healthy, node.height)
    profile = net.profile()          # JSON-able dict, see fedfabric.gateway.profile
    net.down()                       # keeps ledgers; net.down(purge=True) deletes them
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from fedfabric.admin import chaincode, channel, crypto, health, process
from fedfabric.admin.errors import AdminError, StepFailed
from fedfabric.admin.fabric import (
    BUILDER_DIR,
    FABRIC_VERSION,
    chaincode_binary,
    ensure_fabric,
    fabric_sample_config,
)
from fedfabric.admin.layout import Layout
from fedfabric.admin.nodes import chaincode_command, orderer_command, peer_command
from fedfabric.admin.progress import Progress, SilentProgress
from fedfabric.admin.topology import Org, Topology

START_TIMEOUT = 60.0


def core_yaml(builder: Path | str) -> str:
    """Fabric's sample core.yaml with no Docker and the chaincode-as-a-service builder."""
    core = yaml.safe_load((fabric_sample_config() / "core.yaml").read_text())
    core["vm"]["endpoint"] = ""  # no Docker: chaincode runs as a service
    core["chaincode"]["externalBuilders"] = [{
        "name": "ccaas_builder", "path": str(builder),
        "propagateEnvironment": ["CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG"]}]
    return str(yaml.safe_dump(core, sort_keys=False))
SEQUENCE = 1


@dataclass(frozen=True)
class NodeStatus:
    name: str
    kind: str  # orderer | peer | chaincode
    org: str
    address: str
    pid: int | None
    healthy: bool
    detail: str
    height: int | None
    log: Path

    @property
    def running(self) -> bool:
        return self.pid is not None


class NativeNetwork:
    """A Fabric network of native processes kept in one directory (its state survives restarts)."""

    def __init__(self, root: Path) -> None:
        self.layout = Layout(root.expanduser().resolve())

    # ---- state -------------------------------------------------------------------------------
    @property
    def exists(self) -> bool:
        return self.layout.state.is_file()

    def _state(self) -> dict[str, Any]:
        if not self.exists:
            raise AdminError(f"no network at {self.layout.root}: run `fedfabric network up` first")
        state: dict[str, Any] = json.loads(self.layout.state.read_text())
        return state

    def _save(self, state: dict[str, Any]) -> None:
        tmp = self.layout.state.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.layout.state)

    @property
    def topology(self) -> Topology:
        return Topology.from_dict(self._state()["topology"])

    # ---- up ----------------------------------------------------------------------------------
    def up(self, topology: Topology | None = None, progress: Progress | None = None) -> None:
        """Create the network, or resume it with its ledgers when it exists.

        topology is only used for a new network; for an existing one it must match or be None.
        """
        p = progress or SilentProgress()
        if self.exists and topology is not None and topology != self.topology:
            changes = ", ".join(self.topology.differences(topology))
            raise AdminError(
                f"the network at {self.layout.root} cannot change ({changes}): "
                "run `fedfabric network down --purge` first, or leave the options out to resume it"
            )
        with p.step(f"Fabric {FABRIC_VERSION} binaries"):
            ensure_fabric()
        with p.step("chaincode service binary"):
            binary = chaincode_binary()
        if self.exists:
            p.note(f"resuming the network at {self.layout.root}")
        else:
            self._create(topology or Topology(), p)
        topo = self.topology
        state = self._state()

        with p.step(f"start {topo.orderers} orderer(s)"):
            self._start_orderers(topo)
        with p.step(f"start {topo.orgs} peer(s)"):
            self._start_peers(topo)
        with p.step(f"orderers join channel {topo.channel}"):
            for o in topo.orderer_list:
                self._at(o.name, "channel join",
                         partial(channel.join_orderer, self.layout, o, topo.channel))
            self._wait_for_leader(topo)
        with p.step(f"peers join channel {topo.channel}"):
            for org in topo.org_list:
                self._at(org.peer_name, "channel join",
                         partial(channel.join_peer, self.layout, org, topo.channel))
        packages: dict[str, str] = state["packages"]
        with p.step("install chaincode package on every peer"):
            for org in topo.org_list:
                self._at(org.peer_name, "chaincode install",
                         partial(chaincode.install, self.layout, org, packages[org.msp_id]))
        with p.step("start chaincode services"):
            self._start_chaincode(topo, binary, packages)
        first = topo.org_list[0]
        if chaincode.committed_sequence(self.layout, topo, first) < SEQUENCE:
            with p.step("approve the chaincode definition in every org"):
                for org in topo.org_list:
                    self._at(org.peer_name, "approve", partial(
                        chaincode.approve, self.layout, topo, org, packages[org.msp_id], SEQUENCE))
            with p.step("commit the chaincode definition"):
                self._at(first.peer_name, "commit",
                         partial(chaincode.commit, self.layout, topo, SEQUENCE))
        with p.step("check the chaincode answers on every peer"):
            for org in topo.org_list:
                self._at(self._cc_name(org), "chaincode query", partial(
                    self._poll, partial(chaincode.query_metadata, self.layout, topo, org), 30.0))

    # ---- starting nodes: processes here, containers in DockerNetwork ---------------------------
    def _start_orderers(self, topo: Topology) -> None:
        for o in topo.orderer_list:
            cmd, env = orderer_command(self.layout, o)
            self._start(o.name, cmd, env)
        for o in topo.orderer_list:
            self._wait_healthy(o.name, o.operations_port)

    def _start_peers(self, topo: Topology) -> None:
        for org in topo.org_list:
            cmd, env = peer_command(self.layout, org)
            self._start(org.peer_name, cmd, env)
        for org in topo.org_list:
            self._wait_healthy(org.peer_name, org.operations_port)

    def _start_chaincode(self, topo: Topology, binary: Path, packages: dict[str, str]) -> None:
        for org in topo.org_list:
            cmd, env = chaincode_command(self.layout, org, binary, packages[org.msp_id])
            self._start(self._cc_name(org), cmd, env)
        for org in topo.org_list:
            self._wait_port(self._cc_name(org), org.ccaas_port)

    def _create(self, topo: Topology, p: Progress) -> None:
        root = self.layout.root
        if root.exists() and any(root.iterdir()):
            raise AdminError(f"{root} is not empty and holds no network: choose another directory")
        root.mkdir(parents=True, exist_ok=True)
        try:
            with p.step("write node configuration"):
                self._write_config()
            with p.step(f"generate crypto material for {topo.orgs} org(s) and the orderers"):
                crypto.generate_crypto(topo, self.layout.crypto)
            with p.step(f"generate the genesis block of channel {topo.channel}"):
                crypto.generate_genesis_block(
                    topo, self.layout.crypto, self.layout.genesis_block(topo.channel))
            with p.step("package the chaincode service for every org"):
                packages = {}
                for org in topo.org_list:
                    crypto.issue_chaincode_tls(
                        self.layout.crypto, org, self.layout.chaincode_dir(org) / "tls")
                    packages[org.msp_id] = chaincode.write_package(self.layout, topo, org)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)  # nothing half-made is left to resume
            raise
        self._save({"topology": topo.to_dict(), "fabric_version": FABRIC_VERSION,
                    "packages": packages})

    def _write_config(self) -> None:
        self.layout.config.mkdir(parents=True, exist_ok=True)
        (self.layout.config / "core.yaml").write_text(core_yaml(self.layout.builder))
        shutil.copy(fabric_sample_config() / "orderer.yaml", self.layout.config / "orderer.yaml")
        shutil.copytree(BUILDER_DIR, self.layout.builder / "bin")
        for script in (self.layout.builder / "bin").iterdir():
            script.chmod(0o755)

    # ---- down / status / profile -----------------------------------------------------------
    def down(self, purge: bool = False, progress: Progress | None = None) -> list[str]:
        """Stop every process this network started (by pid); purge deletes its directory."""
        p = progress or SilentProgress()
        stopped: list[str] = []
        if self.exists:
            stopped = self._stop_all(self.topology, p)
        if purge and self.layout.root.exists():
            if not self.exists and any(self.layout.root.iterdir()):
                raise AdminError(f"{self.layout.root} holds no fedfabric network; not deleting it")
            with p.step(f"delete {self.layout.root}"):
                shutil.rmtree(self.layout.root)
        return stopped

    def _stop_all(self, topo: Topology, p: Progress) -> list[str]:
        stopped: list[str] = []
        groups = [
            ("chaincode services", [self._cc_name(o) for o in topo.org_list]),
            ("peers", [o.peer_name for o in topo.org_list]),
            ("orderers", [o.name for o in topo.orderer_list]),
        ]
        for label, names in groups:
            with p.step(f"stop {label}"):
                stopped += [n for n in names if process.stop(self.layout.pid(n))]
        return stopped

    def status(self) -> list[NodeStatus]:
        topo = self.topology
        out = []
        for o in topo.orderer_list:
            ok, detail = health.healthz(o.operations_port)
            out.append(self._node_status(o.name, "orderer", "OrdererMSP", o.address, ok, detail,
                                         health.orderer_height(o.operations_port, topo.channel)))
        for org in topo.org_list:
            ok, detail = health.healthz(org.operations_port)
            out.append(self._node_status(org.peer_name, "peer", org.msp_id, org.peer_address, ok,
                                         detail, health.peer_height(org.operations_port,
                                                                    topo.channel)))
        for org in topo.org_list:
            ok = health.port_open(org.ccaas_port)
            out.append(self._node_status(self._cc_name(org), "chaincode", org.msp_id,
                                         org.ccaas_address, ok, "serving" if ok else
                                         "not listening", None))
        return out

    def _node_status(self, name: str, kind: str, org: str, address: str, ok: bool, detail: str,
                     height: int | None) -> NodeStatus:
        pid = self._running(name)
        if pid is None:
            ok, detail = False, "not running"
        return NodeStatus(name, kind, org, address, pid, ok, detail, height, self.layout.log(name))

    def wait_for_block(self, block: int, timeout: float = 30.0) -> None:
        """Poll (bounded) until every peer has committed block number `block`."""
        topo = self.topology
        deadline = time.monotonic() + timeout
        while True:
            heights = [health.peer_height(o.operations_port, topo.channel) or 0
                       for o in topo.org_list]
            if min(heights) > block:
                return
            if time.monotonic() > deadline:
                raise AdminError(f"peers reached heights {heights}, not {block + 1}, "
                                 f"in {timeout:.0f}s")
            time.sleep(0.05)

    def profile(self) -> dict[str, Any]:
        """The connection profile: what a client needs to reach each org's peer as each user."""
        topo = self.topology
        L = self.layout
        return {
            "name": L.root.name, "channel": topo.channel, "chaincode": topo.chaincode,
            "organizations": {org.msp_id: {
                "name": org.name, "msp_id": org.msp_id,
                "peers": [{"name": org.peer_name, "address": org.peer_address,
                           "tls_root_cert": str(L.peer_tls_ca(org))}],
                "users": {user: str(L.user_msp(org, user)) for user in L.users(org)},
                "admin_msp": str(L.user_msp(org, "Admin")),
                "user_msp": str(L.user_msp(org, "User1")),
            } for org in topo.org_list},
            "orderers": [{"name": o.name, "address": o.address,
                          "tls_root_cert": str(L.orderer_tls_ca)} for o in topo.orderer_list],
        }

    # ---- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _cc_name(org: Org) -> str:
        return f"chaincode.{org.domain}"

    def _running(self, name: str) -> int | None:
        """The node's pid while it runs."""
        return process.running_pid(self.layout.pid(name))

    def _log(self, name: str) -> Path:
        return self.layout.log(name)

    def _start(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        if self._running(name) is not None:
            return
        self.layout.data(name).mkdir(parents=True, exist_ok=True)
        process.start(cmd, env, self.layout.log(name), self.layout.pid(name), self.layout.root)

    def _alive_or_fail(self, name: str, step: str) -> None:
        if self._running(name) is None:
            raise StepFailed(step, name, "the process exited", self._log(name))

    def _wait_healthy(self, name: str, operations_port: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        detail = ""
        while time.monotonic() < deadline:
            self._alive_or_fail(name, "start")
            ok, detail = health.healthz(operations_port)
            if ok:
                return
            time.sleep(0.2)
        raise StepFailed("start", name, f"not healthy after {START_TIMEOUT:.0f}s: {detail}",
                         self._log(name))

    def _wait_port(self, name: str, port: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self._alive_or_fail(name, "start")
            if health.port_open(port):
                return
            time.sleep(0.2)
        raise StepFailed("start", name, f"not listening on port {port} after {START_TIMEOUT:.0f}s",
                         self._log(name))

    def _wait_for_leader(self, topo: Topology) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if any(health.is_raft_leader(o.operations_port, topo.channel)
                   for o in topo.orderer_list):
                return
            time.sleep(0.2)
        o = topo.orderer_list[0]
        raise StepFailed("raft election", o.name, f"no leader after {START_TIMEOUT:.0f}s",
                         self._log(o.name))

    def _at(self, node: str, step: str, action: Callable[[], object]) -> None:
        """Run an action that concerns one node; a failure names the node and its log."""
        try:
            action()
        except StepFailed:
            raise
        except AdminError as e:
            raise StepFailed(step, node, str(e), self._log(node)) from e

    @staticmethod
    def _poll(action: Callable[[], object], timeout: float) -> object:
        """Retry an action that fails while a node is still warming up, bounded by timeout."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return action()
            except AdminError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
