"""A channel as seen through the Gateway."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fedfabric.gateway.client import Client
from fedfabric.gateway.contract import Contract
from fedfabric.gateway.events import ChaincodeEvents, ChaincodeEventsRequest, events_request

if TYPE_CHECKING:
    from fedfabric.gateway.checkpoint import Checkpointer


class Network:
    """Example::

        network = gateway.get_network("fedfabric")
        contract = network.get_contract("fedfabric")
        with network.chaincode_events("fedfabric", checkpoint=checkpoint) as events:
            ...
    """

    def __init__(self, client: Client, name: str) -> None:
        self._client, self.name = client, name

    def get_contract(self, chaincode_name: str, contract_name: str | None = None) -> Contract:
        return Contract(self._client, self.name, chaincode_name, contract_name)

    def block_height(self) -> int:
        """The channel's height (blocks) on the gateway peer, from the qscc system chaincode."""
        from fabric_protos.common import ledger_pb2

        data = self.get_contract("qscc").evaluate("GetChainInfo", [self.name])
        return int(ledger_pb2.BlockchainInfo.FromString(data).height)

    @property
    def msp_id(self) -> str:
        """The MSP id of the identity this network is used as."""
        return self._client.identity.msp_id

    def organizations(self) -> list[str]:
        """The MSP ids of the channel's application organisations, sorted, from its current
        configuration (the cscc system chaincode: any member may read it)."""
        from fabric_protos.common import configtx_pb2
        from fabric_protos.msp import msp_config_pb2

        data = self.get_contract("cscc").evaluate("GetChannelConfig", [self.name])
        groups = configtx_pb2.Config.FromString(data).channel_group.groups
        orgs = []
        for org in groups["Application"].groups.values():
            msp = msp_config_pb2.MSPConfig.FromString(org.values["MSP"].value)
            orgs.append(msp_config_pb2.FabricMSPConfig.FromString(msp.config).name)
        return sorted(orgs)

    def new_chaincode_events_request(
        self, chaincode_name: str, start_block: int | None = None,
        checkpoint: Checkpointer | None = None,
    ) -> ChaincodeEventsRequest:
        after = None
        if checkpoint is not None and checkpoint.block_number is not None:
            start_block, after = checkpoint.block_number, checkpoint.transaction_id
        return ChaincodeEventsRequest(self._client, events_request(
            self._client, self.name, chaincode_name, start_block, after))

    def chaincode_events(
        self, chaincode_name: str, start_block: int | None = None,
        checkpoint: Checkpointer | None = None, timeout: float | None = None,
    ) -> ChaincodeEvents:
        """Events from start_block, or from the checkpoint's position, or from the next commit.

        timeout bounds the whole stream (a gRPC deadline); None means it runs until closed.
        """
        request = self.new_chaincode_events_request(chaincode_name, start_block, checkpoint)
        return request.events(timeout)
