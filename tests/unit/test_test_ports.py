"""The test networks' port choice: their own range, or the next free one when it is held."""

from __future__ import annotations

import socket

import pytest

from fedfabric.admin.ports import in_use
from support.ports import STEP, base_port


def test_a_held_range_moves_the_network_to_the_next_free_one(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("FEDFABRIC_TEST_PORT_PROBE", raising=False)
    for port in range(21000, 21500, 20):
        default = port - 5
        if any(in_use(p) for p in [*range(default, default + 10),
                                   *range(default + STEP, default + STEP + 10)]):
            continue
        assert base_port("FEDFABRIC_TEST_PORT_PROBE", default, span=10) == default
        with socket.socket() as held:
            held.bind(("127.0.0.1", port))
            held.listen()
            assert base_port("FEDFABRIC_TEST_PORT_PROBE", default, span=10) == default + STEP
        return
    pytest.fail("no free port range between 21000 and 21500 to probe with")


def test_a_range_given_by_the_environment_is_used_as_given(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FEDFABRIC_TEST_PORT_PROBE", "41234")
    assert base_port("FEDFABRIC_TEST_PORT_PROBE", 27000) == 41234
