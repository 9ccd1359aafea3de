"""Network administration: the launchers, CAs and identities, channel config updates
(organisations joining and leaving), the chaincode lifecycle."""

from fedfabric.admin.errors import AdminError, StepFailed
from fedfabric.admin.launcher import NativeNetwork, NodeStatus
from fedfabric.admin.topology import Topology

__all__ = ["AdminError", "NativeNetwork", "NodeStatus", "StepFailed", "Topology"]
