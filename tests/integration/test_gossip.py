"""Sixteen organisations, one peer each: every organisation's gateway reaches every member's
peer as soon as the network is up, and keeps doing so for longer than Fabric's default alive
expiry (25 s). With gossip's defaults, a peer heard another's alive message in 3 of 15
intervals of 5 s (alive messages of another organisation are not forwarded), so pairs expired
each other all the time, and submits that named their endorsers fell back to discovery.

The module brings its network up at FEDFABRIC_TEST_SIXTEEN_BASE_PORT (default 25000)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from fedfabric.admin import NativeNetwork
from support.gossip import unreachable
from support.network import running

WATCH = 30.0  # seconds: longer than the default expiry


@pytest.fixture(scope="module")
def sixteen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeNetwork]:
    with running(tmp_path_factory.mktemp("sixteen") / "network", 16,
                 "FEDFABRIC_TEST_SIXTEEN_BASE_PORT", 25000) as net:
        yield net


def test_sixteen_gateways_reach_every_member_from_the_start_and_stay_so(sixteen):
    views, until = 0, time.monotonic() + WATCH
    while time.monotonic() < until:
        assert unreachable(sixteen) == {}, f"after {views} complete views"
        views += 1
    assert views >= 2
