"""Connection profiles of the networks the launchers run, whole or for one organisation.

Example::

    profile = network_profile(Path("~/.fedfabric/network"))        # every organisation
    org2 = export_org(profile, "Org2", Path("/srv/org2/fabric"))   # only Org2's material
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fedfabric.admin.errors import AdminError
from fedfabric.gateway import ConnectionProfile, ProfileError


def network_profile(root: Path) -> ConnectionProfile:
    """The profile of the native or Docker network kept in root."""
    from fedfabric.admin.docker import open_network

    return ConnectionProfile.from_dict(open_network(Path(root).expanduser()).profile())


def load_profile(profile_file: Path | None, network_dir: Path) -> ConnectionProfile:
    """A profile from a file when one is given, else from the network directory."""
    try:
        if profile_file is not None:
            return ConnectionProfile.from_file(profile_file)
        return network_profile(network_dir)
    except (OSError, ValueError) as e:
        raise AdminError(f"cannot load the connection profile: {e}") from e


def export_org(profile: ConnectionProfile, org: str, dest: Path) -> Path:
    """Copy one organisation's users' MSP directories, its peers' TLS roots (plus the
    orderers' TLS root) and its S3 store credentials (if any) into dest, and write
    dest/profile.json naming only that organisation: what a participant service on that
    organisation's own machine holds. Returns the file."""
    try:
        o = profile.org(org)
    except ProfileError as e:
        raise AdminError(str(e)) from e
    dest = Path(dest).expanduser().resolve()
    users, peers = {}, []
    for user, msp_dir in o.users.items():
        target = dest / "users" / user / "msp"
        shutil.copytree(msp_dir, target, dirs_exist_ok=True)
        users[user] = str(target)
    for peer in o.peers:
        target = dest / "peers" / peer.name / "tls-ca.pem"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(peer.tls_root_cert, target)
        peers.append({"name": peer.name, "address": peer.address, "tls_root_cert": str(target)})
    orderers = []
    for orderer in profile.orderers:
        target = dest / "orderers" / f"{orderer.name}-tls-ca.pem"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(orderer.tls_root_cert, target)
        orderers.append({"name": orderer.name, "address": orderer.address,
                         "tls_root_cert": str(target)})
    entry: dict[str, object] = {"name": o.name, "msp_id": o.msp_id, "peers": peers,
                                "users": users}
    if o.store_credentials is not None:  # the org's own S3 keys, 0600
        target = dest / "store" / "credentials.json"
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copy(o.store_credentials, target)
        target.chmod(0o600)
        entry["store_credentials"] = str(target)
    data = {"name": f"{profile.name}-{o.name.lower()}", "channel": profile.channel,
            "chaincode": profile.chaincode, "organizations": {o.msp_id: entry},
            "orderers": orderers}
    for path in dest.rglob("*"):
        if path.is_file() and "keystore" in path.parts:
            path.chmod(0o600)
    out = dest / "profile.json"
    out.write_text(json.dumps(data, indent=2))
    return out
