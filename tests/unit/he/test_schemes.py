"""CKKS and Paillier: sums, determinism across processes, keys, and TensorFlow import order."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fedfabric.he import CKKS, Paillier, seal, unseal


@pytest.fixture(scope="module")
def ckks() -> CKKS:
    return CKKS.generate()


def _updates(k: int, n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 5, n) * rng.integers(50, 500) for _ in range(k)]


def test_ckks_aggregate_equals_the_plaintext_sum(ckks):
    updates = _updates(5, 10_000)
    public = CKKS(ckks.public_bytes())
    assert not public.has_secret
    total = public.aggregate([public.encrypt(u) for u in updates])
    assert len(total) == 3  # 10,000 values in shards of 4,096
    got, want = ckks.decrypt(total, 10_000), np.sum(updates, axis=0)
    assert np.max(np.abs(got - want)) / np.max(np.abs(want)) < 1e-4
    with pytest.raises(ValueError, match="no secret key"):
        public.decrypt(total, 10_000)


def test_two_aggregators_in_separate_processes_produce_identical_bytes(ckks, tmp_path):
    encrypted = [ckks.encrypt(u) for u in _updates(3, 5_000, seed=1)]
    mine = ckks.aggregate(encrypted)
    for i, update in enumerate(encrypted):
        for j, shard in enumerate(update):
            (tmp_path / f"{i}-{j}").write_bytes(shard)
    (tmp_path / "ctx").write_bytes(ckks.public_bytes())
    script = textwrap.dedent(f"""
        import hashlib, pathlib
        from fedfabric.he import CKKS
        d = pathlib.Path({str(tmp_path)!r})
        ups = [[(d / f"{{i}}-{{j}}").read_bytes() for j in range({len(encrypted[0])})]
               for i in range({len(encrypted)})]
        out = CKKS((d / "ctx").read_bytes()).aggregate(ups)
        print(hashlib.sha256(b"".join(out)).hexdigest())
    """)
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert other == hashlib.sha256(b"".join(mine)).hexdigest()


def test_paillier_gives_the_same_sum():
    scheme = Paillier.generate(bits=1024)
    updates = _updates(4, 100, seed=2)
    total = scheme.aggregate([scheme.encrypt(u) for u in updates])
    assert np.allclose(scheme.decrypt(total, 100), np.sum(updates, axis=0), atol=1e-6)


def test_mismatched_updates_are_refused(ckks):
    with pytest.raises(ValueError, match="different numbers of shards"):
        ckks.aggregate([ckks.encrypt(np.zeros(10)), ckks.encrypt(np.zeros(5000))])


def test_importing_tensorflow_first_does_not_crash_encryption():
    """TenSEAL's serialize() segfaults after a TensorFlow import; the package must not."""
    script = textwrap.dedent("""
        import numpy as np
        import tensorflow as tf  # first, on purpose
        from fedfabric.he import CKKS, backend
        keys = CKKS.generate()
        a, b = np.arange(10.0), np.ones(10)
        total = keys.aggregate([keys.encrypt(a), keys.encrypt(b)])
        assert np.allclose(keys.decrypt(total, 10), a + b, atol=1e-6)
        print(type(backend()).__name__, tf.__version__ is not None)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["Worker", "True"]


def test_a_sealed_secret_needs_its_passphrase(ckks):
    blob = seal(ckks.secret_bytes(), b"correct horse")
    assert unseal(blob, b"correct horse") == ckks.secret_bytes()
    with pytest.raises(ValueError, match="wrong passphrase"):
        unseal(blob, b"wrong")
    with pytest.raises(ValueError):
        unseal(blob[:-1] + bytes([blob[-1] ^ 1]), b"correct horse")


def test_the_ckks_shard_size_the_scheme_names_is_the_encoders():
    from fedfabric.he import ckks as encoder

    assert CKKS.SHARD == encoder.SHARD
