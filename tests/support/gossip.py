"""What each organisation's gateway knows of the channel: gossip tells its peer which members'
peers run the chaincode, and a submit naming its endorsers (fedfabric.ledger.endorsers) needs
every one it names."""

from __future__ import annotations

from fedfabric.admin import NativeNetwork
from fedfabric.gateway import ConnectionProfile, GatewayError


def unreachable(network: NativeNetwork) -> dict[str, list[str]]:
    """For each member's gateway, the members whose peer it cannot route a request to."""
    profile = ConnectionProfile.from_dict(network.profile())
    orgs = [org.name for org in network.topology.org_list]
    missing: dict[str, list[str]] = {}
    for org in orgs:
        with profile.connect(org) as gateway:
            contract = gateway.get_network(profile.channel).get_contract(profile.chaincode,
                                                                         "datasets")
            for target in orgs:
                try:
                    contract.evaluate("ListDatasets", ["1", ""],
                                      endorsing_organizations=[f"{target}MSP"])
                except GatewayError:
                    missing.setdefault(org, []).append(target)
    return missing
