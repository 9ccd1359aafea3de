"""Organisation keys and wrapping a secret to one (X25519 ECDH + HKDF-SHA256 + AES-GCM).

An organisation has one X25519 key, kept in a 0600 PEM file in its key directory and used for
everything wrapped to it: task HE secrets and dataset keys. Its public half is published on
chain; a secret wrapped to it stays readable as long as the file is kept.

Example::

    private, public_pem = generate_org_key()
    blob = wrap(secret, public_pem, context=b"task-1/ckks-secret")
    assert unwrap(blob, private, context=b"task-1/ckks-secret") == secret
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_MAGIC = b"FFWRAP1"
ALGORITHM = "X25519"


class UnwrapError(ValueError):
    """Not for this key, or altered on the way."""


def generate_org_key() -> tuple[X25519PrivateKey, str]:
    private = X25519PrivateKey.generate()
    return private, public_pem(private.public_key())


def public_pem(key: X25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def private_pem(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_private(pem: bytes) -> X25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, X25519PrivateKey):
        raise ValueError("not an X25519 private key")
    return key


def org_key(directory: Path, msp_id: str) -> X25519PrivateKey:
    """The organisation's persistent key, ``<directory>/<msp_id>.pem`` (made on first use)."""
    path = Path(directory).expanduser() / f"{msp_id}.pem"
    if path.is_file():
        return load_private(path.read_bytes())
    key = X25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private_pem(key))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return key


def _kek(shared: bytes, salt: bytes, context: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt, b"fedfabric key wrap|" + context).derive(shared)


def wrap(secret: bytes, recipient_pem: str, context: bytes = b"") -> bytes:
    """Encrypt secret so that only the holder of the recipient's private key can read it."""
    recipient = serialization.load_pem_public_key(recipient_pem.encode())
    if not isinstance(recipient, X25519PublicKey):
        raise ValueError("the recipient key is not an X25519 public key")
    ephemeral = X25519PrivateKey.generate()
    epk = ephemeral.public_key().public_bytes(serialization.Encoding.Raw,
                                              serialization.PublicFormat.Raw)
    nonce = os.urandom(12)
    kek = _kek(ephemeral.exchange(recipient), epk, context)
    return _MAGIC + epk + nonce + AESGCM(kek).encrypt(nonce, secret, _MAGIC + epk + context)


def unwrap(blob: bytes, private: X25519PrivateKey, context: bytes = b"") -> bytes:
    if not blob.startswith(_MAGIC) or len(blob) < len(_MAGIC) + 32 + 12 + 16:
        raise UnwrapError("not a wrapped fedfabric secret")
    epk = blob[len(_MAGIC):len(_MAGIC) + 32]
    nonce = blob[len(_MAGIC) + 32:len(_MAGIC) + 44]
    kek = _kek(private.exchange(X25519PublicKey.from_public_bytes(epk)), epk, context)
    try:
        return AESGCM(kek).decrypt(nonce, blob[len(_MAGIC) + 44:], _MAGIC + epk + context)
    except InvalidTag as e:
        raise UnwrapError("this secret was not wrapped to this key, or it was altered") from e
