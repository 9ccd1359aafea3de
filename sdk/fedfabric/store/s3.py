"""A content-addressed blob store in an S3 bucket (SeaweedFS, or any S3-compatible server).

Objects live at <prefix>/<aa>/<sha256>. The guarantees are LocalStore's: every read is hashed
before it is returned; nothing partial is ever visible under a real name (a PUT is atomic, a
multipart upload appears only when completed and is aborted on failure); `put` of a name that
already exists re-reads and hashes the stored object, and overwrites it if it is wrong.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from fedfabric.store.base import (
    BlobStore,
    OversizedBlob,
    StoreError,
    TamperedBlob,
    check_digest,
    sha256,
)

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client
    from types_boto3_s3.type_defs import CompletedPartTypeDef

PART_SIZE = 8 << 20  # multipart uploads send 8 MiB parts
CHUNK = 1 << 20  # downloads are read and hashed 1 MiB at a time

# What an S3 error code means to someone running fedfabric.
_MEANING = {
    "NoSuchBucket": "the bucket does not exist",
    "InvalidAccessKeyId": "the server does not know this access key",
    "SignatureDoesNotMatch": "the secret key is wrong for this access key",
    "AccessDenied": "access denied (these credentials may not do this here)",
    "403": "access denied (wrong credentials, or no permission)",
    "404": "not found",
}


class _Missing(StoreError):
    """No object under the key."""


def describe(e: BaseException) -> str:
    """A one-line cause for a botocore error."""
    if isinstance(e, ClientError):
        error = e.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        text = _MEANING.get(code, str(error.get("Message") or code or "error"))
        return f"{text} [{e.operation_name}: HTTP {status} {code}]"
    if isinstance(e, EndpointConnectionError):
        return f"cannot connect to the S3 endpoint {e.kwargs.get('endpoint_url')}"
    return f"{type(e).__name__}: {e}"


def md5(data: bytes) -> str:
    """Content-MD5: the server refuses a body damaged in transit."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def error_code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


class S3Store(BlobStore):
    """Blobs in s3://bucket/prefix/<aa>/<sha256>, through a boto3 S3 client.

    Example::

        client = boto3.client("s3", endpoint_url="http://127.0.0.1:28333")
        store = S3Store("fedfabric", "Org1", client)
        digest = store.put(b"ciphertext")
        assert store.get(digest) == b"ciphertext"
        store.get_file(store.put_file(Path("weights.bin")), Path("copy.bin"))
    """

    def __init__(self, bucket: str, prefix: str, client: S3Client, *,
                 part_size: int = PART_SIZE, chunk: int = CHUNK) -> None:
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client, self.part_size, self.chunk = client, part_size, chunk

    def __repr__(self) -> str:
        return f"S3Store({self.bucket!r}, {self.prefix!r})"

    def sibling(self, owner: str) -> S3Store:
        """The store under owner's prefix beside this one (same bucket, client, settings):
        s3://bucket/parent/Org1MSP -> s3://bucket/parent/<owner>."""
        if not owner or "/" in owner or owner in (".", ".."):
            raise StoreError(f"{owner!r} cannot name a prefix")
        parent = self.prefix.rpartition("/")[0]
        return S3Store(self.bucket, f"{parent}/{owner}" if parent else owner, self.client,
                       part_size=self.part_size, chunk=self.chunk)

    def key(self, digest: str) -> str:
        name = f"{check_digest(digest)[:2]}/{digest}"
        return f"{self.prefix}/{name}" if self.prefix else name

    def _where(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _fail(self, action: str, key: str, e: BaseException) -> StoreError:
        return StoreError(f"{action} {self._where(key)} failed: {describe(e)}")

    def uri(self, digest: str) -> str:
        return self._where(self.key(digest))

    def check(self) -> None:
        """Raise a clear StoreError if the bucket is missing or the credentials are refused.

        It reads one byte of a key that never holds a blob: a GET, unlike a HEAD, says why.
        """
        try:
            self.client.get_object(Bucket=self.bucket, Key=self.key("0" * 64), Range="bytes=0-0")
        except ClientError as e:
            code = error_code(e)
            if code in ("NoSuchKey", "404", "InvalidRange"):
                return
            why = describe(e)
            if code == "AccessDenied":
                why = ("access denied: these credentials may not read this bucket, or it does "
                       f"not exist [{code}]")
            raise StoreError(f"cannot use s3://{self.bucket}/{self.prefix}: {why}") from e
        except BotoCoreError as e:
            raise StoreError(f"cannot use s3://{self.bucket}/{self.prefix}: {describe(e)}") from e

    def has(self, digest: str) -> bool:
        key = self.key(digest)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if error_code(e) in ("404", "NoSuchKey"):
                return False
            raise self._fail("checking", key, e) from e
        except BotoCoreError as e:
            raise self._fail("checking", key, e) from e
        return True

    def _read(self, key: str, sink: Callable[[bytes], object]) -> str:
        """Stream an object into sink chunk by chunk; returns the sha256 of what was read."""
        check = hashlib.sha256()
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            with contextlib.closing(body):
                for block in body.iter_chunks(self.chunk):
                    check.update(block)
                    sink(block)
        except ClientError as e:
            if error_code(e) in ("NoSuchKey", "404"):
                raise _Missing(f"no blob at {self._where(key)}") from None
            raise self._fail("reading", key, e) from e
        except BotoCoreError as e:
            raise self._fail("reading", key, e) from e
        return check.hexdigest()

    def _holds(self, key: str, digest: str) -> bool:
        """Whether the object under key exists with exactly the right bytes (stream-hashed)."""
        try:
            return self._read(key, lambda _: None) == digest
        except _Missing:
            return False

    def _put_object(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentMD5=md5(data))
        except (ClientError, BotoCoreError) as e:
            raise self._fail("writing", key, e) from e

    def put(self, data: bytes) -> str:
        digest = sha256(data)
        key = self.key(digest)
        if not self._holds(key, digest):
            self._put_object(key, data)
        return digest

    def get(self, digest: str, limit: int | None = None) -> bytes:
        key = self.key(digest)
        data = bytearray()

        def keep(block: bytes) -> None:
            if limit is not None and len(data) + len(block) > limit:
                raise OversizedBlob(f"{self._where(key)} is larger than {limit} bytes")
            data.extend(block)

        if self._read(key, keep) != digest:
            raise TamperedBlob(f"{self._where(key)} does not match its hash")
        return bytes(data)

    def put_file(self, source: Path) -> str:
        """Store a file of any size; above part_size it goes as a multipart upload."""
        source = Path(source)
        try:
            with source.open("rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
            size = source.stat().st_size
        except OSError as e:
            raise StoreError(f"cannot read {source}: {e}") from e
        key = self.key(digest)
        if self._holds(key, digest):
            return digest
        if size <= self.part_size:
            data = source.read_bytes()
            if sha256(data) != digest:
                raise StoreError(f"{source} changed while it was stored to {self._where(key)}")
            self._put_object(key, data)
        else:
            self._multipart(source, key, digest)
        return digest

    def _multipart(self, source: Path, key: str, digest: str) -> None:
        """Upload source in parts; complete only if what was sent hashes to digest, else abort."""
        try:
            upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        except (ClientError, BotoCoreError) as e:
            raise self._fail("starting the multipart upload of", key, e) from e
        target: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "UploadId": upload}
        try:
            parts: list[CompletedPartTypeDef] = []
            check = hashlib.sha256()
            with source.open("rb") as f:
                while block := f.read(self.part_size):
                    check.update(block)
                    number = len(parts) + 1
                    etag = self.client.upload_part(**target, PartNumber=number, Body=block,
                                                   ContentMD5=md5(block))["ETag"]
                    parts.append({"PartNumber": number, "ETag": etag})
            if check.hexdigest() != digest:
                raise StoreError(f"{source} changed while it was stored to {self._where(key)}")
            self.client.complete_multipart_upload(**target, MultipartUpload={"Parts": parts})
        except BaseException as e:
            aborted = self._abort(target)
            if isinstance(e, (ClientError, BotoCoreError)):
                raise StoreError(f"uploading {source} to {self._where(key)} failed: "
                                 f"{describe(e)}; {aborted}") from e
            raise

    def _abort(self, target: dict[str, Any]) -> str:
        try:
            self.client.abort_multipart_upload(**target)
        except (ClientError, BotoCoreError) as e:
            return f"the unfinished upload {target['UploadId']} was not aborted ({describe(e)})"
        return "the unfinished upload was aborted"

    def get_file(self, digest: str, dest: Path) -> None:
        """Stream a blob to dest through a 0600 temporary file beside it, hashed on the way;
        renamed over dest (never following a symlink) only if it matches: else TamperedBlob."""
        key, dest = self.key(digest), Path(dest)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                got = self._read(key, out.write)
                out.flush()
                os.fsync(out.fileno())
            if got != digest:
                raise TamperedBlob(f"{self._where(key)} does not match its hash")
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
