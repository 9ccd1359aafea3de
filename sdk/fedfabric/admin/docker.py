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

from fedfabric.admin.errors import AdminError
from fedfabric.admin.fabric import (
    BUILDER_DIR,
    FABRIC_VERSION,
    TOOLS,
    chaincode_binary,
    fabric_bin,
    source_dir,
)
from fedfabric.admin.launcher import NativeNetwork, core_yaml
from fedfabric.admin.progress import Progress, SilentProgress
from fedfabric.admin.topology import CONTAINER_PORTS, HOST, Topology

MOUNT = "/fabric"  # the network directory's crypto/ and chaincode/ are mounted under here
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


def build_images() -> Images:
    """The four images, built from the cached Fabric binaries and the chaincode service."""
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
    )


def compose(topology: Topology, root: str, images: Images, packages: dict[str, str],
            project: str) -> dict[str, Any]:
    """The compose file of a topology; root is where the network directory is on the host."""
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

    crypto = f"{root}/crypto:{MOUNT}/crypto:ro"
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
            f"{HOST}:{o.operations_port}:{ops}"], [crypto], "/var/hyperledger/production")
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
            f"{HOST}:{org.operations_port}:{ops}"], [crypto], "/var/hyperledger/production")
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

    def _start_orderers(self, topo: Topology) -> None:
        images = build_images()
        spec = compose(topo, str(self.layout.root), images, self._state()["packages"],
                       self.project)
        self.compose_file.write_text(yaml.safe_dump(spec, sort_keys=False))
        self._compose("up", "-d", "--no-recreate", *[o.name for o in topo.orderer_list])
        for o in topo.orderer_list:
            self._wait_healthy(o.name, o.operations_port)

    def _start_peers(self, topo: Topology) -> None:
        self._compose("up", "-d", "--no-recreate", *[o.peer_name for o in topo.org_list])
        for org in topo.org_list:
            self._wait_healthy(org.peer_name, org.operations_port)

    def _start_chaincode(self, topo: Topology, binary: Path, packages: dict[str, str]) -> None:
        self._compose("up", "-d", *[self._cc_name(o) for o in topo.org_list])
        for org in topo.org_list:
            self._wait_port(self._cc_name(org), org.ccaas_port)

    def _stop_all(self, topo: Topology, p: Progress) -> list[str]:
        running = [n.name for n in self.status() if n.running]
        if self.compose_file.exists():
            with p.step("stop and remove the containers (volumes kept)"):
                self._compose("down")
        return running

    def down(self, purge: bool = False, progress: Progress | None = None) -> list[str]:
        stopped = super().down(False, progress)
        if purge:
            if self.compose_file.exists():
                with (progress or SilentProgress()).step("delete the ledger volumes"):
                    self._compose("down", "-v")
            super().down(True, progress)
        return stopped

    def container(self, name: str) -> str:
        return f"{self.project}-{name}"

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


def open_network(root: Path, docker_default: bool = False) -> NativeNetwork:
    """The network in root, native or Docker as its state says (or as asked, for a new one)."""
    net = NativeNetwork(root)
    if net.exists:
        return DockerNetwork(root) if net.topology.docker else net
    return DockerNetwork(root) if docker_default else net
