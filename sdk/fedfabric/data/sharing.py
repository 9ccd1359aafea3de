"""Encrypted data sharing under rules the chain enforces: share, grant, fetch, revoke, audit.

The dataset file is encrypted with a fresh AES-256 data key (streamed, so files larger than
memory work); the ciphertext goes to the blob store and its sha256 on chain. The data key is
never stored in clear: it is wrapped to the owner's own organisation key (referenced from the
dataset's on-chain ``encryption`` record) and, on each grant, to the grantee organisation's
published X25519 key (referenced from the grant). Fetching checks access on chain, records the
access (the chain checks again), verifies the ciphertext's hash, then unwraps and decrypts.
Revocation stops future fetches and rotates the data key: the dataset is re-encrypted under a
new key wrapped only to the organisations still granted, so the revoked one cannot read the
current version even if it skips the chain's checks. A copy already fetched cannot be recalled.

Example::

    owner = DataSharing(org1_admin_ledger, store, "Org1MSP", org1_key)
    owner.share(Path("ward-a.csv"), "ward-a", "Ward A", {"columns": 30}, rows=569)
    owner.grant("ward-a", "Org2MSP", "read", expires)
    DataSharing(org2_user_ledger, store, "Org2MSP", org2_key).fetch("ward-a", Path("out.csv"))
"""

from __future__ import annotations

import datetime
import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from fedfabric.data.envelope import CHUNK, decrypt_file, encrypt_file, new_key
from fedfabric.keys import public_pem, unwrap, wrap
from fedfabric.ledger import Ledger, PermissionDenied
from fedfabric.ledger.schema import AccessEntry, Dataset, Grant
from fedfabric.store import Store


def publish_key(admin: Ledger, msp_id: str, key: X25519PrivateKey) -> None:
    """Publish the key on chain unless it is already the published one (as an admin)."""
    admin.tasks.ensure_key(msp_id, public_pem(key.public_key()))


def _time(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _context(dataset_id: str) -> bytes:
    return f"fedfabric dataset {dataset_id}".encode()


class DataSharing:
    """One organisation's side of data sharing (see the module docstring)."""

    def __init__(self, ledger: Ledger, store: Store, msp_id: str,
                 key: X25519PrivateKey, identity: str = "") -> None:
        self.ledger, self.store, self.msp_id, self.key = ledger, store, msp_id, key
        self.identity = identity

    def share(self, source: Path, dataset_id: str, name: str, schema: dict[str, Any],
              rows: int) -> Dataset:
        """Encrypt, store and register a dataset owned by this organisation (as its admin)."""
        data_key = new_key()
        with tempfile.TemporaryDirectory() as tmp:
            ciphertext = Path(tmp) / "ciphertext"
            encrypt_file(source, ciphertext, data_key)
            digest = self.store.put_file(ciphertext)
        own = self.store.put(wrap(data_key, public_pem(self.key.public_key()),
                                  _context(dataset_id)))
        return self.ledger.datasets.register(
            dataset_id, name, digest, self.store.uri(digest), schema, rows,
            {"algorithm": "AES-256-GCM", "chunk_bytes": CHUNK, "owner_key": own})

    def grant(self, dataset_id: str, grantee_msp: str, purpose: str,
              expires_at: datetime.datetime | str, grantee_id: str = "") -> Grant:
        """Wrap the data key to the grantee's published key and record the grant (as admin)."""
        dataset = self.ledger.datasets.get(dataset_id)
        data_key = unwrap(self.store.get(dataset.encryption["owner_key"]), self.key,
                          _context(dataset_id))
        grantee_key = self.ledger.tasks.org_key(grantee_msp).public_key
        wrapped = self.store.put(wrap(data_key, grantee_key, _context(dataset_id)))
        return self.ledger.datasets.grant(dataset_id, grantee_msp, purpose, expires_at,
                                          grantee_id=grantee_id, wrapped_key=wrapped)

    def revoke(self, dataset_id: str, grantee_msp: str, purpose: str,
               grantee_id: str = "") -> tuple[Grant, Dataset]:
        """End the grant, then rotate the data key (see rotate): the revoked organisation holds
        only the old key, so it cannot read the current version even if it skips the chain.
        A copy it already decrypted cannot be recalled."""
        grant = self.ledger.datasets.revoke(dataset_id, grantee_msp, purpose, grantee_id)
        return grant, self.rotate(dataset_id)

    def rotate(self, dataset_id: str) -> Dataset:
        """Re-encrypt the dataset under a fresh data key, wrap it to the owner and to every live
        grantee's published key, and record the new version (as the owner's admin)."""
        dataset = self.ledger.datasets.get(dataset_id)
        old_key = unwrap(self.store.get(dataset.encryption["owner_key"]), self.key,
                         _context(dataset_id))
        new_key_ = new_key()
        from fedfabric.ledger import all_pages

        now = datetime.datetime.now(datetime.UTC)
        live = [g for g in all_pages(self.ledger.datasets.grants, dataset_id)
                if g.status == "ACTIVE" and _time(g.expires_at) > now]
        with tempfile.TemporaryDirectory() as tmp:
            plain, sealed = Path(tmp) / "plain", Path(tmp) / "sealed"
            self.store.get_file(dataset.sha256, Path(tmp) / "old")
            decrypt_file(Path(tmp) / "old", plain, old_key)
            encrypt_file(plain, sealed, new_key_)
            digest = self.store.put_file(sealed)
        own = self.store.put(wrap(new_key_, public_pem(self.key.public_key()),
                                  _context(dataset_id)))
        wrapped = {f"{g.grantee_msp}|{g.purpose}|{g.grantee_id}": self.store.put(wrap(
            new_key_, self.ledger.tasks.org_key(g.grantee_msp).public_key, _context(dataset_id)))
            for g in live}
        return self.ledger.datasets.rotate_key(
            dataset_id, digest, self.store.uri(digest),
            {**dataset.encryption, "owner_key": own}, wrapped)

    def fetch(self, dataset_id: str, dest: Path, purpose: str = "read") -> AccessEntry:
        """Decrypt the dataset into dest if the chain allows it; the access is audited.

        Refused (PermissionDenied) before anything is fetched or decrypted when there is no
        live grant; a tampered ciphertext raises TamperedBlob before decryption.
        """
        decision = self.ledger.datasets.check(dataset_id, self.msp_id, purpose, self.identity)
        if not decision.allowed:
            raise PermissionDenied(f"{self.msp_id} may not {purpose} {dataset_id}: "
                                   f"{decision.reason}")
        dataset = self.ledger.datasets.get(dataset_id)
        if dataset.owner_msp == self.msp_id:
            wrapped = dataset.encryption["owner_key"]
        elif decision.grant is not None and decision.grant.wrapped_key:
            wrapped = decision.grant.wrapped_key
        else:
            raise PermissionDenied(f"the grant on {dataset_id} carries no key for {self.msp_id}")
        entry = self.ledger.datasets.record_access(dataset_id, purpose)  # the chain re-checks
        with tempfile.TemporaryDirectory() as tmp:
            ciphertext = Path(tmp) / "ciphertext"
            owner = self.store.sibling(dataset.owner_msp)  # the owner wrote both
            owner.get_file(dataset.sha256, ciphertext)  # verified before any decryption
            data_key = unwrap(owner.get(wrapped), self.key, _context(dataset_id))
            decrypt_file(ciphertext, dest, data_key)
        return entry

    def access_log(self, dataset_id: str) -> list[AccessEntry]:
        from fedfabric.ledger import all_pages

        return list(all_pages(self.ledger.datasets.access_log, dataset_id))
