"""The ledger commands (`fedfabric dataset|acl|task|round|model`) against the real network."""

from __future__ import annotations

import hashlib
import json

from fedfabric.admin import NativeNetwork

from .conftest import unique
from .test_cli import fedfabric


def run(network: NativeNetwork, *args: str):
    return fedfabric(*args, "--dir", str(network.layout.root))


def test_dataset_and_acl_commands(network: NativeNetwork):
    did = unique("cli-ds")
    sha = hashlib.sha256(did.encode()).hexdigest()
    made = run(network, "dataset", "register", did, "--name", "Ward A", "--sha256", sha,
               "--uri", f"file:///{did}", "--rows", "12", "--schema", '{"cols": 3}', "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["owner_msp"] == "Org1MSP"

    again = run(network, "dataset", "register", did, "--name", "x", "--sha256", sha,
                "--uri", "u", "--rows", "1")
    assert again.returncode == 1 and "ALREADY_EXISTS" in again.stderr
    bad = run(network, "dataset", "register", unique("cli-ds"), "--name", "x", "--sha256", sha,
              "--uri", "u", "--rows", "1", "--schema", "[1]")
    assert bad.returncode == 2 and "must be a JSON object" in bad.stderr

    shown = run(network, "dataset", "show", did, "--org", "Org3", "--json")
    assert json.loads(shown.stdout)["rows"] == 12
    listed = run(network, "dataset", "list", "--json")
    assert did in {d["id"] for d in json.loads(listed.stdout)}

    denied = run(network, "acl", "check", did, "Org2MSP", "--purpose", "read")
    assert denied.returncode == 3 and "denied" in denied.stdout
    not_admin = run(network, "acl", "grant", did, "Org2MSP", "--purpose", "read",
                    "--user", "User1")
    assert not_admin.returncode == 1 and "PERMISSION_DENIED" in not_admin.stderr
    granted = run(network, "acl", "grant", did, "Org2MSP", "--purpose", "read", "--days", "1")
    assert granted.returncode == 0, granted.stderr
    allowed = run(network, "acl", "check", did, "Org2MSP", "--purpose", "read")
    assert allowed.returncode == 0 and "allowed" in allowed.stdout
    revoked = run(network, "acl", "revoke", did, "Org2MSP", "--purpose", "read")
    assert revoked.returncode == 0, revoked.stderr
    log = json.loads(run(network, "acl", "log", did, "--json").stdout)
    assert [g["status"] for g in log["grants"]] == ["REVOKED"] and log["accesses"] == []


def test_task_round_and_model_commands(network: NativeNetwork, ledgers):
    from fedfabric.ledger.schema import Participant, TaskSpec

    from .test_ledger_tasks_models import h

    datasets = {}
    for org in ("Org1", "Org2"):
        did = unique(f"cli-task-{org.lower()}")
        ledgers[(org, "Admin")].datasets.register(did, "own", h(did), "u", {}, 5, {})
        if org == "Org2":
            ledgers[(org, "Admin")].datasets.grant(did, "Org1MSP", "training",
                                                   "2099-01-01T00:00:00Z")
        datasets[org] = did
    spec = {"id": unique("cli-task")}
    task = ledgers[("Org1", "Admin")].tasks.create(TaskSpec(
        id=spec["id"], app_hash=h("a"), model_spec_hash=h("s"), initial_weights_hash=h("w"),
        initial_weights_uri="file:///w", he_scheme="ckks", he_context_hash=h("c"),
        he_context_uri="file:///c", participants=[Participant(f"{o}MSP", d, 5)
                                                  for o, d in datasets.items()],
        rounds=1, min_updates=2, quorum=2))
    pending = json.loads(run(network, "task", "show", spec["id"], "--json").stdout)
    assert pending["task"]["status"] == "PENDING"
    for org in datasets:
        ledgers[(org, "Admin")].tasks.join(task.id, task.terms_hash)
    ledgers[("Org1", "User1")].tasks.start(task.id)
    for org in datasets:
        ledgers[(org, "User1")].tasks.submit_update(task.id, 1, h(f"u{org}"), 1, 5)
    ledgers[("Org1", "User1")].tasks.close_round(task.id, 1)
    for org in datasets:
        ledgers[(org, "User1")].tasks.endorse_aggregate(task.id, 1, h("agg"), "file:///agg")
    ledgers[("Org2", "User1")].tasks.finalize_round(task.id, 1)

    shown = run(network, "task", "show", spec["id"], "--json")
    assert json.loads(shown.stdout)["task"]["status"] == "COMPLETED"
    listed = run(network, "task", "list", "--json")
    assert spec["id"] in {t["id"] for t in json.loads(listed.stdout)}
    round_ = json.loads(run(network, "round", "show", spec["id"], "1", "--json").stdout)
    assert round_["round"]["final_hash"] == h("agg") and len(round_["updates"]) == 2
    missing = run(network, "round", "show", spec["id"], "2")
    assert missing.returncode == 1 and "NOT_FOUND" in missing.stderr

    name = unique("cli-model")
    model = {"name": name, "version": "1", "provenance": {"type": "task", "task_id": spec["id"],
                                                         "round": 1},
             "weights_hash": h("weights"), "weights_uri": "file:///weights",
             "framework": "tensorflow", "metrics": {"accuracy": 0.9}}
    assert run(network, "model", "register", json.dumps(model)).returncode == 0
    refused = run(network, "model", "deploy", f"{name}:1")
    assert refused.returncode == 1 and "weights attestations" in refused.stderr
    for org in datasets:
        ledgers[(org, "User1")].models.attest_weights(name, "1", h("weights"))
    assert run(network, "model", "deploy", f"{name}:1").returncode == 0
    foreign = run(network, "model", "retire", f"{name}:1", "--org", "Org2")
    assert foreign.returncode == 1 and "PERMISSION_DENIED" in foreign.stderr
    shown = json.loads(run(network, "model", "show", f"{name}:1", "--json").stdout)
    assert shown["model"]["status"] == "DEPLOYED"
    lineage = json.loads(run(network, "model", "lineage", f"{name}:1", "--json").stdout)
    assert lineage["task"]["id"] == spec["id"] and lineage["rounds"][0]["final_hash"] == h("agg")
    models = json.loads(run(network, "model", "list", "--name", name, "--json").stdout)
    assert [m["version"] for m in models] == ["1"]
    assert run(network, "model", "retire", f"{name}:1").returncode == 0
