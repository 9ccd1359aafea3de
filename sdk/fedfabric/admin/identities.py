"""An organisation's identities on a CA network: register, enrol, list, revoke.

Revoking an identity makes its CA issue a new CRL and puts that CRL in the organisation's MSP in
the channel config, through a config update signed by the organisation's admin (the MSP value's
modification policy is the organisation's Admins policy). The peers then refuse the revoked
certificates.

Example::

    ids = Identities(NativeNetwork(root))
    secret = ids.register("Org1", "alice", "client")
    ids.enroll("Org1", "alice")            # users/alice@org1.example.com/msp: in the profile
    ids.revoke("Org1", "alice")            # alice's next transaction is refused
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fedfabric.admin import ca, configupdate
from fedfabric.admin.errors import AdminError
from fedfabric.admin.launcher import NativeNetwork
from fedfabric.admin.progress import Progress, SilentProgress
from fedfabric.admin.topology import Org

ROLES = ("client", "admin", "peer")


@dataclass(frozen=True)
class IdentityInfo:
    name: str
    role: str
    status: str  # registered | enrolled | revoked | unknown (made elsewhere)
    msp: str  # where it is enrolled, or ""


class Identities:
    """The identities of a network's organisations, through each one's own CA."""

    def __init__(self, network: NativeNetwork, progress: Progress | None = None) -> None:
        self.net = network
        self.layout = network.layout
        self.p = progress or SilentProgress()

    def _org(self, name: str) -> tuple[Org, ca.CA]:
        topo = self.net.topology
        if topo.crypto != "ca":
            raise AdminError("this network's identities come from cryptogen, which has no CA: "
                             "identities need a network made with `--crypto ca`")
        try:
            org = topo.org(name)
        except KeyError as e:
            raise AdminError(str(e.args[0])) from None
        return org, ca.org_ca(self.layout, org)

    def register(self, org_name: str, name: str, role: str = "client",
                 secret: str | None = None) -> str:
        """Register a new identity with the org's CA; returns its enrolment secret."""
        if role not in ROLES:
            raise AdminError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        ca.check_name(name)
        org, authority = self._org(org_name)
        with self.p.step(f"register {name} ({role}) with {authority.name}"):
            return ca.register(authority, name, role, secret)

    def enroll(self, org_name: str, name: str, secret: str | None = None) -> str:
        """Enrol a registered identity into users/NAME@DOMAIN/msp; returns that folder."""
        ca.check_name(name)
        org, authority = self._org(org_name)
        msp = self.layout.user_msp(org, name)
        with self.p.step(f"enrol {name} from {authority.name}"):
            ca.enroll(authority, name, secret, msp)
        return str(msp)

    def list(self, org_name: str) -> list[IdentityInfo]:
        org, authority = self._org(org_name)
        out = []
        for entry in ca.identities(authority):
            msp = self.layout.user_msp(org, entry["name"])
            out.append(IdentityInfo(entry["name"], entry["role"], entry["status"],
                                    str(msp) if msp.is_dir() else ""))
        return out

    def revoke(self, org_name: str, name: str) -> int:
        """Revoke the identity's certificates and put the new CRL in the org's MSP in the
        channel config; returns the number of the config block that carries it."""
        ca.check_name(name)
        org, authority = self._org(org_name)
        if name in ("Admin", org.peer_name, f"chaincode.{org.domain}"):
            raise AdminError(f"{name} runs {org.name}'s network administration or nodes: "
                             "revoking it would lock the organisation out")
        topo = self.net.topology
        with self.p.step(f"revoke {name} at {authority.name} and generate its CRL"):
            crl = ca.revoke(authority, name)
            crls = self.layout.org_msp(org) / "crls"
            crls.mkdir(parents=True, exist_ok=True)
            (crls / "crl.pem").write_bytes(crl)
        with self.p.step(f"put the CRL in {org.msp_id} in channel {topo.channel}, "
                         f"signed by {org.name}'s admin"):
            config = configupdate.fetch_config(self.layout, topo, org)
            updated = configupdate.with_crl(config, org.msp_id, crl)
            path = self.layout.updates / f"crl-{org.name.lower()}-{int(time.time())}.pb"
            configupdate.compute_update(topo.channel, config, updated, path)
            configupdate.submit(self.layout, topo, org, path)
            number = configupdate.config_block_number(self.layout, topo, org)
            self.net.wait_for_block(number, 60.0)
        return number
