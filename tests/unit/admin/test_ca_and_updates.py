"""Fabric CA pins and MSP layout; channel config edits (no network)."""

import base64
import re
from pathlib import Path

import pytest
import yaml

from fedfabric.admin import ca, configupdate, fabric
from fedfabric.admin.crypto import READER_ROLES, WRITER_ROLES
from fedfabric.admin.docker import Images, compose
from fedfabric.admin.errors import AdminError
from fedfabric.admin.layout import Layout
from fedfabric.admin.topology import Topology

ROOT = Path(__file__).resolve().parents[3]


def test_python_pin_matches_the_fabric_ca_build_script():
    script = (ROOT / "network" / "build-fabric-ca.sh").read_text()
    assert re.search(r"^FABRIC_CA_VERSION=v(\S+)$", script, re.M).group(1) == \
        fabric.FABRIC_CA_VERSION


def test_node_ous_classify_by_the_ca_root_every_msp_holds():
    ous = ca.node_ous()["NodeOUs"]
    assert ous["Enable"] is True
    assert {k: v["OrganizationalUnitIdentifier"] for k, v in ous.items() if k != "Enable"} == {
        "ClientOUIdentifier": "client", "PeerOUIdentifier": "peer",
        "AdminOUIdentifier": "admin", "OrdererOUIdentifier": "orderer"}
    assert all(v["Certificate"] == "cacerts/ca.pem" for k, v in ous.items() if k != "Enable")


@pytest.mark.parametrize("name", ["", "1abc", "a b", "a/b", "x" * 65, "al:ice"])
def test_bad_identity_names_are_refused(name):
    with pytest.raises(AdminError, match="must match"):
        ca.check_name(name)


def test_each_org_ca_has_its_own_ports_and_home(tmp_path):
    t = Topology(base_port=20000, crypto="ca")
    layout = Layout(tmp_path)
    cas = [ca.orderer_ca(layout, t), *[ca.org_ca(layout, o) for o in t.org_list]]
    assert len({c.port for c in cas}) == len({c.server for c in cas}) == 4
    assert cas[1].url == "https://127.0.0.1:20214" and cas[1].name == "ca.org1.example.com"
    cmd, _ = ca.server_command(cas[1])
    assert cmd[1] == "start" and "--tls.enabled" in cmd
    assert cmd[cmd.index("--operations.listenaddress") + 1] == "127.0.0.1:20215"
    assert cmd[cmd.index("--csr.hosts") + 1] == "ca.org1.example.com,localhost,127.0.0.1"


def _config(*msp_ids: str) -> dict:
    groups = {m: {"values": {"MSP": {"value": {"config": {"name": m}}}}} for m in msp_ids}
    return {"channel_group": {"groups": {"Application": {"groups": groups}}}}


def test_config_edits_add_remove_and_revoke_without_touching_the_original():
    config = _config("Org1MSP", "Org2MSP")
    added = configupdate.with_org(config, "Org3MSP", {"values": {}})
    assert configupdate.application_orgs(added) == ["Org1MSP", "Org2MSP", "Org3MSP"]
    assert configupdate.application_orgs(config) == ["Org1MSP", "Org2MSP"]
    assert configupdate.application_orgs(configupdate.without_org(added, "Org2MSP")) == [
        "Org1MSP", "Org3MSP"]
    revoked = configupdate.with_crl(config, "Org1MSP", b"PEM CRL")
    msp = revoked["channel_group"]["groups"]["Application"]["groups"]["Org1MSP"]
    assert msp["values"]["MSP"]["value"]["config"]["revocation_list"] == [
        base64.b64encode(b"PEM CRL").decode()]
    with pytest.raises(AdminError, match="already a member"):
        configupdate.with_org(config, "Org1MSP", {})
    with pytest.raises(AdminError, match="not a member"):
        configupdate.without_org(config, "Org9MSP")
    with pytest.raises(AdminError, match="last organisation"):
        configupdate.without_org(_config("Org1MSP"), "Org1MSP")


def test_adding_or_removing_an_org_rewrites_a_majority_endorsement_policy():
    config = _config("Org1MSP", "Org2MSP", "Org3MSP")
    signature = {"type": 1, "value": configupdate.majority_endorsement(["Org1MSP", "Org2MSP",
                                                                       "Org3MSP"])}
    config["channel_group"]["groups"]["Application"]["policies"] = {
        "Endorsement": {"mod_policy": "Admins", "policy": signature}}
    added = configupdate.with_org(config, "Org4MSP", {"values": {}})

    def rule(c: dict) -> tuple[int, list[str]]:
        value = c["channel_group"]["groups"]["Application"]["policies"]["Endorsement"][
            "policy"]["value"]
        return (value["rule"]["n_out_of"]["n"],
                [i["principal"]["msp_identifier"] for i in value["identities"]])

    assert rule(config) == (2, ["Org1MSP", "Org2MSP", "Org3MSP"])
    assert rule(added) == (3, ["Org1MSP", "Org2MSP", "Org3MSP", "Org4MSP"])
    assert rule(configupdate.without_org(added, "Org2MSP")) == (2, ["Org1MSP", "Org3MSP",
                                                                    "Org4MSP"])
    implicit = {"type": 3, "value": {"rule": "MAJORITY", "sub_policy": "Endorsement"}}
    config["channel_group"]["groups"]["Application"]["policies"]["Endorsement"]["policy"] = \
        implicit
    assert configupdate.with_org(config, "Org4MSP", {})["channel_group"]["groups"][
        "Application"]["policies"]["Endorsement"]["policy"] == implicit  # follows by itself


def test_adding_or_removing_an_org_rewrites_the_any_member_readers_and_writers():
    config = _config("Org1MSP", "Org2MSP")
    config["channel_group"]["groups"]["Application"]["policies"] = {
        name: {"mod_policy": "Admins", "policy": {"type": 1, "value": configupdate.any_member(
            ["Org1MSP", "Org2MSP"], roles)}}
        for name, roles in (("Readers", READER_ROLES), ("Writers", WRITER_ROLES))}

    def principals(c: dict, name: str) -> list[str]:
        value = c["channel_group"]["groups"]["Application"]["policies"][name]["policy"]["value"]
        assert value["rule"]["n_out_of"]["n"] == 1
        assert len(value["rule"]["n_out_of"]["rules"]) == len(value["identities"])
        return [f"{i['principal']['msp_identifier']}.{i['principal']['role']}"
                for i in value["identities"]]

    added = configupdate.with_org(config, "Org3MSP", {"values": {}})
    assert principals(added, "Writers") == ["Org1MSP.ADMIN", "Org1MSP.CLIENT", "Org2MSP.ADMIN",
                                            "Org2MSP.CLIENT", "Org3MSP.ADMIN", "Org3MSP.CLIENT"]
    assert principals(added, "Readers")[-3:] == ["Org3MSP.ADMIN", "Org3MSP.PEER",
                                                 "Org3MSP.CLIENT"]
    removed = configupdate.without_org(added, "Org1MSP")
    assert not any(p.startswith("Org1MSP") for p in principals(removed, "Readers") +
                   principals(removed, "Writers"))
    implicit = {"type": 3, "value": {"rule": "ANY", "sub_policy": "Readers"}}
    config["channel_group"]["groups"]["Application"]["policies"]["Readers"]["policy"] = implicit
    assert configupdate.with_org(config, "Org3MSP", {})["channel_group"]["groups"][
        "Application"]["policies"]["Readers"]["policy"] == implicit


def test_a_file_that_is_not_an_update_is_refused(tmp_path):
    with pytest.raises(AdminError, match="cannot read the update"):
        configupdate.summary(tmp_path / "missing.pb")


def test_docker_cas_mount_only_their_home_and_nodes_only_their_own_material(tmp_path):
    t = Topology(runtime="docker", crypto="ca", added=(4,))
    layout = Layout(tmp_path)
    cas = [ca.orderer_ca(layout, t), *[ca.org_ca(layout, o) for o in t.org_list]]
    packages = {o.msp_id: f"id-{o.number}" for o in t.org_list}
    spec = compose(t, "/net", Images("o", "p", "t", "c", "ca-image"), packages, "x", cas)
    services = spec["services"]
    assert len(services) == 3 + 2 * 4 + 5  # orderers, peers and chaincode services, CAs
    ca4 = services["ca.org4.example.com"]
    assert ca4["image"] == "ca-image" and ca4["volumes"] == ["/net/ca/org4.example.com/server:"
                                                             "/fabric-ca"]
    assert "127.0.0.1:7244:7054" in ca4["ports"] and ca4["command"][0] == "start"
    for name, service in services.items():
        mounts = [v for v in service["volumes"] if v.startswith("/net")]
        assert len(mounts) == 1, name
        if "org4" in name:
            assert "org4" in mounts[0]
    peer4 = services["peer0.org4.example.com"]["volumes"][0]
    assert peer4.startswith("/net/crypto/peerOrganizations/org4.example.com/peers/"
                            "peer0.org4.example.com:") and peer4.endswith(":ro")
    assert yaml.safe_dump(spec)  # serialisable
