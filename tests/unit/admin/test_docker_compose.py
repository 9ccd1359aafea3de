from pathlib import Path

import yaml

from fedfabric.admin.docker import Images, compose
from fedfabric.admin.topology import CONTAINER_PORTS, Topology

ROOT = Path(__file__).resolve().parents[3]


def _default() -> dict:
    t = Topology(runtime="docker")
    images = Images("${FEDFABRIC_ORDERER_IMAGE}", "${FEDFABRIC_PEER_IMAGE}",
                    "${FEDFABRIC_TOOLS_IMAGE}", "${FEDFABRIC_CHAINCODE_IMAGE}")
    packages = {o.msp_id: f"${{CHAINCODE_ID_{o.name.upper()}}}" for o in t.org_list}
    return compose(t, "${FEDFABRIC_NETWORK}", images, packages, "fedfabric")


def test_the_committed_compose_file_is_what_the_launcher_generates():
    assert yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text()) == _default()


def test_every_node_has_its_container_ports_published_on_loopback_only():
    spec = _default()
    t = Topology(runtime="docker")
    assert len(spec["services"]) == 3 + 3 + 3
    published = [p for s in spec["services"].values() for p in s["ports"]]
    assert all(p.startswith("127.0.0.1:") for p in published)
    assert len({p.split(":")[1] for p in published}) == len(published)  # no host port twice
    peer = spec["services"]["peer0.org2.example.com"]
    assert f"127.0.0.1:{t.org('Org2').peer_port}:{CONTAINER_PORTS['peer']}" in peer["ports"]
    # ledgers on named volumes, crypto read-only
    assert "peer0.org2.example.com:/var/hyperledger/production" in peer["volumes"]
    assert any(v.endswith(":ro") for v in peer["volumes"])
    assert set(spec["volumes"]) == {n for n in spec["services"] if not n.startswith("chaincode")}


def test_the_docker_channel_config_uses_hostnames(tmp_path):
    from fedfabric.admin.crypto import PROFILE, configtx

    profile = configtx(Topology(runtime="docker"), tmp_path)["Profiles"][PROFILE]
    consenters = profile["Orderer"]["EtcdRaft"]["Consenters"]
    assert consenters[0]["Host"] == "orderer0.example.com" and consenters[0]["Port"] == 7050
    anchors = profile["Application"]["Organizations"][0]["AnchorPeers"]
    assert anchors == [{"Host": "peer0.org1.example.com", "Port": 7051}]


def test_an_s3_store_is_its_own_container_publishing_only_its_s3_port():
    t = Topology(runtime="docker", store="s3", base_port=40000)
    images = Images("o", "p", "t", "c", store="${FEDFABRIC_STORE_IMAGE}")
    spec = compose(t, "/net", images, {}, "ff")
    store = spec["services"]["store"]
    assert store["image"] == "${FEDFABRIC_STORE_IMAGE}" and store["hostname"] == "store"
    assert store["ports"] == ["127.0.0.1:40180:8333"]
    assert store["volumes"] == ["/net/store/conf:/conf:ro", "store:/data"]  # keys read-only
    assert "store" in spec["volumes"]  # blobs on a named volume: kept when the container goes
    command = store["command"]
    assert command[0] == "server" and "-s3.port=8333" in command
    assert "-s3.config=/conf/s3.json" in command and "-dir=/data" in command
    assert "-ip.bind=0.0.0.0" in command  # reachable on the bridge; published on loopback only
    assert "store" not in compose(Topology(runtime="docker"), "/net", images, {}, "ff")[
        "services"]


def test_purging_removes_only_this_networks_participant_containers(tmp_path, monkeypatch):
    import fedfabric.admin.docker as docker_module
    from fedfabric.admin.docker import DockerNetwork

    net = DockerNetwork(tmp_path / "network")
    calls: list[tuple[str, ...]] = []

    def fake_docker(*args: str, timeout: float = 600.0) -> str:
        calls.append(args)
        return "c1\nc2\n" if args[0] == "ps" else ""

    monkeypatch.setattr(docker_module, "docker", fake_docker)
    net._remove_participants()
    assert calls == [("ps", "-aq", "--filter", f"name=^/{net.project}-participant-"),
                     ("rm", "-f", "c1", "c2")]
