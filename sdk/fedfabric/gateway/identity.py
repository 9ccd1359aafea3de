"""Client identities: an MSP id and an X.509 certificate (PEM)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fabric_protos.msp import identities_pb2


@dataclass(frozen=True)
class Identity:
    """Who signs: ``Identity("Org1MSP", cert_pem)`` or ``Identity.from_msp_dir(...)``."""

    msp_id: str
    credentials: bytes  # the X.509 certificate, PEM

    def creator(self) -> bytes:
        """The serialized identity Fabric puts in headers (id_bytes is the PEM certificate)."""
        return bytes(identities_pb2.SerializedIdentity(
            mspid=self.msp_id, id_bytes=self.credentials).SerializeToString())

    @classmethod
    def from_msp_dir(cls, msp_id: str, msp_dir: Path) -> Identity:
        """Read the signing certificate of an MSP folder (cryptogen layout: signcerts/*.pem)."""
        certs = sorted((Path(msp_dir) / "signcerts").glob("*.pem"))
        if len(certs) != 1:
            raise ValueError(f"expected one certificate in {msp_dir}/signcerts, found {len(certs)}")
        return cls(msp_id, certs[0].read_bytes())
