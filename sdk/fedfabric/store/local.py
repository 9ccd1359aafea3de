"""A content-addressed blob store in a local directory.

Blobs are named by their sha256; writes are atomic (temporary file, fsync, rename), so a crash
never leaves a partial blob under a real name; every read checks the hash, and so does `put` of
a name that already exists (a planted or corrupt file is replaced by the right bytes).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fedfabric.store.base import (
    BlobStore,
    Manifest,
    OversizedBlob,
    StoreError,
    TamperedBlob,
    check_digest,
    sha256,
)

__all__ = ["LocalStore", "Manifest", "StoreError", "TamperedBlob", "sha256"]

CHUNK = 1 << 20


class LocalStore(BlobStore):
    """Blobs under root/<aa>/<sha256>.

    Example::

        store = LocalStore(Path("~/.fedfabric/blobs").expanduser())
        digest = store.put(b"ciphertext")
        assert store.get(digest) == b"ciphertext"
        store.get_file(digest, Path("copy.bin"))
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser()  # made by the first put: opening changes nothing

    def _temporary(self) -> tuple[int, str]:
        self.root.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(dir=self.root, prefix=".tmp-")

    def _path(self, digest: str) -> Path:
        return self.root / check_digest(digest)[:2] / digest

    @contextlib.contextmanager
    def _open(self, digest: str) -> Iterator[io.BufferedReader]:
        """The blob opened for reading, never through a symlink; StoreError if missing."""
        try:
            fd = os.open(self._path(digest), os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise StoreError(f"no blob {digest} in {self.root}") from None
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise TamperedBlob(f"blob {digest} in {self.root} is a symlink") from None
            raise StoreError(f"cannot read blob {digest} in {self.root}: {e}") from e
        with os.fdopen(fd, "rb") as f:
            yield f

    def _holds(self, digest: str) -> bool:
        """Whether a regular file with exactly the right bytes is stored under digest."""
        try:
            if not stat.S_ISREG(self._path(digest).lstat().st_mode):
                return False
            with self._open(digest) as f:
                return hashlib.file_digest(f, "sha256").hexdigest() == digest
        except (OSError, StoreError):
            return False

    def _publish(self, tmp: str, digest: str) -> None:
        """Rename a complete, synced temporary file to the blob's real name."""
        path = self._path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, path)

    def uri(self, digest: str) -> str:
        return self._path(digest).as_uri()

    def has(self, digest: str) -> bool:
        return self._path(digest).is_file()

    def put(self, data: bytes) -> str:
        digest = sha256(data)
        if self._holds(digest):
            return digest
        fd, tmp = self._temporary()
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            self._publish(tmp, digest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, digest: str, limit: int | None = None) -> bytes:
        with self._open(digest) as f:
            data = f.read() if limit is None else f.read(limit + 1)
        if limit is not None and len(data) > limit:
            raise OversizedBlob(f"blob {digest} in {self.root} is larger than {limit} bytes")
        if sha256(data) != digest:
            raise TamperedBlob(f"blob {digest} in {self.root} does not match its hash")
        return data

    def put_file(self, source: Path, chunk: int = CHUNK) -> str:
        """Store a file of any size (streamed, hashed while copied); returns its hash."""
        digest = hashlib.sha256()
        fd, tmp = self._temporary()
        try:
            with os.fdopen(fd, "wb") as out, Path(source).open("rb") as src:
                while block := src.read(chunk):
                    digest.update(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            self._publish(tmp, digest.hexdigest())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest.hexdigest()

    def get_file(self, digest: str, dest: Path, chunk: int = CHUNK) -> None:
        """Copy a blob to dest (streamed); TamperedBlob, and no dest, if it fails its hash.

        The copy goes to a fresh 0600 temporary file beside dest, renamed over dest only once
        verified: a symlink at dest is replaced, never followed.
        """
        dest = Path(dest)
        with self._open(digest) as src:
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
            try:
                check = hashlib.sha256()
                with os.fdopen(fd, "wb") as out:
                    while block := src.read(chunk):
                        check.update(block)
                        out.write(block)
                    out.flush()
                    os.fsync(out.fileno())
                if check.hexdigest() != digest:
                    raise TamperedBlob(f"blob {digest} in {self.root} does not match its hash")
                os.replace(tmp, dest)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
