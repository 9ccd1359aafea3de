"""One contract for every store: LocalStore and S3Store against a real SeaweedFS server."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fedfabric.store import (
    MANIFEST_LIMIT,
    SEGMENT_SHARDS,
    LocalStore,
    Manifest,
    OversizedBlob,
    S3Store,
    Store,
    StoreError,
    TamperedBlob,
    sha256,
)
from fedfabric.store.base import pack_segment

Plant = Callable[[Store, str, bytes], None]


def leftovers(directory: Path) -> list[str]:
    """Temporary files left behind in a directory (hidden names)."""
    return sorted(p.name for p in directory.rglob(".*"))


def test_put_get_has_uri(store: Store) -> None:
    digest = store.put(b"ciphertext")
    assert digest == sha256(b"ciphertext")
    assert store.has(digest) and not store.has(sha256(b"other"))
    assert store.get(digest) == b"ciphertext"
    assert store.put(b"ciphertext") == digest  # idempotent
    uri = store.uri(digest)
    if isinstance(store, S3Store):
        assert uri == f"s3://{store.bucket}/{store.prefix}/{digest[:2]}/{digest}"
    else:
        assert uri.startswith("file://") and uri.endswith(f"/{digest[:2]}/{digest}")


def test_empty_blob(store: Store) -> None:
    digest = store.put(b"")
    assert store.get(digest) == b""


def test_missing_blob(store: Store, tmp_path: Path) -> None:
    missing = sha256(b"never stored")
    with pytest.raises(StoreError, match="no blob") as e:
        store.get(missing)
    assert missing in str(e.value)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(StoreError, match="no blob"):
        store.get_file(missing, out / "copy")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("bad", ["../../etc/passwd", "0" * 63, "A" * 64, "", "0" * 64 + "/x"])
def test_rejects_names_that_are_not_digests(store: Store, bad: str) -> None:
    with pytest.raises(StoreError, match="not a sha256"):
        store.get(bad)
    with pytest.raises(StoreError, match="not a sha256"):
        store.has(bad)


def test_tampered_blob_is_detected(store: Store, plant: Plant, tmp_path: Path) -> None:
    digest = store.put(b"the real weights")
    plant(store, digest, b"the evil weights")
    with pytest.raises(TamperedBlob, match=digest):
        store.get(digest)
    dest = tmp_path / "weights.bin"
    dest.write_bytes(b"an older copy")
    with pytest.raises(TamperedBlob):
        store.get_file(digest, dest)
    assert dest.read_bytes() == b"an older copy"  # untouched
    assert leftovers(tmp_path) == []


def test_put_replaces_a_planted_blob(store: Store, plant: Plant) -> None:
    data = b"the real update"
    digest = sha256(data)
    plant(store, digest, b"planted under the right name")
    with pytest.raises(TamperedBlob):
        store.get(digest)
    assert store.put(data) == digest
    assert store.get(digest) == data


def test_put_file_and_get_file_stream_a_multipart_blob(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    data = os.urandom(20 << 20)  # four 5 MiB parts on S3
    source.write_bytes(data)
    parts: list[int] = []
    if isinstance(store, S3Store):
        store.client.meta.events.register(
            "before-parameter-build.s3.UploadPart",
            lambda params, **_: parts.append(len(params["Body"])))
    digest = store.put_file(source)
    assert digest == sha256(data) and store.has(digest)
    if isinstance(store, S3Store):
        assert parts == [5 << 20] * 4
    dest = tmp_path / "copy.bin"
    store.get_file(digest, dest)
    assert dest.read_bytes() == data
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert store.put_file(source) == digest  # already there and verified: nothing sent again
    assert len(parts) in (0, 4)
    assert leftovers(tmp_path) == []


def test_get_file_replaces_a_symlink_and_never_follows_it(store: Store, tmp_path: Path) -> None:
    digest = store.put(b"blob")
    victim = tmp_path / "victim"
    victim.write_bytes(b"must not change")
    link = tmp_path / "dest"
    link.symlink_to(victim)
    store.get_file(digest, link)
    assert not link.is_symlink() and link.read_bytes() == b"blob"
    assert victim.read_bytes() == b"must not change"


def test_concurrent_puts_of_the_same_blob(store: Store) -> None:
    data = os.urandom(256 << 10)
    with ThreadPoolExecutor(8) as pool:
        digests = list(pool.map(lambda _: store.put(data), range(16)))
    assert set(digests) == {sha256(data)}
    assert store.get(digests[0]) == data
    if isinstance(store, LocalStore):
        assert leftovers(store.root) == []


def test_manifests_and_shards(store: Store, plant: Plant) -> None:
    shards = [f"shard-{i}".encode() for i in range(SEGMENT_SHARDS + 2)]
    digest = store.put_shards(shards, 3, "ckks", {"round": 1})
    manifest, read = store.get_shards(digest)
    assert read == shards
    segments = [store.put_segment(shards[:SEGMENT_SHARDS]), store.put_segment(shards[-2:])]
    assert manifest == Manifest(segments, len(shards), 3, "ckks", {"round": 1})
    assert store.get_segment(segments[1]) == shards[-2:]
    assert store.get_manifest(digest) == manifest
    assert store.put_manifest(manifest) == digest
    plant(store, manifest.segments[1], pack_segment([b"evil shard", shards[-1]]))
    with pytest.raises(TamperedBlob):
        store.get_shards(digest)
    with pytest.raises(TamperedBlob):
        store.get_segment(manifest.segments[1])


def test_a_manifest_whose_segments_hold_other_shards_is_refused(store: Store) -> None:
    digest = store.put_manifest(Manifest([store.put_segment([b"a", b"b"])], 3, 3, "ckks"))
    with pytest.raises(StoreError, match="names 3 shards; its segments hold 2"):
        store.get_shards(digest)
    with pytest.raises(StoreError, match="is not a segment"):
        store.get_segment(store.put(b"a plain blob"))


def test_a_blob_beyond_the_readers_limit_is_refused(store: Store) -> None:
    digest = store.put(b"x" * 3000)
    assert store.get(digest, 3000) == b"x" * 3000
    with pytest.raises(OversizedBlob, match="larger than 2999 bytes"):
        store.get(digest, 2999)
    # another organisation's "manifest" of 4 MiB + 1 is never parsed, nor read whole
    huge = store.put(b'{"segments": [' + b" " * (MANIFEST_LIMIT - 14) + b"]}")
    with pytest.raises(OversizedBlob, match=f"larger than {MANIFEST_LIMIT} bytes"):
        store.get_manifest(huge)


@pytest.mark.parametrize("blob", [b"[1, 2]", b"not json",
                                  b'{"segments": ["x"], "shards": 1, "length": 1, '
                                  b'"scheme": "ckks"}',
                                  b'{"segments": [], "shards": 0, "length": "1", '
                                  b'"scheme": "ckks"}'])
def test_get_manifest_of_something_else(store: Store, blob: bytes) -> None:
    with pytest.raises(StoreError, match="not a manifest"):
        store.get_manifest(store.put(blob))
