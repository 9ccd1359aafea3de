import pytest

from fedfabric.admin.topology import Topology


def test_default_topology_is_three_orgs_three_orderers():
    t = Topology()
    assert [o.msp_id for o in t.org_list] == ["Org1MSP", "Org2MSP", "Org3MSP"]
    assert len(t.orderer_list) == 3
    assert t.channel == "fedfabric"


@pytest.mark.parametrize("orgs,orderers", [(1, 1), (3, 3), (9, 3), (16, 3), (32, 3)])
def test_every_port_is_distinct(orgs, orderers):
    t = Topology(orgs=orgs, orderers=orderers, base_port=20000)
    ports = []
    for o in t.orderer_list:
        ports += [o.port, o.admin_port, o.operations_port]
    for org in t.org_list:
        ports += [org.peer_port, org.chaincode_port, org.operations_port, org.ccaas_port]
    assert len(ports) == len(set(ports))
    assert all(20000 <= p < 20000 + 200 + 10 * (orgs + 1) for p in ports)


@pytest.mark.parametrize("kwargs,message", [
    ({"orgs": 0}, "orgs"), ({"orgs": 33}, "orgs"), ({"orderers": 2}, "orderers"),
    ({"channel": "Bad_Name"}, "channel"), ({"channel": ""}, "channel"),
    ({"base_port": 80}, "base port"), ({"store": "minio"}, "store"),
])
def test_bad_topology_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Topology(**kwargs)


def test_org_lookup_by_name_or_msp_id():
    t = Topology()
    assert t.org("org2").msp_id == "Org2MSP"
    assert t.org("Org3MSP").name == "Org3"
    with pytest.raises(KeyError, match="Org4"):
        t.org("Org4")


def test_round_trip_ignores_unknown_keys_and_lists_differences():
    t = Topology(orgs=2, base_port=30000)
    assert Topology.from_dict({**t.to_dict(), "future_field": 1}) == t
    assert t.differences(Topology(orgs=3, base_port=30000)) == ["orgs 2 -> 3"]


@pytest.mark.parametrize("runtime,count", [("native", 8), ("docker", 1)])
def test_an_s3_store_takes_ports_no_node_uses(runtime, count):
    local = Topology(orgs=32, crypto="ca", runtime=runtime, base_port=20000)
    s3 = Topology(orgs=32, crypto="ca", runtime=runtime, base_port=20000, store="s3")
    assert local.store_ports() == [] and len(s3.store_ports()) == count
    assert s3.store_ports()[0] == s3.store_port == 20180
    assert len(s3.ports()) == len(set(s3.ports())) == len(local.ports()) + count


def test_a_network_saved_before_stores_existed_has_a_local_store():
    saved = {k: v for k, v in Topology(orgs=2).to_dict().items() if k != "store"}
    assert Topology.from_dict(saved).store == "local"
    assert Topology(orgs=2).differences(Topology(orgs=2, store="s3")) == ["store local -> s3"]
