"""What every blob store shares: the `Store` protocol, errors, manifests and their helpers.

A store is content-addressed: a blob's name is the sha256 of its bytes, every read is checked
against that name, and nothing partial is ever visible under a real name.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

HASH = re.compile(r"^[0-9a-f]{64}$")


class StoreError(Exception):
    """A blob is missing or malformed, or the store cannot be reached."""


class TamperedBlob(StoreError):
    """A blob's content does not match its hash: it was altered or corrupted."""


class OversizedBlob(StoreError):
    """A blob is larger than its reader accepts: it is not read past the limit."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_digest(digest: str) -> str:
    """The digest itself if it is a lowercase sha256 hex digest; StoreError otherwise."""
    if not isinstance(digest, str) or not HASH.match(digest):
        raise StoreError(f"{digest!r} is not a sha256 hex digest")
    return digest


SEGMENT_SHARDS = 64  # ciphertext shards per segment blob (put_shards' grouping)
# What a reader accepts from another organisation. A segment of any scheme is at most ~8.4 MB
# (64 shards: threshold CKKS 4.2 MB, CKKS or Paillier 8.4 MB); a manifest lists a 67-byte entry
# per segment (about 262,000 values), so 4 MiB holds one for over 10^10 values.
SEGMENT_LIMIT = 32 << 20
MANIFEST_LIMIT = 4 << 20
_SEGMENT_MAGIC = b"fedfabric segment 1\n"


def pack_segment(shards: list[bytes]) -> bytes:
    """Shards as one blob: a magic line, their count, then each one's length and bytes."""
    frames = [struct.pack("<Q", len(s)) + s for s in shards]
    return b"".join([_SEGMENT_MAGIC, struct.pack("<I", len(shards)), *frames])


def unpack_segment(data: bytes, digest: str) -> list[bytes]:
    """The shards of a segment blob; StoreError naming digest if it is not one."""
    view = memoryview(data)
    head = len(_SEGMENT_MAGIC)
    if bytes(view[:head]) != _SEGMENT_MAGIC or len(data) < head + 4:
        raise StoreError(f"blob {digest} is not a segment")
    (count,) = struct.unpack_from("<I", view, head)
    shards, offset = [], head + 4
    for _ in range(count):
        if offset + 8 > len(data):
            raise StoreError(f"blob {digest} is a truncated segment")
        (size,) = struct.unpack_from("<Q", view, offset)
        if offset + 8 + size > len(data):
            raise StoreError(f"blob {digest} is a truncated segment")
        shards.append(bytes(view[offset + 8:offset + 8 + size]))
        offset += 8 + size
    if offset != len(data):
        raise StoreError(f"blob {digest} has {len(data) - offset} bytes after its segment")
    return shards


@dataclass(frozen=True)
class Manifest:
    """An update or aggregate: its ciphertext shards in segments (blobs of consecutive shards,
    in order), how many shards they hold, and what they encode. A reader can take it segment
    by segment, holding no more than one in memory.

    Example::

        m = Manifest([sha256(b"a"), sha256(b"b")], shards=80, length=300000, scheme="ckks")
        assert Manifest.from_bytes(m.to_bytes(), "<its digest>") == m
    """

    segments: list[str]
    shards: int
    length: int
    scheme: str
    meta: dict[str, Any] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes, digest: str) -> Manifest:
        """Parse and check a stored manifest; StoreError naming digest if it is not one."""
        try:
            fields = json.loads(data)
            manifest = cls(**fields)
        except (ValueError, TypeError) as e:
            raise StoreError(f"blob {digest} is not a manifest: {e}") from e
        ok = (isinstance(manifest.segments, list)
              and all(isinstance(s, str) and HASH.match(s) for s in manifest.segments)
              and isinstance(manifest.shards, int) and isinstance(manifest.length, int)
              and isinstance(manifest.scheme, str) and isinstance(manifest.meta, dict)
              and len(manifest.segments) <= manifest.shards)
        if not ok:
            raise StoreError(f"blob {digest} is not a manifest: fields of the wrong type")
        return manifest


@runtime_checkable
class Store(Protocol):
    """A content-addressed blob store (LocalStore, S3Store); code that takes one takes either.

    Example::

        def publish(store: Store, weights: bytes) -> str:
            return store.uri(store.put(weights))
    """

    def uri(self, digest: str) -> str: ...
    def has(self, digest: str) -> bool: ...
    def put(self, data: bytes) -> str: ...
    def get(self, digest: str, limit: int | None = None) -> bytes:
        """The blob, checked against its hash; OversizedBlob, having read no more than
        `limit` bytes, if it is longer."""
        ...

    def put_file(self, source: Path) -> str: ...
    def get_file(self, digest: str, dest: Path) -> None: ...
    def put_manifest(self, manifest: Manifest) -> str: ...
    def get_manifest(self, digest: str) -> Manifest: ...
    def put_segment(self, shards: list[bytes]) -> str: ...
    def get_segment(self, digest: str) -> list[bytes]: ...
    def put_shards(self, shards: list[bytes], length: int, scheme: str,
                   meta: dict[str, Any] | None = None) -> str: ...
    def get_shards(self, manifest_digest: str) -> tuple[Manifest, list[bytes]]: ...
    def sibling(self, owner: str) -> Store:
        """Where another organisation writes: with S3, the prefix named after it beside this
        one (each organisation may write only under its own); a local directory is shared."""
        ...


class BlobStore(ABC):
    """Manifests and shards on top of a backend's put/get: written once, shared by backends.

    Example::

        class MemoryStore(BlobStore):  # a backend only supplies put and get (and the rest)
            ...
    """

    @abstractmethod
    def put(self, data: bytes) -> str: ...

    @abstractmethod
    def get(self, digest: str, limit: int | None = None) -> bytes: ...

    def put_manifest(self, manifest: Manifest) -> str:
        return self.put(manifest.to_bytes())

    def get_manifest(self, digest: str) -> Manifest:
        return Manifest.from_bytes(self.get(digest, MANIFEST_LIMIT), digest)

    def put_segment(self, shards: list[bytes]) -> str:
        """Store consecutive shards as one blob; returns its hash."""
        return self.put(pack_segment(shards))

    def get_segment(self, digest: str) -> list[bytes]:
        """A segment's shards, verified against its hash."""
        return unpack_segment(self.get(digest, SEGMENT_LIMIT), digest)

    def put_shards(self, shards: list[bytes], length: int, scheme: str,
                   meta: dict[str, Any] | None = None) -> str:
        """Store shards (in segments of SEGMENT_SHARDS) and their manifest; returns the
        manifest's hash. A large vector goes segment by segment through put_segment instead."""
        segments = [self.put_segment(shards[i:i + SEGMENT_SHARDS])
                    for i in range(0, len(shards), SEGMENT_SHARDS)]
        return self.put_manifest(Manifest(segments, len(shards), length, scheme, meta or {}))

    def get_shards(self, manifest_digest: str) -> tuple[Manifest, list[bytes]]:
        """The manifest and all its shards, each segment verified against its hash (a large
        vector is better read segment by segment with get_segment)."""
        manifest = self.get_manifest(manifest_digest)
        shards = [s for h in manifest.segments for s in self.get_segment(h)]
        if len(shards) != manifest.shards:
            raise StoreError(f"manifest {manifest_digest} names {manifest.shards} shards; its "
                             f"segments hold {len(shards)}")
        return manifest, shards

    def sibling(self, owner: str) -> Store:
        """This store (a backend with per-organisation areas overrides it)."""
        return self  # type: ignore[return-value]
