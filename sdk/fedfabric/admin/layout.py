"""Where everything of one native network lives inside its directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fedfabric.admin.crypto import orderer_org_dir, org_dir
from fedfabric.admin.topology import Orderer, Org


def default_network_dir(docker: bool = False) -> Path:
    """$FEDFABRIC_NETWORK, else ~/.fedfabric/network (native) or ~/.fedfabric/docker."""
    if "FEDFABRIC_NETWORK" in os.environ:
        return Path(os.environ["FEDFABRIC_NETWORK"])
    return Path.home() / ".fedfabric" / ("docker" if docker else "network")


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def state(self) -> Path:
        return self.root / "network.json"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def builder(self) -> Path:
        return self.root / "builders" / "ccaas"

    @property
    def crypto(self) -> Path:
        return self.root / "crypto"

    def genesis_block(self, channel: str) -> Path:
        return self.root / "channel" / f"{channel}.block"

    def data(self, node: str) -> Path:
        return self.root / "data" / node

    def log(self, node: str) -> Path:
        return self.root / "logs" / f"{node}.log"

    def pid(self, node: str) -> Path:
        return self.root / "run" / f"{node}.pid"

    # orderer material
    def orderer_node(self, o: Orderer) -> Path:
        return orderer_org_dir(self.crypto) / "orderers" / o.name

    @property
    def orderer_tls_ca(self) -> Path:
        return orderer_org_dir(self.crypto) / "tlsca" / "tlsca.example.com-cert.pem"

    @property
    def orderer_admin_tls(self) -> Path:
        return orderer_org_dir(self.crypto) / "users" / "Admin@example.com" / "tls"

    # org material
    def peer_node(self, org: Org) -> Path:
        return org_dir(self.crypto, org) / "peers" / org.peer_name

    def peer_tls_ca(self, org: Org) -> Path:
        return self.peer_node(org) / "tls" / "ca.crt"

    def user_msp(self, org: Org, user: str) -> Path:
        return org_dir(self.crypto, org) / "users" / f"{user}@{org.domain}" / "msp"

    def users(self, org: Org) -> list[str]:
        users = org_dir(self.crypto, org) / "users"
        return sorted(p.name.split("@")[0] for p in users.iterdir()) if users.is_dir() else []

    def chaincode_dir(self, org: Org) -> Path:
        return self.root / "chaincode" / org.name.lower()

    def org_msp(self, org: Org) -> Path:
        """The org's verifying MSP: what the channel config holds for it."""
        return org_dir(self.crypto, org) / "msp"

    # certificate authorities (crypto "ca"): one per org, named by its domain
    def ca_server(self, domain: str) -> Path:
        """The CA server's home: its config, keys and registry (mounted into its container)."""
        return self.root / "ca" / domain / "server"

    def ca_registrar(self, domain: str) -> Path:
        """The CA's registrar (bootstrap admin) client: its MSP, the CRLs it generates."""
        return self.root / "ca" / domain / "registrar"

    # config updates in flight
    @property
    def updates(self) -> Path:
        return self.root / "updates"
