"""Using a registered model: load it (weights checked against the chain), predict, record the
inference, and verify another organisation's inference by re-running it.

Determinism: inference runs in float32 on the CPU; outputs are rounded to 6 decimal places and
serialised canonically before hashing, so organisations running the same weights on the same
input get the same output hash. (A value that lands exactly on a rounding boundary could still
differ across platforms; the verdict would then say DISPUTED and the outputs can be compared.)
"""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import numpy as np

from fedfabric.fl.artifact import read_artifact
from fedfabric.ledger import Ledger
from fedfabric.ledger.schema import Inference, Model, Verdict
from fedfabric.store import Store, sha256

DECIMALS = 6


def latest_deployed(ledger: Ledger, name: str, owner: str | None = None) -> str:
    """The newest DEPLOYED version of a model, of the owner you expect when you name one."""
    from fedfabric.ledger import NotFound, all_pages

    versions = [m.version for m in all_pages(ledger.models.list, name)
                if m.status == "DEPLOYED" and (owner is None or m.owner_msp == owner)]
    if not versions:
        raise NotFound(f"model {name} has no DEPLOYED version"
                       + (f" owned by {owner}" if owner else ""))
    return str(max(versions, key=lambda v: (len(v), v)))


def load_model(ledger: Ledger, store: Store, name: str, version: str) -> tuple[Any, Model]:
    """The Keras model of a registered version; its weights must match the on-chain hash."""
    record = ledger.models.get(name, version).model
    return read_artifact(store, record), record


def input_bytes(x: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(x, dtype=np.float32), allow_pickle=False)
    return buf.getvalue()


def output_bytes(y: np.ndarray) -> bytes:
    rounded = np.round(np.asarray(y, dtype=np.float64), DECIMALS)
    return json.dumps([[f"{v:.{DECIMALS}f}" for v in row] for row in rounded.reshape(len(y), -1)],
                      separators=(",", ":")).encode()


def predict(model: Any, x: np.ndarray) -> bytes:
    return output_bytes(model.predict(np.asarray(x, dtype=np.float32), verbose=0))


def predict_and_record(ledger: Ledger, store: Store, name: str, version: str,
                       x: np.ndarray, owner: str | None = None) -> tuple[Inference, bytes]:
    """Predict with a deployed version and record the inference (input kept in the store).
    With owner, a version another organisation registered is refused."""
    model, record = load_model(ledger, store, name, version)
    if owner is not None and record.owner_msp != owner:
        raise ValueError(f"model {name}:{version} belongs to {record.owner_msp}, not {owner}")
    output = predict(model, x)
    input_hash = store.put(input_bytes(x))
    inference = ledger.models.record_inference(f"inf-{uuid.uuid4().hex[:16]}", name, version,
                                               input_hash, sha256(output))
    return inference, output


def verify(ledger: Ledger, store: Store, inference_id: str) -> Verdict:
    """Re-run a recorded inference and attest it: VERIFIED when the output hashes match."""
    inference = ledger.models.inference(inference_id)
    model, _ = load_model(ledger, store, inference.name, inference.version)
    x = np.load(io.BytesIO(store.sibling(inference.msp_id).get(inference.input_hash)),
                allow_pickle=False)
    return ledger.models.attest_inference(inference_id, sha256(predict(model, x)))
