"""Encrypted data sharing on the real network: grant, fetch, refuse, revoke, audit, tamper."""

from __future__ import annotations

import datetime
import os
import time
from pathlib import Path

import pytest

from fedfabric.data import DataSharing, org_key, publish_key
from fedfabric.ledger import PermissionDenied
from fedfabric.store import LocalStore, TamperedBlob

from .conftest import unique

LATER = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)


@pytest.fixture
def sides(ledgers, tmp_path):
    store = LocalStore(tmp_path / "blobs")
    out = {}
    for org in ("Org1", "Org2", "Org3"):
        key = org_key(tmp_path / "keys", f"{org}MSP")
        publish_key(ledgers[(org, "Admin")], f"{org}MSP", key)
        out[org] = (DataSharing(ledgers[(org, "Admin")], store, f"{org}MSP", key),
                    DataSharing(ledgers[(org, "User1")], store, f"{org}MSP", key))
    return store, out


@pytest.fixture
def source(tmp_path) -> Path:
    path = tmp_path / "ward.bin"
    path.write_bytes(os.urandom(3 * (1 << 20) + 123))  # several chunks
    return path


def test_a_grantee_gets_exactly_the_original_bytes_and_every_fetch_is_audited(sides, source,
                                                                              tmp_path):
    store, s = sides
    did = unique("share")
    dataset = s["Org1"][0].share(source, did, "Ward A", {"bytes": source.stat().st_size}, 1)
    assert dataset.owner_msp == "Org1MSP" and store.has(dataset.sha256)
    assert source.read_bytes() not in (store.root / dataset.sha256[:2] / dataset.sha256
                                       ).read_bytes()
    grant = s["Org1"][0].grant(did, "Org2MSP", "read", LATER)
    assert grant.wrapped_key

    for i in range(2):
        s["Org2"][1].fetch(did, tmp_path / f"copy{i}")
        assert (tmp_path / f"copy{i}").read_bytes() == source.read_bytes()
    log = s["Org3"][1].access_log(did)
    assert [(e.msp_id, e.purpose) for e in log] == [("Org2MSP", "read")] * 2


def test_refusals_decrypt_nothing(sides, source, tmp_path):
    _, s = sides
    did = unique("share")
    s["Org1"][0].share(source, did, "Ward A", {}, 1)
    with pytest.raises(PermissionDenied):  # never granted
        s["Org3"][1].fetch(did, tmp_path / "nope")
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=3)
    s["Org1"][0].grant(did, "Org3MSP", "read", soon)
    s["Org1"][0].grant(did, "Org2MSP", "read", LATER)
    s["Org2"][1].fetch(did, tmp_path / "ok")
    s["Org1"][0].revoke(did, "Org2MSP", "read")
    with pytest.raises(PermissionDenied, match="revoked"):
        s["Org2"][1].fetch(did, tmp_path / "after-revoke")
    deadline = time.monotonic() + 30  # poll, bounded, until the short grant has expired
    while s["Org3"][1].ledger.datasets.check(did, "Org3MSP", "read").allowed:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    with pytest.raises(PermissionDenied, match="expired"):
        s["Org3"][1].fetch(did, tmp_path / "after-expiry")
    assert not any((tmp_path / n).exists() for n in ("nope", "after-revoke", "after-expiry"))
    assert [e.msp_id for e in s["Org1"][1].access_log(did)] == ["Org2MSP"]


def test_a_tampered_ciphertext_is_detected_before_decryption(sides, source, tmp_path):
    store, s = sides
    did = unique("share")
    dataset = s["Org1"][0].share(source, did, "Ward A", {}, 1)
    s["Org1"][0].grant(did, "Org2MSP", "read", LATER)
    blob = store.root / dataset.sha256[:2] / dataset.sha256
    data = bytearray(blob.read_bytes())
    data[100] ^= 1
    blob.write_bytes(bytes(data))
    with pytest.raises(TamperedBlob):
        s["Org2"][1].fetch(did, tmp_path / "copy")
    assert not (tmp_path / "copy").exists()


def test_a_revoked_grantee_cannot_read_the_current_version_even_bypassing_the_chain(
        sides, source, tmp_path):
    """Revocation rotates the data key: the revoked organisation still holds the old wrapped
    key (and could skip RecordAccess), but the current ciphertext is under a new key."""
    from fedfabric.data import DecryptionError, decrypt_file
    from fedfabric.keys import unwrap

    store, s = sides
    did = unique("rotate")
    s["Org1"][0].share(source, did, "Ward A", {}, 1)
    old_grant = s["Org1"][0].grant(did, "Org2MSP", "read", LATER)
    s["Org1"][0].grant(did, "Org3MSP", "read", LATER)
    kept_key = unwrap(store.get(old_grant.wrapped_key), s["Org2"][1].key,
                      f"fedfabric dataset {did}".encode())  # what Org2 took before revocation
    _, rotated = s["Org1"][0].revoke(did, "Org2MSP", "read")
    assert rotated.version == 2
    current = s["Org2"][1].ledger.datasets.get(did)  # anyone can read where it is
    store.get_file(current.sha256, tmp_path / "current")
    with pytest.raises(DecryptionError):
        decrypt_file(tmp_path / "current", tmp_path / "stolen", kept_key)
    assert not (tmp_path / "stolen").exists()
    s["Org3"][1].fetch(did, tmp_path / "org3")  # the organisations still granted read it
    assert (tmp_path / "org3").read_bytes() == source.read_bytes()
    s["Org1"][1].fetch(did, tmp_path / "owner")
    assert (tmp_path / "owner").read_bytes() == source.read_bytes()
