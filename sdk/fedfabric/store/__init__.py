"""Content-addressed blob storage for ciphertexts, weights and datasets."""

from fedfabric.store.local import LocalStore, Manifest, StoreError, TamperedBlob, sha256

__all__ = ["LocalStore", "Manifest", "StoreError", "TamperedBlob", "sha256"]
