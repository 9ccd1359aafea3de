"""Content-addressed blob storage for ciphertexts, weights and datasets.

`LocalStore` keeps blobs in a directory, `S3Store` in an S3 bucket; `open_store(url)` opens
either from `s3://bucket/prefix`, `file:///path` or a path. The S3 parts load on first use, so
that the local store needs no boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fedfabric.store.base import (
    MANIFEST_LIMIT,
    SEGMENT_LIMIT,
    SEGMENT_SHARDS,
    Manifest,
    OversizedBlob,
    Store,
    StoreError,
    TamperedBlob,
    sha256,
)
from fedfabric.store.local import LocalStore

if TYPE_CHECKING:
    from fedfabric.store.s3 import S3Store
    from fedfabric.store.url import open_store

__all__ = ["MANIFEST_LIMIT", "SEGMENT_LIMIT", "SEGMENT_SHARDS", "LocalStore", "Manifest",
           "OversizedBlob", "S3Store", "Store", "StoreError", "TamperedBlob", "open_store",
           "sha256"]


def __getattr__(name: str) -> Any:
    if name == "S3Store":
        from fedfabric.store.s3 import S3Store
        return S3Store
    if name == "open_store":
        from fedfabric.store.url import open_store
        return open_store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
