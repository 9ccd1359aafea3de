"""Crypto material (cryptogen), the channel's genesis block (configtxgen), chaincode TLS certs."""

from __future__ import annotations

import datetime
import ipaddress
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fedfabric.admin.errors import AdminError
from fedfabric.admin.fabric import fabric_bin
from fedfabric.admin.topology import HOST, Org, Topology

PROFILE = "FedFabricChannel"
ORDERER_DOMAIN = "example.com"


def org_dir(crypto: Path, org: Org) -> Path:
    return crypto / "peerOrganizations" / org.domain


def orderer_org_dir(crypto: Path) -> Path:
    return crypto / "ordererOrganizations" / ORDERER_DOMAIN


def crypto_config(topology: Topology) -> dict[str, Any]:
    sans = [HOST, "localhost"]
    return {
        "OrdererOrgs": [{
            "Name": "Orderer", "Domain": ORDERER_DOMAIN, "EnableNodeOUs": True,
            "Specs": [{"Hostname": f"orderer{o.index}", "SANS": sans}
                      for o in topology.orderer_list],
        }],
        "PeerOrgs": [{
            "Name": org.name, "Domain": org.domain, "EnableNodeOUs": True,
            "Template": {"Count": 1, "SANS": sans}, "Users": {"Count": 1},
        } for org in topology.org_list],
    }


def generate_crypto(topology: Topology, crypto: Path) -> None:
    """Run cryptogen for every org and the orderer org."""
    config = crypto.parent / "crypto-config.yaml"
    config.write_text(yaml.safe_dump(crypto_config(topology), sort_keys=False))
    run([str(fabric_bin("cryptogen")), "generate", f"--config={config}", f"--output={crypto}"])


def generate_org_crypto(topology: Topology, crypto: Path, org: Org) -> None:
    """Run cryptogen for one more org (one joining a running network)."""
    spec = crypto_config(topology)["PeerOrgs"][0] | {"Name": org.name, "Domain": org.domain}
    config = crypto.parent / f"crypto-config-{org.name.lower()}.yaml"
    config.write_text(yaml.safe_dump({"PeerOrgs": [spec]}, sort_keys=False))
    run([str(fabric_bin("cryptogen")), "generate", f"--config={config}", f"--output={crypto}"])


def _signature(rule: str) -> dict[str, str]:
    return {"Type": "Signature", "Rule": rule}


def _implicit(rule: str) -> dict[str, str]:
    return {"Type": "ImplicitMeta", "Rule": rule}


def majority_endorsement_rule(msp_ids: list[str]) -> str:
    """The channel's endorsement rule: a majority of the members' peers. Written out as one
    signature policy rather than Fabric's implicit 'MAJORITY Endorsement', which re-verifies
    every endorsement once per member when a transaction is validated (16 x 9 signature checks
    per transaction per peer at 16 organisations). Membership changes rewrite it
    (fedfabric.admin.configupdate)."""
    peers = ", ".join(f"'{m}.peer'" for m in sorted(msp_ids))
    return f"OutOf({len(msp_ids) // 2 + 1}, {peers})"


READER_ROLES = ("admin", "peer", "client")  # who reads a channel, in each organisation
WRITER_ROLES = ("admin", "client")  # who sends transactions


def any_member_rule(msp_ids: list[str], roles: tuple[str, ...]) -> str:
    """A channel's Readers or Writers rule: any identity of these organisations in these roles.
    Written out as one signature policy rather than Fabric's implicit 'ANY Readers', which
    verifies the signature again for every organisation it tries: the gossip of every peer is
    checked against Readers, and at 16 organisations those checks were most of a peer's CPU.
    Membership changes rewrite it (fedfabric.admin.configupdate)."""
    principals = ", ".join(f"'{m}.{role}'" for m in sorted(msp_ids) for role in roles)
    return f"OR({principals})"


def application_org(topology: Topology, crypto: Path, org: Org) -> dict[str, Any]:
    """An application organisation as configtx.yaml defines it: MSP, policies, anchor peer."""
    m = org.msp_id
    return {
        "Name": m, "ID": m, "MSPDir": str(org_dir(crypto, org) / "msp"),
        "Policies": {
            "Readers": _signature(any_member_rule([m], READER_ROLES)),
            "Writers": _signature(any_member_rule([m], WRITER_ROLES)),
            "Admins": _signature(f"OR('{m}.admin')"),
            "Endorsement": _signature(f"OR('{m}.peer')"),
        },
        "AnchorPeers": [dict(zip(("Host", "Port"), topology.peer_endpoint(org), strict=True))],
    }


def org_definition(topology: Topology, crypto: Path, org: Org) -> dict[str, Any]:
    """The org's config group (JSON, as configtxlator writes it), made by configtxgen -printOrg
    from its MSP folder, with its anchor peer (which -printOrg leaves out)."""
    with tempfile.TemporaryDirectory(prefix="fedfabric-org-") as tmp:
        definition = application_org(topology, crypto, org)
        (Path(tmp) / "configtx.yaml").write_text(_dump({"Organizations": [definition]}))
        out = run([str(fabric_bin("configtxgen")), "-configPath", tmp, "-printOrg", org.msp_id])
    group: dict[str, Any] = json.loads(out)
    host, port = topology.peer_endpoint(org)
    group["values"]["AnchorPeers"] = {"mod_policy": "Admins", "version": "0", "value": {
        "anchor_peers": [{"host": host, "port": port}]}}
    group["values"].pop("Endpoints", None)
    return group


def _dump(data: dict[str, Any]) -> str:
    dumper = yaml.SafeDumper
    dumper.ignore_aliases = lambda *args: True  # type: ignore[method-assign]
    return yaml.dump(data, Dumper=dumper, sort_keys=False)


def configtx(topology: Topology, crypto: Path) -> dict[str, Any]:
    """configtx.yaml for one channel: Raft orderers, majority endorsement and lifecycle policies."""
    orderer_org = {
        "Name": "OrdererOrg", "ID": "OrdererMSP", "MSPDir": str(orderer_org_dir(crypto) / "msp"),
        "Policies": {
            "Readers": _signature("OR('OrdererMSP.member')"),
            "Writers": _signature("OR('OrdererMSP.member')"),
            "Admins": _signature("OR('OrdererMSP.admin')"),
        },
        "OrdererEndpoints": [":".join(map(str, topology.orderer_endpoint(o)))
                             for o in topology.orderer_list],
    }
    orgs = [application_org(topology, crypto, org) for org in topology.org_list]
    members = [org.msp_id for org in topology.org_list]
    consenters = []
    for o in topology.orderer_list:
        tls = orderer_org_dir(crypto) / "orderers" / o.name / "tls" / "server.crt"
        host, port = topology.orderer_endpoint(o)
        consenters.append({"Host": host, "Port": port,
                           "ClientTLSCert": str(tls), "ServerTLSCert": str(tls)})
    standard = {
        "Readers": _implicit("ANY Readers"), "Writers": _implicit("ANY Writers"),
        "Admins": _implicit("MAJORITY Admins"),
    }
    profile = {
        "Policies": dict(standard),
        "Capabilities": {"V2_0": True},
        "Orderer": {
            "OrdererType": "etcdraft",
            # A block is cut after the batch timeout or as soon as it holds one transaction per
            # member, so a round step every member sends at once (updates, endorsements) commits
            # without waiting out the timeout (bench/protocol.py: 0.13 -> 0.02 s at 3 orgs).
            "BatchTimeout": topology.batch_timeout,
            "BatchSize": {"MaxMessageCount": len(members), "AbsoluteMaxBytes": "10 MB",
                          "PreferredMaxBytes": "2 MB"},
            "EtcdRaft": {"Consenters": consenters, "Options": {
                "TickInterval": "250ms", "ElectionTick": 10, "HeartbeatTick": 1,
                "MaxInflightBlocks": 5, "SnapshotIntervalSize": "16 MB"}},
            "Organizations": [orderer_org],
            "Policies": {**standard, "BlockValidation": _implicit("ANY Writers")},
            "Capabilities": {"V2_0": True},
        },
        "Application": {
            "Organizations": orgs,
            "Policies": {
                **standard,
                "Readers": _signature(any_member_rule(members, READER_ROLES)),
                "Writers": _signature(any_member_rule(members, WRITER_ROLES)),
                "LifecycleEndorsement": _implicit("MAJORITY Endorsement"),
                "Endorsement": _signature(majority_endorsement_rule(members)),
            },
            "Capabilities": {"V2_5": True},
        },
    }
    return {"Profiles": {PROFILE: profile}}


def generate_genesis_block(topology: Topology, crypto: Path, out: Path) -> None:
    """Write configtx.yaml beside the block and have configtxgen make the channel's first block."""
    out.parent.mkdir(parents=True, exist_ok=True)
    (out.parent / "configtx.yaml").write_text(_dump(configtx(topology, crypto)))
    run([str(fabric_bin("configtxgen")), "-configPath", str(out.parent), "-profile", PROFILE,
         "-channelID", topology.channel, "-outputBlock", str(out)])


def issue_chaincode_tls(crypto: Path, org: Org, out_dir: Path) -> None:
    """A TLS server certificate for the org's chaincode service, signed by the org's TLS CA."""
    ca_dir = org_dir(crypto, org) / "tlsca"
    ca_cert = x509.load_pem_x509_certificate((ca_dir / f"tlsca.{org.domain}-cert.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((ca_dir / "priv_sk").read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise AdminError(f"the TLS CA key of {org.name} is not an EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = f"chaincode.{org.domain}"
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                                 x509.NameAttribute(NameOID.ORGANIZATION_NAME, org.domain)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName(name), x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "server.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (out_dir / "server.key").chmod(0o600)
    (out_dir / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (out_dir / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))


def run(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 120.0) -> str:
    """Run a Fabric tool and return its standard output; on failure raise AdminError."""
    what = f"{Path(cmd[0]).name} {' '.join(cmd[1:3])}"
    try:
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AdminError(f"{what} timed out after {timeout}s") from e
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-4000:]
        raise AdminError(f"{what} failed:\n{output}")
    return result.stdout
