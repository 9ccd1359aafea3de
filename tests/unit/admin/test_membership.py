"""Topology of a changing consortium: added and removed organisations, CA ports, majorities."""

import pytest

from fedfabric.admin.topology import MAX_ORGS, Org, Topology


def test_an_added_org_takes_the_next_number_and_a_removed_one_keeps_its_own():
    t = Topology(orgs=3, base_port=20000)
    org4 = t.next_org()
    assert (org4.name, org4.msp_id, org4.peer_port) == ("Org4", "Org4MSP", 20000 + 200 + 40)
    t = t.with_added(org4).with_removed(t.org("Org3"))
    assert [o.name for o in t.org_list] == ["Org1", "Org2", "Org4"]
    assert t.next_org().name == "Org5"  # never Org3 again: its ports and names keep their meaning
    assert t.members == 3 and t.majority == 2
    with pytest.raises(KeyError, match="Org3"):
        t.org("Org3")


@pytest.mark.parametrize("members,majority", [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3)])
def test_majority_follows_the_members(members, majority):
    assert Topology(orgs=members).majority == majority


def test_membership_round_trips_through_the_saved_state_and_old_state_is_cryptogen():
    t = Topology(crypto="ca", added=(4, 5), removed=(2,))
    data = t.to_dict()
    data["added"], data["removed"] = list(data["added"]), list(data["removed"])  # as JSON has it
    assert Topology.from_dict(data) == t
    legacy = {k: v for k, v in Topology().to_dict().items()
              if k not in ("crypto", "added", "removed")}
    assert Topology.from_dict(legacy).crypto == "cryptogen"


@pytest.mark.parametrize("kwargs,message", [
    ({"crypto": "openssl"}, "crypto must be one of"),
    ({"added": (3,)}, "added organisation's number"),
    ({"added": (MAX_ORGS + 1,)}, "added organisation's number"),
    ({"removed": (7,)}, "never members"),
    ({"orgs": 1, "removed": (1,)}, "at least one organisation"),
    ({"added": (4, 4)}, "once"),
])
def test_bad_membership_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Topology(**kwargs)


def test_no_org_beyond_the_port_plan():
    t = Topology(orgs=MAX_ORGS)
    with pytest.raises(ValueError, match=f"at most {MAX_ORGS}"):
        t.next_org()


@pytest.mark.parametrize("orgs", [1, 3, 32])
def test_ca_ports_are_distinct_from_every_node_port(orgs):
    t = Topology(orgs=orgs, base_port=20000, crypto="ca")
    ports = t.ports()
    assert len(ports) == len(set(ports)) == 3 * 3 + 6 * orgs + 2
    assert all(20000 <= p <= 20000 + 200 + 10 * MAX_ORGS + 5 for p in ports)
    assert Org(1, 20000).ca_port == 20214 and t.orderer_ca.ca_port == 20190
    assert len(Topology(orgs=orgs, base_port=20000).ports()) == 3 * 3 + 4 * orgs  # cryptogen
