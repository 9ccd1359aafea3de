"""Channel config updates with Fabric's tools: fetch, edit, compute, sign, submit.

An update is a file (a common.Envelope holding a ConfigUpdateEnvelope) that travels between the
organisations' admins: one member computes it, each signer adds its admin's signature with
`peer channel signconfigtx`, and one member submits it with `peer channel update`, which adds
the submitter's signature too. The orderer checks the signatures against the policy that
governs each changed element (adding or removing an organisation, and with it the channel's
endorsement policy, a majority of the members' peers: /Channel/Application/Admins, MAJORITY of
the members' admins; an organisation's MSP: that organisation's Admins).

Example::

    config = fetch_config(layout, topology, org1)
    updated = copy.deepcopy(config)
    del updated["channel_group"]["groups"]["Application"]["groups"]["Org3MSP"]
    compute_update(topology.channel, config, updated, Path("remove-org3.pb"))
    sign(layout, org1, Path("remove-org3.pb"))
    sign(layout, org2, Path("remove-org3.pb"))
    submit(layout, topology, org4, Path("remove-org3.pb"))
"""

from __future__ import annotations

import base64
import copy
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedfabric.admin.crypto import READER_ROLES, WRITER_ROLES, run
from fedfabric.admin.errors import AdminError
from fedfabric.admin.fabric import fabric_bin
from fedfabric.admin.layout import Layout
from fedfabric.admin.nodes import admin_env
from fedfabric.admin.topology import Org, Topology

Config = dict[str, Any]


def _lator(*args: str) -> str:
    return run([str(fabric_bin("configtxlator")), *args])


def decode(data: bytes, proto: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fedfabric-cfg-") as tmp:
        src = Path(tmp) / "in.pb"
        src.write_bytes(data)
        out: dict[str, Any] = json.loads(_lator("proto_decode", "--type", proto,
                                                "--input", str(src)))
        return out


def encode(value: dict[str, Any], proto: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="fedfabric-cfg-") as tmp:
        src, dst = Path(tmp) / "in.json", Path(tmp) / "out.pb"
        src.write_text(json.dumps(value))
        _lator("proto_encode", "--type", proto, "--input", str(src), "--output", str(dst))
        return dst.read_bytes()


def _orderer_args(layout: Layout, topology: Topology) -> list[str]:
    return ["-o", topology.orderer_list[0].address, "--tls", "--cafile",
            str(layout.orderer_tls_ca)]


def fetch_config_block(layout: Layout, topology: Topology, org: Org) -> dict[str, Any]:
    """The channel's latest config block (decoded), fetched from the orderer as org's admin."""
    with tempfile.TemporaryDirectory(prefix="fedfabric-cfg-") as tmp:
        block = Path(tmp) / "config.block"
        run([str(fabric_bin("peer")), "channel", "fetch", "config", str(block),
             "-c", topology.channel, *_orderer_args(layout, topology)],
            env=admin_env(layout, org))
        return decode(block.read_bytes(), "common.Block")


def fetch_config(layout: Layout, topology: Topology, org: Org) -> Config:
    """The channel's current config (common.Config as JSON)."""
    block = fetch_config_block(layout, topology, org)
    config: Config = block["data"]["data"][0]["payload"]["data"]["config"]
    return config


def config_block_number(layout: Layout, topology: Topology, org: Org) -> int:
    return int(fetch_config_block(layout, topology, org)["header"]["number"])


def application_orgs(config: Config) -> list[str]:
    """The MSP ids of the channel's application organisations."""
    return sorted(config["channel_group"]["groups"]["Application"]["groups"])


def majority_endorsement(msp_ids: list[str]) -> dict[str, Any]:
    """The policy value (configtxlator's JSON) of crypto.majority_endorsement_rule: more than
    half of these organisations' peers."""
    members = sorted(msp_ids)
    return {
        "identities": [{"principal": {"msp_identifier": m, "role": "PEER"},
                        "principal_classification": "ROLE"} for m in members],
        "rule": {"n_out_of": {"n": len(members) // 2 + 1,
                              "rules": [{"signed_by": i} for i in range(len(members))]}},
        "version": 0,
    }


def any_member(msp_ids: list[str], roles: tuple[str, ...]) -> dict[str, Any]:
    """The policy value of crypto.any_member_rule: one signature of any of these organisations'
    identities in these roles."""
    principals = [(m, role) for m in sorted(msp_ids) for role in roles]
    return {
        "identities": [{"principal": {"msp_identifier": m, "role": role.upper()},
                        "principal_classification": "ROLE"} for m, role in principals],
        "rule": {"n_out_of": {"n": 1, "rules": [{"signed_by": i}
                                                for i in range(len(principals))]}},
        "version": 0,
    }


def _with_members_policies(config: Config) -> Config:
    """The channel's Readers, Writers and Endorsement policies rewritten for its current
    members, where they are the signature policies fedfabric writes (a channel made with
    Fabric's implicit ones keeps them: those follow the members by themselves)."""
    application = config["channel_group"]["groups"]["Application"]
    members = application_orgs(config)
    values = {"Readers": any_member(members, READER_ROLES),
              "Writers": any_member(members, WRITER_ROLES),
              "Endorsement": majority_endorsement(members)}
    for name, value in values.items():
        policy = application.get("policies", {}).get(name, {}).get("policy", {})
        if policy.get("type") == 1:
            policy["value"] = value
    return config


def with_org(config: Config, msp_id: str, group: dict[str, Any]) -> Config:
    if msp_id in application_orgs(config):
        raise AdminError(f"{msp_id} is already a member of the channel")
    updated = copy.deepcopy(config)
    updated["channel_group"]["groups"]["Application"]["groups"][msp_id] = group
    return _with_members_policies(updated)


def without_org(config: Config, msp_id: str) -> Config:
    members = application_orgs(config)
    if msp_id not in members:
        raise AdminError(f"{msp_id} is not a member of the channel")
    if len(members) == 1:
        raise AdminError("the channel's last organisation cannot leave it")
    updated = copy.deepcopy(config)
    del updated["channel_group"]["groups"]["Application"]["groups"][msp_id]
    return _with_members_policies(updated)


def with_crl(config: Config, msp_id: str, crl_pem: bytes) -> Config:
    """The org's MSP with this CRL (replacing any earlier CRL of the same CA: a CA's latest CRL
    lists every certificate it ever revoked)."""
    updated = copy.deepcopy(config)
    try:
        msp = updated["channel_group"]["groups"]["Application"]["groups"][msp_id]
    except KeyError:
        raise AdminError(f"{msp_id} is not a member of the channel") from None
    msp["values"]["MSP"]["value"]["config"]["revocation_list"] = [
        base64.b64encode(crl_pem).decode()]
    return updated


def compute_update(channel: str, original: Config, updated: Config, out: Path) -> Path:
    """Write the update from original to updated as an unsigned envelope file; returns out."""
    with tempfile.TemporaryDirectory(prefix="fedfabric-cfg-") as tmp:
        before, after = Path(tmp) / "before.pb", Path(tmp) / "after.pb"
        before.write_bytes(encode(original, "common.Config"))
        after.write_bytes(encode(updated, "common.Config"))
        delta = Path(tmp) / "update.pb"
        _lator("compute_update", "--channel_id", channel, "--original", str(before),
               "--updated", str(after), "--output", str(delta))
        update = decode(delta.read_bytes(), "common.ConfigUpdate")
    envelope = {"payload": {"header": {"channel_header": {"channel_id": channel, "type": 2}},
                            "data": {"config_update": update}}}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(encode(envelope, "common.Envelope"))
    return out


@dataclass(frozen=True)
class UpdateSummary:
    """What an update file does and who has signed it so far."""

    channel: str
    adds: list[str]
    removes: list[str]
    modifies: list[str]
    signers: list[str]

    def describe(self) -> str:
        parts = [f"add {', '.join(self.adds)}" if self.adds else "",
                 f"remove {', '.join(self.removes)}" if self.removes else "",
                 f"change {', '.join(self.modifies)}" if self.modifies else ""]
        return "; ".join(p for p in parts if p) or "no change to the organisations"


def summary(path: Path, members: list[str] | None = None) -> UpdateSummary:
    """Decode an update file: which organisations it adds, removes or changes; its signers.

    An update that removes an organisation names only those that stay, so removals are known
    only given the current members (their MSP ids).
    """
    try:
        data = path.read_bytes()
    except OSError as e:
        raise AdminError(f"cannot read the update {path}: {e.strerror}") from e
    try:
        envelope = decode(data, "common.Envelope")
        payload = envelope["payload"]
        update = payload["data"]["config_update"]
        channel = payload["header"]["channel_header"]["channel_id"]
    except (AdminError, KeyError, TypeError) as e:
        raise AdminError(f"{path} is not a channel config update") from e
    read_app = update.get("read_set", {}).get("groups", {}).get("Application", {})
    write_app = update.get("write_set", {}).get("groups", {}).get("Application", {})
    read, write = read_app.get("groups", {}), write_app.get("groups", {})
    adds: list[str] = []
    removes: list[str] = []
    if write_app and write_app.get("version") != read_app.get("version"):
        before = set(read if members is None else members)
        adds, removes = sorted(set(write) - before), sorted(before - set(write))
    modifies = sorted(m for m in set(write) & set(read)
                      if write[m].get("version") != read[m].get("version"))
    signers = [s["signature_header"]["creator"]["mspid"]
               for s in payload["data"].get("signatures", [])]
    return UpdateSummary(channel, adds, removes, modifies, signers)


def sign(layout: Layout, org: Org, path: Path) -> None:
    """Add the org's admin signature to the update file (in place)."""
    run([str(fabric_bin("peer")), "channel", "signconfigtx", "-f", str(path)],
        env=admin_env(layout, org))


def submit(layout: Layout, topology: Topology, org: Org, path: Path) -> None:
    """Send the update to the ordering service as the org's admin (who signs it too)."""
    try:
        run([str(fabric_bin("peer")), "channel", "update", "-f", str(path),
             "-c", topology.channel, *_orderer_args(layout, topology)],
            env=admin_env(layout, org))
    except AdminError as e:
        text = str(e)
        reason = text[text.find("Error:"):] if "Error:" in text else text
        raise AdminError(f"the orderer refused the update: {reason.strip()}") from e
