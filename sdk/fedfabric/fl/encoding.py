"""How a task lays an update out for encryption: in segments, each encrypted, stored, verified,
added and decrypted on its own (so no step holds more than one segment of ciphertext per
update, whatever the model's size); with threshold CKKS, scaled, with a check value closing
every shard.

Threshold CKKS scales values by 1 / (the sum of every participant's max_samples), so the sum of
the scaled updates is a weighted mean that stays inside the scheme's headroom (|sum| < 16378).
The last value of every 4096-value shard is a check: the sample count, scaled alike. After
decryption every check must equal the round's total samples (fedfabric.fl.threshold).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedfabric.he import CKKS, Paillier, ThresholdCKKS
from fedfabric.he import threshold as th
from fedfabric.ledger.schema import Task
from fedfabric.store import SEGMENT_SHARDS

SHARD = th.SHARD
PAYLOAD = SHARD - 1  # threshold-ckks: model values per shard; the last one is the check
SHARD_VALUES = {CKKS.name: CKKS.SHARD, Paillier.name: Paillier.SHARD}  # single-key schemes


def scale(task: Task) -> float:
    """threshold-ckks: the factor every value and check is multiplied by."""
    return 1.0 / sum(p.max_samples for p in task.participants)


def packed_length(length: int) -> int:
    """threshold-ckks: the values that encrypt `length` model values (a check per shard)."""
    return length + -(-length // PAYLOAD)


def pack(update: np.ndarray, samples: int, factor: float) -> np.ndarray:
    """The scaled update with a check value (the scaled sample count) closing every shard."""
    flat = np.asarray(update, dtype=np.float64).ravel() * factor
    out = []
    for i in range(0, len(flat), PAYLOAD):
        out.append(flat[i:i + PAYLOAD])
        out.append(np.array([samples * factor]))
    return np.concatenate(out)


def unpack(vector: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """(payload of `length` values, the check value of each shard)."""
    shards = [vector[i:i + SHARD] for i in range(0, len(vector), SHARD)]
    payload = np.concatenate([s[:-1] for s in shards])[:length]
    return payload, np.array([s[-1] for s in shards])


@dataclass(frozen=True)
class Encoding:
    """A task's layout of an update of `length` model values: segments of per_segment values;
    with threshold-ckks (factor set), scaled and packed with check values.

    Example::

        encoding = Encoding.of(task, 1_000_000)
        for start, end in encoding.segments():
            shards = scheme.encrypt(encoding.encode(update[start:end], samples))
    """

    length: int
    per_segment: int
    factor: float | None = None

    @classmethod
    def of(cls, task: Task, length: int) -> Encoding:
        if task.he_scheme == ThresholdCKKS.name:
            return cls(length, SEGMENT_SHARDS * PAYLOAD, scale(task))
        return cls(length, SEGMENT_SHARDS * SHARD_VALUES.get(task.he_scheme, SHARD))

    def segments(self) -> list[tuple[int, int]]:
        """(start, end) of each segment in the model's vector."""
        return [(s, min(s + self.per_segment, self.length))
                for s in range(0, self.length, self.per_segment)]

    def encrypted(self, values: int) -> int:
        """How many values encrypt `values` of the model's."""
        return packed_length(values) if self.factor is not None else values

    def encode(self, values: np.ndarray, samples: int) -> np.ndarray:
        """A segment's values as they are encrypted."""
        return values if self.factor is None else pack(values, samples, self.factor)
