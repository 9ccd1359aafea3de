"""Calling one contract of the chaincode: JSON in and out, refusals as LedgerErrors, and bounded
retries of submits that lose a race: an MVCC or phantom-read conflict at commit (an invalid
transaction wrote nothing), or endorsing peers at different heights that answered differently
("ProposalResponsePayloads do not match": nothing was ordered). On channels of many
organisations the endorsers are named by fedfabric.ledger.endorsers, and discovery chooses
when they cannot endorse."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from fedfabric.gateway import CommitError, Contract, GatewayError, Network
from fedfabric.ledger.endorsers import MajorityEndorsers
from fedfabric.ledger.errors import (
    Conflict,
    LedgerError,
    from_commit_error,
    from_gateway_error,
)
from fedfabric.ledger.schema import Event

log = logging.getLogger("fedfabric.ledger")
RETRYABLE = {"MVCC_READ_CONFLICT", "PHANTOM_READ_CONFLICT"}
# Transient at endorsement: peers at different heights answered differently, or discovery does
# not know enough peers yet (a network just started, a peer just restarted).
TRANSIENT = ("ProposalResponsePayloads do not match",
             "no combination of peers can be derived")


def _endorsers_disagreed(error: GatewayError) -> bool:
    return any(marker in text for marker in TRANSIENT
               for text in [error.message, *(d.message for d in error.details)])


class ContractCalls:
    def __init__(self, network: Network, chaincode: str, contract: str, retries: int = 8,
                 after_commit: Callable[[int], None] | None = None,
                 endorsers: MajorityEndorsers | None = None) -> None:
        self.contract_name = contract
        self._contract: Contract = network.get_contract(chaincode, contract)
        self._retries = retries
        self._after_commit = after_commit
        self._endorsers = endorsers

    def evaluate(self, function: str, *args: str) -> Any:
        try:
            return json.loads(self._contract.evaluate(function, args))
        except GatewayError as e:
            raise from_gateway_error(e) from e

    def submit(self, function: str, *args: str) -> Event:
        """Submit and wait for the commit; returns the event the transaction emitted."""
        status = None
        named = self._endorsers.pick() if self._endorsers is not None else None
        for attempt in range(self._retries + 1):
            try:
                submitted = self._contract.submit_async(function, args,
                                                        endorsing_organizations=named)
                status = submitted.status()
            except GatewayError as e:
                if _endorsers_disagreed(e) and attempt < self._retries:
                    time.sleep(random.uniform(0.1, 0.4) * (attempt + 1))  # let peers catch up
                    continue
                error = from_gateway_error(e)
                if named and type(error) is LedgerError and attempt < self._retries:
                    self._forget_named(function, error)  # not a refusal: a named peer failed
                    named = None
                    continue
                raise error from e
            if status.successful:
                if self._after_commit is not None:
                    self._after_commit(status.block_number)
                name, payload = submitted.chaincode_event or ("", submitted.result)
                return Event(name, json.loads(payload), status.transaction_id,
                             status.block_number)
            if named and status.code_name == "ENDORSEMENT_POLICY_FAILURE" and \
                    attempt < self._retries:
                self._forget_named(function, status.code_name)  # the members changed
                named = None
                continue
            if status.code_name not in RETRYABLE:
                raise from_commit_error(CommitError(status.transaction_id, status.code))
            if attempt < self._retries:
                time.sleep(random.uniform(0.05, 0.3) * (attempt + 1))  # spread the racers
        raise Conflict(f"{function} lost {self._retries + 1} races with concurrent transactions",
                       status.transaction_id if status is not None else None)

    def _forget_named(self, function: str, why: object) -> None:
        """From now on let discovery choose this submit's endorsers; the next submit's are
        named from the channel's configuration read again."""
        assert self._endorsers is not None
        log.warning("%s: the organisations named to endorse it could not (%s); discovery "
                    "chooses", function, why)
        self._endorsers.forget()
