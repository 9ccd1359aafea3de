import os
from pathlib import Path

import pytest

from fedfabric.data import DecryptionError, decrypt_file, encrypt_file, new_key
from fedfabric.store import LocalStore, TamperedBlob


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    path = tmp_path / "plain.bin"
    path.write_bytes(os.urandom(3 * 1000 + 17))
    return path


def test_round_trip_over_several_chunks(tmp_path, plain):
    key = new_key()
    encrypt_file(plain, tmp_path / "c", key, chunk=1000)
    decrypt_file(tmp_path / "c", tmp_path / "out", key)
    assert (tmp_path / "out").read_bytes() == plain.read_bytes()


def test_an_empty_file(tmp_path):
    key = new_key()
    (tmp_path / "empty").write_bytes(b"")
    encrypt_file(tmp_path / "empty", tmp_path / "c", key)
    decrypt_file(tmp_path / "c", tmp_path / "out", key)
    assert (tmp_path / "out").read_bytes() == b""


@pytest.mark.parametrize("damage", ["wrong key", "flip", "truncate", "drop last", "swap"])
def test_damage_is_detected_and_leaves_no_output(tmp_path, plain, damage):
    key = new_key()
    encrypt_file(plain, tmp_path / "c", key, chunk=1000)
    data = bytearray((tmp_path / "c").read_bytes())
    header, size = 8 + 4 + 8, 4 + 1000 + 16
    if damage == "flip":
        data[header + 50] ^= 1
    elif damage == "truncate":
        data = data[:-10]
    elif damage == "drop last":
        data = data[:header + 3 * size]
    elif damage == "swap":
        first, second = data[header:header + size], data[header + size:header + 2 * size]
        data[header:header + 2 * size] = second + first
    (tmp_path / "c").write_bytes(bytes(data))
    with pytest.raises(DecryptionError):
        decrypt_file(tmp_path / "c", tmp_path / "out", new_key() if damage == "wrong key"
                     else key)
    assert not (tmp_path / "out").exists()


def test_streamed_store_verifies_on_read(tmp_path, plain):
    store = LocalStore(tmp_path / "blobs")
    digest = store.put_file(plain)
    store.get_file(digest, tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == plain.read_bytes()
    blob = tmp_path / "blobs" / digest[:2] / digest
    data = blob.read_bytes()
    blob.write_bytes(bytes([data[0] ^ 0xFF]) + data[1:])  # always a change (random data)
    with pytest.raises(TamperedBlob):
        store.get_file(digest, tmp_path / "copy2")
    assert not (tmp_path / "copy2").exists()


def test_decrypted_data_is_private_and_never_written_through_a_symlink(tmp_path, plain):
    import os

    key = new_key()
    encrypt_file(plain, tmp_path / "c", key)
    target = tmp_path / "elsewhere"
    (tmp_path / "out.part").symlink_to(target)  # a planted symlink where a .part file used to go
    decrypt_file(tmp_path / "c", tmp_path / "out", key)
    assert (tmp_path / "out").read_bytes() == plain.read_bytes()
    assert oct(os.stat(tmp_path / "out").st_mode & 0o777) == "0o600"
    assert not target.exists()
    assert not list(tmp_path.glob(".out.*.part"))
