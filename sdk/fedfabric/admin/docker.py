"""The same network in Docker containers: images built locally, one container per node.

Inside the network's user-defined bridge, nodes reach each other by hostname on standard ports;
the host reaches every node on the port the native network would use (published on 127.0.0.1),
so channel joins, the chaincode lifecycle, health checks and client connections work unchanged.

Example::

    net = DockerNetwork(Path("~/.fedfabric/docker").expanduser())
    net.up(Topology(runtime="docker"))
    ...
    net.down()            # containers removed, ledgers kept on named volumes
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fedfabric.admin import ca
from fedfabric.admin.errors import AdminError
from fedfabric.admin.fabric import (
    BUILDER_DIR,
    FABRIC_VERSION,
    TOOLS,
    chaincode_binary,
    fabric_bin,
    fabric_ca_bin,
    source_dir,
)
from fedfabric.admin.launcher import NativeNetwork, core_yaml
from fedfabric.admin.objectstore import ObjectStoreServer, ensure_weed, server_args
from fedfabric.admin.progress import Progress, SilentProgress
from fedfabric.admin.topology import CONTAINER_PORTS, HOST, Org, Topology

MOUNT = "/fabric"  # the network directory's crypto/ and chaincode/ are mounted under here
STORE = "store"  # the S3 store's service and hostname inside the bridge
STORE_PORT = 8333  # its S3 port inside the bridge
BUSYBOX = Path("/bin/busybox")


def docker(*args: str, timeout: float = 600.0) -> str:
    try:
        result = subprocess.run(["docker", *args], capture_output=True, text=True,
                                timeout=timeout)
    except FileNotFoundError as e:
        raise AdminError("the docker command is not installed: run docker/engine.sh") from e
    except subprocess.TimeoutExpired as e:
        raise AdminError(f"docker {args[0]} timed out after {timeout}s") from e
    if result.returncode != 0:
        raise AdminError(f"docker {' '.join(args[:2])} failed:\n{result.stderr.strip()[-3000:]}")
    return result.stdout


def compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return ["docker", "compose"]


def engine_ready() -> str | None:
    """None when a Docker engine answers, else why not."""
    try:
        docker("info", "--format", "{{.ServerVersion}}", timeout=20)
    except AdminError as e:
        return str(e)
    return None


@dataclass(frozen=True)
class Images:
    orderer: str
    peer: str
    tools: str
    chaincode: str
    ca: str = ""  # built for networks whose identities come from CAs
    store: str = ""  # built for networks with an S3 store


def _static_busybox() -> Path:
    data = BUSYBOX.read_bytes()[:4096] if BUSYBOX.is_file() else b""
    if not data.startswith(b"\x7fELF") or b"ld-linux" in data:
        raise AdminError(f"{BUSYBOX} must be a static busybox (Debian: busybox-static); "
                         "run docker/engine.sh")
    return BUSYBOX


def _build(name: str, files: dict[str, Path | bytes]) -> str:
    """Build docker/images/<name> with these context files, unless that exact image exists."""
    dockerfile = source_dir() / "docker" / "images" / name / "Dockerfile"
    digest = hashlib.sha256(dockerfile.read_bytes())
    for rel, src in sorted(files.items()):
        digest.update(rel.encode())
        digest.update(src if isinstance(src, bytes) else src.read_bytes())
    tag = f"fedfabric/{name}:{FABRIC_VERSION}-{digest.hexdigest()[:12]}"
    try:
        docker("image", "inspect", tag, timeout=30)
        return tag
    except AdminError:
        pass
    with tempfile.TemporaryDirectory(prefix=f"fedfabric-{name}-") as ctx:
        root = Path(ctx)
        shutil.copy(dockerfile, root / "Dockerfile")
        for rel, src in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(src, bytes):
                target.write_bytes(src)
            else:
                shutil.copy(src, target)
            target.chmod(0o755)
        result = subprocess.run(["docker", "build", "-q", "-t", tag, str(root)],
                                capture_output=True, text=True,
                                env={**os.environ, "DOCKER_BUILDKIT": "0"})
    if result.returncode != 0:
        raise AdminError(f"building image {tag} failed:\n{result.stderr.strip()[-3000:]}")
    return tag


def build_images(with_ca: bool = False, with_store: bool = False) -> Images:
    """The images, built from the cached Fabric (Fabric CA, SeaweedFS) binaries and the
    chaincode."""
    busybox = _static_busybox()
    core = core_yaml("/opt/ccaas_builder").encode()
    builder = {f"builder/{p.name}": p for p in sorted(BUILDER_DIR.iterdir())}
    orderer_yaml = fabric_bin("orderer").parent.parent / "config" / "orderer.yaml"
    return Images(
        orderer=_build("orderer", {"busybox": busybox, "orderer": fabric_bin("orderer"),
                                   "orderer.yaml": orderer_yaml}),
        peer=_build("peer", {"busybox": busybox, "peer": fabric_bin("peer"),
                             "core.yaml": core, **builder}),
        tools=_build("tools", {"busybox": busybox, "core.yaml": core,
                               **{f"bin/{t}": fabric_bin(t) for t in TOOLS if t != "orderer"}}),
        chaincode=_build("chaincode", {"fedfabric-cc": chaincode_binary()}),
        ca=_build("ca", {"busybox": busybox, "fabric-ca-server": fabric_ca_bin(
            "fabric-ca-server")}) if with_ca else "",
        store=_build("store", {"busybox": busybox, "weed": ensure_weed()}) if with_store else "",
    )


def compose(topology: Topology, root: str, images: Images, packages: dict[str, str],
            project: str, cas: list[ca.CA] | None = None) -> dict[str, Any]:
    """The compose file of a topology; root is where the network directory is on the host.

    Each node mounts only its own material (read-only): an orderer or peer its node folder,
    a chaincode service its TLS folder, a CA its home. An org without a package (yet) has no
    chaincode service; cas are the CAs to run (a CA network's, see NativeNetwork._cas).
    """
    ops = CONTAINER_PORTS["operations"]
    orderer_dir = f"{MOUNT}/crypto/ordererOrganizations/example.com/orderers"
    services: dict[str, Any] = {}
    volumes: dict[str, Any] = {}

    def service(name: str, image: str, env: dict[str, str], ports: list[str],
                mounts: list[str], data: str | None = None) -> None:
        vols = list(mounts)
        if data:
            volumes[name] = {}
            vols.append(f"{name}:{data}")
        services[name] = {"image": image, "container_name": f"{project}-{name}",
                          "hostname": name, "environment": env, "ports": ports,
                          "volumes": vols, "networks": ["fabric"],
                          "restart": "unless-stopped"}

    def own(path: str) -> str:
        """A node's own folder under crypto/, mounted read-only at the same place."""
        return f"{root}/crypto/{path}:{MOUNT}/crypto/{path}:ro"

    for c in cas or []:
        service(c.name, images.ca, {"FABRIC_CA_SERVER_HOME": "/fabric-ca"},
                [f"{HOST}:{c.port}:{CONTAINER_PORTS['ca']}",
                 f"{HOST}:{c.operations_port}:{ops}"],
                [f"{root}/ca/{c.domain}/server:/fabric-ca"])
        services[c.name]["command"] = ca.server_args(
            c.name, "0.0.0.0", CONTAINER_PORTS["ca"], f"0.0.0.0:{ops}")
    if topology.store == "s3":  # only the S3 port is published; the config is read-only
        service(STORE, images.store, {}, [f"{HOST}:{topology.store_port}:{STORE_PORT}"],
                [f"{root}/store/conf:/conf:ro"], "/data")
        services[STORE]["command"] = server_args(STORE_PORT, "/data", "/conf/s3.json",
                                                 "0.0.0.0")
    for o in topology.orderer_list:
        tls = f"{orderer_dir}/{o.name}/tls"
        service(o.name, images.orderer, {
            "FABRIC_LOGGING_SPEC": "INFO",
            "ORDERER_GENERAL_LISTENADDRESS": "0.0.0.0",
            "ORDERER_GENERAL_LISTENPORT": str(CONTAINER_PORTS["orderer"]),
            "ORDERER_GENERAL_LOCALMSPID": "OrdererMSP",
            "ORDERER_GENERAL_LOCALMSPDIR": f"{orderer_dir}/{o.name}/msp",
            "ORDERER_GENERAL_TLS_ENABLED": "true",
            "ORDERER_GENERAL_TLS_PRIVATEKEY": f"{tls}/server.key",
            "ORDERER_GENERAL_TLS_CERTIFICATE": f"{tls}/server.crt",
            "ORDERER_GENERAL_TLS_ROOTCAS": f"[{tls}/ca.crt]",
            "ORDERER_GENERAL_BOOTSTRAPMETHOD": "none",
            "ORDERER_CHANNELPARTICIPATION_ENABLED": "true",
            "ORDERER_FILELEDGER_LOCATION": "/var/hyperledger/production/orderer",
            "ORDERER_CONSENSUS_WALDIR": "/var/hyperledger/production/orderer/etcdraft/wal",
            "ORDERER_CONSENSUS_SNAPDIR": "/var/hyperledger/production/orderer/etcdraft/snapshot",
            "ORDERER_ADMIN_LISTENADDRESS": f"0.0.0.0:{CONTAINER_PORTS['orderer_admin']}",
            "ORDERER_ADMIN_TLS_ENABLED": "true",
            "ORDERER_ADMIN_TLS_PRIVATEKEY": f"{tls}/server.key",
            "ORDERER_ADMIN_TLS_CERTIFICATE": f"{tls}/server.crt",
            "ORDERER_ADMIN_TLS_ROOTCAS": f"[{tls}/ca.crt]",
            "ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED": "true",
            "ORDERER_ADMIN_TLS_CLIENTROOTCAS": f"[{tls}/ca.crt]",
            "ORDERER_OPERATIONS_LISTENADDRESS": f"0.0.0.0:{ops}",
            "ORDERER_METRICS_PROVIDER": "prometheus",
        }, [f"{HOST}:{o.port}:{CONTAINER_PORTS['orderer']}",
            f"{HOST}:{o.admin_port}:{CONTAINER_PORTS['orderer_admin']}",
            f"{HOST}:{o.operations_port}:{ops}"],
            [own(f"ordererOrganizations/example.com/orderers/{o.name}")],
            "/var/hyperledger/production")
    for org in topology.org_list:
        node = f"{MOUNT}/crypto/peerOrganizations/{org.domain}/peers/{org.peer_name}"
        address = f"{org.peer_name}:{CONTAINER_PORTS['peer']}"
        service(org.peer_name, images.peer, {
            "FABRIC_LOGGING_SPEC": "INFO:gossip,discovery,comm.grpc.server=WARNING",
            "CORE_PEER_ID": org.peer_name,
            "CORE_PEER_ADDRESS": address,
            "CORE_PEER_LISTENADDRESS": f"0.0.0.0:{CONTAINER_PORTS['peer']}",
            "CORE_PEER_CHAINCODEADDRESS": f"{org.peer_name}:7052",
            "CORE_PEER_CHAINCODELISTENADDRESS": "0.0.0.0:7052",
            "CORE_PEER_GOSSIP_BOOTSTRAP": address,
            "CORE_PEER_GOSSIP_EXTERNALENDPOINT": address,
            "CORE_PEER_LOCALMSPID": org.msp_id,
            "CORE_PEER_MSPCONFIGPATH": f"{node}/msp",
            "CORE_PEER_TLS_ENABLED": "true",
            "CORE_PEER_TLS_CERT_FILE": f"{node}/tls/server.crt",
            "CORE_PEER_TLS_KEY_FILE": f"{node}/tls/server.key",
            "CORE_PEER_TLS_ROOTCERT_FILE": f"{node}/tls/ca.crt",
            "CORE_PEER_FILESYSTEMPATH": "/var/hyperledger/production",
            "CORE_OPERATIONS_LISTENADDRESS": f"0.0.0.0:{ops}",
            "CORE_METRICS_PROVIDER": "prometheus",
        }, [f"{HOST}:{org.peer_port}:{CONTAINER_PORTS['peer']}",
            f"{HOST}:{org.operations_port}:{ops}"],
            [own(f"peerOrganizations/{org.domain}/peers/{org.peer_name}")],
            "/var/hyperledger/production")
        if org.msp_id not in packages:
            continue
        cc = f"chaincode.{org.domain}"
        service(cc, images.chaincode, {
            "CHAINCODE_ID": packages[org.msp_id],
            "CHAINCODE_SERVER_ADDRESS": f"0.0.0.0:{CONTAINER_PORTS['chaincode']}",
            "CHAINCODE_TLS_CERT_FILE": f"{MOUNT}/chaincode/tls/server.crt",
            "CHAINCODE_TLS_KEY_FILE": f"{MOUNT}/chaincode/tls/server.key",
        }, [f"{HOST}:{org.ccaas_port}:{CONTAINER_PORTS['chaincode']}"],
            [f"{root}/chaincode/{org.name.lower()}:{MOUNT}/chaincode:ro"])
    return {"version": "3.7", "services": services, "volumes": volumes,
            "networks": {"fabric": {"name": f"{project}-fabric"}}}


class DockerNetwork(NativeNetwork):
    """A fedfabric network whose nodes run in containers (see the module docstring)."""

    @property
    def project(self) -> str:
        return "ff" + hashlib.sha256(str(self.layout.root).encode()).hexdigest()[:8]

    @property
    def compose_file(self) -> Path:
        return self.layout.root / "compose.yaml"

    def _compose(self, *args: str, timeout: float = 600.0) -> str:
        cmd = [*compose_command(), "-p", self.project, "-f", str(self.compose_file), *args]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise AdminError(f"{' '.join(cmd[-len(args):][:2])} failed:\n"
                             f"{result.stderr.strip()[-3000:]}")
        return result.stdout

    def up(self, topology: Topology | None = None, progress: Progress | None = None) -> None:
        reason = engine_ready()
        if reason:
            raise AdminError(f"no Docker engine answers ({reason.splitlines()[-1]}): "
                             "run docker/engine.sh to install and start one")
        if topology is not None and not topology.docker:
            raise AdminError("a DockerNetwork needs Topology(runtime='docker')")
        if not self.exists and topology is None:
            topology = Topology(runtime="docker")
        super().up(topology, progress)

    def _write_compose(self, topo: Topology, packages: dict[str, str] | None = None) -> None:
        """(Re)write the compose file for topo: every member's nodes, CAs of joining orgs."""
        if packages is None:
            packages = self._state()["packages"] if self.exists else {}
        images = build_images(with_ca=topo.crypto == "ca", with_store=topo.store == "s3")
        spec = compose(topo, str(self.layout.root), images, packages, self.project,
                       self._cas(topo))
        self.compose_file.write_text(yaml.safe_dump(spec, sort_keys=False))

    def _start_cas(self, cas: list[ca.CA], topo: Topology | None = None) -> None:
        topo = topo or self.topology
        self._write_compose(topo)
        self._compose("up", "-d", "--no-recreate", *[c.name for c in cas])
        for c in cas:
            self._wait_healthy(c.name, c.operations_port)

    def _start_orderers(self, topo: Topology) -> None:
        self._write_compose(topo)
        self._compose("up", "-d", "--no-recreate", *[o.name for o in topo.orderer_list])
        for o in topo.orderer_list:
            self._wait_healthy(o.name, o.operations_port)

    def _start_peers(self, topo: Topology) -> None:
        self._write_compose(topo)
        self._compose("up", "-d", "--no-recreate", *[o.peer_name for o in topo.org_list])
        for org in topo.org_list:
            self._wait_healthy(org.peer_name, org.operations_port)

    def _start_chaincode(self, topo: Topology, binary: Path, packages: dict[str, str]) -> None:
        self._write_compose(topo, packages)
        self._compose("up", "-d", *[self._cc_name(o) for o in topo.org_list])
        for org in topo.org_list:
            self._wait_port(self._cc_name(org), org.ccaas_port)

    def store_server(self, topo: Topology | None = None) -> ObjectStoreServer:
        return ContainerObjectStore(self, topo or self.topology)

    def _store_log(self) -> Path:
        return self._log(STORE)

    def start_store(self, topo: Topology) -> None:
        self._write_compose(topo)
        self._compose("up", "-d", "--no-recreate", STORE)

    def stop_nodes(self, names: list[str]) -> list[str]:
        """Remove these nodes' containers (their volumes stay); returns those that ran."""
        running = [n for n in names if self._running(n) is not None]
        self._remove_containers(names)
        return running

    def _remove_containers(self, names: list[str]) -> None:
        for name in names:
            with contextlib.suppress(AdminError):
                docker("rm", "-f", self.container(name), timeout=60)

    def org_material(self, org: Org) -> list[str]:
        """What the org's containers mount from the host (for tests and audits)."""
        spec = yaml.safe_load(self.compose_file.read_text())
        names = [n for n in spec["services"] if org.domain in n]
        return sorted({v for n in names for v in spec["services"][n]["volumes"]
                       if v.startswith("/")})

    def _stop_all(self, topo: Topology, p: Progress) -> list[str]:
        running = [n.name for n in self.status() if n.running]
        if self.compose_file.exists():
            with p.step("stop and remove the containers (volumes kept)"):
                self._compose("down")
        return running

    def down(self, purge: bool = False, progress: Progress | None = None) -> list[str]:
        stopped = super().down(False, progress)
        if purge:
            self._remove_participants()  # attached to the network, which cannot go before them
            if self.compose_file.exists():
                with (progress or SilentProgress()).step("delete the ledger volumes"):
                    self._compose("down", "-v")
            super().down(True, progress)
        return stopped

    def container(self, name: str) -> str:
        return f"{self.project}-{name}"

    def participant_container(self, org: str) -> str:
        """The container of org's participant service beside this network."""
        return self.container(f"participant-{org.lower()}")

    def _remove_participants(self) -> None:
        """Remove the participant containers of this network (their state stays on the host)."""
        names = docker("ps", "-aq", "--filter", f"name=^/{self.participant_container('')}",
                       timeout=60).split()
        if names:
            docker("rm", "-f", *names, timeout=120)

    def _running(self, name: str) -> int | None:
        try:
            out = docker("inspect", "-f", "{{json .State}}", self.container(name), timeout=30)
        except AdminError:
            return None
        state = json.loads(out)
        return int(state["Pid"]) if state.get("Running") else None

    def _log(self, name: str) -> Path:
        path = self.layout.log(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["docker", "logs", "--tail", "300", self.container(name)],
                                capture_output=True, text=True)
        path.write_text(result.stdout + result.stderr)
        return path

    def restart(self, name: str) -> None:
        """Restart one node's container (its ledger stays on its volume)."""
        docker("restart", self.container(name))


class ContainerObjectStore(ObjectStoreServer):
    """The Docker network's S3 store: the `store` container, its data on a volume, its
    identities in store/conf (mounted read-only); reached at 127.0.0.1:store_port from the
    host and at store:8333 inside the bridge."""

    def __init__(self, network: DockerNetwork, topo: Topology) -> None:
        super().__init__(network.layout.root / "store", topo.store_port)
        self.network, self.topo = network, topo

    def ports(self) -> list[int]:
        return [self.port]

    def pid(self) -> int | None:
        return self.network._running(STORE)

    def _launch(self) -> None:
        self.network.start_store(self.topo)

    def _halt(self, timeout: float) -> bool:
        running = self.pid() is not None
        self.network._remove_containers([STORE])
        return running

    def _log_file(self) -> Path:
        return self.network._log(STORE)


def open_network(root: Path, docker_default: bool = False) -> NativeNetwork:
    """The network in root, native or Docker as its state says (or as asked, for a new one)."""
    net = NativeNetwork(root)
    if net.exists:
        return DockerNetwork(root) if net.topology.docker else net
    return DockerNetwork(root) if docker_default else net
