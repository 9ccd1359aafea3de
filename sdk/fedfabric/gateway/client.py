"""What every Gateway object shares: the gRPC stub, who signs, how, and the default deadlines."""

from __future__ import annotations

from dataclasses import dataclass

from fabric_protos.gateway import gateway_pb2_grpc

from fedfabric.gateway.identity import Identity
from fedfabric.gateway.signing import Hash, Signer


@dataclass
class Client:
    stub: gateway_pb2_grpc.GatewayStub
    identity: Identity
    signer: Signer | None
    hash: Hash
    evaluate_timeout: float | None
    endorse_timeout: float | None
    submit_timeout: float | None
    commit_status_timeout: float | None
    chaincode_events_timeout: float | None

    def sign(self, digest: bytes) -> bytes:
        if self.signer is None:
            raise ValueError("no signer supplied: sign offline and use the new_signed_* methods")
        return self.signer(digest)
