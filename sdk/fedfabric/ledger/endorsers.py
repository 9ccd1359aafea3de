"""Which organisations endorse a submit, on channels of many organisations.

Unless a client names the endorsing organisations, Fabric's gateway asks discovery for a plan,
and discovery lists every set of organisations that satisfies the chaincode's policy: for the
channel default, MAJORITY Endorsement, C(n, n/2+1) sets. That is 126 at 9 organisations but
11,440 at 16 (measured on our 2-core host: 0.25-0.7 s of the gateway peer's CPU per
transaction, against 0.04-0.12 s with the organisations named) and 5.6e8 at 32.

So past SMALL_CHANNEL organisations, `MajorityEndorsers` names a majority itself: its own
organisation and the next ones in sorted order (clients of different organisations spread over
different peers), from the channel's configuration, read again every REFRESH seconds. A submit
whose named organisations cannot endorse it (a peer down, a configuration changed since) goes
again through discovery (fedfabric.ledger.calls).

Example::

    endorsers = MajorityEndorsers(network)
    contract.submit("SubmitUpdate", args, endorsing_organizations=endorsers.pick())
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from fedfabric.gateway import GatewayError, Network

SMALL_CHANNEL = 8  # up to this many organisations, discovery's plan is cheap: let it choose
REFRESH = 60.0  # seconds between reads of the channel's organisations


def majority(orgs: Sequence[str], own: str) -> list[str]:
    """More than half of orgs: own first (if it is one of them), then the next in sorted
    order, wrapping around."""
    ring = sorted(set(orgs))
    if not ring:
        return []
    start = ring.index(own) if own in ring else 0
    return [ring[(start + i) % len(ring)] for i in range(len(ring) // 2 + 1)]


class MajorityEndorsers:
    """Names a majority of the channel's organisations to endorse each submit, when the channel
    has more than `small` of them (None: let discovery choose). Thread-safe."""

    def __init__(self, network: Network, small: int = SMALL_CHANNEL,
                 refresh: float = REFRESH) -> None:
        self.network, self.small, self.refresh = network, small, refresh
        self._lock = threading.Lock()
        self._orgs: list[str] | None = None
        self._read_at = 0.0

    def pick(self) -> list[str] | None:
        with self._lock:
            if self._orgs is None or time.monotonic() - self._read_at > self.refresh:
                try:
                    self._orgs = self.network.organizations()
                except GatewayError:
                    self._orgs = []  # cannot read the configuration: discovery it is
                self._read_at = time.monotonic()
            orgs = self._orgs
        if len(orgs) <= self.small:
            return None
        return majority(orgs, self.network.msp_id)

    def forget(self) -> None:
        """Read the channel's organisations again before the next pick."""
        with self._lock:
            self._orgs = None
