"""Open a store from a URL: `s3://bucket/prefix`, `file:///path` or a bare path."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from fedfabric.store.base import Store, StoreError
from fedfabric.store.local import LocalStore
from fedfabric.store.s3 import PART_SIZE, S3Store

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client

# S3 bucket names: 3-63 lowercase letters, digits, dots and hyphens, starting and ending alnum.
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def open_store(url: str, endpoint: str | None = None, *, region: str | None = None,
               access_key: str | None = None, secret_key: str | None = None,
               profile: str | None = None, attempts: int = 4, part_size: int = PART_SIZE,
               check: bool = True) -> Store:
    """The store a URL names.

    For s3:// the endpoint, region and credentials come from the arguments, else from the
    standard AWS environment variables and profiles (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...).
    Transient errors are retried (attempts in all); with check, an unknown bucket or refused
    credentials raise StoreError here, before anything is written.

    Example::

        store = open_store("s3://fedfabric/Org1", endpoint="http://127.0.0.1:28333",
                           access_key="org1-key", secret_key="org1-secret")
        local = open_store("~/.fedfabric/blobs")
    """
    if not isinstance(url, str) or not url.strip():
        raise StoreError(f"store URL {url!r} is empty")
    if not SCHEME.match(url):
        return LocalStore(Path(url).expanduser())
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise StoreError(f"store URL {url!r}: a query or fragment is not allowed")
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise StoreError(f"store URL {url!r}: a file URL names no host (file:///path)")
        if not parts.path:
            raise StoreError(f"store URL {url!r} has no path")
        return LocalStore(Path(unquote(parts.path)))
    if parts.scheme != "s3":
        raise StoreError(f"store URL {url!r}: unsupported scheme {parts.scheme!r} "
                         "(use s3://bucket/prefix, file:///path or a path)")
    bucket, prefix = parts.netloc, unquote(parts.path).strip("/")
    if not BUCKET.match(bucket) or ".." in bucket:
        raise StoreError(f"store URL {url!r}: {bucket!r} is not a valid S3 bucket name "
                         "(3-63 lowercase letters, digits, dots or hyphens)")
    if "//" in prefix or any(p in (".", "..") for p in prefix.split("/")):
        raise StoreError(f"store URL {url!r}: malformed prefix {prefix!r}")
    client = s3_client(endpoint, region=region, access_key=access_key, secret_key=secret_key,
                       profile=profile, attempts=attempts)
    store = S3Store(bucket, prefix, client, part_size=part_size)
    if check:
        store.check()
    return store


def s3_client(endpoint: str | None = None, *, region: str | None = None,
              access_key: str | None = None, secret_key: str | None = None,
              profile: str | None = None, attempts: int = 4) -> S3Client:
    """A boto3 S3 client: path-style addressing, bounded retries, short connect timeout."""
    import boto3
    import botocore.config
    from botocore.exceptions import BotoCoreError

    if (access_key is None) != (secret_key is None):
        raise StoreError("give both an access key and a secret key, or neither")
    try:
        session = boto3.Session(profile_name=profile, aws_access_key_id=access_key,
                                aws_secret_access_key=secret_key)
        config = botocore.config.Config(
            retries={"max_attempts": attempts, "mode": "standard"}, connect_timeout=5,
            read_timeout=60, s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required")
        return session.client("s3", endpoint_url=endpoint,
                              region_name=region or session.region_name or "us-east-1",
                              config=config)
    except (BotoCoreError, ValueError) as e:
        raise StoreError(f"cannot make an S3 client for {endpoint or 'AWS'}: {e}") from e
