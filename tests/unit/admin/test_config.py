import hashlib
import io
import json
import re
import tarfile
from pathlib import Path

from fedfabric.admin import chaincode, crypto, fabric
from fedfabric.admin.topology import Topology

ROOT = Path(__file__).resolve().parents[3]


def test_python_pin_matches_fabric_env():
    env = dict(re.findall(r"^(\w+)=(\S+)$", (ROOT / "network" / "fabric.env").read_text(), re.M))
    assert env["FABRIC_VERSION"] == fabric.FABRIC_VERSION
    assert env["FABRIC_PSEUDO"] == fabric.FABRIC_PSEUDO
    assert env["FABRIC_PSEUDO"].endswith(env["FABRIC_COMMIT"][:12])


def test_configtx_has_majority_policies_and_every_consenter(tmp_path):
    t = Topology(orgs=3, orderers=3, base_port=20000)
    profile = crypto.configtx(t, tmp_path)["Profiles"][crypto.PROFILE]
    app = profile["Application"]
    assert app["Policies"]["Endorsement"] == {
        "Type": "Signature", "Rule": "OutOf(2, 'Org1MSP.peer', 'Org2MSP.peer', 'Org3MSP.peer')"}
    assert app["Policies"]["LifecycleEndorsement"]["Rule"] == "MAJORITY Endorsement"
    assert [o["ID"] for o in app["Organizations"]] == ["Org1MSP", "Org2MSP", "Org3MSP"]
    anchors = [o["AnchorPeers"][0]["Port"] for o in app["Organizations"]]
    assert anchors == [org.peer_port for org in t.org_list]
    consenters = profile["Orderer"]["EtcdRaft"]["Consenters"]
    assert [c["Port"] for c in consenters] == [o.port for o in t.orderer_list]
    assert profile["Orderer"]["OrdererType"] == "etcdraft"
    # a block is cut at one transaction per member, or after the batch timeout
    assert profile["Orderer"]["BatchSize"]["MaxMessageCount"] == 3
    assert profile["Orderer"]["BatchTimeout"] == "100ms"
    nine = crypto.configtx(Topology(orgs=9, base_port=20000, batch_timeout="50ms"), tmp_path)
    orderer = nine["Profiles"][crypto.PROFILE]["Orderer"]
    assert orderer["BatchSize"]["MaxMessageCount"] == 9 and orderer["BatchTimeout"] == "50ms"


def _members(blob: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def test_ccaas_package_is_deterministic_and_id_is_label_and_sha256():
    a, id_a = chaincode.package_ccaas("cc_org1", "127.0.0.1:9999", b"PEM")
    b, id_b = chaincode.package_ccaas("cc_org1", "127.0.0.1:9999", b"PEM")
    assert a == b and id_a == id_b == f"cc_org1:{hashlib.sha256(a).hexdigest()}"
    outer = _members(a)
    assert json.loads(outer["metadata.json"]) == {"type": "ccaas", "label": "cc_org1"}
    connection = json.loads(_members(outer["code.tar.gz"])["connection.json"])
    assert connection == {"address": "127.0.0.1:9999", "dial_timeout": "10s",
                          "tls_required": True, "root_cert": "PEM"}
    _, other = chaincode.package_ccaas("cc_org1", "127.0.0.1:9998", b"PEM")
    assert other != id_a


def test_core_yaml_is_sized_for_one_peer_per_organisation_on_a_small_host():
    import yaml

    from fedfabric.admin.launcher import core_yaml

    core = yaml.safe_load(core_yaml("/opt/builder"))
    assert core["vm"]["endpoint"] == ""
    assert core["chaincode"]["externalBuilders"][0]["path"] == "/opt/builder"
    assert core["peer"]["deliveryclient"]["blockGossipEnabled"] is False
    assert core["peer"]["gossip"]["orgLeader"] is True  # so each peer pulls from the orderers
    assert core["peer"]["gossip"]["pvtData"]["reconciliationEnabled"] is False
    # a peer that hears from another only now and then does not expire it: see core_yaml
    assert core["peer"]["gossip"]["aliveExpirationTimeout"] == "600s"
    assert core["peer"]["gossip"]["reconnectInterval"] == "2s"
    assert core["ledger"]["history"]["enableHistoryDatabase"] is False
