"""Each organisation's Fabric CA: its server, its registrar, and the identities it enrols.

With ``crypto="ca"`` every organisation (and the orderer organisation) runs its own
fabric-ca-server with TLS. Its registrar (the CA's bootstrap admin) registers the nodes and users;
each is enrolled with fabric-ca-client into the same directory layout cryptogen writes, with
NodeOUs, so the rest of the launcher does not care where a certificate came from.

Example::

    ca = org_ca(layout, topology.org("Org1"))
    secret = register(ca, "alice", "client")
    enroll(ca, "alice", secret, layout.user_msp(org, "alice"))
    crl = revoke(ca, "alice")          # PEM CRL: goes into the org's MSP in the channel config
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from fedfabric.admin.crypto import orderer_org_dir, org_dir
from fedfabric.admin.errors import AdminError
from fedfabric.admin.fabric import fabric_ca_bin
from fedfabric.admin.layout import Layout
from fedfabric.admin.topology import HOST, Org, Topology

ROLES = ("client", "admin", "peer", "orderer")
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
REGISTRAR = "registrar"
CA_CERT = "ca.pem"  # the CA's root certificate, wherever an MSP holds it


@dataclass(frozen=True)
class CA:
    """One organisation's CA as its clients reach it: on the host, at 127.0.0.1:port."""

    name: str  # ca.org1.example.com
    domain: str  # org1.example.com
    msp_id: str
    port: int
    operations_port: int
    server: Path  # the server's home
    registrar: Path  # the registrar client's home

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"

    @property
    def cert(self) -> Path:
        """The CA's root certificate; it also issued the CA's own TLS certificate."""
        return self.server / "ca-cert.pem"

    @property
    def registrations(self) -> Path:
        return self.registrar / "registrations.json"


def org_ca(layout: Layout, org: Org) -> CA:
    return CA(org.ca_name, org.domain, org.msp_id, org.ca_port, org.ca_operations_port,
              layout.ca_server(org.domain), layout.ca_registrar(org.domain))


def orderer_ca(layout: Layout, topology: Topology) -> CA:
    o = topology.orderer_ca
    return CA(o.ca_name, o.domain, o.msp_id, o.ca_port, o.ca_operations_port,
              layout.ca_server(o.domain), layout.ca_registrar(o.domain))


def _run(cmd: list[str], what: str, timeout: float = 60.0) -> str:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AdminError(f"{what} timed out after {timeout:.0f}s") from e
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        errors = [ln for ln in output.splitlines() if "Error" in ln or "error" in ln]
        raise AdminError(f"{what} failed: {(errors or output.splitlines() or ['?'])[-1]}")
    return result.stdout + result.stderr


# ---- the server ---------------------------------------------------------------------------
def init_server(ca: CA) -> None:
    """Create the CA's key, self-signed root and registry, with a random registrar password."""
    ca.server.mkdir(parents=True, exist_ok=True)
    ca.registrar.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(18)
    secret_file = ca.registrar / "secret"
    secret_file.write_text(password)
    secret_file.chmod(0o600)
    _run([str(fabric_ca_bin("fabric-ca-server")), "init", "--home", str(ca.server),
          "-b", f"admin:{password}", *_identity_args(ca.name)],
         f"fabric-ca-server init for {ca.name}")


def _identity_args(name: str) -> list[str]:
    """Flags init and start share: the config file init writes does not keep them."""
    return ["--ca.name", name, "--csr.cn", name, "--csr.hosts", f"{name},localhost,{HOST}",
            "--tls.enabled", "--cfg.identities.allowremove", "--crl.expiry", "87600h"]


def server_args(name: str, listen: str, port: int, operations: str) -> list[str]:
    """fabric-ca-server's arguments (after the binary) for a server that init_server made."""
    return ["start", *_identity_args(name), "--address", listen, "--port", str(port),
            "--operations.listenaddress", operations, "--metrics.provider", "disabled"]


def server_command(ca: CA) -> tuple[list[str], dict[str, str]]:
    """The native CA process: on 127.0.0.1, its home as working directory."""
    cmd = [str(fabric_ca_bin("fabric-ca-server")), *server_args(
        ca.name, HOST, ca.port, f"{HOST}:{ca.operations_port}"), "--home", str(ca.server)]
    return cmd, {"PATH": "/usr/bin:/bin", "FABRIC_CA_SERVER_HOME": str(ca.server)}


# ---- the client ---------------------------------------------------------------------------
def _client(ca: CA, home: Path, *args: str, what: str) -> str:
    return _run([str(fabric_ca_bin("fabric-ca-client")), *args, "-H", str(home),
                 "-u", ca.url, "--tls.certfiles", str(ca.cert)], what)


def _registrar_ready(ca: CA) -> Path:
    """The registrar's client home, enrolled on first use."""
    if not (ca.registrar / "msp" / "signcerts" / "cert.pem").is_file():
        password = (ca.registrar / "secret").read_text().strip()
        _run([str(fabric_ca_bin("fabric-ca-client")), "enroll", "-H", str(ca.registrar),
              "-u", f"https://admin:{password}@{HOST}:{ca.port}",
              "--tls.certfiles", str(ca.cert)], f"enrolling the registrar of {ca.name}")
    return ca.registrar


def _records(ca: CA) -> dict[str, dict[str, str]]:
    if not ca.registrations.is_file():
        return {}
    records: dict[str, dict[str, str]] = json.loads(ca.registrations.read_text())
    return records


def _save_records(ca: CA, records: dict[str, dict[str, str]]) -> None:
    tmp = ca.registrations.with_suffix(".tmp")
    tmp.write_text(json.dumps(records, indent=2))
    tmp.chmod(0o600)
    tmp.replace(ca.registrations)


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise AdminError(f"identity name {name!r} must match {NAME_PATTERN.pattern}")


def register(ca: CA, name: str, role: str, secret: str | None = None) -> str:
    """Register an identity of a role (client, admin, peer, orderer); returns its secret.

    The secret is kept in the registrar's records so that `enroll` can use it later.
    """
    check_name(name)
    if role not in ROLES:
        raise AdminError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    records = _records(ca)
    if name in records:
        raise AdminError(f"{name} is already registered with {ca.name}")
    secret = secret or secrets.token_urlsafe(12)
    _client(ca, _registrar_ready(ca), "register", "--id.name", name, "--id.secret", secret,
            "--id.type", role, "--id.maxenrollments", "-1", what=f"registering {name}")
    records[name] = {"role": role, "secret": secret, "status": "registered"}
    _save_records(ca, records)
    return secret


def secret_of(ca: CA, name: str) -> str:
    try:
        return _records(ca)[name]["secret"]
    except KeyError:
        raise AdminError(f"{name} is not registered with {ca.name}: "
                         f"run `fedfabric identity register` first") from None


def _enroll_into(ca: CA, name: str, secret: str, work: Path, hosts: Sequence[str],
                 tls: bool) -> Path:
    args = ["enroll", "-u", f"https://{name}:{secret}@{HOST}:{ca.port}",
            "--tls.certfiles", str(ca.cert), "-H", str(work), "--mspdir", str(work / "msp")]
    if hosts:
        args += ["--csr.hosts", ",".join(hosts)]
    if tls:
        args += ["--enrollment.profile", "tls"]
    _run([str(fabric_ca_bin("fabric-ca-client")), *args], f"enrolling {name} at {ca.name}")
    return work / "msp"


def enroll(ca: CA, name: str, secret: str | None, msp: Path,
           hosts: Sequence[str] = ()) -> None:
    """Enrol an identity into an MSP folder (signcerts, keystore, cacerts, NodeOUs config)."""
    secret = secret or secret_of(ca, name)
    with tempfile.TemporaryDirectory(prefix="fedfabric-enroll-") as tmp:
        got = _enroll_into(ca, name, secret, Path(tmp), hosts, tls=False)
        if msp.exists():
            shutil.rmtree(msp)
        msp.mkdir(parents=True)
        for sub in ("signcerts", "keystore"):
            shutil.copytree(got / sub, msp / sub)
        _write_verifying_msp(ca, msp)
    for key in (msp / "keystore").iterdir():
        key.chmod(0o600)
    _mark_enrolled(ca, name)


def _mark_enrolled(ca: CA, name: str) -> None:
    records = _records(ca)
    if name in records and records[name].get("status") != "revoked":
        records[name]["status"] = "enrolled"
        _save_records(ca, records)


def enroll_tls(ca: CA, name: str, secret: str | None, out: Path, hosts: Sequence[str],
               prefix: str = "server") -> None:
    """Enrol a TLS certificate (profile tls) as out/{prefix}.crt, {prefix}.key and ca.crt."""
    secret = secret or secret_of(ca, name)
    with tempfile.TemporaryDirectory(prefix="fedfabric-enroll-") as tmp:
        got = _enroll_into(ca, name, secret, Path(tmp), hosts, tls=True)
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(got / "signcerts" / "cert.pem", out / f"{prefix}.crt")
        key = next((got / "keystore").iterdir())
        shutil.copy(key, out / f"{prefix}.key")
        (out / f"{prefix}.key").chmod(0o600)
        shutil.copy(ca.cert, out / "ca.crt")
    _mark_enrolled(ca, name)


def node_ous() -> dict[str, object]:
    def ou(name: str) -> dict[str, str]:
        return {"Certificate": f"cacerts/{CA_CERT}", "OrganizationalUnitIdentifier": name}

    return {"NodeOUs": {"Enable": True, "ClientOUIdentifier": ou("client"),
                        "PeerOUIdentifier": ou("peer"), "AdminOUIdentifier": ou("admin"),
                        "OrdererOUIdentifier": ou("orderer")}}


def _write_verifying_msp(ca: CA, msp: Path) -> None:
    """cacerts, tlscacerts (the same root: one CA issues both) and the NodeOUs config."""
    for sub in ("cacerts", "tlscacerts"):
        (msp / sub).mkdir(parents=True, exist_ok=True)
        shutil.copy(ca.cert, msp / sub / CA_CERT)
    (msp / "config.yaml").write_text(yaml.safe_dump(node_ous(), sort_keys=False))


def revoke(ca: CA, name: str) -> bytes:
    """Revoke every certificate of an identity and return the CA's new CRL (PEM)."""
    records = _records(ca)
    if name not in records:
        raise AdminError(f"{name} is not an identity of {ca.name}")
    if records[name].get("status") == "revoked":
        raise AdminError(f"{name} is already revoked")
    registrar = _registrar_ready(ca)
    _client(ca, registrar, "revoke", "-e", name, "-r", "keycompromise", "--gencrl",
            what=f"revoking {name}")
    records[name]["status"] = "revoked"
    _save_records(ca, records)
    return crl(ca)


def crl(ca: CA) -> bytes:
    """The CA's latest CRL (written by a revocation), or b'' when it has none."""
    path = ca.registrar / "msp" / "crls" / "crl.pem"
    return path.read_bytes() if path.is_file() else b""


def identities(ca: CA) -> list[dict[str, str]]:
    """Every identity the CA knows (name, role), with what this network knows of it."""
    out = _client(ca, _registrar_ready(ca), "identity", "list", what=f"listing {ca.name}")
    records = _records(ca)
    found = []
    for line in out.splitlines():
        m = re.search(r"Name: ([^,]+), Type: ([^,]+),", line)
        if m and m.group(1) != "admin":
            name = m.group(1)
            found.append({"name": name, "role": m.group(2),
                          "status": records.get(name, {}).get("status", "unknown")})
    return found


# ---- bootstrapping an organisation in the cryptogen layout ----------------------------------
def _hosts(name: str) -> list[str]:
    return [name, "localhost", HOST]


def _org_msp(ca: CA, base: Path) -> None:
    """The org's verifying MSP, plus tlsca/ and ca/ copies of the root as cryptogen names them."""
    _write_verifying_msp(ca, base / "msp")
    for sub, prefix in (("tlsca", "tlsca"), ("ca", "ca")):
        (base / sub).mkdir(parents=True, exist_ok=True)
        shutil.copy(ca.cert, base / sub / f"{prefix}.{ca.domain}-cert.pem")


def bootstrap_org(layout: Layout, org: Org) -> None:
    """Register and enrol the org's peer, Admin and User1 from its running CA."""
    ca = org_ca(layout, org)
    base = org_dir(layout.crypto, org)
    _org_msp(ca, base)
    register(ca, org.peer_name, "peer")
    enroll(ca, org.peer_name, None, layout.peer_node(org) / "msp", _hosts(org.peer_name))
    enroll_tls(ca, org.peer_name, None, layout.peer_node(org) / "tls", _hosts(org.peer_name))
    register(ca, "Admin", "admin")
    enroll(ca, "Admin", None, layout.user_msp(org, "Admin"))
    register(ca, "User1", "client")
    enroll(ca, "User1", None, layout.user_msp(org, "User1"))


def issue_chaincode_tls(layout: Layout, org: Org, out: Path) -> None:
    """The TLS server certificate of the org's chaincode service, from its CA."""
    name = f"chaincode.{org.domain}"
    register(org_ca(layout, org), name, "client")
    enroll_tls(org_ca(layout, org), name, None, out, _hosts(name))


def bootstrap_orderer_org(layout: Layout, topology: Topology) -> None:
    """Register and enrol every orderer (MSP and TLS) and the orderer org's Admin (MSP and a
    TLS client certificate for osnadmin)."""
    ca = orderer_ca(layout, topology)
    base = orderer_org_dir(layout.crypto)
    _org_msp(ca, base)
    for o in topology.orderer_list:
        register(ca, o.name, "orderer")
        enroll(ca, o.name, None, layout.orderer_node(o) / "msp", _hosts(o.name))
        enroll_tls(ca, o.name, None, layout.orderer_node(o) / "tls", _hosts(o.name))
    register(ca, "Admin", "admin")
    admin = base / "users" / f"Admin@{ca.domain}"
    enroll(ca, "Admin", None, admin / "msp")
    enroll_tls(ca, "Admin", None, admin / "tls", [], prefix="client")
