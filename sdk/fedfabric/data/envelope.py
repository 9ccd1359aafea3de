"""Streamed AES-256-GCM for dataset files larger than memory.

Format: magic, chunk size, 8-byte nonce prefix; then chunks, each a 4-byte length and an AES-GCM
ciphertext. A chunk's nonce is prefix + its index, and its associated data carries the index and
whether it is the last chunk, so reordering, dropping or truncating chunks fails decryption.
"""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"FFDATA1\n"
CHUNK = 1 << 20


class DecryptionError(ValueError):
    """Wrong key, or the ciphertext was altered, reordered or truncated."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _aad(index: int, last: bool) -> bytes:
    return MAGIC + struct.pack(">Q?", index, last)


def encrypt_file(source: Path, dest: Path, key: bytes, chunk: int = CHUNK) -> None:
    aead, prefix = AESGCM(key), os.urandom(8)
    with Path(source).open("rb") as src, Path(dest).open("wb") as out:
        out.write(MAGIC + struct.pack(">I", chunk) + prefix)
        index, block = 0, src.read(chunk)
        while True:
            following = src.read(chunk)
            last = not following
            sealed = aead.encrypt(prefix + struct.pack(">I", index), block, _aad(index, last))
            out.write(struct.pack(">I", len(sealed)) + sealed)
            if last:
                return
            index, block = index + 1, following


def decrypt_file(source: Path, dest: Path, key: bytes) -> None:
    """Decrypt to dest (mode 0600); on any failure dest is not left behind. The plaintext goes
    to a private temporary file in dest's directory (mkstemp: never through a symlink) that is
    renamed to dest once every chunk authenticated."""
    aead = AESGCM(key)
    dest = Path(dest)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(name)
    try:
        with Path(source).open("rb") as src, os.fdopen(fd, "wb") as out:
            if src.read(len(MAGIC)) != MAGIC:
                raise DecryptionError("not a fedfabric encrypted dataset")
            (chunk,) = struct.unpack(">I", src.read(4))
            prefix, index, done = src.read(8), 0, False
            while not done:
                header = src.read(4)
                if len(header) < 4:
                    raise DecryptionError("the ciphertext is truncated")
                (size,) = struct.unpack(">I", header)
                if size > chunk + 16:
                    raise DecryptionError("a chunk is larger than the header allows")
                sealed = src.read(size)
                done = src.peek(1) == b"" if hasattr(src, "peek") else False
                try:
                    out.write(aead.decrypt(prefix + struct.pack(">I", index), sealed,
                                           _aad(index, done)))
                except InvalidTag as e:
                    raise DecryptionError("wrong key, or the ciphertext was altered") from e
                index += 1
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
