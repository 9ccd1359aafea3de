"""Signers and hashes. Fabric verifies ECDSA signatures only in low-S form.

Example::

    sign = signer_from_msp_dir(Path(".../users/User1@org1.example.com/msp"))
    signature = sign(sha256(message))
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

Hash = Callable[[bytes], bytes]

_CURVE_ORDERS = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
}


def sha256(message: bytes) -> bytes:
    return hashlib.sha256(message).digest()


def sha384(message: bytes) -> bytes:
    return hashlib.sha384(message).digest()


def sha3_256(message: bytes) -> bytes:
    return hashlib.sha3_256(message).digest()


def sha3_384(message: bytes) -> bytes:
    return hashlib.sha3_384(message).digest()


def none(message: bytes) -> bytes:
    """No hashing: for signers that sign the whole message (Ed25519)."""
    return message


class Signer(Protocol):
    def __call__(self, digest: bytes) -> bytes:
        """Sign a digest (or, for Ed25519 with hash none, the message)."""


class ECDSASigner:
    """Signs digests with an EC private key; DER signatures, normalised to low S."""

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        if key.curve.name not in _CURVE_ORDERS:
            raise ValueError(f"unsupported curve {key.curve.name}")
        self._key = key
        self._order = _CURVE_ORDERS[key.curve.name]

    def __call__(self, digest: bytes) -> bytes:
        algorithm = {32: hashes.SHA256(), 48: hashes.SHA384()}.get(len(digest))
        if algorithm is None:
            raise ValueError(f"cannot sign a {len(digest)}-byte digest with ECDSA")
        r, s = decode_dss_signature(self._key.sign(digest, ec.ECDSA(Prehashed(algorithm))))
        if s > self._order // 2:
            s = self._order - s
        return encode_dss_signature(r, s)


class Ed25519Signer:
    """Signs whole messages with Ed25519 (use with hash ``none``; Fabric 3 channels only)."""

    def __init__(self, key: ed25519.Ed25519PrivateKey) -> None:
        self._key = key

    def __call__(self, digest: bytes) -> bytes:
        return self._key.sign(digest)  # with hash none, the "digest" is the whole message


def signer_from_pem(pem: bytes) -> Signer:
    key = serialization.load_pem_private_key(pem, password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return ECDSASigner(key)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return Ed25519Signer(key)
    raise ValueError(f"unsupported private key type {type(key).__name__}")


def signer_from_msp_dir(msp_dir: Path) -> Signer:
    """The signer of an MSP folder: its single private key in keystore/."""
    keys = [p for p in (Path(msp_dir) / "keystore").iterdir() if p.is_file()]
    if len(keys) != 1:
        raise ValueError(f"expected one private key in {msp_dir}/keystore, found {len(keys)}")
    return signer_from_pem(keys[0].read_bytes())
