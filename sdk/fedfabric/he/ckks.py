"""CKKS with TenSEAL, as pure functions on bytes and numpy arrays (so a worker can run them).

Parameters: polynomial degree 8192, coefficient moduli [60, 60] bits, scale 2^40. Aggregation
only adds ciphertexts, so one data prime suffices; the scale leaves 20 bits for the integer part
of each value (|x| < 2^19 after scaling by sample counts) and about 1e-9 relative precision. A
ciphertext holds 4096 values (N/2), so vectors are encrypted in shards of at most 4096.
Rotation (Galois) keys are never generated: aggregation needs none and they are tens of MB.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np
import tenseal as ts

POLY_DEGREE = 8192
COEFF_MOD_BITS = (60, 60)
SCALE_BITS = 40
SHARD = POLY_DEGREE // 2


def make_context() -> tuple[bytes, bytes]:
    """(secret context, public context): the public one carries no secret key."""
    ctx = ts.context(ts.SCHEME_TYPE.CKKS, POLY_DEGREE, coeff_mod_bit_sizes=list(COEFF_MOD_BITS))
    ctx.global_scale = 2.0**SCALE_BITS
    secret = ctx.serialize(save_secret_key=True, save_galois_keys=False, save_relin_keys=False)
    ctx.make_context_public()
    public = ctx.serialize(save_secret_key=False, save_galois_keys=False, save_relin_keys=False)
    return bytes(secret), bytes(public)


@lru_cache(maxsize=8)
def _context(data: bytes) -> ts.Context:
    return ts.context_from(data)


def encrypt(public_context: bytes, vector: np.ndarray, shard: int = SHARD) -> list[bytes]:
    """The vector (float64) as ciphertext shards of at most `shard` values, in order."""
    if not 0 < shard <= SHARD:
        raise ValueError(f"shard size must be from 1 to {SHARD}")
    ctx = _context(public_context)
    flat = np.asarray(vector, dtype=np.float64).ravel()
    return [bytes(ts.ckks_vector(ctx, flat[i:i + shard].tolist()).serialize())
            for i in range(0, len(flat), shard)]


def aggregate(public_context: bytes, updates: list[list[bytes]]) -> list[bytes]:
    """Shard-wise sum of several updates, added in the given order (deterministic bytes)."""
    if not updates:
        raise ValueError("nothing to aggregate")
    if len({len(u) for u in updates}) != 1:
        raise ValueError("updates have different numbers of shards")
    ctx = _context(public_context)
    out = []
    for shards in zip(*updates, strict=True):
        total = ts.ckks_vector_from(ctx, shards[0])
        for data in shards[1:]:
            total += ts.ckks_vector_from(ctx, data)
        out.append(bytes(total.serialize()))
    return out


def validate(public_context: bytes, shards: list[bytes], length: int) -> None:
    """ValueError unless the shards are `length` values encrypted under this context's
    parameters: ceil(length / SHARD) fresh two-part ciphertexts at scale 2^SCALE_BITS."""
    ctx = _context(public_context)
    expected = -(-length // SHARD)
    if len(shards) != expected:
        raise ValueError(f"{len(shards)} shards for {length} values; expected {expected}")
    for i, data in enumerate(shards):
        try:
            vec = ts.ckks_vector_from(ctx, data)
        except (ValueError, RuntimeError) as e:
            raise ValueError(f"shard {i} is not a CKKS ciphertext: {e}") from e
        want = min(SHARD, length - i * SHARD)
        if vec.size() != want:
            raise ValueError(f"shard {i} holds {vec.size()} values, not {want}")
        for part in vec.ciphertext():
            if part.size() != 2 or part.poly_modulus_degree() != POLY_DEGREE or \
                    part.coeff_modulus_size() != len(COEFF_MOD_BITS) - 1 or \
                    part.scale != 2.0**SCALE_BITS:
                raise ValueError(f"shard {i} was encrypted with other parameters (scale "
                                 f"2^{np.log2(part.scale):.1f}, {part.size()} parts)")


def decrypt(secret_context: bytes, shards: list[bytes], length: int) -> np.ndarray:
    ctx = _context(secret_context)
    values: list[float] = []
    for data in shards:
        values.extend(ts.ckks_vector_from(ctx, data).decrypt())
    if len(values) < length:
        raise ValueError(f"the shards hold {len(values)} values, fewer than {length}")
    return np.asarray(values[:length], dtype=np.float64)


def context_fingerprint(context: bytes) -> str:
    return hashlib.sha256(context).hexdigest()


def tenseal_version() -> str:
    return str(getattr(ts, "__version__", "unknown"))
