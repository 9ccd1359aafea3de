"""Connection profiles: what `fedfabric network profile` prints, loaded and used to connect.

Example::

    profile = ConnectionProfile.from_file("profile.json")   # `fedfabric network profile`
    with profile.connect("Org1", user="User1") as gateway:
        contract = gateway.get_network(profile.channel).get_contract(profile.chaincode)
        print(contract.evaluate_transaction("GetRecord", "r1"))
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedfabric.gateway.connection import tls_channel
from fedfabric.gateway.gateway import Gateway, connect
from fedfabric.gateway.identity import Identity
from fedfabric.gateway.signing import signer_from_msp_dir


class ProfileError(ValueError):
    """The profile is malformed, or names no such organisation or user."""


@dataclass(frozen=True)
class PeerEndpoint:
    name: str
    address: str
    tls_root_cert: Path


@dataclass(frozen=True)
class OrgProfile:
    name: str
    msp_id: str
    peers: tuple[PeerEndpoint, ...]
    users: dict[str, Path]
    store_credentials: Path | None = None  # the org's S3 credentials file, if the network has one

    def msp_dir(self, user: str) -> Path:
        try:
            return self.users[user]
        except KeyError:
            raise ProfileError(f"{self.name} has no user {user!r} (it has "
                               f"{', '.join(sorted(self.users))})") from None


@dataclass(frozen=True)
class ConnectionProfile:
    name: str
    channel: str
    chaincode: str
    organizations: dict[str, OrgProfile]
    orderers: tuple[PeerEndpoint, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConnectionProfile:
        try:
            orgs = {
                msp: OrgProfile(
                    name=o["name"], msp_id=o["msp_id"],
                    peers=tuple(PeerEndpoint(p["name"], p["address"], Path(p["tls_root_cert"]))
                                for p in o["peers"]),
                    users={u: Path(d) for u, d in o["users"].items()},
                    store_credentials=Path(o["store_credentials"]) if o.get(
                        "store_credentials") else None,
                ) for msp, o in data["organizations"].items()
            }
            orderers = tuple(PeerEndpoint(o["name"], o["address"], Path(o["tls_root_cert"]))
                             for o in data["orderers"])
            return cls(data["name"], data["channel"], data["chaincode"], orgs, orderers)
        except (KeyError, TypeError) as e:
            raise ProfileError(f"malformed connection profile: missing or bad {e}") from e

    @classmethod
    def from_file(cls, path: str | Path) -> ConnectionProfile:
        return cls.from_dict(json.loads(Path(path).expanduser().read_text()))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "channel": self.channel, "chaincode": self.chaincode,
                "organizations": {o.msp_id: {
                    "name": o.name, "msp_id": o.msp_id,
                    "peers": [{"name": p.name, "address": p.address,
                               "tls_root_cert": str(p.tls_root_cert)} for p in o.peers],
                    "users": {u: str(d) for u, d in o.users.items()},
                    **({"store_credentials": str(o.store_credentials)}
                       if o.store_credentials else {})}
                    for o in self.organizations.values()},
                "orderers": [{"name": o.name, "address": o.address,
                              "tls_root_cert": str(o.tls_root_cert)} for o in self.orderers]}

    def org(self, name: str) -> OrgProfile:
        """An org by name ("Org2", "org2") or MSP id ("Org2MSP")."""
        for org in self.organizations.values():
            if name.lower() in (org.name.lower(), org.msp_id.lower()):
                return org
        raise ProfileError(f"no organisation {name!r} in profile {self.name!r} (it has "
                           f"{', '.join(o.name for o in self.organizations.values())})")

    def connect(self, org: str, user: str = "User1", **options: Any) -> Gateway:
        """A Gateway to the org's first peer as one of its users; closing it closes the channel."""
        o = self.org(org)
        msp_dir = o.msp_dir(user)
        peer = o.peers[0]
        channel = tls_channel(peer.address, peer.tls_root_cert.read_bytes())
        gateway = connect(Identity.from_msp_dir(o.msp_id, msp_dir), signer_from_msp_dir(msp_dir),
                          channel, **options)
        gateway.close_channel_on_close(channel)
        return gateway
