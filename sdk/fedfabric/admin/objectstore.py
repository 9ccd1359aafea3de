"""A local S3 server for the consortium's blobs: SeaweedFS (`weed server`) on 127.0.0.1.

One shared bucket; each organisation may write only under its own prefix (`<bucket>/<Org>/`)
and read the whole bucket; one admin identity creates the bucket. SeaweedFS expresses this with
its identity actions: `Write:<bucket>/<Org>/*` (a wildcard over bucket/key), `Read:<bucket>`,
`List:<bucket>`. The process is started and stopped by pid file (fedfabric.admin.process).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fedfabric.admin import process
from fedfabric.admin.errors import AdminError, StepFailed
from fedfabric.admin.fabric import cache_dir, source_dir

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client

# Keep in step with network/build-seaweedfs.sh.
SEAWEEDFS_PSEUDO = "v0.0.0-20261109003541-7506e5f91cd6"
HOST = "127.0.0.1"
PORTS = 8  # S3, master, volume, filer, and the gRPC ports of master, volume, filer and S3
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")  # no '/', '*' or '?': safe in patterns
BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
PROBE = ".fedfabric-ready"


def weed_binary() -> Path:
    return cache_dir() / f"seaweedfs-{SEAWEEDFS_PSEUDO.rsplit('-', 1)[1]}" / "weed"


def ensure_weed() -> Path:
    """Build (once) or reuse the pinned `weed` binary; returns its path."""
    if not weed_binary().is_file():
        script = source_dir() / "network" / "build-seaweedfs.sh"
        result = subprocess.run(["bash", str(script)], capture_output=True, text=True)
        if result.returncode != 0:
            raise AdminError(f"building SeaweedFS failed:\n{result.stderr[-3000:]}")
    return weed_binary()


def s3_config(bucket: str, identities: Mapping[str, tuple[str, str]],
              admin: tuple[str, str]) -> dict[str, Any]:
    """SeaweedFS `-s3.config`: each org writes only under <bucket>/<org>/ and reads the bucket.

    Example::

        s3_config("fedfabric", {"Org1": ("AK1", "SK1")}, ("ADMIN", "SECRET"))
    """
    if not BUCKET.match(bucket):
        raise AdminError(f"{bucket!r} is not a valid bucket name (3-63 of a-z, 0-9, -)")
    keys = [admin[0]] + [key for key, _ in identities.values()]
    if len(set(keys)) != len(keys) or not all(k and s for k, s in [admin, *identities.values()]):
        raise AdminError("every identity needs its own non-empty access key and a secret key")
    entries: list[dict[str, Any]] = [{
        "name": "fedfabric-admin",
        "credentials": [{"accessKey": admin[0], "secretKey": admin[1]}],
        "actions": ["Admin", "Read", "List", "Write", "Tagging"],
    }]
    for org, (key, secret) in sorted(identities.items()):
        if not NAME.match(org) or org.lower() == "fedfabric-admin":
            raise AdminError(f"{org!r} is not a valid organisation name (letters, digits, . _ -)")
        entries.append({
            "name": org,
            "credentials": [{"accessKey": key, "secretKey": secret}],
            "actions": [f"Read:{bucket}", f"List:{bucket}", f"Write:{bucket}/{org}/*"],
        })
    return {"identities": entries}


def _write_private(path: Path, text: str) -> None:
    """Write a 0600 file atomically (its directory, if new, is 0700)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    tmp.replace(path)


def server_args(port: int, data: Path | str, config: Path | str, bind: str = HOST) -> list[str]:
    """`weed server`'s arguments: S3 on port, its other services on port+1..port+7."""
    p = port
    return [
        "server", f"-dir={data}", f"-ip={HOST}", f"-ip.bind={bind}",
        f"-master.port={p + 1}", f"-volume.port={p + 2}", f"-filer.port={p + 3}",
        f"-master.port.grpc={p + 4}", f"-volume.port.grpc={p + 5}",
        f"-filer.port.grpc={p + 6}", "-s3", f"-s3.port={p}", f"-s3.port.grpc={p + 7}",
        "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.iam=false",
        f"-s3.config={config}", "-master.telemetry=false", "-volume.max=64",
        "-master.volumeSizeLimitMB=1024", "-volume.preStopSeconds=0", "-master.peers=none",
    ]


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Go does: TIME_WAIT is fine
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


@dataclass
class ObjectStoreStatus:
    """What `ObjectStoreServer.status()` found.

    Example::

        if not server.status().ready:
            print(server.status().detail)
    """

    running: bool
    ready: bool
    pid: int | None
    endpoint: str
    bucket: str
    log: Path
    orgs: list[str] = field(default_factory=list)
    detail: str = ""


class ObjectStoreServer:
    """SeaweedFS's S3 API on 127.0.0.1:port, with all its data under root.

    It uses ports port .. port+7. Example::

        server = ObjectStoreServer(Path("~/.fedfabric/store").expanduser(), 8333)
        server.up({"Org1": ("org1-key", "org1-secret"), "Org2": ("org2-key", "org2-secret")})
        store = open_store("s3://fedfabric/Org1", server.endpoint,
                           access_key="org1-key", secret_key="org1-secret")
        server.down()
    """

    def __init__(self, root: Path, port: int = 8333, *, bucket: str = "fedfabric",
                 weed: Path | None = None, timeout: float = 120.0) -> None:
        self.root, self.port, self.bucket = Path(root).expanduser(), port, bucket
        self.weed, self.timeout = weed, timeout
        self.log = self.root / "weed.log"
        self.pid_file = self.root / "weed.pid"
        self.config = self.root / "conf" / "s3.json"  # its own folder: a container mounts it
        self.admin_file = self.root / "admin.json"

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def ports(self) -> list[int]:
        return list(range(self.port, self.port + PORTS))

    def command(self, weed: Path | str) -> list[str]:
        return [str(weed), *server_args(self.port, self.root / "data", self.config)]

    def admin_credentials(self) -> tuple[str, str]:
        """The admin identity's keys, made once and kept (0600) under root."""
        try:
            record = json.loads(self.admin_file.read_text())
            return str(record["access_key"]), str(record["secret_key"])
        except (OSError, ValueError, KeyError):
            pass
        keys = ("fedfabric-admin-" + secrets.token_hex(8), secrets.token_urlsafe(30))
        _write_private(self.admin_file, json.dumps({"access_key": keys[0],
                                                    "secret_key": keys[1]}))
        return keys

    def client(self, access_key: str, secret_key: str, attempts: int = 1) -> S3Client:
        from fedfabric.store.url import s3_client
        return s3_client(self.endpoint, access_key=access_key, secret_key=secret_key,
                         attempts=attempts)

    def admin_client(self) -> S3Client:
        return self.client(*self.admin_credentials(), attempts=3)

    def up(self, identities: Mapping[str, tuple[str, str]]) -> None:
        """Start the server (or restart it if the identities changed); return once it serves.

        identities maps an organisation name to its (access key, secret key).
        """
        text = json.dumps(s3_config(self.bucket, identities, self.admin_credentials()),
                          indent=2)
        changed = not self.config.is_file() or self.config.read_text() != text
        if self.pid() is not None and changed:
            self._halt(10.0)
        _write_private(self.config, text)
        if self.pid() is None:
            busy = self._busy_ports()
            if busy:
                raise AdminError(f"cannot start the S3 server on {self.endpoint}: port(s) "
                                 f"{busy} on {HOST} are in use (it needs {self.port}.."
                                 f"{self.port + PORTS - 1})")
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._launch()
        try:
            self._wait_ready()
        except BaseException:
            self.down()
            raise

    def identities(self, orgs: list[str]) -> dict[str, tuple[str, str]]:
        """The organisations' keys (each named by its MSP id, also its prefix): kept from
        earlier runs, made for organisations that are new."""
        identities = {}
        for org in orgs:
            try:
                record = json.loads((self.root / "credentials" / f"{org}.json").read_text())
                identities[org] = (str(record["access_key"]), str(record["secret_key"]))
            except (OSError, ValueError, KeyError):
                identities[org] = (f"{org.lower()}-{secrets.token_hex(8)}",
                                   secrets.token_urlsafe(30))
        return identities

    def serve(self, orgs: list[str]) -> dict[str, Path]:
        """Run the server for exactly these organisations (one that is no longer listed loses
        its access, a new one gets keys); returns each one's credentials file."""
        identities = self.identities(orgs)
        self.up(identities)
        for stale in (self.root / "credentials").glob("*.json"):
            if stale.stem not in identities:
                stale.unlink()
        return self.write_credentials(identities)

    # ---- how the server runs: a process here; a container in ContainerObjectStore ----------
    def pid(self) -> int | None:
        return process.running_pid(self.pid_file)

    def _launch(self) -> None:
        weed = self.weed or ensure_weed()
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TZ", "TMPDIR")}
        env["HOME"] = str(self.root)  # no stray ~/.seaweedfs config is picked up
        (self.root / "data").mkdir(exist_ok=True)
        process.start(self.command(weed), env, self.log, self.pid_file, self.root)

    def _halt(self, timeout: float) -> bool:
        return process.stop(self.pid_file, timeout)

    def _log_file(self) -> Path:
        return self.log

    def _busy_ports(self, wait: float = 5.0) -> list[int]:
        """Ports still in use after a bounded wait (a server just stopped may still hold some)."""
        deadline = time.monotonic() + wait
        while True:
            busy = [p for p in self.ports() if not port_free(p)]
            if not busy or time.monotonic() > deadline:
                return busy
            time.sleep(0.2)

    def _wait_ready(self) -> None:
        """Poll (bounded) until the admin can create the bucket and write and read in it."""
        deadline = time.monotonic() + self.timeout
        client = self.client(*self.admin_credentials())
        last = "no answer yet"
        while True:
            if self.pid() is None:
                raise StepFailed("starting the S3 server", "seaweedfs", "the process exited",
                                 self._log_file())
            try:
                self._ensure_bucket(client)
                client.put_object(Bucket=self.bucket, Key=PROBE, Body=b"ready")
                client.get_object(Bucket=self.bucket, Key=PROBE)["Body"].read()
                client.delete_object(Bucket=self.bucket, Key=PROBE)
                return
            except Exception as e:  # not up yet: connection refused, no volumes yet, ...
                last = f"{type(e).__name__}: {e}"
            if time.monotonic() > deadline:
                raise StepFailed("starting the S3 server", "seaweedfs",
                                 f"not ready on {self.endpoint} after {self.timeout:.0f}s "
                                 f"({last})", self._log_file())
            time.sleep(0.25)

    def _ensure_bucket(self, client: S3Client) -> None:
        from botocore.exceptions import ClientError
        try:
            client.head_bucket(Bucket=self.bucket)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                raise
            client.create_bucket(Bucket=self.bucket)

    def down(self, purge: bool = False, timeout: float = 10.0) -> bool:
        """Stop the server (SIGTERM, then SIGKILL after timeout); purge deletes root.

        Returns True if a running server was stopped.
        """
        stopped = self._halt(timeout)
        if purge and self.root.is_dir() and (self.config.exists() or self.log.exists()):
            shutil.rmtree(self.root)
        return stopped

    def status(self) -> ObjectStoreStatus:
        pid = self.pid()
        orgs: list[str] = []
        try:
            config = json.loads(self.config.read_text())
            orgs = [i["name"] for i in config["identities"] if i["name"] != "fedfabric-admin"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        ready, detail = False, "not running"
        if pid is not None:
            try:
                self.client(*self.admin_credentials()).head_bucket(Bucket=self.bucket)
                ready, detail = True, "serving"
            except Exception as e:  # reported, not raised: status never fails
                detail = f"not answering: {type(e).__name__}: {e} (log: {self.log})"
        return ObjectStoreStatus(pid is not None, ready, pid, self.endpoint, self.bucket,
                                 self.log, orgs, detail)

    def credentials(self, org: str, access_key: str, secret_key: str) -> dict[str, str]:
        """What an organisation needs to open its store."""
        return {"endpoint": self.endpoint, "url": f"s3://{self.bucket}/{org}",
                "bucket": self.bucket, "prefix": org, "access_key": access_key,
                "secret_key": secret_key}

    def write_credentials(self, identities: Mapping[str, tuple[str, str]]) -> dict[str, Path]:
        """One 0600 JSON credentials file per organisation under root/credentials/."""
        files = {}
        for org, (key, secret) in identities.items():
            path = self.root / "credentials" / f"{org}.json"
            _write_private(path, json.dumps(self.credentials(org, key, secret), indent=2))
            files[org] = path
        return files
