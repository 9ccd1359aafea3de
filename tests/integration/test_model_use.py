"""Model use on the real network: predict with a deployed version, verify from another org."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fedfabric.he  # noqa: F401  (TenSEAL first)
from fedfabric.fl import FLApp, to_vector
from fedfabric.fl.serving import load_model, predict_and_record, verify
from fedfabric.ledger import PermissionDenied
from fedfabric.ledger.schema import ModelSpec, Provenance
from fedfabric.store import LocalStore, TamperedBlob, sha256

from .conftest import unique

APP = FLApp.load(Path(__file__).resolve().parents[2] / "examples" / "apps" / "breast_cancer")


def rows(n: int) -> np.ndarray:
    return np.random.default_rng(0).normal(0, 1, (n, 30)).astype(np.float32)


@pytest.fixture
def deployed(ledgers, network):
    """A model registered (external provenance) and deployed by Org1, blobs in the network's
    store."""
    store = LocalStore(network.layout.root / "blobs")
    model = APP.model()
    weights = store.put(to_vector(model).astype(np.float64).tobytes())
    architecture = store.put(model.to_json().encode())
    name = unique("diagnosis")
    ledgers[("Org1", "Admin")].models.register(ModelSpec(
        name=name, version="1", provenance=Provenance("external", description="test model"),
        weights_hash=weights, weights_uri=store.uri(weights), framework="tensorflow",
        input_spec={"features": 30, "architecture": architecture}, users=["Org2MSP"]))
    ledgers[("Org1", "Admin")].models.deploy(name, "1")
    return store, name


def test_a_prediction_by_one_org_is_verified_by_another(ledgers, deployed):
    store, name = deployed
    inference, output = predict_and_record(ledgers[("Org1", "User1")], store, name, "1", rows(5))
    assert inference.output_hash == sha256(output) and len(json.loads(output)) == 5
    verdict = verify(ledgers[("Org2", "User1")], store, inference.id)
    assert verdict.verdict == "VERIFIED"
    # Org3 may not use the model: it cannot dispute (or verify) its inferences.
    with pytest.raises(PermissionDenied):
        ledgers[("Org3", "User1")].models.attest_inference(inference.id, sha256(b"other"))
    view = ledgers[("Org3", "User1")].models.inference(inference.id)
    assert (view.status, view.verified, view.disputed) == ("VERIFIED", 1, 0)


def test_a_forged_output_hash_is_disputed(ledgers, deployed):
    store, name = deployed
    from fedfabric.fl.serving import input_bytes

    input_hash = store.put(input_bytes(rows(3)))
    forged = ledgers[("Org1", "User1")].models.record_inference(
        unique("inf"), name, "1", input_hash, sha256(b"[[\"0.999999\"]]"))
    assert verify(ledgers[("Org2", "User1")], store, forged.id).verdict == "DISPUTED"


def test_weights_that_do_not_match_the_chain_are_refused(ledgers, deployed):
    store, name = deployed
    record = ledgers[("Org1", "User1")].models.get(name, "1").model
    blob = store.root / record.weights_hash[:2] / record.weights_hash
    data = bytearray(blob.read_bytes())
    data[0] ^= 1
    blob.write_bytes(bytes(data))
    with pytest.raises(TamperedBlob):
        load_model(ledgers[("Org2", "User1")], store, name, "1")


def test_predict_and_verify_commands(network, deployed, tmp_path):
    _, name = deployed
    np.save(tmp_path / "rows.npy", rows(2))
    run = [sys.executable, "-m", "fedfabric.cli", "model"]
    predicted = subprocess.run(run + ["predict", name, str(tmp_path / "rows.npy"), "--json",
                                      "--dir", str(network.layout.root)],
                               capture_output=True, text=True)
    assert predicted.returncode == 0, predicted.stderr
    inference = json.loads(predicted.stdout)["inference"]["id"]
    verified = subprocess.run(run + ["verify", inference, "--org", "Org2", "--dir",
                                     str(network.layout.root)], capture_output=True, text=True)
    assert verified.returncode == 0 and "VERIFIED" in verified.stdout, verified.stderr
