"""Each organisation runs its own participant service as a separate process, with only its own
crypto material, data, state and keys: a task across them completes; a participant killed
mid-round resumes; one without the app refuses; a straggler is left out after the timeout."""

from __future__ import annotations

import datetime
import shutil
import time
from collections.abc import Iterator

import numpy as np
import pytest

from fedfabric.fl.plain import train_plain
from fedfabric.ledger import all_pages
from fedfabric.ledger.schema import TaskHistory
from support.consortium import APP_DIR, ORGS, Consortium, cli, make_consortium, wait_for


@pytest.fixture
def consortium(network, profile, ledgers, tmp_path) -> Iterator[Consortium]:
    c = make_consortium(network, profile, tmp_path, ledgers[("Org3", "User1")])
    try:
        yield c
    finally:
        c.services.stop_all()


def history(ledgers, task_id: str) -> TaskHistory:
    return ledgers[("Org3", "User1")].tasks.history(task_id)


def test_a_task_runs_across_three_participant_processes(consortium, ledgers):
    for org in ORGS:
        consortium.start(org)
    task_id = consortium.create("--rounds", "2", "--round-timeout", "120")
    watched = cli("task", "watch", task_id, "--org", "Org2", "--profile",
                  str(consortium.services.profile("Org2")))
    assert watched.returncode == 0, watched.stdout[-2000:] + watched.stderr[-2000:]
    assert f"task {task_id} completed" in watched.stdout

    h = history(ledgers, task_id)
    assert h.task.status == "COMPLETED" and len(h.joins) == 3
    for r in h.rounds:
        assert sorted(u.msp_id for u in r.updates) == [f"{o}MSP" for o in ORGS]
        assert sorted(m.msp_id for m in r.metrics) == [f"{o}MSP" for o in ORGS]
        assert all(0.5 < m.metrics["accuracy"] <= 1.0 for m in r.metrics)
    model = ledgers[("Org2", "User1")].models.get(f"breast-cancer-{task_id}", "1").model
    assert model.provenance.task_id == task_id and model.owner_msp == "Org1MSP"
    for org in ORGS:
        log = consortium.log(org)
        assert f"task {task_id}: joined" in log
        assert f"task {task_id} round 2: submitted update" in log
        # only its own organisation's material in its directory
        users = consortium.services.org_dir(org) / "fabric" / "users"
        assert {p.parents[2].name for p in users.rglob("signcerts/*")} == {"Admin", "User1"}
        assert all(org.lower() in p.name for p in users.rglob("signcerts/*"))


def test_a_participant_killed_mid_round_resumes_and_submits_nothing_twice(consortium, ledgers):
    consortium.start("Org1")
    consortium.start("Org3")
    # Org2 trains and stores its round-2 update, then holds before submitting it: killed there.
    consortium.start("Org2", env={"FEDFABRIC_PARTICIPANT_HOLD": "submit:2"})
    task_id = consortium.create("--rounds", "3", "--round-timeout", "300")
    wait_for("Org2 to hold before its round-2 submission",
             lambda: "holding before submit of round 2" in consortium.log("Org2"))
    stored = (consortium.state("Org2", task_id) / "update-2.json").read_text()
    consortium.services.kill("Org2")
    killed = time.monotonic()
    assert not any(u.msp_id == "Org2MSP"
                   for u in ledgers[("Org1", "User1")].tasks.updates(task_id, 2))

    consortium.start("Org2")  # the same state directory: it resumes the round
    wait_for("Org2's round-2 update on chain", lambda: any(
        u.msp_id == "Org2MSP" for u in ledgers[("Org1", "User1")].tasks.updates(task_id, 2)))
    print(f"\nSIGKILL to resumed submission: {time.monotonic() - killed:.1f}s")
    wait_for("the task to complete", lambda: history(ledgers, task_id).task.status ==
             "COMPLETED" and len(history(ledgers, task_id).rounds[-1].metrics) == 3)

    h = history(ledgers, task_id)
    for r in h.rounds:
        assert sorted(u.msp_id for u in r.updates) == [f"{o}MSP" for o in ORGS], r.round
    resubmitted = next(u for u in h.rounds[1].updates if u.msp_id == "Org2MSP")
    assert resubmitted.manifest_hash in stored  # the update stored before the kill, not a new one

    # The result equals an undisturbed run with the same seeds (without encryption or chain).
    reference = train_plain(consortium.app, {f"{o}MSP": consortium.app.data(str(d))
                                             for o, d in consortium.data.items()}, 3, task_id)
    for org in ORGS:
        for r in (1, 2, 3):
            weights = np.load(consortium.state(org, task_id) / f"weights-{r}.npy")
            assert np.allclose(weights, reference[r - 1].weights, atol=1e-4), (org, r)


def test_a_participant_without_the_app_refuses_and_the_others_go_on(consortium, ledgers,
                                                                    tmp_path):
    other = tmp_path / "other-app"
    shutil.copytree(APP_DIR, other, ignore=shutil.ignore_patterns("__pycache__"))
    (other / "bc_app" / "model.py").write_text((other / "bc_app" / "model.py").read_text()
                                               + "\n# a local change\n")
    consortium.start("Org1")
    consortium.start("Org2")
    consortium.start("Org3", app=other)
    # Org3 never joins: after round_timeout the task starts with the two that did.
    task_id = consortium.create("--rounds", "1", "--round-timeout", "20")
    wait_for("Org3's refusal", lambda: f"task {task_id}: refused: its app hash" in
             consortium.log("Org3"))
    wait_for("the task to complete", lambda: history(ledgers, task_id).task.status ==
             "COMPLETED", timeout=240)
    h = history(ledgers, task_id)
    assert h.task.members == ["Org1MSP", "Org2MSP"]
    assert [u.msp_id for u in h.rounds[0].updates] == ["Org1MSP", "Org2MSP"]
    assert not any(j.msp_id == "Org3MSP" for j in h.joins)


def test_a_straggler_is_left_out_after_the_round_timeout(consortium, ledgers):
    consortium.start("Org1")
    consortium.start("Org2")
    consortium.start("Org3", env={"FEDFABRIC_PARTICIPANT_HOLD": "submit:1"})  # never submits
    task_id = consortium.create("--rounds", "1", "--round-timeout", "15")
    wait_for("the task to complete", lambda: history(ledgers, task_id).task.status ==
             "COMPLETED", timeout=240)
    r = history(ledgers, task_id).rounds[0]
    assert sorted(i.msp_id for i in r.included) == ["Org1MSP", "Org2MSP"]
    opened = datetime.datetime.fromisoformat(r.opened_at.replace("Z", "+00:00"))
    closed = datetime.datetime.fromisoformat(str(r.closed_at).replace("Z", "+00:00"))
    assert (closed - opened).total_seconds() >= 15
    assert "holding before submit of round 1" in consortium.log("Org3")


def test_bad_input_is_refused_clearly_and_changes_nothing(consortium, ledgers, tmp_path):
    before = len(list(all_pages(ledgers[("Org1", "User1")].tasks.list)))
    empty = tmp_path / "no-app"
    empty.mkdir()
    refused = cli("task", "create", "--app", str(empty), "-p", "Org1MSP=x", "-p", "Org2MSP=y",
                  "--profile", str(consortium.services.profile("Org1")))
    assert refused.returncode == 2 and "has no fedfabric.toml" in refused.stderr
    unknown = cli("task", "create", "--app", str(APP_DIR), "-p", "Org1MSP=nope", "-p",
                  f"Org2MSP={consortium.datasets['Org2']}", "--profile",
                  str(consortium.services.profile("Org1")), "--store", str(consortium.store))
    assert unknown.returncode == 2 and "nope" in unknown.stderr
    missing = cli("participant", "run", "--org", "Org2", "--app", str(APP_DIR), "--data",
                  str(tmp_path / "missing.npz"), "--profile",
                  str(consortium.services.profile("Org2")), "--state", str(tmp_path / "s"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert len(list(all_pages(ledgers[("Org1", "User1")].tasks.list))) == before
