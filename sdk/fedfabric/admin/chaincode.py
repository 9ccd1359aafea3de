"""Chaincode lifecycle for a chaincode run as a service: package, install, approve, commit."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from fedfabric.admin.crypto import run
from fedfabric.admin.errors import AdminError
from fedfabric.admin.fabric import fabric_bin
from fedfabric.admin.layout import Layout
from fedfabric.admin.nodes import admin_env
from fedfabric.admin.topology import Org, Topology


def _tar_gz(files: dict[str, bytes]) -> bytes:
    """A deterministic .tar.gz (fixed times and owners) so a package's id is reproducible."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def package_ccaas(label: str, address: str, tls_root_cert: bytes | None) -> tuple[bytes, str]:
    """A CCaaS package whose connection.json points the peer at address; returns (bytes, id)."""
    connection: dict[str, object] = {"address": address, "dial_timeout": "10s",
                                      "tls_required": tls_root_cert is not None}
    if tls_root_cert is not None:
        connection["root_cert"] = tls_root_cert.decode()
    code = _tar_gz({"connection.json": json.dumps(connection, indent=2).encode()})
    metadata = json.dumps({"type": "ccaas", "label": label}).encode()
    package = _tar_gz({"metadata.json": metadata, "code.tar.gz": code})
    return package, f"{label}:{hashlib.sha256(package).hexdigest()}"


def package_label(topology: Topology, org: Org, sequence: int = 1) -> str:
    """The package label: one per org (its own service address) and definition sequence."""
    base = f"{topology.chaincode}_{org.name.lower()}"
    return base if sequence == 1 else f"{base}_s{sequence}"


def version(sequence: int) -> str:
    return f"{sequence}.0"


def write_package(layout: Layout, topology: Topology, org: Org, sequence: int = 1) -> str:
    """Write the org's package beside its chaincode TLS material; returns the package id."""
    tls_ca = (layout.chaincode_dir(org) / "tls" / "ca.crt").read_bytes()
    label = package_label(topology, org, sequence)
    package, package_id = package_ccaas(label, topology.chaincode_endpoint(org), tls_ca)
    (layout.chaincode_dir(org) / "package.tgz").write_bytes(package)
    return package_id


def _peer(layout: Layout, org: Org, *args: str) -> str:
    return run([str(fabric_bin("peer")), "lifecycle", "chaincode", *args],
               env=admin_env(layout, org))


def _orderer_args(layout: Layout, topology: Topology) -> list[str]:
    return ["-o", topology.orderer_list[0].address, "--tls", "--cafile", str(layout.orderer_tls_ca)]


def installed(layout: Layout, org: Org) -> list[str]:
    out = _peer(layout, org, "queryinstalled", "--output", "json")
    return [c["package_id"] for c in json.loads(out or "{}").get("installed_chaincodes") or []]


def install(layout: Layout, org: Org, package_id: str) -> None:
    if package_id not in installed(layout, org):
        _peer(layout, org, "install", str(layout.chaincode_dir(org) / "package.tgz"))


def committed_sequence(layout: Layout, topology: Topology, org: Org) -> int:
    """The committed definition's sequence on the org's peer; 0 when none is committed."""
    try:
        out = _peer(layout, org, "querycommitted", "--channelID", topology.channel,
                    "--name", topology.chaincode, "--output", "json")
    except AdminError as e:
        if "not defined" in str(e) or "not found" in str(e):
            return 0
        raise
    return int(json.loads(out).get("sequence", 0))


def approve(layout: Layout, topology: Topology, org: Org, package_id: str, sequence: int) -> None:
    _peer(layout, org, "approveformyorg", "--channelID", topology.channel,
          "--name", topology.chaincode, "--version", version(sequence),
          "--sequence", str(sequence),
          "--package-id", package_id, *_orderer_args(layout, topology))


def commit(layout: Layout, topology: Topology, sequence: int) -> None:
    peers: list[str] = []
    for org in topology.org_list:
        peers += ["--peerAddresses", org.peer_address,
                  "--tlsRootCertFiles", str(layout.peer_tls_ca(org))]
    _peer(layout, topology.org_list[0], "commit", "--channelID", topology.channel,
          "--name", topology.chaincode, "--version", version(sequence),
          "--sequence", str(sequence),
          *_orderer_args(layout, topology), *peers)


def query_metadata(layout: Layout, topology: Topology, org: Org) -> dict[str, object]:
    """Ask the chaincode, through the org's peer, for its contract metadata: proves it serves."""
    out = run([str(fabric_bin("peer")), "chaincode", "query", "-C", topology.channel,
               "-n", topology.chaincode, "-c",
               '{"Args":["org.hyperledger.fabric:GetMetadata"]}'], env=admin_env(layout, org))
    result: dict[str, object] = json.loads(out)
    return result


def package_path(layout: Layout, org: Org) -> Path:
    return layout.chaincode_dir(org) / "package.tgz"
