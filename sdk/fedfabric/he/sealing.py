"""A secret (the CKKS secret context) kept at rest encrypted: scrypt + AES-256-GCM."""

from __future__ import annotations

import json
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

_MAGIC = b"FFSEAL1\n"


def _key(passphrase: bytes, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase)


def seal(secret: bytes, passphrase: bytes) -> bytes:
    salt, nonce = os.urandom(16), os.urandom(12)
    header = json.dumps({"kdf": "scrypt", "n": 2**15, "r": 8, "p": 1, "salt": salt.hex(),
                         "nonce": nonce.hex(), "aead": "AES-256-GCM"}).encode()
    body = AESGCM(_key(passphrase, salt)).encrypt(nonce, secret, header)
    return _MAGIC + len(header).to_bytes(4, "big") + header + body


def unseal(blob: bytes, passphrase: bytes) -> bytes:
    """The secret, or ValueError when the passphrase is wrong or the blob was altered."""
    from cryptography.exceptions import InvalidTag

    if not blob.startswith(_MAGIC):
        raise ValueError("not a sealed fedfabric secret")
    size = int.from_bytes(blob[len(_MAGIC):len(_MAGIC) + 4], "big")
    header = blob[len(_MAGIC) + 4:len(_MAGIC) + 4 + size]
    meta = json.loads(header)
    try:
        return AESGCM(_key(passphrase, bytes.fromhex(meta["salt"]))).decrypt(
            bytes.fromhex(meta["nonce"]), blob[len(_MAGIC) + 4 + size:], header)
    except InvalidTag as e:
        raise ValueError("wrong passphrase, or the sealed secret was altered") from e
