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

from fedfabric.admin import ca, chaincode, channel, crypto, health, ports, process
from fedfabric.admin.errors import AdminError, StepFailed
from fedfabric.admin.fabric import (
    BUILDER_DIR,
    FABRIC_CA_VERSION,
    FABRIC_VERSION,
    chaincode_binary,
    ensure_fabric,
    ensure_fabric_ca,
    fabric_sample_config,
)
from fedfabric.admin.layout import Layout
from fedfabric.admin.nodes import chaincode_command, orderer_command, peer_command
from fedfabric.admin.objectstore import SEAWEEDFS_PSEUDO, ObjectStoreServer, ensure_weed
from fedfabric.admin.progress import Progress, SilentProgress
from fedfabric.admin.topology import HOST, Org, Topology
from fedfabric.gateway import ConnectionProfile, GatewayError

START_TIMEOUT = 60.0


def core_yaml(builder: Path | str) -> str:
    """Fabric's sample core.yaml with no Docker and the chaincode-as-a-service builder."""
    core = yaml.safe_load((fabric_sample_config() / "core.yaml").read_text())
    core["vm"]["endpoint"] = ""  # no Docker: chaincode runs as a service
    core["chaincode"]["externalBuilders"] = [{
        "name": "ccaas_builder", "path": str(builder),
        "propagateEnvironment": ["CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG"]}]
    # Sized for many organisations on a small host: each org has one peer, which pulls blocks
    # from the orderers itself (nothing to gossip within the org), and the contracts use
    # neither private data nor key history, so their background work and databases go.
    core["peer"]["deliveryclient"]["blockGossipEnabled"] = False
    # Gossip forwards another organisation's alive message only to peers of its organisation
    # or of the receiver's: with one peer per organisation nothing is forwarded, and a peer
    # hears from another only when that one picks it among the 3 (propagatePeerNum) it sends
    # to every 5 s. At 16 organisations a pair then went Fabric's 25 s expiry without a word one
    # time in three: memberships flapped, each gateway's view of the channel lacked a few
    # organisations at any moment, and all 72 round submits of a 4-round run naming a majority
    # (fedfabric.ledger.endorsers) fell back to discovery. Sending to every peer would also
    # forward every state message to every peer (at 32 organisations both cores were busy for
    # 80 s after start), so silence expires a peer after 10 minutes instead: 120 intervals,
    # 5e-6 per pair at 32 organisations. A peer that stops is still dropped at once, when its
    # connection breaks. Peers that missed each other while joining the channel try again
    # after 2 s rather than 25.
    core["peer"]["gossip"]["aliveExpirationTimeout"] = "600s"
    core["peer"]["gossip"]["reconnectInterval"] = "2s"
    core["peer"]["gossip"]["pvtData"]["reconciliationEnabled"] = False
    core["ledger"]["history"]["enableHistoryDatabase"] = False
    return str(yaml.safe_dump(core, sort_keys=False))


SEQUENCE = 1


@dataclass(frozen=True)
class NodeStatus:
    name: str
    kind: str  # orderer | peer | chaincode | ca | store
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

    def state(self) -> dict[str, Any]:
        """The saved state (topology, packages, sequence, pending orgs): see network.json."""
        return self._state()

    def update_state(self, **changes: Any) -> None:
        """Save some keys of the state (a Topology is saved as its dict)."""
        state = self._state()
        for key, value in changes.items():
            state[key] = value.to_dict() if isinstance(value, Topology) else value
        self._save(state)

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
        wanted = self.topology if self.exists else topology or Topology()
        root = self.layout.root
        # Only the default local blob store (<network>/blobs) may be there before the network.
        if not self.exists and root.exists() and any(
                entry.name != "blobs" or not entry.is_dir() for entry in root.iterdir()):
            raise AdminError(f"{root} is not empty and holds no network: choose another directory")
        self._check_ports(wanted)
        with p.step(f"Fabric {FABRIC_VERSION} binaries"):
            ensure_fabric()
        if wanted.crypto == "ca":
            with p.step(f"Fabric CA {FABRIC_CA_VERSION} binaries"):
                ensure_fabric_ca()
        with p.step("chaincode service binary"):
            binary = chaincode_binary()
        if wanted.store == "s3":
            with p.step(f"SeaweedFS {SEAWEEDFS_PSEUDO.rsplit('-', 1)[1]} binary"):
                ensure_weed()
        if self.exists:
            p.note(f"resuming the network at {self.layout.root}")
            if wanted.crypto == "ca":
                with p.step("start the certificate authorities"):
                    self._start_cas(self._cas())
        else:
            self._create(wanted, p)
        topo = self.topology
        state = self._state()

        if topo.store == "s3":
            with p.step(f"start the S3 store, one identity per organisation "
                        f"({self.store_server().endpoint})"):
                self.sync_store(topo)
        with p.step(f"start {topo.orderers} orderer(s)"):
            self._start_orderers(topo)
        with p.step(f"start {topo.orgs} peer(s)"):
            self._start_peers(topo)
        with p.step(f"orderers join channel {topo.channel}"):
            for o in topo.orderer_list:  # a restarted orderer's admin API may lag its health
                self._at(o.name, "channel join", partial(self._poll, partial(
                    channel.join_orderer, self.layout, o, topo.channel), 30.0))
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
        sequence = self.sequence
        if chaincode.committed_sequence(self.layout, topo, first) < sequence:
            with p.step("approve the chaincode definition in every org"):
                for org in topo.org_list:
                    self._at(org.peer_name, "approve", partial(
                        chaincode.approve, self.layout, topo, org, packages[org.msp_id],
                        sequence))
            with p.step("commit the chaincode definition"):
                self._at(first.peer_name, "commit",
                         partial(chaincode.commit, self.layout, topo, sequence))
        with p.step("check the chaincode answers on every peer"):
            for org in topo.org_list:
                self.wait_chaincode(org)
        with p.step("wait until every peer sees every organisation (gossip)"):
            self.wait_for_gossip(topo)

    @property
    def sequence(self) -> int:
        """The chaincode definition's sequence this network has committed (or is to commit)."""
        return int(self._state().get("sequence", SEQUENCE))

    # ---- the S3 store -------------------------------------------------------------------------
    def store_server(self, topo: Topology | None = None) -> ObjectStoreServer:
        """The network's S3 server (store="s3"): data, config and credentials under store/."""
        topo = topo or self.topology
        return ObjectStoreServer(self.layout.root / "store", topo.store_port)

    def sync_store(self, topo: Topology | None = None) -> None:
        """Run the S3 store with exactly the member organisations' identities (an org that
        left loses its access; one that joined gets keys). Nothing without store="s3"."""
        topo = topo or self.topology
        if topo.store == "s3":
            self.store_server(topo).serve([o.msp_id for o in topo.org_list])

    def store_credentials(self, org: Org) -> Path | None:
        """The org's S3 credentials file (url, endpoint, keys), if the network has a store."""
        if self.topology.store != "s3":
            return None
        return self.layout.root / "store" / "credentials" / f"{org.msp_id}.json"

    def wait_chaincode(self, org: Org, timeout: float = 30.0) -> None:
        """Poll (bounded) until the chaincode answers through the org's peer."""
        self._at(self._cc_name(org), "chaincode query", partial(
            self._poll, partial(chaincode.query_metadata, self.layout, self.topology, org),
            timeout))

    def _check_ports(self, topo: Topology) -> None:
        """Every port of a node that is not running must be free, before anything starts."""
        if not self.exists:
            ports.check_free(topo.ports())
            return
        for name, node_ports in self._node_ports(topo).items():
            if self._running(name) is None:
                ports.check_free(node_ports)
        if topo.store == "s3" and self.store_server(topo).pid() is None:
            ports.check_free(topo.store_ports())

    def _node_ports(self, topo: Topology) -> dict[str, list[int]]:
        nodes = {o.name: [o.port, o.admin_port, o.operations_port] for o in topo.orderer_list}
        for org in topo.org_list:
            nodes[org.peer_name] = [org.peer_port, org.chaincode_port, org.operations_port]
            nodes[self._cc_name(org)] = [org.ccaas_port]
        for c in self._cas(topo):
            nodes[c.name] = [c.port, c.operations_port]
        return nodes

    # ---- starting nodes: processes here, containers in DockerNetwork ---------------------------
    def _cas(self, topo: Topology | None = None) -> list[ca.CA]:
        """The CAs of a CA network: the orderer org's, every member's and every joining org's."""
        topo = topo or self.topology
        if topo.crypto != "ca":
            return []
        orgs = [*topo.org_list, *self.pending_orgs(topo)]
        unique = [o for i, o in enumerate(orgs) if o not in orgs[:i]]
        return [ca.orderer_ca(self.layout, topo), *[ca.org_ca(self.layout, o) for o in unique]]

    def pending_orgs(self, topo: Topology | None = None) -> list[Org]:
        """Organisations prepared to join (material made, CA running) but not members yet."""
        topo = topo or self.topology
        numbers = self._state().get("pending", []) if self.exists else []
        return [Org(n, topo.base_port) for n in numbers]

    def _start_cas(self, cas: list[ca.CA], topo: Topology | None = None) -> None:
        for c in cas:
            cmd, env = ca.server_command(c)
            self._start(c.name, cmd, env)
        for c in cas:
            self._wait_healthy(c.name, c.operations_port)

    def start_cas(self, cas: list[ca.CA], topo: Topology | None = None) -> None:
        self._start_cas(cas, topo)

    def start_peers(self, topo: Topology) -> None:
        """Start the peers of topo that are not running (an org joining: its peer)."""
        self._start_peers(topo)

    def start_chaincode(self, topo: Topology, packages: dict[str, str],
                        restart: bool = False) -> None:
        """Start the chaincode services of topo that are not running; restart=True restarts
        them all (a new package id or binary)."""
        if restart:
            self.stop_nodes([self._cc_name(o) for o in topo.org_list])
        self._start_chaincode(topo, chaincode_binary(), packages)

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
        root.mkdir(parents=True, exist_ok=True)
        cas = self._cas(topo)
        try:
            with p.step("write node configuration"):
                self._write_config()
            if cas:
                with p.step(f"start {len(cas)} certificate authorities"):
                    for c in cas:
                        ca.init_server(c)
                    self._start_cas(cas, topo)
                with p.step(f"enrol the identities of {topo.orgs} org(s) and the orderers "
                            "from their CAs"):
                    ca.bootstrap_orderer_org(self.layout, topo)
                    for org in topo.org_list:
                        ca.bootstrap_org(self.layout, org)
            else:
                with p.step(f"generate crypto material for {topo.orgs} org(s) and the orderers"):
                    crypto.generate_crypto(topo, self.layout.crypto)
            with p.step(f"generate the genesis block of channel {topo.channel}"):
                crypto.generate_genesis_block(
                    topo, self.layout.crypto, self.layout.genesis_block(topo.channel))
            with p.step("package the chaincode service for every org"):
                packages = {}
                for org in topo.org_list:
                    packages[org.msp_id] = self.make_package(topo, org)
        except BaseException:
            for c in cas:  # nothing half-made is left to resume, and nothing left running
                process.stop(self.layout.pid(c.name))
            self._remove_containers([c.name for c in cas])
            shutil.rmtree(root, ignore_errors=True)
            raise
        self._save({"topology": topo.to_dict(), "fabric_version": FABRIC_VERSION,
                    "packages": packages, "sequence": SEQUENCE})

    def make_package(self, topo: Topology, org: Org, sequence: int = SEQUENCE) -> str:
        """The org's chaincode TLS certificate (first time) and CCaaS package; its id."""
        tls = self.layout.chaincode_dir(org) / "tls"
        if not (tls / "server.crt").is_file():
            if topo.crypto == "ca":
                ca.issue_chaincode_tls(self.layout, org, tls)
            else:
                crypto.issue_chaincode_tls(self.layout.crypto, org, tls)
        return chaincode.write_package(self.layout, topo, org, sequence)

    def _remove_containers(self, names: list[str]) -> None:
        """Containers of these nodes (the Docker launcher has some)."""

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
            ("certificate authorities", [c.name for c in self._cas(topo)]),
        ]
        for label, names in groups:
            if names:
                with p.step(f"stop {label}"):
                    stopped += [n for n in names if process.stop(self.layout.pid(n))]
        if topo.store == "s3":
            with p.step("stop the S3 store"):
                if self.store_server(topo).down():
                    stopped.append("store")
        return stopped

    def stop_nodes(self, names: list[str]) -> list[str]:
        """Stop some of the network's nodes (by pid); returns those that were running."""
        return [n for n in names if process.stop(self.layout.pid(n))]

    def org_nodes(self, org: Org) -> list[str]:
        """The names of an org's nodes: chaincode service, peer, CA."""
        names = [self._cc_name(org), org.peer_name]
        return [*names, org.ca_name] if self.topology.crypto == "ca" else names

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
        for c in self._cas(topo):
            ok, detail = health.healthz(c.operations_port)
            out.append(self._node_status(c.name, "ca", c.msp_id, f"{HOST}:{c.port}", ok, detail,
                                         None))
        if topo.store == "s3":
            server = self.store_server(topo)
            s = server.status()
            out.append(NodeStatus("store", "store", "", server.endpoint.split("//")[1], s.pid,
                                  s.ready, s.detail, None, self._store_log()))
        return out

    def _store_log(self) -> Path:
        return self.store_server().log

    def _node_status(self, name: str, kind: str, org: str, address: str, ok: bool, detail: str,
                     height: int | None) -> NodeStatus:
        pid = self._running(name)
        if pid is None:
            ok, detail = False, "not running"
        return NodeStatus(name, kind, org, address, pid, ok, detail, height, self.layout.log(name))

    def wait_for_block(self, block: int, timeout: float = 30.0,
                       orgs: list[Org] | None = None) -> None:
        """Poll (bounded) until every peer (or those of orgs) has committed block `block`."""
        topo = self.topology
        deadline = time.monotonic() + timeout
        while True:
            heights = [health.peer_height(o.operations_port, topo.channel) or 0
                       for o in (topo.org_list if orgs is None else orgs)]
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
                **({"store_credentials": str(self.store_credentials(org))}
                   if topo.store == "s3" else {}),
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

    def wait_for_gossip(self, topo: Topology) -> None:
        """Until every organisation's gateway can route a request to every member's peer,
        bounded: gossip has told each peer who is on the channel with the chaincode, which a
        submit naming its endorsers needs (fedfabric.ledger.endorsers). Asks the chaincode
        for its metadata, as each org's admin, once per pair until that pair answers."""
        profile = ConnectionProfile.from_dict(self.profile())
        pending = {(org.name, other.msp_id) for org in topo.org_list for other in topo.org_list}
        last = ""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            for org in topo.org_list:
                targets = sorted(t for o, t in pending if o == org.name)
                if not targets:
                    continue
                with profile.connect(org.name, user="Admin") as gateway:
                    contract = gateway.get_network(topo.channel).get_contract(topo.chaincode)
                    for target in targets:
                        try:
                            contract.evaluate("org.hyperledger.fabric:GetMetadata",
                                              endorsing_organizations=[target])
                            pending.discard((org.name, target))
                        except GatewayError as e:
                            last = e.message
            if not pending:
                return
            if time.monotonic() > deadline:
                name, target = min(pending)
                peer = next(o.peer_name for o in topo.org_list if o.name == name)
                raise StepFailed("gossip", peer, f"cannot reach {target}'s peer after "
                                 f"{START_TIMEOUT:.0f}s ({len(pending)} such pairs): {last}",
                                 self._log(peer))
            time.sleep(0.5)

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
