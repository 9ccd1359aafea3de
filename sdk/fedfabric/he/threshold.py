"""Threshold (multiparty) CKKS: each organisation holds a secret share, t of N decrypt together.

Built on Lattigo v6's ``multiparty`` package (native/thresholdckks, loaded by
fedfabric.he.lattigo). Protocols: collective public-key generation (CKG) from a common reference
string, Shamir t-out-of-N re-sharing of the secret shares (Thresholdizer/Combiner), and decryption
by collective key switching to the zero key with noise flooding. Only what t parties jointly
decrypt (the aggregate) is revealed.

Parameters (``tckks-n12-q64-d49-f25``)
-------------------------------------
* Ring Z[X]/(X^4096 + 1) (LogN = 12, standard ring), ternary secrets, error sigma 3.2;
  Q = q0*q1 = 4294475777 * 4293918721 < 2^64 (two 32-bit NTT primes), no special modulus P
  (no evaluation keys are needed: aggregation only adds).
* Coefficient encoding: value k of a shard is coefficient k of the plaintext, round(x * 2^49).
  Slot encoding would multiply the flooding noise by ~sqrt(N) on decode; coefficients carry it 1:1.
* Size: a coefficient mod Q is stored in exactly 8 bytes, so a full shard (4096 values) is
  2 * 4096 * 8 + 20 header bytes = 16.005 B/param. Only c1 needs all N coefficients: a partial
  last shard stores c0 for its values only. A decryption share holds count values: 8.008 B/param.
* Security: 128-bit classical per the HE standard (ternary secret: N = 4096 allows log QP <= 109;
  here log Q = 64, within even the 192-bit bound of 75).
* Headroom: |sum| must stay below Q/2 / 2^49 = 16378, so the sum of 10 updates with entries up to
  1000 (|sum| <= 10^4) does not wrap; ``encrypt`` rejects entries of magnitude 16378 or more.
* Flooding: each decrypting party adds Gaussian noise with sigma_f = 2^25 to its share.
  The error on a decrypted value is ~sqrt(t) * sigma_f / 2^49 = sqrt(t) * 6e-8 (std), max
  ~8e-7 over thousands of values at t = 10. Relative to max |sum| of 10 updates (bench, t = 10):
  entries with std 1e-3 -> max |sum| ~ 1.2e-2 -> measured 5e-5 to 6e-5; std 10 -> 6e-9.
* Why sigma_f = 2^25. Without noise a decryption share c1*s_i gives s_i away by division; any
  noise stops that. Flooding is for the other leak: the decrypted aggregate carries its own noise
  (std ~2^11.2 for 10 fresh ciphertexts), a linear function of the collective secret. Whoever
  knows the aggregate's plaintext and the encryption randomness of every ciphertext in it (all
  contributors colluding against a decrypting organisation, IND-CPA-D style) solves for s exactly
  from two decrypted shards without flooding; with one honest decryptor's sigma_f = 2^25, least
  squares needs ~4 sigma_f^2 / 102 = 2^45 decrypted coefficients (2^33 shards: ~4e7 rounds of a
  1M-parameter model). OpenFHE's default threshold mode adds a fixed 2^20. Provable statistical
  flooding (sigma_f >= 2^40 * the noise bound 2^13.8, more over many decryptions) would need
  log Q >~ 95 for the same accuracy and headroom: 24+ B/param.
* The tradeoff, in bits of log(Q/2) = 63: 14 for headroom (10^4 -> 2^14), 19.7 for 1e-4 of a
  1.2e-2 max (std 1e-3), 3.7 for the noise tail at t = 10 (4.3 sigma * sqrt(10)), which leaves
  ~25.6 for log2 sigma_f. A single 60-bit modulus (16.04 B/param with Lattigo's serialisation)
  would leave 21.6 bits, and 2^30 flooding there gives ~4e-2 at std 1e-3: hence two 32-bit primes
  packed in 64 bits. More flooding or headroom costs accuracy on small updates, bit for bit.
* Vectors that are not a multiple of 4096 pay for a full c1 in their last shard: 16.20 B/param
  at 100,000 parameters, 16.03 at 1,000,000.

Secrets. ``keygen`` gives s_i (kept by party i); ``shamir_shares`` re-shares s_i to every
party; ``threshold_secret`` sums what party j received into its t-out-of-N share. The decryption
functions take either that threshold secret (any t of the N parties decrypt), or, when t == N,
s_i itself (skip the Shamir layer; then every party must take part, with active = all points).

Security model: honest-but-curious. A malicious client can submit a malformed ciphertext (say
c1 = 2^50, c0 = 0) whose share of the aggregate decrypts to a multiple of the collective secret;
or, if it sees the others' ciphertexts first, one that cancels all but a victim's update. Commit
to updates before revealing them for the second; the first needs zero-knowledge proofs of
well-formed encryption, which this module does not provide.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from typing import Any

import numpy as np

from fedfabric.he.lattigo import call, int_field, ints_field

PARAMS_ID = "tckks-n12-q64-d49-f25"
#: The other parameter set the library knows (LogN = 13, same modulus and scale).
ALT_PARAMS_ID = "tckks-n13-q64-d49-f25"
SHARD = 4096
CIPHERTEXT_BYTES_PER_PARAM = 16.005  # a full shard, header included
SHARE_BYTES_PER_PARAM = 8.008  # a decryption share of a full shard
VALUE_LIMIT = 16378.0  # |entry| and |sum of entries| must stay below this

PARAMETERS: dict[str, Any] = {
    "params_id": PARAMS_ID, "scheme": "threshold-ckks", "library": "lattigo v6.1.1 (multiparty)",
    "ring": "standard Z[X]/(X^N+1)", "encoding": "coefficient", "LogN": 12, "N": 4096,
    "moduli": [4294475777, 4293918721], "P": [], "scale": 2.0**49, "scale_bits": 49,
    "flooding_sigma_bits": 25, "flooding_sigma": 2.0**25, "error_sigma": 3.2,
    "secret": "ternary, P(nonzero) = 2/3", "shard_values": SHARD,
    "security": "128-bit classical (HE standard: N=4096 allows log QP <= 109; here 64)",
}


@lru_cache(maxsize=4)
def _describe(params_id: str) -> bytes:
    return call("params", params_id.encode())[0]


def parameters(params_id: str = PARAMS_ID) -> dict[str, Any]:
    """The parameter set as the native library describes it (PARAMETERS plus log_Q, value_limit)."""
    result: dict[str, Any] = json.loads(_describe(params_id))
    return result


def keygen(crs: bytes, params_id: str = PARAMS_ID) -> tuple[bytes, bytes]:
    """(this party's secret share s_i, its public-key share under the common reference string)."""
    secret, share = call("keygen", params_id.encode(), bytes(crs))
    return secret, share


def combine_public_key(crs: bytes, shares: list[bytes]) -> bytes:
    """The collective public key from every party's share (same ordered shares, same bytes)."""
    return call("combine_public_key", bytes(crs), *shares)[0]


def shamir_shares(secret: bytes, points: list[int], t: int) -> dict[int, bytes]:
    """Shares of s_i for each party point (1..65535), any t of which rebuild it. Send privately."""
    pts = [int(p) for p in points]
    shares = call("shamir_shares", secret, int_field(int(t)), ints_field(pts))
    return dict(zip(pts, shares, strict=True))


def threshold_secret(received: list[bytes]) -> bytes:
    """Party j's t-out-of-N secret: the sum of the Shamir shares it received, its own included."""
    return call("threshold_secret", *received)[0]


def decryption_share(secret: bytes, point: int, active: list[int], shards: list[bytes],
                     t: int) -> list[bytes]:
    """This party's flooded decryption share of each shard, for the active set of exactly t points.

    ``secret`` is the threshold secret, or s_i itself when t == N and the Shamir layer is skipped.
    """
    return call("decryption_share", secret, int_field(int(point)), int_field(int(t)),
                ints_field(int(p) for p in active), *shards)


def combine(shares: dict[int, list[bytes]], shards: list[bytes], length: int) -> np.ndarray:
    """The decrypted vector (float64) from the decryption shares of each point of the active set."""
    points = list(shares)
    fields = [s for p in points for s in shares[p]]
    (data,) = call("combine", int_field(int(length)), int_field(len(shards)), ints_field(points),
                   *shards, *fields)
    return np.frombuffer(data, dtype="<f8").astype(np.float64)


class ThresholdCKKS:
    """Encrypt under the collective public key and add ciphertexts; decryption needs t parties.

    Example (3 organisations, any 2 decrypt)::

        crs = b"task-42 common reference string"
        keys = [keygen(crs) for _ in range(3)]                        # each party: (s_i, pk share)
        pk = combine_public_key(crs, [share for _, share in keys])
        sent = [shamir_shares(s, [1, 2, 3], t=2) for s, _ in keys]  # party i -> party j
        secrets = {j: threshold_secret([m[j] for m in sent]) for j in (1, 2, 3)}
        scheme = ThresholdCKKS(pk)
        total = scheme.aggregate([scheme.encrypt(a), scheme.encrypt(b)])
        parts = {j: decryption_share(secrets[j], j, [1, 3], total, t=2) for j in (1, 3)}
        combine(parts, total, len(a))                                 # ~ a + b
    """

    name = "threshold-ckks"

    def __init__(self, public_key: bytes) -> None:
        self._public = bytes(public_key)
        self._zeros: list[bytes] = []  # encryptions of zero made ahead of time, each used once
        self._lock = threading.Lock()

    @staticmethod
    def parameters() -> dict[str, Any]:
        return dict(PARAMETERS)

    def public_bytes(self) -> bytes:
        return self._public

    def precompute(self, shards: int, workers: int = 0) -> int:
        """Make `shards` encryptions of zero ahead of time (while waiting for something else),
        so that encrypt, once the vector is known, only adds it to them. They stay in this
        object's memory and are used once each. workers: the threads that make them (1: the
        calling thread alone, at its priority; 0: one per core). Returns how many are ready."""
        if shards > 0:
            made = call("encrypt_zeros", self._public, int_field(int(shards)),
                        int_field(int(workers)))
            with self._lock:
                self._zeros.extend(made)
        return self.precomputed

    @property
    def precomputed(self) -> int:
        """Encryptions of zero ready for encrypt."""
        return len(self._zeros)

    def encrypt(self, vector: np.ndarray) -> list[bytes]:
        """The vector (flattened, float64) as ciphertext shards of up to 4096 values, in order;
        the first shards from the precomputed encryptions of zero, if any."""
        data = np.ascontiguousarray(np.asarray(vector, dtype="<f8").ravel()).tobytes()
        with self._lock:
            n = min(len(self._zeros), -(-len(data) // (8 * SHARD)))
            zeros, self._zeros = self._zeros[:n], self._zeros[n:]
        return call("encrypt", self._public, data, *zeros)

    def validate(self, shards: list[bytes], length: int) -> None:
        """ValueError unless the shards are `length` values encrypted under these parameters:
        each parses, is in its place, and holds 4096 values but the last."""
        call("validate", self._public, int_field(int(length)), *shards)

    def aggregate(self, updates: list[list[bytes]]) -> list[bytes]:
        """Shard-wise sum of the updates in the given order (byte-identical for the same input)."""
        if not updates:
            raise ValueError("nothing to aggregate")
        return call("aggregate", self._public, ints_field(len(u) for u in updates),
                    *(s for update in updates for s in update))
