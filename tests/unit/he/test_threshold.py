"""Threshold CKKS (Lattigo): t-of-N decryption, what fewer shares reveal, determinism, bad input."""

from __future__ import annotations

import hashlib
import itertools
import os
import struct
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from fedfabric.he import lattigo
from fedfabric.he import threshold as th

CRS = b"fedfabric test task: common reference string"


@dataclass
class Parties:
    points: list[int]
    t: int
    secrets: dict[int, bytes]  # s_i, kept by each party
    shares: dict[int, bytes]  # t-out-of-N threshold secrets
    scheme: th.ThresholdCKKS


def make_parties(n: int, t: int, crs: bytes = CRS) -> Parties:
    points = list(range(1, n + 1))
    keys = {p: th.keygen(crs) for p in points}
    public_key = th.combine_public_key(crs, [keys[p][1] for p in points])
    sent = {i: th.shamir_shares(keys[i][0], points, t) for i in points}
    shares = {j: th.threshold_secret([sent[i][j] for i in points]) for j in points}
    return Parties(points, t, {p: keys[p][0] for p in points}, shares, th.ThresholdCKKS(public_key))


@pytest.fixture(scope="module")
def three() -> Parties:
    return make_parties(3, 2)


def updates(k: int, n: int, std: float, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(0, std, n) for _ in range(k)]


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def decrypt(parties: Parties, shards: list[bytes], active: list[int], length: int,
            secrets: dict[int, bytes] | None = None) -> np.ndarray:
    keys = secrets if secrets is not None else parties.shares
    parts = {j: th.decryption_share(keys[j], j, active, shards, len(active)) for j in active}
    return th.combine(parts, shards, length)


def test_parameters_agree_with_the_library_and_leave_headroom():
    native = th.parameters()
    assert {k: native[k] for k in th.PARAMETERS} == th.PARAMETERS
    assert th.ThresholdCKKS.parameters()["params_id"] == th.PARAMS_ID
    assert native["log_Q"] < 64 and native["value_limit"] >= th.VALUE_LIMIT > 10 * 1000
    assert th.parameters(th.ALT_PARAMS_ID)["N"] == 8192


@pytest.mark.parametrize("std", [1e-3, 10.0])
def test_any_two_of_three_recover_the_aggregate(three, std):
    plain = updates(3, 5_000, std, seed=1)
    total = three.scheme.aggregate([three.scheme.encrypt(u) for u in plain])
    assert len(total) == 2  # 5,000 values: a full shard of 4,096 and a partial one
    want = np.sum(plain, axis=0)
    for active in itertools.combinations(three.points, 2):
        assert relative_error(decrypt(three, total, list(active), 5_000), want) < 1e-4


def test_ten_parties_all_decrypting_small_updates_stay_within_1e_4():
    parties = make_parties(10, 10)
    plain = updates(10, 3_000, 1e-3, seed=2)
    total = parties.scheme.aggregate([parties.scheme.encrypt(u) for u in plain])
    got = decrypt(parties, total, parties.points, 3_000)
    assert relative_error(got, np.sum(plain, axis=0)) < 1e-4


def test_with_t_equal_to_n_the_plain_secret_shares_decrypt():
    parties = make_parties(4, 4)
    plain = updates(2, 4_096, 1.0, seed=3)
    total = parties.scheme.aggregate([parties.scheme.encrypt(u) for u in plain])
    got = decrypt(parties, total, parties.points, 4_096, secrets=parties.secrets)
    assert relative_error(got, np.sum(plain, axis=0)) < 1e-4


def forged_zero_share(share: bytes, point: int) -> bytes:
    """A share with a valid header for `point` and zero values: 'this party did not take part'."""
    return share[:8] + struct.pack("<I", point) + share[12:32] + bytes(len(share) - 32)


def test_one_party_or_t_minus_one_parties_learn_nothing_of_an_update():
    parties = make_parties(4, 3)
    plain = updates(1, 4_000, 1.0, seed=4)[0]
    shards = parties.scheme.encrypt(plain)
    # One party's own secret s_i, used alone as if it were the whole key.
    alone = th.decryption_share(parties.secrets[1], 1, [1], shards, 1)
    assert relative_error(th.combine({1: alone}, shards, 4_000), plain) > 0.5
    # t - 1 = 2 threshold secrets, Lagrange-combined for {1, 2, 3}, party 3's part missing.
    parts = {j: th.decryption_share(parties.shares[j], j, [1, 2, 3], shards, 3) for j in (1, 2)}
    parts[3] = [forged_zero_share(s, 3) for s in parts[1]]
    assert relative_error(th.combine(parts, shards, 4_000), plain) > 0.5
    # The same three real shares do decrypt it (the test above is not vacuous).
    assert relative_error(decrypt(parties, shards, [1, 2, 3], 4_000), plain) < 1e-4


def test_aggregators_in_separate_processes_produce_identical_bytes(three, tmp_path):
    encrypted = [three.scheme.encrypt(u) for u in updates(3, 6_000, 1.0, seed=5)]
    mine = hashlib.sha256(b"".join(three.scheme.aggregate(encrypted))).hexdigest()
    for i, update in enumerate(encrypted):
        for j, shard in enumerate(update):
            (tmp_path / f"{i}-{j}").write_bytes(shard)
    (tmp_path / "pk").write_bytes(three.scheme.public_bytes())
    script = textwrap.dedent(f"""
        import hashlib, pathlib
        from fedfabric.he.threshold import ThresholdCKKS
        d = pathlib.Path({str(tmp_path)!r})
        ups = [[(d / f"{{i}}-{{j}}").read_bytes() for j in range({len(encrypted[0])})]
               for i in range({len(encrypted)})]
        print(hashlib.sha256(b"".join(ThresholdCKKS((d / "pk").read_bytes()).aggregate(ups)))
              .hexdigest())
    """)
    env = {**os.environ, "FEDFABRIC_THRESHOLDCKKS_LIB": str(lattigo.library_path())}
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert [out.strip() for out, _ in outputs] == [mine, mine]


def test_bytes_per_parameter(three):
    shards = three.scheme.encrypt(np.ones(th.SHARD + 100))
    assert len(shards[0]) / th.SHARD <= th.CIPHERTEXT_BYTES_PER_PARAM <= 16.1
    assert len(shards[1]) < len(shards[0])  # a partial shard stores c0 for its values only
    share = th.decryption_share(three.shares[1], 1, [1, 2], shards, 2)
    assert len(share[0]) / th.SHARD <= th.SHARE_BYTES_PER_PARAM
    assert len(share[1]) == 32 + 8 * 100  # header, then 8 bytes per value


# --- bad input: each a clear ValueError --------------------------------------------------------


def test_truncated_or_foreign_bytes_are_refused(three):
    s = three.scheme
    shards = s.encrypt(np.ones(5_000))
    with pytest.raises(ValueError, match="truncated"):
        s.aggregate([shards, [shards[0], shards[1][:-1]]])
    with pytest.raises(ValueError, match="truncated"):
        th.combine_public_key(CRS, [th.keygen(CRS)[1][:100]])
    with pytest.raises(ValueError, match="truncated"):
        th.decryption_share(three.shares[1][:-8], 1, [1, 2], shards, 2)
    with pytest.raises(ValueError, match="not a threshold-ckks object"):
        s.aggregate([shards, [b"x" * 100, shards[1]]])
    with pytest.raises(ValueError, match="is a ciphertext shard, expected a public key"):
        th.ThresholdCKKS(shards[0]).encrypt(np.ones(3))
    corrupted = shards[0][:-8] + b"\xff" * 8
    with pytest.raises(ValueError, match="out of range"):
        s.aggregate([shards, [corrupted, shards[1]]])
    parts = {j: th.decryption_share(three.shares[j], j, [1, 2], shards, 2) for j in (1, 2)}
    parts[2] = [parts[2][0][:-1], parts[2][1]]
    with pytest.raises(ValueError, match="truncated"):
        th.combine(parts, shards, 5_000)


def test_precomputed_encryptions_of_zero_are_used_once_and_decrypt_alike(three):
    s = th.ThresholdCKKS(three.scheme.public_bytes())
    assert s.precompute(3) == 3 and s.precomputed == 3
    values = np.random.default_rng(4).normal(0, 1, 10_000)  # three shards: all precomputed
    first = s.encrypt(values)
    assert s.precomputed == 0
    second = s.encrypt(values)  # fresh randomness: another ciphertext of the same values
    assert first != second
    s.validate(first, 10_000)
    for shards in (first, second):
        got = decrypt(three, s.aggregate([shards, three.scheme.encrypt(values)]), [1, 3],
                      10_000)
        assert relative_error(got, 2 * values) < 1e-4
    s.precompute(5)
    s.encrypt(np.ones(10))  # one shard takes one of them
    assert s.precomputed == 4


def test_one_worker_makes_encryptions_of_zero_on_the_calling_thread(three):
    """So a thread that lowered its priority makes them at that priority."""
    import time

    s = th.ThresholdCKKS(three.scheme.public_bytes())
    s.precompute(1, workers=1)  # warm
    thread, process = time.thread_time(), time.process_time()
    assert s.precompute(48, workers=1) == 49
    on_thread, in_all = time.thread_time() - thread, time.process_time() - process
    assert in_all > 0 and on_thread >= 0.8 * in_all, (on_thread, in_all)
    with pytest.raises(ValueError, match="workers must be from 0"):
        lattigo.call("encrypt_zeros", s.public_bytes(), lattigo.int_field(1),
                     lattigo.int_field(-1))


def test_an_encryption_of_zero_under_another_key_is_refused(three):
    other = th.ThresholdCKKS(th.combine_public_key(CRS, [th.keygen(CRS)[1]]))
    zero = lattigo.call("encrypt_zeros", other.public_bytes(), lattigo.int_field(1))
    data = np.ones(10).astype("<f8").tobytes()
    with pytest.raises(ValueError, match="another public key"):
        lattigo.call("encrypt", three.scheme.public_bytes(), data, *zero)
    with pytest.raises(ValueError, match="count must be from 1"):
        lattigo.call("encrypt_zeros", other.public_bytes(), lattigo.int_field(0))


def test_validate_takes_exactly_an_encryption_of_that_length(three):
    s = three.scheme
    shards = s.encrypt(np.ones(5_000))
    s.validate(shards, 5_000)
    for shape, length, message in [
            (shards, 4_097, "holds 904 values, expected 1"),
            (shards, 4_096, "2 shards for 4096 values; expected 1"),
            (shards[:1], 5_000, "1 shards for 5000 values; expected 2"),
            ([shards[1], shards[0]], 5_000, "expected shard 0 of 2"),
            ([shards[0], shards[1][:-1]], 5_000, "truncated"),
            ([shards[0], b"x" * 100], 5_000, "not a threshold-ckks object"),
            ([shards[0], shards[1][:-8] + b"\xff" * 8], 5_000, "out of range"),
            (s.encrypt(np.ones(5_001)), 5_000, "holds 905 values, expected 904"),
            ([], 0, "0 shards for 0 values")]:
        with pytest.raises(ValueError, match=message):
            s.validate(shape, length)
    other = th.ThresholdCKKS(th.combine_public_key(CRS, [th.keygen(CRS, th.ALT_PARAMS_ID)[1]]))
    with pytest.raises(ValueError, match="parameter set"):
        s.validate(other.encrypt(np.ones(10)), 10)


def test_another_parameter_set_is_refused(three):
    secret, share = th.keygen(CRS, th.ALT_PARAMS_ID)
    with pytest.raises(ValueError, match="parameter set"):
        th.combine_public_key(CRS, [th.keygen(CRS)[1], share])
    other = th.ThresholdCKKS(th.combine_public_key(CRS, [share]))
    foreign = other.encrypt(np.ones(10))
    with pytest.raises(ValueError, match="parameter set"):
        three.scheme.aggregate([three.scheme.encrypt(np.ones(10)), foreign])
    with pytest.raises(ValueError, match="parameter set"):
        th.decryption_share(three.shares[1], 1, [1, 2], foreign, 2)
    with pytest.raises(ValueError, match="unknown parameter set"):
        th.keygen(CRS, "tckks-no-such-set")


def test_shares_for_another_ciphertext_or_shard_count_are_refused(three):
    s = three.scheme
    a, b = s.encrypt(np.ones(5_000)), s.encrypt(np.ones(5_000))
    parts = {j: th.decryption_share(three.shares[j], j, [1, 2], a, 2) for j in (1, 2)}
    with pytest.raises(ValueError, match="another ciphertext"):
        th.combine(parts, b, 5_000)
    with pytest.raises(ValueError, match="shard 0 of 2, expected shard 0 of 1"):
        th.combine({j: p[:1] for j, p in parts.items()}, a[:1], 4_096)
    with pytest.raises(ValueError, match="shards"):
        th.combine(parts, a[:1], 4_096)
    with pytest.raises(ValueError, match="expected shard 0 of 2"):
        th.decryption_share(three.shares[1], 1, [1, 2], [a[1], a[0]], 2)
    with pytest.raises(ValueError, match="has 1 shards, update 0 has 2"):
        s.aggregate([a, s.encrypt(np.ones(10))])
    with pytest.raises(ValueError, match="holds 10 values"):
        s.aggregate([s.encrypt(np.ones(20)), s.encrypt(np.ones(10))])
    with pytest.raises(ValueError, match="asked for 6000 values"):
        th.combine(parts, a, 6_000)


def test_wrong_active_sets_and_thresholds_are_refused(three):
    shards = three.scheme.encrypt(np.ones(100))
    with pytest.raises(ValueError, match="exactly t=2"):
        th.decryption_share(three.shares[1], 1, [1, 2, 3], shards, 2)
    with pytest.raises(ValueError, match="not in the active set"):
        th.decryption_share(three.shares[1], 1, [2, 3], shards, 2)
    with pytest.raises(ValueError, match="belongs to point 1, not 2"):
        th.decryption_share(three.shares[1], 2, [1, 2], shards, 2)
    with pytest.raises(ValueError, match="for t=2, not t=3"):
        th.decryption_share(three.shares[1], 1, [1, 2, 3], shards, 3)
    with pytest.raises(ValueError, match="twice"):
        th.decryption_share(three.shares[1], 1, [1, 1], shards, 2)
    parts = {j: th.decryption_share(three.shares[j], j, [1, 2], shards, 2) for j in (1, 2)}
    third = th.decryption_share(three.shares[3], 3, [1, 3], shards, 2)
    with pytest.raises(ValueError, match="another active set"):
        th.combine({1: parts[1], 3: third}, shards, 100)
    with pytest.raises(ValueError, match="made by point 1"):
        th.combine({1: parts[1], 2: parts[1]}, shards, 100)


def test_bad_key_material_and_values_are_refused(three):
    secret, _ = th.keygen(CRS)
    shares = th.shamir_shares(secret, [1, 2, 3], 2)
    with pytest.raises(ValueError, match="for point 2, the others for point 1"):
        th.threshold_secret([shares[1], shares[2]])
    with pytest.raises(ValueError, match="threshold t=4"):
        th.shamir_shares(secret, [1, 2, 3], 4)
    with pytest.raises(ValueError, match="points must be from 1"):
        th.shamir_shares(secret, [0, 1, 2], 2)
    with pytest.raises(ValueError, match="need one from every party"):
        th.threshold_secret([th.shamir_shares(secret, [1, 2, 3], 3)[1]])
    with pytest.raises(ValueError, match="another CRS"):
        th.combine_public_key(CRS + b"!", [th.keygen(CRS)[1]])
    with pytest.raises(ValueError, match="CRS must be"):
        th.keygen(b"short")
    with pytest.raises(ValueError, match="not finite or not below"):
        three.scheme.encrypt(np.array([1.0, 20_000.0]))
    with pytest.raises(ValueError, match="not finite"):
        three.scheme.encrypt(np.array([np.nan]))


def test_corrupted_header_fields_never_crash_the_process(three):
    shards = three.scheme.encrypt(np.ones(5_000))
    shares = {j: th.decryption_share(three.shares[j], j, [1, 2], shards, 2) for j in (1, 2)}
    rng = np.random.default_rng(6)
    for _ in range(40):  # every header field (20 bytes of a shard, 32 of a share) is checked
        junk = bytes(rng.integers(0, 256, 4, dtype=np.uint8))
        at = int(rng.integers(0, 17))
        bad_shard = shards[1][:at] + junk + shards[1][at + 4:]
        at = int(rng.integers(0, 29))
        bad_share = shares[2][0][:at] + junk + shares[2][0][at + 4:]
        with pytest.raises(ValueError):
            three.scheme.aggregate([shards, [shards[0], bad_shard]])
        with pytest.raises(ValueError):
            th.combine({1: shares[1], 2: [bad_share, shares[2][1]]}, shards, 5_000)


def test_loading_the_library_leaves_tenseal_and_tensorflow_working(tmp_path):
    """TenSEAL first (as fedfabric.he does), then the Go library, then TensorFlow; and TF first."""
    use = textwrap.dedent("""
        import numpy as np
        from fedfabric.he import threshold as th
        crs = b"import-order test crs bytes"
        s, share = th.keygen(crs)
        sch = th.ThresholdCKKS(th.combine_public_key(crs, [share]))
        ct = sch.encrypt(np.arange(5.0))
        got = th.combine({1: th.decryption_share(s, 1, [1], ct, 1)}, ct, 5)
        assert np.allclose(got, np.arange(5.0), atol=1e-5), got
    """)
    tenseal_first = use + textwrap.dedent("""
        import tensorflow as tf
        from fedfabric.he import CKKS, backend
        keys = CKKS.generate()  # TenSEAL serialize() in this process, after TF and Go
        total = keys.aggregate([keys.encrypt(np.ones(4)), keys.encrypt(np.ones(4))])
        assert np.allclose(keys.decrypt(total, 4), 2.0, atol=1e-6)
        assert float(tf.reduce_sum(tf.ones(3))) == 3.0
        exec(compile(USE, "use", "exec"))
        print(type(backend()).__name__, "ok")
    """)
    tensorflow_first = "import tensorflow as tf\n" + use + textwrap.dedent("""
        assert float(tf.reduce_sum(tf.ones(3))) == 3.0
        print("tf-first ok")
    """)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
           "FEDFABRIC_THRESHOLDCKKS_LIB": str(lattigo.library_path())}
    scripts = [f"USE = {use!r}\n" + tenseal_first, tensorflow_first]
    procs = [subprocess.Popen([sys.executable, "-c", s], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for s in scripts]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outputs]
    assert [out.split() for out, _ in outputs] == [["InProcess", "ok"], ["tf-first", "ok"]]


def test_the_build_script_reuses_the_cached_library():
    path = lattigo.library_path()
    assert path.is_file() and path.name == "libthresholdckks.so"
    assert lattigo.library_path() == path
    assert Path(lattigo.source_dir(), "thresholdckks", "go.sum").is_file()
