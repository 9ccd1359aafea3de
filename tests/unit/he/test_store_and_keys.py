from pathlib import Path

import pytest

from fedfabric.keys import UnwrapError, generate_org_key, unwrap, wrap
from fedfabric.store import LocalStore, StoreError, TamperedBlob, sha256


def test_put_get_and_manifests(tmp_path: Path):
    store = LocalStore(tmp_path)
    digest = store.put(b"hello")
    assert digest == sha256(b"hello") and store.get(digest) == b"hello"
    assert store.put(b"hello") == digest  # idempotent
    manifest_hash = store.put_shards([b"a", b"b", b"c"], 10, "ckks", {"round": 1})
    manifest, shards = store.get_shards(manifest_hash)
    assert shards == [b"a", b"b", b"c"] and manifest.length == 10 and manifest.meta == {"round": 1}
    assert not list(tmp_path.rglob(".tmp-*"))


def test_a_tampered_shard_is_detected(tmp_path: Path):
    store = LocalStore(tmp_path)
    manifest_hash = store.put_shards([b"shard-0", b"shard-1"], 2, "ckks")
    segment = store.get_manifest(manifest_hash).segments[0]
    target = tmp_path / segment[:2] / segment
    target.write_bytes(target.read_bytes().replace(b"shard-1", b"shard-X"))
    with pytest.raises(TamperedBlob):
        store.get_shards(manifest_hash)


def test_missing_and_malformed_references_are_refused(tmp_path: Path):
    store = LocalStore(tmp_path)
    with pytest.raises(StoreError, match="no blob"):
        store.get("0" * 64)
    with pytest.raises(StoreError, match="not a sha256"):
        store.get("../../etc/passwd")
    with pytest.raises(StoreError, match="not a manifest"):
        store.get_manifest(store.put(b"[1, 2]"))


def test_a_wrapped_secret_opens_only_with_its_key_and_context():
    private, public = generate_org_key()
    other, _ = generate_org_key()
    blob = wrap(b"ckks secret", public, context=b"task-1")
    assert unwrap(blob, private, context=b"task-1") == b"ckks secret"
    with pytest.raises(UnwrapError):
        unwrap(blob, other, context=b"task-1")
    with pytest.raises(UnwrapError):
        unwrap(blob, private, context=b"task-2")
    with pytest.raises(UnwrapError):
        unwrap(blob[:-1] + bytes([blob[-1] ^ 1]), private, context=b"task-1")
    assert wrap(b"ckks secret", public) != wrap(b"ckks secret", public)  # fresh each time


def test_the_organisation_key_persists_so_later_grants_can_be_read(tmp_path):
    """Training and data sharing use one persistent key per organisation: a secret wrapped to
    its public key after training (a data grant) is read with the key loaded again later."""
    import os

    from fedfabric.keys import org_key, public_pem, unwrap, wrap

    first = org_key(tmp_path / "keys", "Org2MSP")  # made when the participant first ran
    published = public_pem(first.public_key())
    again = org_key(tmp_path / "keys", "Org2MSP")  # a later process
    assert public_pem(again.public_key()) == published
    grant = wrap(b"dataset key", published, b"fedfabric dataset d1")
    assert unwrap(grant, org_key(tmp_path / "keys", "Org2MSP"), b"fedfabric dataset d1") == \
        b"dataset key"
    assert oct(os.stat(tmp_path / "keys" / "Org2MSP.pem").st_mode & 0o777) == "0o600"
