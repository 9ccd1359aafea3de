"""The round protocol at scale: every organisation's gateway reaches every other organisation's
peer, nine organisations' submissions and endorsements commit in one block, finalization happens
exactly once however many try, and a 10M-parameter model goes through an encrypted round."""

from __future__ import annotations

import datetime
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import fedfabric.he  # noqa: F401  (TenSEAL first)
from fedfabric.admin import NativeNetwork
from fedfabric.gateway import ConnectionProfile
from fedfabric.ledger import Ledger
from fedfabric.ledger.schema import Participant, TaskSpec
from fedfabric.store import sha256
from support.consortium import make_consortium, same_block, wait_for
from support.gossip import unreachable
from support.network import running

NINE = [f"Org{i}" for i in range(1, 10)]
BENCH_APP = Path(__file__).resolve().parents[2] / "bench" / "apps" / "dense"


@pytest.fixture(scope="module")
def nine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeNetwork]:
    with running(tmp_path_factory.mktemp("nine") / "network", 9,
                 "FEDFABRIC_TEST_NINE_BASE_PORT", 30000) as net:
        yield net


def test_every_gateway_reaches_every_organisation_as_soon_as_the_network_is_up(nine):
    # Runs first in this module: `network up` waits until gossip has told every peer about
    # every member (see tests/integration/test_gossip.py for 16 organisations over time).
    assert unreachable(nine) == {}


def test_nine_organisations_commit_in_one_block_and_finalize_exactly_once(nine):
    profile = ConnectionProfile.from_dict(nine.profile())
    ledgers, gateways = {}, []
    for org in NINE:
        g = profile.connect(org, user="Admin")
        gateways.append(g)
        ledgers[org] = Ledger(g.get_network(profile.channel), profile.chaincode,
                              after_commit=nine.wait_for_block)
    try:
        tid = f"nine-{uuid.uuid4().hex[:6]}"
        later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
        for org in NINE:
            ledgers[org].datasets.register(f"{tid}-{org}", "d", sha256(org.encode()), "u", {}, 10,
                                           {})
            if org != "Org1":
                ledgers[org].datasets.grant(f"{tid}-{org}", "Org1MSP", "training", later)
        task = ledgers["Org1"].tasks.create(TaskSpec(
            id=tid, app_hash=sha256(b"a"), model_spec_hash=sha256(b"s"),
            initial_weights_hash=sha256(b"w"), initial_weights_uri="u", he_scheme="ckks",
            he_context_hash=sha256(b"c"), he_context_uri="u",
            participants=[Participant(f"{o}MSP", f"{tid}-{o}", 10) for o in NINE], rounds=1,
            min_updates=5, quorum=5))

        def at_once(function: str, args: Callable[[str], list[str]], user: str = "User1"
                    ) -> set[int]:
            statuses = same_block(profile, [(o, function, [tid, *args(o)]) for o in NINE],
                                  user=user)
            assert all(s.successful for s in statuses), [s.code_name for s in statuses]
            return {s.block_number for s in statuses}

        assert len(at_once("JoinTask", lambda o: [task.terms_hash, ""], user="Admin")) == 1
        ledgers["Org1"].tasks.start(tid)
        blocks = at_once("SubmitUpdate", lambda o: ["1", sha256(f"{o}-u".encode()), "1", "10"])
        assert len(blocks) == 1  # nine submissions, one block, no resubmission
        nine.wait_for_block(max(blocks))
        ledgers["Org5"].tasks.close_round(tid, 1)
        blocks = at_once("EndorseAggregate", lambda o: ["1", sha256(b"agg"), "u", ""])
        assert len(blocks) == 1
        nine.wait_for_block(max(blocks))
        statuses = same_block(profile, [(o, "FinalizeRound", [tid, "1"]) for o in NINE])
        valid = [s for s in statuses if s.successful]
        assert len(valid) == 1  # every member tried at once: exactly one finalization
        assert {s.code_name for s in statuses if not s.successful} <= {"MVCC_READ_CONFLICT"}
        nine.wait_for_block(valid[0].block_number)
        done = ledgers["Org9"].tasks.get(tid)
        assert done.status == "COMPLETED" and len(done.members) == 9
        assert unreachable(nine) == {}  # and still, a round later
    finally:
        for g in gateways:
            g.close()


@pytest.mark.slow
def test_a_ten_million_parameter_model_completes_an_encrypted_round(network, profile, ledgers,
                                                                    tmp_path):
    app = tmp_path / "wide"
    shutil.copytree(BENCH_APP, app, ignore=shutil.ignore_patterns("__pycache__"))
    (app / "dense_app" / "size.py").write_text(
        "FEATURES = 1000\nHIDDEN = 10000  # 10,020,001 weights\nROWS = 200\nHELD_OUT = 50\n")
    consortium = make_consortium(network, profile, tmp_path, ledgers[("Org3", "User1")], app)
    assert consortium.app.model().count_params() == 10_020_001
    try:
        for org in ("Org1", "Org2", "Org3"):
            consortium.start(org)
        task_id = consortium.create("--rounds", "1", "--round-timeout", "900")
        wait_for("the round to complete", lambda: consortium.history(task_id).task.status ==
                 "COMPLETED" and len(consortium.history(task_id).rounds[0].metrics) == 3,
                 timeout=900)
        peaks = {org: consortium.peak_rss_mb(org) for org in ("Org1", "Org2", "Org3")}
        print(f"\n10M parameters, one encrypted round: peak RSS per participant (MB) {peaks}")
        h = consortium.history(task_id)
        assert [u.shards for u in h.rounds[0].updates] == [2447] * 3  # 4095 values + a check
    finally:
        consortium.services.stop_all()
