"""Node health from the operations endpoints: /healthz and Prometheus /metrics."""

from __future__ import annotations

import re
import socket
import urllib.error
import urllib.request

from fedfabric.admin.topology import HOST


def healthz(port: int, timeout: float = 2.0) -> tuple[bool, str]:
    """(healthy, detail) from a node's operations /healthz."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=timeout) as r:
            return r.status == 200, "OK"
    except urllib.error.HTTPError as e:
        return False, e.read().decode("utf-8", "replace").strip()[:200]
    except OSError as e:
        return False, f"unreachable ({e.__class__.__name__})"


def metrics(port: int, timeout: float = 2.0) -> str:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=timeout) as r:
            return str(r.read().decode())
    except OSError:
        return ""


def metric(text: str, name: str, channel: str) -> float | None:
    """The value of a per-channel metric, or None when the node does not report it."""
    pattern = re.compile(
        rf'^{re.escape(name)}\{{[^}}]*channel="{re.escape(channel)}"[^}}]*\}}\s+(\S+)$', re.M
    )
    found = pattern.search(text)
    return float(found.group(1)) if found else None


def peer_height(port: int, channel: str) -> int | None:
    value = metric(metrics(port), "ledger_blockchain_height", channel)
    return int(value) if value is not None else None


def orderer_height(port: int, channel: str) -> int | None:
    """Committed block number + 1, as a peer's height counts blocks."""
    value = metric(metrics(port), "consensus_etcdraft_committed_block_number", channel)
    return int(value) + 1 if value is not None else None


def is_raft_leader(port: int, channel: str) -> bool:
    return metric(metrics(port), "consensus_etcdraft_is_leader", channel) == 1.0


def port_open(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False
