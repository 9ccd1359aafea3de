"""Network administration: the native launcher, channel and chaincode lifecycle."""

from fedfabric.admin.errors import AdminError, StepFailed
from fedfabric.admin.launcher import NativeNetwork, NodeStatus
from fedfabric.admin.topology import Topology

__all__ = ["AdminError", "NativeNetwork", "NodeStatus", "StepFailed", "Topology"]
