"""A chaincode (and optionally one named contract in it) on a channel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import proposal_pb2

from fedfabric.gateway.client import Client
from fedfabric.gateway.commit import SubmittedTransaction
from fedfabric.gateway.errors import CommitError
from fedfabric.gateway.proposal import Arg, Proposal, build_proposal


class Contract:
    """Example::

        contract = network.get_contract("fedfabric")
        contract.submit_transaction("PutRecord", "r1", '{"a": 1}')
        record = contract.evaluate_transaction("GetRecord", "r1")
    """

    def __init__(self, client: Client, channel_id: str, chaincode_name: str,
                 contract_name: str | None = None) -> None:
        self._client, self._channel_id = client, channel_id
        self.chaincode_name, self.contract_name = chaincode_name, contract_name

    def _qualified(self, name: str) -> str:
        return f"{self.contract_name}:{name}" if self.contract_name else name

    def new_proposal(self, name: str, args: Sequence[Arg] = (),
                     transient: Mapping[str, bytes] | None = None,
                     endorsing_organizations: Sequence[str] | None = None) -> Proposal:
        tx_id, proposal = build_proposal(
            self._client.identity.creator(), self._channel_id, self.chaincode_name,
            self._qualified(name), args, transient)
        proposed = gateway_pb2.ProposedTransaction(
            transaction_id=tx_id,
            proposal=proposal_pb2.SignedProposal(proposal_bytes=proposal.SerializeToString()),
            endorsing_organizations=list(endorsing_organizations or ()))
        return Proposal(self._client, self._channel_id, proposed)

    def evaluate(self, name: str, args: Sequence[Arg] = (),
                 transient: Mapping[str, bytes] | None = None,
                 endorsing_organizations: Sequence[str] | None = None,
                 timeout: float | None = None) -> bytes:
        return self.new_proposal(name, args, transient, endorsing_organizations).evaluate(timeout)

    def submit_async(self, name: str, args: Sequence[Arg] = (),
                     transient: Mapping[str, bytes] | None = None,
                     endorsing_organizations: Sequence[str] | None = None,
                     timeout: float | None = None) -> SubmittedTransaction:
        """Endorse and send to the orderer; returns before the commit (see ``.status()``)."""
        proposal = self.new_proposal(name, args, transient, endorsing_organizations)
        return proposal.endorse(timeout).submit(timeout)

    def submit(self, name: str, args: Sequence[Arg] = (),
               transient: Mapping[str, bytes] | None = None,
               endorsing_organizations: Sequence[str] | None = None,
               timeout: float | None = None) -> bytes:
        """Endorse, order and wait for the commit; raises CommitError unless it is VALID."""
        submitted = self.submit_async(name, args, transient, endorsing_organizations, timeout)
        status = submitted.status()
        if not status.successful:
            raise CommitError(status.transaction_id, status.code)
        return submitted.result

    def evaluate_transaction(self, name: str, *args: Arg) -> bytes:
        return self.evaluate(name, args)

    def submit_transaction(self, name: str, *args: Arg) -> bytes:
        return self.submit(name, args)
