"""Random and malformed arguments to every chaincode function, through the Gateway.

Whatever arrives, the answer is a result or a clean refusal (a chaincode response carrying an
error code, or the contract API's own argument-count message); the chaincode services never
crash; and a refused submit writes nothing (the ledger grows by one block per successful submit
only).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedfabric.admin import NativeNetwork, process
from fedfabric.gateway import ConnectionProfile, Contract, GatewayError

CONTRACT = json.loads((Path(__file__).resolve().parents[2] / "chaincode" / "contract.json")
                      .read_text())
FUNCTIONS = [(c, f, len(t["args"]), t["kind"]) for c, body in CONTRACT["contracts"].items()
             for f, t in body["transactions"].items()]
CODES = "|".join(CONTRACT["errors"])
CLEAN = re.compile(rf"chaincode response 500, (?:(?:{CODES}): |.*(?:param|argument))", re.S)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8)
argument = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}", fullmatch=True),
    st.text(alphabet="0123456789abcdef", min_size=63, max_size=65),
    json_values.map(json.dumps),
    st.integers(-10**20, 10**20).map(str),
    st.text(max_size=40),
    st.binary(max_size=40),
    st.sampled_from(["", "Org1MSP", "training", "DEPLOYED", "2030-01-01T00:00:00Z", "\x00"]),
    st.integers(16_000, 70_000).map(lambda n: "x" * n),
)


@st.composite
def calls(draw, kinds):
    contract, function, arity, _ = draw(st.sampled_from([f for f in FUNCTIONS if f[3] in kinds]))
    if draw(st.integers(0, 9)) == 0:  # now and then, the wrong number of arguments
        arity = draw(st.integers(0, arity + 2))
    return contract, function, draw(st.lists(argument, min_size=arity, max_size=arity))


def _clean(error: GatewayError) -> bool:
    return any(CLEAN.search(d.message) for d in error.details)


def _chaincode_children(network: NativeNetwork) -> list[str]:
    out = []
    for org in network.topology.org_list:
        supervisor = process.running_pid(network.layout.pid(f"chaincode.{org.domain}"))
        assert supervisor is not None
        out.append(Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().strip())
    return out


def _contracts(profile: ConnectionProfile) -> tuple[dict[str, Contract], list]:
    gateways = [profile.connect("Org1", user="Admin")]
    network = gateways[0].get_network(profile.channel)
    return {c: network.get_contract(profile.chaincode, c) for c in CONTRACT["contracts"]}, gateways


FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def test_evaluating_anything_gives_a_result_or_a_clean_refusal(network, profile):
    contracts, gateways = _contracts(profile)
    before = _chaincode_children(network)

    @FUZZ
    @given(calls({"evaluate", "submit"}))
    def check(call):
        contract, function, args = call
        try:
            json.loads(contracts[contract].evaluate(function, args))
        except GatewayError as e:
            assert _clean(e), f"{contract}:{function}{tuple(a[:40] for a in args)} -> {e}"

    try:
        check()
    finally:
        for g in gateways:
            g.close()
    assert _chaincode_children(network) == before, "a chaincode service restarted"


def test_a_refused_submit_writes_nothing(network, profile):
    contracts, gateways = _contracts(profile)
    before = _chaincode_children(network)
    peer = network.topology.org_list[0]
    committed = []

    def height() -> int:
        value = next(n.height for n in network.status() if n.name == peer.peer_name)
        assert value is not None
        return value

    start = height()

    @settings(FUZZ, max_examples=40)
    @given(calls({"submit"}))
    def check(call):
        contract, function, args = call
        try:
            submitted = contracts[contract].submit_async(function, args)
        except GatewayError as e:
            assert _clean(e), f"{contract}:{function} -> {e}"
            return
        committed.append(submitted.status())

    try:
        check()
    finally:
        for g in gateways:
            g.close()
    # Each successful submit was waited for, so it sits in a block of its own.
    deadline_height = start + len(committed)
    assert height() == deadline_height, "a refused submit reached the ledger"
    assert _chaincode_children(network) == before, "a chaincode service restarted"
