"""What every blob store shares: the `Store` protocol, errors, manifests and their helpers.

A store is content-addressed: a blob's name is the sha256 of its bytes, every read is checked
against that name, and nothing partial is ever visible under a real name.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

HASH = re.compile(r"^[0-9a-f]{64}$")


class StoreError(Exception):
    """A blob is missing or malformed, or the store cannot be reached."""


class TamperedBlob(StoreError):
    """A blob's content does not match its hash: it was altered or corrupted."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_digest(digest: str) -> str:
    """The digest itself if it is a lowercase sha256 hex digest; StoreError otherwise."""
    if not isinstance(digest, str) or not HASH.match(digest):
        raise StoreError(f"{digest!r} is not a sha256 hex digest")
    return digest


@dataclass(frozen=True)
class Manifest:
    """An update or aggregate: its shard hashes in order, and what they encode.

    Example::

        m = Manifest([sha256(b"a"), sha256(b"b")], length=2, scheme="ckks")
        assert Manifest.from_bytes(m.to_bytes(), "<its digest>") == m
    """

    shards: list[str]
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
        ok = (isinstance(manifest.shards, list)
              and all(isinstance(s, str) and HASH.match(s) for s in manifest.shards)
              and isinstance(manifest.length, int) and isinstance(manifest.scheme, str)
              and isinstance(manifest.meta, dict))
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
    def get(self, digest: str) -> bytes: ...
    def put_file(self, source: Path) -> str: ...
    def get_file(self, digest: str, dest: Path) -> None: ...
    def put_manifest(self, manifest: Manifest) -> str: ...
    def get_manifest(self, digest: str) -> Manifest: ...
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
    def get(self, digest: str) -> bytes: ...

    def put_manifest(self, manifest: Manifest) -> str:
        return self.put(manifest.to_bytes())

    def get_manifest(self, digest: str) -> Manifest:
        return Manifest.from_bytes(self.get(digest), digest)

    def put_shards(self, shards: list[bytes], length: int, scheme: str,
                   meta: dict[str, Any] | None = None) -> str:
        """Store shards and their manifest; returns the manifest's hash."""
        return self.put_manifest(Manifest([self.put(s) for s in shards], length, scheme,
                                          meta or {}))

    def get_shards(self, manifest_digest: str) -> tuple[Manifest, list[bytes]]:
        """The manifest and its shards, each verified against its hash."""
        manifest = self.get_manifest(manifest_digest)
        return manifest, [self.get(h) for h in manifest.shards]

    def sibling(self, owner: str) -> Store:
        """This store (a backend with per-organisation areas overrides it)."""
        return self  # type: ignore[return-value]
