"""Named endorsers on the real network: the channel's organisations are read from its
configuration, a majority named by the client commits, and a stale list falls back to
discovery."""

from __future__ import annotations

import json

from fedfabric.gateway import Gateway
from fedfabric.ledger.calls import ContractCalls
from fedfabric.ledger.endorsers import MajorityEndorsers

from .conftest import unique


class Stale(MajorityEndorsers):
    """Names an organisation that left the channel until told to read the channel again."""

    forgotten = False

    def pick(self) -> list[str] | None:
        return super().pick() if self.forgotten else ["Org2MSP", "Org7MSP"]

    def forget(self) -> None:
        self.forgotten = True
        super().forget()


def test_a_named_majority_endorses_and_a_stale_one_falls_back_to_discovery(
        gateways: dict[str, Gateway], profile):
    network = gateways["Org2"].get_network(profile.channel)
    assert network.organizations() == ["Org1MSP", "Org2MSP", "Org3MSP"]
    named = MajorityEndorsers(network, small=0)
    assert named.pick() == ["Org2MSP", "Org3MSP"]

    for chooser in (named, Stale(network, small=0)):
        rid = unique("named")
        calls = ContractCalls(network, profile.chaincode, "records", endorsers=chooser)
        event = calls.submit("PutRecord", rid, json.dumps({"by": type(chooser).__name__}))
        assert event.block_number is not None
        assert calls.evaluate("GetRecord", rid)["value"] == {"by": type(chooser).__name__}
    assert chooser.forgotten
