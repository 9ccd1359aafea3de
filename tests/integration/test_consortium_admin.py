"""Consortium administration on a real network of its own (identities from each org's CA):
identities revoked, an organisation joining and one leaving through signed config updates,
a chaincode upgrade, the official Node gateway client, port clashes.

The module brings one network up at FEDFABRIC_TEST_ADMIN_BASE_PORT (default 31000), apart from
the session network, and drives it through the `fedfabric` commands an admin types.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fedfabric.admin import NativeNetwork, Topology, ca, configupdate, ports
from fedfabric.admin.orgs import Consortium
from fedfabric.admin.progress import PrintProgress
from fedfabric.gateway import ConnectionProfile, Contract, Gateway, GatewayError
from fedfabric.gateway.connection import tls_channel
from fedfabric.gateway.errors import CommitError
from fedfabric.gateway.gateway import connect
from fedfabric.gateway.identity import Identity
from fedfabric.gateway.signing import signer_from_msp_dir
from support.ports import base_port

from .conftest import unique

BASE_PORT = base_port("FEDFABRIC_TEST_ADMIN_BASE_PORT", 31000, span=900)
NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def fedfabric(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fedfabric.cli", *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "250"})


def ok(*args: str) -> str:
    result = fedfabric(*args)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def admin_net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeNetwork]:
    topology = Topology(base_port=BASE_PORT, crypto="ca")
    try:
        ports.check_free(topology.ports())
    except ports.PortClash as e:
        pytest.fail(f"{e} (or set FEDFABRIC_TEST_ADMIN_BASE_PORT to a free range)")
    net = NativeNetwork(tmp_path_factory.mktemp("admin") / "network")
    try:
        began = time.monotonic()
        net.up(topology, progress=PrintProgress())
        print(f"CA network up in {time.monotonic() - began:.1f}s")
        yield net
    finally:
        net.down(purge=True)


def d(net: NativeNetwork) -> tuple[str, str]:
    return ("--dir", str(net.layout.root))


def profile_of(net: NativeNetwork) -> ConnectionProfile:
    return ConnectionProfile.from_dict(net.profile())


def gateway_as(net: NativeNetwork, msp_id: str, msp_dir: Path, peer_org: str) -> Gateway:
    """A gateway for any MSP folder (even one the profile no longer lists) at an org's peer."""
    peer = profile_of(net).org(peer_org).peers[0]
    channel = tls_channel(peer.address, peer.tls_root_cert.read_bytes())
    gateway = connect(Identity.from_msp_dir(msp_id, msp_dir), signer_from_msp_dir(msp_dir),
                      channel)
    gateway.close_channel_on_close(channel)
    return gateway


def contract_of(net: NativeNetwork, gateway: Gateway) -> Contract:
    return gateway.get_network(net.topology.channel).get_contract(net.topology.chaincode)


def put(net: NativeNetwork, org: str, user: str = "User1",
        endorsing_organizations: list[str] | None = None) -> bytes:
    """Write a record as org's user; wait until every member peer has it."""
    gateway = profile_of(net).connect(org, user=user)
    try:
        submitted = contract_of(net, gateway).submit_async(
            "PutRecord", args=[unique("rec"), json.dumps({"by": org})],
            endorsing_organizations=endorsing_organizations)
        result = submitted.result
        status = submitted.status()
        if not status.successful:
            raise CommitError(status.transaction_id, status.code)
        net.wait_for_block(status.block_number)
        return result
    finally:
        gateway.close()


def poll(action: Callable[[], object], timeout: float = 30.0) -> object:
    """Retry, bounded, while a new member's peer is still being discovered by gossip."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return action()
        except GatewayError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


# ---- certificate authorities -----------------------------------------------------------------
def test_every_org_and_the_orderers_have_their_own_running_ca(admin_net: NativeNetwork):
    from cryptography import x509

    cas = [n for n in admin_net.status() if n.kind == "ca"]
    assert sorted(n.name for n in cas) == ["ca.example.com", "ca.org1.example.com",
                                           "ca.org2.example.com", "ca.org3.example.com"]
    assert all(n.healthy and n.running for n in cas)
    for org in admin_net.topology.org_list:
        root = x509.load_pem_x509_certificate(ca.org_ca(admin_net.layout, org).cert.read_bytes())
        user = x509.load_pem_x509_certificate(
            (admin_net.layout.user_msp(org, "User1") / "signcerts" / "cert.pem").read_bytes())
        assert user.issuer == root.subject
        ous = [a.value for a in user.subject.get_attributes_for_oid(
            x509.oid.NameOID.ORGANIZATIONAL_UNIT_NAME)]
        assert "client" in ous
        admin = admin_net.layout.user_msp(org, "Admin") / "signcerts" / "cert.pem"
        assert "admin" in [a.value for a in x509.load_pem_x509_certificate(
            admin.read_bytes()).subject.get_attributes_for_oid(
            x509.oid.NameOID.ORGANIZATIONAL_UNIT_NAME)]
        assert "NodeOUs" in (admin_net.layout.org_msp(org) / "config.yaml").read_text()


def test_identity_commands_refuse_bad_input_and_change_nothing(admin_net: NativeNetwork):
    before = ok("identity", "list", "--org", "Org2", *d(admin_net), "--json")
    bad = fedfabric("identity", "register", "bad name", "--org", "Org2", *d(admin_net))
    assert bad.returncode == 1 and "must match" in bad.stderr
    bad = fedfabric("identity", "register", "carol", "--org", "Org2", "--role", "boss",
                    *d(admin_net))
    assert bad.returncode == 1 and "role must be one of client, admin, peer" in bad.stderr
    bad = fedfabric("identity", "revoke", "nobody", "--org", "Org2", *d(admin_net))
    assert bad.returncode == 1 and "nobody is not an identity" in bad.stderr
    bad = fedfabric("identity", "list", "--org", "Org9", *d(admin_net))
    assert bad.returncode == 1 and "no organisation 'Org9'" in bad.stderr
    assert ok("identity", "list", "--org", "Org2", *d(admin_net), "--json") == before


def test_a_revoked_user_is_refused_and_the_orgs_other_users_are_not(admin_net: NativeNetwork):
    for name in ("alice", "bob"):
        out = ok("identity", "register", name, "--org", "Org1", *d(admin_net))
        assert "enrolment secret" in out
        ok("identity", "enroll", name, "--org", "Org1", *d(admin_net))
    listed = {i["name"]: i for i in json.loads(
        ok("identity", "list", "--org", "Org1", *d(admin_net), "--json"))}
    assert listed["alice"]["status"] == "enrolled" and listed["alice"]["role"] == "client"
    assert "alice" in profile_of(admin_net).org("Org1").users
    put(admin_net, "Org1", "alice")  # alice works before

    ok("identity", "revoke", "alice", "--org", "Org1", *d(admin_net))

    alice = admin_net.layout.user_msp(admin_net.topology.org("Org1"), "alice")
    for peer_org in ("Org1", "Org2"):  # every peer refuses her
        gateway = gateway_as(admin_net, "Org1MSP", alice, peer_org)
        with pytest.raises(GatewayError, match="access denied"):
            contract_of(admin_net, gateway).evaluate_transaction("GetRecord", "x")
        gateway.close()
    with pytest.raises(GatewayError, match="access denied"):
        put(admin_net, "Org1", "alice")
    put(admin_net, "Org1", "bob")  # bob, of the same org, is not refused
    put(admin_net, "Org1", "User1")
    config = configupdate.fetch_config(admin_net.layout, admin_net.topology,
                                       admin_net.topology.org("Org1"))
    msp = config["channel_group"]["groups"]["Application"]["groups"]["Org1MSP"]
    assert len(msp["values"]["MSP"]["value"]["config"]["revocation_list"]) == 1
    again = fedfabric("identity", "revoke", "alice", "--org", "Org1", *d(admin_net))
    assert again.returncode == 1 and "already revoked" in again.stderr


# ---- an organisation joins ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def org4_update(admin_net: NativeNetwork) -> Path:
    """Org4 prepared, and the update that adds it proposed by Org1 (unsigned)."""
    bad = fedfabric("org", "prepare", "Org7", *d(admin_net))
    assert bad.returncode == 1 and "the next organisation of this network is Org4" in bad.stderr
    ok("org", "prepare", "Org4", *d(admin_net))
    path = admin_net.layout.root / "add-org4.pb"
    out = ok("org", "propose-add", "Org4", "--as", "Org1", "--out", str(path), *d(admin_net))
    assert "add Org4MSP" in flat(out) and "signed by nobody yet" in flat(out)
    return path


def test_an_update_signed_by_fewer_admins_than_the_policy_needs_is_refused(
        admin_net: NativeNetwork, org4_update: Path):
    ok("org", "sign-update", str(org4_update), "--org", "Org1", *d(admin_net))
    twice = fedfabric("org", "sign-update", str(org4_update), "--org", "Org1", *d(admin_net))
    assert twice.returncode == 1 and "has signed" in twice.stderr
    refused = fedfabric("org", "submit-update", str(org4_update), "--org", "Org1",
                        *d(admin_net))
    assert refused.returncode == 1
    # The update changes elements under the members' Admins majority, the Application group
    # and its Readers, Writers and Endorsement policies: the orderer names whichever it
    # checked first.
    assert re.search(r"policy for \[(Group\] /Channel/Application|Policy\] /Channel/Application/"
                     r"(Endorsement|Readers|Writers)) not satisfied: implicit policy evaluation "
                     r"failed - 1 "
                     r"sub-policies were satisfied, but this policy requires 2 of the 'Admins' "
                     r"sub-policies to be satisfied", flat(refused.stderr))
    config = configupdate.fetch_config(admin_net.layout, admin_net.topology,
                                       admin_net.topology.org("Org1"))
    assert configupdate.application_orgs(config) == ["Org1MSP", "Org2MSP", "Org3MSP"]
    early = fedfabric("org", "join", "Org4", *d(admin_net))
    assert early.returncode == 1 and "the channel has no Org4 yet" in early.stderr


@pytest.fixture(scope="module")
def org4(admin_net: NativeNetwork, org4_update: Path) -> bytes:
    """Org4 a member, each step as its own command; returns a record written before it joined."""
    before = put(admin_net, "Org1")
    began = time.monotonic()
    signed = Consortium(admin_net).summary(org4_update).signers
    for signer in ("Org1", "Org2"):
        if f"{signer}MSP" not in signed:
            ok("org", "sign-update", str(org4_update), "--org", signer, *d(admin_net))
    out = ok("org", "submit-update", str(org4_update), *d(admin_net))
    assert "fedfabric org join Org4" in flat(out)
    ok("org", "join", "Org4", *d(admin_net))
    print(f"Org4: signatures, submit and join in {time.monotonic() - began:.1f}s")
    return before


def test_org4_is_a_member_that_reads_submits_and_counts_in_the_majority(
        admin_net: NativeNetwork, org4: bytes):
    topo = admin_net.topology
    assert [o.name for o in topo.org_list] == ["Org1", "Org2", "Org3", "Org4"]
    assert topo.added == (4,)
    nodes = {n.name: n for n in admin_net.status()}
    for name in ("peer0.org4.example.com", "chaincode.org4.example.com", "ca.org4.example.com"):
        assert nodes[name].healthy
    profile = profile_of(admin_net)
    assert "Org4MSP" in profile.organizations

    gateway = profile.connect("Org4")  # Org4's own peer, as Org4's user
    assert profile.org("Org4").peers[0].address == topo.org("Org4").peer_address
    for record in (org4, put(admin_net, "Org2")):  # from before it joined, and after
        rid = json.loads(record)["id"]
        assert poll(lambda rid=rid: contract_of(admin_net, gateway).evaluate_transaction(
            "GetRecord", rid)) == record
    gateway.close()
    by_org4 = json.loads(poll(lambda: put(admin_net, "Org4")))  # type: ignore[arg-type]
    assert by_org4["owner_msp"] == "Org4MSP"

    # MAJORITY of 4 is 3: two endorsements are refused at validation, three are enough
    with pytest.raises(CommitError, match="ENDORSEMENT_POLICY_FAILURE"):
        put(admin_net, "Org1", endorsing_organizations=["Org1MSP", "Org2MSP"])
    put(admin_net, "Org1", endorsing_organizations=["Org1MSP", "Org2MSP", "Org4MSP"])


def test_the_official_node_gateway_client_evaluates_as_org4(admin_net: NativeNetwork, org4: bytes,
                                                          tmp_path: Path):
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed (Node 20): apt-get install nodejs npm")
    if not (NODE_DIR / "node_modules" / "@hyperledger" / "fabric-gateway").is_dir():
        installed = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR,
                                   capture_output=True, text=True, timeout=300)
        assert installed.returncode == 0, installed.stderr
    written = put(admin_net, "Org3")
    profile = tmp_path / "profile.json"
    profile.write_text(ok("network", "profile", *d(admin_net)))
    result = subprocess.run(["node", str(NODE_DIR / "evaluate.mjs"), str(profile), "Org4",
                             "User1", "GetRecord", json.loads(written)["id"]],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.encode() == written
    missing = subprocess.run(["node", str(NODE_DIR / "evaluate.mjs"), str(profile), "Org4",
                              "User1", "GetRecord", "no-such-record"],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


# ---- chaincode upgrade ------------------------------------------------------------------------
def test_a_chaincode_upgrade_keeps_every_record(admin_net: NativeNetwork, org4: bytes):
    written = [put(admin_net, org) for org in ("Org1", "Org2", "Org4")]
    before = admin_net.sequence
    began = time.monotonic()
    out = ok("chaincode", "upgrade", *d(admin_net))
    print(f"chaincode upgrade in {time.monotonic() - began:.1f}s")
    assert f"sequence {before + 1}" in out
    assert admin_net.sequence == before + 1
    profile = profile_of(admin_net)
    for org in [o.name for o in admin_net.topology.org_list]:
        gateway = profile.connect(org)
        for record in written:
            rid = json.loads(record)["id"]
            assert contract_of(admin_net, gateway).evaluate_transaction("GetRecord", rid) == record
        gateway.close()
    put(admin_net, "Org3")  # and it takes new writes


# ---- an organisation leaves -------------------------------------------------------------------
def test_org3_removed_its_users_are_refused_and_the_others_continue(admin_net: NativeNetwork,
                                                                     org4: bytes):
    org3 = admin_net.topology.org("Org3")
    user = admin_net.layout.user_msp(org3, "User1")
    began = time.monotonic()
    out = ok("org", "remove", "Org3", *d(admin_net))
    print(f"org remove in {time.monotonic() - began:.1f}s")
    assert "Org3 left" in out
    topo = admin_net.topology
    assert [o.name for o in topo.org_list] == ["Org1", "Org2", "Org4"]
    assert topo.removed == (3,)
    names = [n.name for n in admin_net.status()]
    assert not any("org3" in n for n in names)
    assert "Org3MSP" not in profile_of(admin_net).organizations

    gateway = gateway_as(admin_net, "Org3MSP", user, "Org1")
    with pytest.raises(GatewayError, match="access denied"):
        contract_of(admin_net, gateway).evaluate_transaction("GetRecord", "x")
    gateway.close()
    for org in ("Org1", "Org2", "Org4"):
        put(admin_net, org)
    # MAJORITY of the 3 members left is 2
    put(admin_net, "Org1", endorsing_organizations=["Org1MSP", "Org4MSP"])
    listed = json.loads(ok("org", "list", *d(admin_net), "--json"))
    assert {r["org"]: r["status"] for r in listed} == {
        "Org1": "member", "Org2": "member", "Org4": "member", "Org3": "left"}


def test_down_and_up_resume_the_changed_membership(admin_net: NativeNetwork, org4: bytes):
    record = put(admin_net, "Org4")
    stopped = admin_net.down()
    assert "peer0.org4.example.com" in stopped and "ca.org4.example.com" in stopped
    assert not any(n.running for n in admin_net.status())
    ok("network", "up", *d(admin_net))
    nodes = json.loads(ok("network", "status", *d(admin_net), "--json"))
    assert all(n["healthy"] for n in nodes)
    assert any(n["name"] == "peer0.org4.example.com" for n in nodes)
    gateway = profile_of(admin_net).connect("Org2")
    assert contract_of(admin_net, gateway).evaluate_transaction(
        "GetRecord", json.loads(record)["id"]) == record
    gateway.close()


# ---- port clashes ----------------------------------------------------------------------------
def test_a_clash_with_a_running_network_names_it_and_leaves_nothing(admin_net: NativeNetwork,
                                                                    tmp_path: Path):
    target = tmp_path / "other"
    result = fedfabric("network", "up", "--dir", str(target), "--base-port", str(BASE_PORT),
                       "--crypto", "cryptogen")
    assert result.returncode == 1
    message = flat(result.stderr)
    assert f"port {BASE_PORT + 100} on 127.0.0.1 is in use by the native network in " \
           f"{admin_net.layout.root}" in message
    assert f"fedfabric network down --dir {admin_net.layout.root}" in message
    assert "--base-port" in message
    assert not target.exists()


# ---- cryptogen networks change membership the same way -------------------------------------
def test_a_cryptogen_network_gains_an_org(tmp_path: Path):
    topology = Topology(orgs=1, orderers=1, base_port=BASE_PORT + 600)
    net = NativeNetwork(tmp_path / "small")
    try:
        net.up(topology)
        first = put(net, "Org1")
        org = Consortium(net).add("Org2")
        assert org.name == "Org2" and net.topology.members == 2
        assert (net.layout.peer_node(org) / "msp" / "config.yaml").is_file()  # cryptogen's
        gateway = profile_of(net).connect("Org2")
        assert contract_of(net, gateway).evaluate_transaction(
            "GetRecord", json.loads(first)["id"]) == first
        gateway.close()
        poll(lambda: put(net, "Org2"))
    finally:
        net.down(purge=True)
