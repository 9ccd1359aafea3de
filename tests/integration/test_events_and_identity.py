"""Chaincode event streams with checkpoint resume, and refusal of an unknown MSP's identity."""

from __future__ import annotations

import datetime
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fedfabric.gateway import (
    ConnectionProfile,
    Contract,
    FileCheckpointer,
    GatewayError,
    Identity,
    connect,
    signer_from_pem,
    tls_channel,
)

from .conftest import unique


def test_an_event_arrives_for_a_submitted_transaction(contracts: dict[str, Contract], profile):
    rid = unique("ev")
    submitted = contracts["Org1"].submit_async("PutRecord", args=[rid, '{"e": 1}'])
    status = submitted.status()
    gw = profile.connect("Org2")
    try:
        events = gw.get_network(profile.channel).chaincode_events(
            profile.chaincode, start_block=status.block_number, timeout=60)
        with events:  # the stream's deadline bounds the wait
            event = next(e for e in events if e.transaction_id == submitted.transaction_id)
    finally:
        gw.close()
    assert event.event_name == "RecordPut" and event.block_number == status.block_number
    assert json.loads(event.payload)["id"] == rid


def test_a_stream_resumed_from_a_checkpoint_misses_none_and_repeats_none(
    contracts: dict[str, Contract], profile: ConnectionProfile, tmp_path,
):
    contract = contracts["Org1"]
    first = [contract.submit_async("PutRecord", args=[unique("cp"), "{}"]) for _ in range(5)]
    statuses = [s.status() for s in first]
    assert all(s.successful for s in statuses)
    start = min(s.block_number for s in statuses)
    ours = {s.transaction_id for s in first}

    checkpoint = FileCheckpointer(tmp_path / "checkpoint.json")
    gw = profile.connect("Org3")
    network = gw.get_network(profile.channel)
    seen = []
    with network.chaincode_events(profile.chaincode, start_block=start, timeout=60) as events:
        for event in events:
            checkpoint.checkpoint_chaincode_event(event)
            seen.append(event.transaction_id)
            if len(ours & set(seen)) == 2:
                break  # stop mid-way, possibly mid-block

    later = [contract.submit_async("PutRecord", args=[unique("cp"), "{}"]) for _ in range(2)]
    assert all(s.status().successful for s in later)
    ours |= {s.transaction_id for s in later}

    resumed_checkpoint = FileCheckpointer(tmp_path / "checkpoint.json")  # as after a restart
    assert resumed_checkpoint.block_number == checkpoint.block_number
    with network.chaincode_events(profile.chaincode, checkpoint=resumed_checkpoint,
                                  timeout=60) as events:
        for event in events:
            seen.append(event.transaction_id)
            if ours <= set(seen):
                break
    gw.close()
    mine = [t for t in seen if t in ours]
    assert len(mine) == len(set(mine)) == 7, "an event was repeated or missed"
    assert len(seen) == len(set(seen))


def _self_signed(msp_name: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"user@{msp_name}")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@pytest.mark.parametrize("msp_id", ["EvilMSP", "Org1MSP"])
def test_an_identity_the_channel_does_not_know_is_refused(profile: ConnectionProfile, msp_id):
    """A self-made certificate is refused under an unknown MSP id and under a real one alike."""
    cert, key = _self_signed(msp_id)
    peer = profile.org("Org1").peers[0]
    channel = tls_channel(peer.address, peer.tls_root_cert.read_bytes())
    try:
        gw = connect(Identity(msp_id, cert), signer_from_pem(key), channel)
        contract = gw.get_network(profile.channel).get_contract(profile.chaincode)
        with pytest.raises(GatewayError):
            contract.evaluate_transaction("GetRecord", "anything")
        rid = unique("evil")
        with pytest.raises(GatewayError):
            contract.submit_transaction("PutRecord", rid, "{}")
    finally:
        channel.close()
    own = profile.connect("Org1")
    try:
        contract = own.get_network(profile.channel).get_contract(profile.chaincode)
        with pytest.raises(GatewayError, match="NOT_FOUND"):
            contract.evaluate_transaction("GetRecord", rid)
    finally:
        own.close()
