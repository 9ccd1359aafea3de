"""A content-addressed blob store in a local directory.

Blobs are named by their sha256; writes are atomic (temporary file, fsync, rename), so a crash
never leaves a partial blob under a real name; every read checks the hash.

Example::

    store = LocalStore(Path("~/.fedfabric/blobs").expanduser())
    digest = store.put(b"ciphertext")
    assert store.get(digest) == b"ciphertext"
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HASH = re.compile(r"^[0-9a-f]{64}$")


class StoreError(Exception):
    """A blob is missing or malformed."""


class TamperedBlob(StoreError):
    """A blob's content does not match its hash: it was altered or corrupted."""


@dataclass(frozen=True)
class Manifest:
    """An update or aggregate: its shard hashes in order, and what they encode."""

    shards: list[str]
    length: int
    scheme: str
    meta: dict[str, Any] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, digest: str) -> Path:
        if not HASH.match(digest):
            raise StoreError(f"{digest!r} is not a sha256 hex digest")
        return self.root / digest[:2] / digest

    def uri(self, digest: str) -> str:
        return self._path(digest).as_uri()

    def has(self, digest: str) -> bool:
        return self._path(digest).is_file()

    def put(self, data: bytes) -> str:
        digest = sha256(data)
        path = self._path(digest)
        if path.is_file():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, digest: str) -> bytes:
        path = self._path(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoreError(f"no blob {digest} in {self.root}") from None
        if sha256(data) != digest:
            raise TamperedBlob(f"blob {digest} in {self.root} does not match its hash")
        return data

    def put_file(self, source: Path, chunk: int = 1 << 20) -> str:
        """Store a file of any size (streamed, hashed while copied); returns its hash."""
        digest = hashlib.sha256()
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out, Path(source).open("rb") as src:
                while block := src.read(chunk):
                    digest.update(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            path = self._path(digest.hexdigest())
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest.hexdigest()

    def get_file(self, digest: str, dest: Path, chunk: int = 1 << 20) -> None:
        """Copy a blob to dest (streamed); TamperedBlob, and no dest, if it fails its hash."""
        path = self._path(digest)
        if not path.is_file():
            raise StoreError(f"no blob {digest} in {self.root}")
        check = hashlib.sha256()
        tmp = Path(dest).with_name(Path(dest).name + ".part")
        try:
            with path.open("rb") as src, tmp.open("wb") as out:
                while block := src.read(chunk):
                    check.update(block)
                    out.write(block)
            if check.hexdigest() != digest:
                raise TamperedBlob(f"blob {digest} in {self.root} does not match its hash")
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def put_manifest(self, manifest: Manifest) -> str:
        return self.put(manifest.to_bytes())

    def get_manifest(self, digest: str) -> Manifest:
        try:
            data = json.loads(self.get(digest))
            return Manifest(**data)
        except (ValueError, TypeError) as e:
            raise StoreError(f"blob {digest} is not a manifest: {e}") from e

    def put_shards(self, shards: list[bytes], length: int, scheme: str,
                   meta: dict[str, Any] | None = None) -> str:
        """Store shards and their manifest; returns the manifest's hash."""
        return self.put_manifest(Manifest([self.put(s) for s in shards], length, scheme,
                                          meta or {}))

    def get_shards(self, manifest_digest: str) -> tuple[Manifest, list[bytes]]:
        """The manifest and its shards, each verified against its hash."""
        manifest = self.get_manifest(manifest_digest)
        return manifest, [self.get(h) for h in manifest.shards]
