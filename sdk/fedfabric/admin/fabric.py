"""Where the Fabric binaries, their sample config and the chaincode service binary live."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from fedfabric.admin.errors import AdminError

# Keep in step with network/fabric.env (a unit test checks).
FABRIC_VERSION = "2.5.9"
FABRIC_PSEUDO = "v1.4.0-rc1.0.20240618194258-7c3876255bf0"
TOOLS = ("peer", "orderer", "configtxgen", "cryptogen", "osnadmin", "configtxlator")
BUILDER_DIR = Path(__file__).with_name("builder")
# Keep in step with network/build-fabric-ca.sh (a unit test checks).
FABRIC_CA_VERSION = "1.5.15"
CA_TOOLS = ("fabric-ca-server", "fabric-ca-client")


def cache_dir() -> Path:
    return Path(os.environ.get("FEDFABRIC_CACHE", Path.home() / ".cache" / "fedfabric"))


def source_dir() -> Path:
    """The fedfabric source tree (for the chaincode and the Fabric build script)."""
    root = Path(os.environ.get("FEDFABRIC_SOURCE", Path(__file__).resolve().parents[3]))
    if not (root / "chaincode" / "go.mod").is_file():
        raise AdminError(
            f"no fedfabric source tree at {root} (chaincode/go.mod is missing); "
            "set FEDFABRIC_SOURCE to a checkout of fedfabric"
        )
    return root


def fabric_home() -> Path:
    return cache_dir() / f"fabric-{FABRIC_VERSION}"


def fabric_bin(tool: str) -> Path:
    return fabric_home() / "bin" / tool


def fabric_sample_config() -> Path:
    return fabric_home() / "config"


def ensure_fabric() -> Path:
    """Build or reuse the pinned Fabric binaries; returns their directory."""
    script = source_dir() / "network" / "build-fabric.sh"
    missing = [t for t in TOOLS if not fabric_bin(t).is_file()]
    if missing or not (fabric_sample_config() / "core.yaml").is_file():
        result = subprocess.run(["bash", str(script)], capture_output=True, text=True)
        if result.returncode != 0:
            raise AdminError(f"building Fabric {FABRIC_VERSION} failed:\n{result.stderr[-3000:]}")
    return fabric_home() / "bin"


def fabric_ca_bin(tool: str) -> Path:
    return cache_dir() / f"fabric-ca-{FABRIC_CA_VERSION}" / "bin" / tool


def ensure_fabric_ca() -> Path:
    """Build or reuse the pinned Fabric CA binaries (network/build-fabric-ca.sh)."""
    if any(not fabric_ca_bin(t).is_file() for t in CA_TOOLS):
        script = source_dir() / "network" / "build-fabric-ca.sh"
        result = subprocess.run(["bash", str(script)], capture_output=True, text=True)
        if result.returncode != 0:
            raise AdminError(f"building Fabric CA {FABRIC_CA_VERSION} failed:\n"
                             f"{result.stderr[-3000:]}")
    return fabric_ca_bin(CA_TOOLS[0]).parent


def chaincode_binary() -> Path:
    """Build the chaincode service (Go) once per source version; returns the binary's path."""
    src = source_dir() / "chaincode"
    digest = hashlib.sha256()
    for path in sorted(src.rglob("*")):
        if path.is_file() and (path.suffix == ".go" or path.name in ("go.mod", "go.sum")):
            digest.update(str(path.relative_to(src)).encode() + b"\0" + path.read_bytes())
    out = cache_dir() / "chaincode" / f"fedfabric-cc-{digest.hexdigest()[:16]}"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    env = {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local"}
    result = subprocess.run(
        ["go", "build", "-trimpath", "-o", str(tmp), "./cmd/fedfabric-cc"],
        cwd=src, env=env, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise AdminError(f"building the chaincode failed:\n{result.stderr[-3000:]}")
    tmp.replace(out)
    return out
