"""Encrypted federated training end to end on the real network, every organisation's
participant in one process (the simulation `fedfabric train` runs)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow, as the package does)
from fedfabric.fl import FLApp
from fedfabric.fl.app import partition
from fedfabric.fl.plain import train_plain
from fedfabric.fl.simulate import simulate
from fedfabric.store import LocalStore

APPS = Path(__file__).resolve().parents[2] / "examples" / "apps"


def test_encrypted_training_matches_plaintext_fedavg(ledgers, tmp_path):
    app = FLApp.load(APPS / "breast_cancer")
    orgs = ("Org1", "Org2", "Org3")
    data = dict(zip([f"{o}MSP" for o in orgs], partition(app, tmp_path / "data", 3),
                    strict=True))
    history = simulate({f"{o}MSP": ledgers[(o, "Admin")] for o in orgs},
                       LocalStore(tmp_path / "blobs"), app, data, tmp_path / "state", rounds=3)
    task = history.task
    assert task.status == "COMPLETED" and task.members == [f"{o}MSP" for o in orgs]

    # The same seeds without encryption or chain: the metrics match to CKKS' precision.
    plain = train_plain(app, {msp: app.data(loc) for msp, loc in data.items()}, 3, task.id)
    for r, reference in zip(history.rounds, plain, strict=True):
        assert r.status == "FINALIZED" and len(r.updates) == 3
        assert len([e for e in r.endorsements if e.aggregate_hash == r.final_hash]) >= 2
        recorded = {m.msp_id: m.metrics for m in r.metrics}
        assert set(recorded) == set(data)
        for msp, metrics in recorded.items():
            expected = reference.metrics[msp]
            assert abs(metrics["accuracy"] - expected["accuracy"]) < 0.005, (r.round, msp)
            assert abs(metrics["loss"] - expected["loss"]) < 1e-3, (r.round, msp)
    assert np.mean([m.metrics["accuracy"] for m in history.rounds[-1].metrics]) > 0.9

    # The initiator's participant registered the model with the task as its provenance.
    model = ledgers[("Org3", "User1")].models.get(task.hyperparameters["model_name"], "1").model
    assert model.owner_msp == "Org1MSP" and model.provenance.task_id == task.id
    assert model.provenance.round == 3
    # Every participant applied the same aggregate: their final weights are byte-identical.
    finals = [np.load(tmp_path / "state" / msp / "tasks" / task.id / "weights-3.npy")
              for msp in data]
    assert all(np.array_equal(finals[0], w) for w in finals[1:])
    # threshold CKKS (the default) decrypts to ~1e-5 of the largest value
    assert np.allclose(finals[0], plain[-1].weights, atol=1e-4)
    assert model.weights_hash == hashlib.sha256(finals[0].tobytes()).hexdigest()


def test_single_key_ckks_stays_an_explicit_choice(ledgers, tmp_path):
    app = FLApp.load(APPS / "breast_cancer")
    data = dict(zip(["Org1MSP", "Org2MSP"], partition(app, tmp_path / "data", 2), strict=True))
    history = simulate({m: ledgers[(m[:4], "Admin")] for m in data}, LocalStore(
        tmp_path / "blobs"), app, data, tmp_path / "state", rounds=1, scheme="ckks")
    assert history.task.he_scheme == "ckks" and history.task.threshold == 0
    assert all(p.wrapped_key for p in history.task.participants)
    plain = train_plain(app, {m: app.data(loc) for m, loc in data.items()}, 1, history.task.id)
    for m in history.rounds[0].metrics:
        assert abs(m.metrics["accuracy"] - plain[0].metrics[m.msp_id]["accuracy"]) < 0.005
