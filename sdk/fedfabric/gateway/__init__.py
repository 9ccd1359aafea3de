"""A Fabric Gateway client: Gateway -> Network -> Contract, shaped like the official clients.

Example::

    from fedfabric.gateway import ConnectionProfile

    profile = ConnectionProfile.from_file("profile.json")   # `fedfabric network profile`
    with profile.connect("Org1") as gateway:
        contract = gateway.get_network(profile.channel).get_contract(profile.chaincode)
        contract.submit_transaction("PutRecord", "r1", '{"a": 1}')
"""

from fedfabric.gateway.checkpoint import Checkpointer, FileCheckpointer, InMemoryCheckpointer
from fedfabric.gateway.commit import Commit, Status, SubmittedTransaction
from fedfabric.gateway.connection import tls_channel
from fedfabric.gateway.contract import Contract
from fedfabric.gateway.errors import (
    CommitError,
    CommitStatusError,
    EndorseError,
    ErrorDetail,
    GatewayError,
    SubmitError,
)
from fedfabric.gateway.events import ChaincodeEvent, ChaincodeEvents, ChaincodeEventsRequest
from fedfabric.gateway.gateway import Gateway, connect
from fedfabric.gateway.identity import Identity
from fedfabric.gateway.network import Network
from fedfabric.gateway.profile import ConnectionProfile, OrgProfile, PeerEndpoint, ProfileError
from fedfabric.gateway.proposal import Proposal
from fedfabric.gateway.signing import (
    ECDSASigner,
    Ed25519Signer,
    Hash,
    Signer,
    none,
    sha3_256,
    sha3_384,
    sha256,
    sha384,
    signer_from_msp_dir,
    signer_from_pem,
)
from fedfabric.gateway.transaction import Transaction

__all__ = [
    "ChaincodeEvent", "ChaincodeEvents", "ChaincodeEventsRequest", "Checkpointer", "Commit",
    "CommitError", "CommitStatusError", "ConnectionProfile", "Contract", "ECDSASigner",
    "Ed25519Signer", "EndorseError", "ErrorDetail", "FileCheckpointer", "Gateway",
    "GatewayError", "Hash", "Identity", "InMemoryCheckpointer", "Network", "OrgProfile",
    "PeerEndpoint", "ProfileError", "Proposal", "Signer", "Status", "SubmitError",
    "SubmittedTransaction", "Transaction", "connect", "none", "sha256", "sha384", "sha3_256",
    "sha3_384", "signer_from_msp_dir", "signer_from_pem", "tls_channel",
]
