"""How an update is laid out for encryption: segments, threshold-ckks' scale and check values."""

from __future__ import annotations

import numpy as np
import pytest

from fedfabric.fl.encoding import PAYLOAD, SHARD, Encoding, pack, packed_length, unpack
from fedfabric.ledger.schema import Participant, Task
from fedfabric.store import SEGMENT_SHARDS


def task(scheme: str) -> Task:
    return Task(id="t", initiator_msp="Org1MSP", app_hash="a", model_spec_hash="s",
                initial_weights_hash="w", initial_weights_uri="u", he_scheme=scheme,
                he_context_hash="c", he_context_uri="u", strategy="fedavg",
                participants=[Participant("Org1MSP", "d1", 300), Participant("Org2MSP", "d2",
                                                                              100)],
                rounds=1, min_updates=2, quorum=2, status="ACTIVE", current_round=1,
                created_at="", updated_at="", terms_hash="h", tx_id="x")


@pytest.mark.parametrize("scheme, per_segment", [("threshold-ckks", SEGMENT_SHARDS * PAYLOAD),
                                                 ("ckks", SEGMENT_SHARDS * 4096),
                                                 ("paillier", SEGMENT_SHARDS * 256)])
def test_segments_cover_the_vector_in_whole_shards(scheme: str, per_segment: int) -> None:
    encoding = Encoding.of(task(scheme), 2 * per_segment + 7)
    assert encoding.per_segment == per_segment
    assert encoding.segments() == [(0, per_segment), (per_segment, 2 * per_segment),
                                   (2 * per_segment, 2 * per_segment + 7)]
    assert Encoding.of(task(scheme), 5).segments() == [(0, 5)]


def test_threshold_values_are_scaled_and_every_shard_closes_with_a_check() -> None:
    encoding = Encoding.of(task("threshold-ckks"), 10_000)
    assert encoding.factor == 1 / 400  # the participants' max_samples
    update = np.random.default_rng(1).normal(0, 1, 10_000)
    packed = encoding.encode(update, 40)
    assert len(packed) == packed_length(10_000) == encoding.encrypted(10_000) == 10_003
    payload, checks = unpack(packed, 10_000)
    assert np.allclose(payload, update / 400) and np.allclose(checks, [0.1] * 3)
    assert packed[SHARD - 1] == packed[-1] == 0.1  # the checks sit at the end of each shard
    assert np.array_equal(pack(update[:PAYLOAD], 40, 1.0)[:-1], update[:PAYLOAD])


def test_single_key_schemes_encrypt_the_values_as_they_are() -> None:
    encoding = Encoding.of(task("ckks"), 100)
    values = np.arange(100.0)
    assert encoding.encode(values, 7) is values and encoding.encrypted(100) == 100
