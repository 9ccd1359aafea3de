"""Encrypted dataset sharing: AES-GCM envelopes, keys wrapped to grantees, chain-checked fetch."""

from fedfabric.data.envelope import DecryptionError, decrypt_file, encrypt_file, new_key
from fedfabric.data.sharing import DataSharing, publish_key
from fedfabric.keys import org_key

__all__ = ["DataSharing", "DecryptionError", "decrypt_file", "encrypt_file", "new_key",
           "org_key", "publish_key"]
