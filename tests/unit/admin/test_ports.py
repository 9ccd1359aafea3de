"""The port check: a clash names the port and what holds it, before anything starts."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from fedfabric.admin import ports


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_free_port_passes_and_a_listening_one_is_named_with_its_process():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert ports.in_use(port)
        with pytest.raises(ports.PortClash) as e:
            ports.check_free([_free_port(), port])
    assert e.value.port == port
    assert f"port {port} on 127.0.0.1 is in use by python" in str(e.value)
    assert f"(pid {os.getpid()})" in str(e.value) and "--base-port" in str(e.value)
    assert not ports.in_use(port)


def test_a_node_of_a_native_network_is_named_by_the_network_directory(tmp_path: Path):
    root = tmp_path / "net"
    root.mkdir()
    (root / "network.json").write_text(json.dumps({"topology": {}}))
    port = _free_port()
    server = (f"import socket, sys; s = socket.socket(); s.bind(('127.0.0.1', {port})); "
              "s.listen(); print('up', flush=True); sys.stdin.read()")  # holds it until EOF
    node = subprocess.Popen([sys.executable, "-c", server], cwd=root, stdout=subprocess.PIPE,
                            stdin=subprocess.PIPE)
    try:
        assert node.stdout is not None and node.stdout.readline().strip() == b"up"  # listening
        assert ports.in_use(port)
        with pytest.raises(ports.PortClash, match=f"in use by the native network in {root}"):
            ports.check_free([port])
        holder, advice = ports.describe(port)
        assert advice == f"run `fedfabric network down --dir {root.resolve()}` or pass " \
                         "`--base-port`"
    finally:
        node.kill()
        node.wait()
