"""A native network of many organisations (cryptogen identities) for one test module."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fedfabric.admin import NativeNetwork, Topology
from fedfabric.admin.progress import PrintProgress
from support.ports import base_port


@contextmanager
def running(root: Path, orgs: int, port_variable: str, default_port: int
            ) -> Iterator[NativeNetwork]:
    """Up in root at $port_variable (else a free range from default_port); down and purged
    afterwards, even when it fails to come up."""
    net = NativeNetwork(root)
    base = base_port(port_variable, default_port)
    try:
        net.up(Topology(orgs=orgs, base_port=base, crypto="cryptogen"), progress=PrintProgress())
        yield net
    finally:
        net.down(purge=True)
