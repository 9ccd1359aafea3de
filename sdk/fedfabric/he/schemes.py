"""Additively homomorphic schemes behind one interface: encrypt to shards, add, decrypt."""

from __future__ import annotations

import json
import math
import secrets
from typing import Any, Protocol

import numpy as np

from fedfabric.he.backend import InProcess, Worker, WorkerError, choose

_backend: InProcess | Worker | None = None


def backend() -> InProcess | Worker:
    global _backend
    if _backend is None:
        _backend = choose()
    return _backend


class Additive(Protocol):
    """What encrypting and adding needs: every scheme, threshold ones included."""

    name: str

    def encrypt(self, vector: np.ndarray) -> list[bytes]: ...

    def validate(self, shards: list[bytes], length: int) -> None:
        """ValueError unless the shards are `length` values encrypted under these parameters."""

    def aggregate(self, updates: list[list[bytes]]) -> list[bytes]: ...

    def public_bytes(self) -> bytes: ...


class Scheme(Additive, Protocol):
    """A single-key scheme: whoever holds the secret decrypts alone."""

    def decrypt(self, shards: list[bytes], length: int) -> np.ndarray: ...

    def secret_bytes(self) -> bytes: ...


def scheme_for(name: str, public: bytes, secret: bytes | None = None) -> Scheme:
    """A task's single-key scheme from its public parameters (and the secret, for
    participants). ValueError when the bytes are not what the scheme expects."""
    if name == CKKS.name:
        if public.startswith(b"{"):
            raise ValueError("the HE context is not a CKKS context")
        return CKKS(public, secret)
    if name == Paillier.name:
        return Paillier.from_bytes(public, secret)
    raise ValueError(f"HE scheme {name!r} is not supported here (ckks, paillier)")


class CKKS:
    """CKKS (TenSEAL). Example::

        keys = CKKS.generate()                      # holds the secret key
        public = CKKS(keys.public_bytes())          # what aggregators get
        total = public.aggregate([public.encrypt(a), public.encrypt(b)])
        keys.decrypt(total, len(a))                 # ~ a + b
    """

    name = "ckks"
    SHARD = 4096  # values per shard (fedfabric.he.ckks.SHARD, which loads TenSEAL)

    def __init__(self, public_context: bytes, secret_context: bytes | None = None) -> None:
        self._public, self._secret = public_context, secret_context

    @classmethod
    def generate(cls) -> CKKS:
        secret, public = backend().call("make_context")
        return cls(public, secret)

    @property
    def has_secret(self) -> bool:
        return self._secret is not None

    def public_bytes(self) -> bytes:
        return self._public

    def secret_bytes(self) -> bytes:
        if self._secret is None:
            raise ValueError("this CKKS context has no secret key")
        return self._secret

    def encrypt(self, vector: np.ndarray) -> list[bytes]:
        result: list[bytes] = backend().call("encrypt", self._public, np.asarray(vector))
        return result

    def validate(self, shards: list[bytes], length: int) -> None:
        try:
            backend().call("validate", self._public, shards, length)
        except WorkerError as e:  # the worker reports a ValueError as text
            if not str(e).startswith("ValueError: "):
                raise
            raise ValueError(str(e).splitlines()[0].removeprefix("ValueError: ")) from e

    def aggregate(self, updates: list[list[bytes]]) -> list[bytes]:
        result: list[bytes] = backend().call("aggregate", self._public, updates)
        return result

    def decrypt(self, shards: list[bytes], length: int) -> np.ndarray:
        result: np.ndarray = backend().call("decrypt", self.secret_bytes(), shards, length)
        return result

    @staticmethod
    def parameters() -> dict[str, Any]:
        from fedfabric.he import ckks

        return {"scheme": "ckks", "poly_modulus_degree": ckks.POLY_DEGREE,
                "coeff_mod_bit_sizes": list(ckks.COEFF_MOD_BITS), "scale_bits": ckks.SCALE_BITS,
                "shard_values": ckks.SHARD}


class Paillier:
    """Paillier (python-paillier), fixed-point: E(m1)·E(m2) mod n² = E(m1 + m2), literally.

    A value x is encoded as round(x·2^f) mod n (negatives wrap around n), so sums of up to n/2
    in magnitude decode exactly; f = 32 fraction bits.
    """

    name = "paillier"
    FRACTION_BITS = 32
    SHARD = 256  # values per shard

    def __init__(self, public_key: Any, private_key: Any = None) -> None:
        self.public_key, self.private_key = public_key, private_key
        self._n: int = int(public_key.n)
        self._nsq: int = int(public_key.nsquare)
        self._width = (self._nsq.bit_length() + 7) // 8

    @classmethod
    def generate(cls, bits: int = 2048) -> Paillier:
        from phe import paillier

        public, private = paillier.generate_paillier_keypair(n_length=bits)
        return cls(public, private)

    def public_bytes(self) -> bytes:
        return json.dumps({"scheme": "paillier", "n": str(self._n)}).encode()

    def secret_bytes(self) -> bytes:
        if self.private_key is None:
            raise ValueError("this Paillier key has no private part")
        return json.dumps({"p": str(self.private_key.p), "q": str(self.private_key.q)}).encode()

    @classmethod
    def from_bytes(cls, public: bytes, secret: bytes | None = None) -> Paillier:
        from phe import paillier

        try:
            n = int(json.loads(public)["n"])
            key = paillier.PaillierPublicKey(n)
            private = None
            if secret is not None:
                pq = json.loads(secret)
                private = paillier.PaillierPrivateKey(key, int(pq["p"]), int(pq["q"]))
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"not a Paillier key: {e}") from e
        return cls(key, private)

    def validate(self, shards: list[bytes], length: int) -> None:
        expected = -(-length // self.SHARD)
        if len(shards) != expected:
            raise ValueError(f"{len(shards)} shards for {length} values; expected {expected}")
        for i, shard in enumerate(shards):
            want = min(self.SHARD, length - i * self.SHARD)
            if len(shard) != want * self._width:
                raise ValueError(f"shard {i} has {len(shard)} bytes, not {want * self._width}")
            if any(not 0 < c < self._nsq for c in self._unpack(shard)):
                raise ValueError(f"shard {i} holds a value outside (0, n^2)")

    def _encode(self, x: float) -> int:
        return int(round(x * 2**self.FRACTION_BITS)) % int(self._n)

    def _decode(self, m: int) -> float:
        n: int = self._n
        if m > n // 2:
            m -= n
        return float(m / 2**self.FRACTION_BITS)

    def _pack(self, ciphertexts: list[int]) -> bytes:
        return b"".join(c.to_bytes(self._width, "big") for c in ciphertexts)

    def _unpack(self, shard: bytes) -> list[int]:
        w = self._width
        return [int.from_bytes(shard[i:i + w], "big") for i in range(0, len(shard), w)]

    def encrypt(self, vector: np.ndarray) -> list[bytes]:
        flat = np.asarray(vector, dtype=np.float64).ravel()
        out = []
        for i in range(0, len(flat), self.SHARD):
            out.append(self._pack([self.public_key.raw_encrypt(
                self._encode(float(x)), r_value=secrets.randbelow(self._n - 1) + 1)
                for x in flat[i:i + self.SHARD]]))
        return out

    def aggregate(self, updates: list[list[bytes]]) -> list[bytes]:
        if not updates or len({len(u) for u in updates}) != 1:
            raise ValueError("need updates with the same number of shards")
        out = []
        for shards in zip(*updates, strict=True):
            columns = [self._unpack(s) for s in shards]
            out.append(self._pack([math.prod(cs) % self._nsq for cs in zip(*columns,
                                                                              strict=True)]))
        return out

    def decrypt(self, shards: list[bytes], length: int) -> np.ndarray:
        if self.private_key is None:
            raise ValueError("this Paillier key has no private part")
        values = [self._decode(self.private_key.raw_decrypt(c))
                  for s in shards for c in self._unpack(s)]
        return np.asarray(values[:length], dtype=np.float64)
