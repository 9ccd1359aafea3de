"""Encrypted federated training end to end on the real network."""

from __future__ import annotations

import numpy as np
import pytest

import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow, as the package does)
from fedfabric.fl import FedAvg
from fedfabric.fl.coordinator import Party, train
from fedfabric.fl.plain import train_central, train_plain
from fedfabric.fl.samples import breast_cancer, classifier, evaluator
from fedfabric.store import LocalStore


@pytest.fixture
def parties(ledgers, profile):  # the ledgers wait for every peer after each write
    data, _ = breast_cancer(3, seed=7)
    out, gateways = [], []
    for (org, (x, y)) in zip(("Org1", "Org2", "Org3"), data, strict=True):
        g = profile.connect(org)
        gateways.append(g)
        out.append(Party(f"{org}MSP", ledgers[(org, "Admin")], ledgers[(org, "User1")],
                         g.get_network(profile.channel), x, y))
    yield out
    for g in gateways:
        g.close()


def test_encrypted_training_matches_plaintext_and_nears_centralised(parties, ledgers, profile,
                                                                    tmp_path):
    """The demo's setting: 3 hospitals, 5 rounds, seed 7."""
    data, (x_test, y_test) = breast_cancer(3, seed=7)
    for party, (x, y) in zip(parties, data, strict=True):
        party.x, party.y = x, y
    evaluate = evaluator(x_test, y_test)
    model_fn = lambda: classifier(x_test.shape[1])  # noqa: E731
    result = train(parties, profile.chaincode, LocalStore(tmp_path / "blobs"), model_fn,
                   rounds=5, strategy=FedAvg(epochs=1, batch_size=32), evaluate=evaluate,
                   workdir=tmp_path, quorum=2, seed=7)
    plain = train_plain(model_fn, data, 5, FedAvg(epochs=1, batch_size=32), evaluate, seed=7)
    central = train_central(model_fn, np.concatenate([x for x, _ in data]),
                            np.concatenate([y for _, y in data]), 5, 1, 32, evaluate, seed=7)

    encrypted_acc = [r.metrics["accuracy"] for r in result.rounds]
    plain_acc = [m["accuracy"] for m in plain]
    assert np.allclose(encrypted_acc, plain_acc, atol=0.005), (encrypted_acc, plain_acc)
    assert central[-1]["accuracy"] - encrypted_acc[-1] <= 0.02, (central, encrypted_acc)
    assert encrypted_acc[-1] > 0.9

    reader = ledgers[("Org3", "User1")]
    history = reader.tasks.history(result.task_id)
    assert history.task.status == "COMPLETED"
    for r in history.rounds:
        assert r.status == "FINALIZED" and len(r.updates) == 3
        agreeing = [e for e in r.endorsements if e.aggregate_hash == r.final_hash]
        assert len(agreeing) >= 2  # the quorum
    model = reader.models.get(result.model_name, "1").model
    assert model.provenance.task_id == result.task_id
    assert abs(model.metrics["accuracy"] - encrypted_acc[-1]) < 1e-9
