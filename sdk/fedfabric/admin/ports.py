"""Port checks before a launcher starts anything: a clash names the port and what holds it.

Example::

    check_free([7210, 7211], "the network in ~/.fedfabric/network")   # raises PortClash
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
from collections.abc import Iterable
from pathlib import Path

from fedfabric.admin.errors import AdminError
from fedfabric.admin.topology import HOST


class PortClash(AdminError):
    """A port a node needs is taken; the message says by what, and what to do."""

    def __init__(self, port: int, holder: str, advice: str) -> None:
        self.port, self.holder = port, holder
        super().__init__(f"port {port} on {HOST} is in use by {holder}: {advice}")


def in_use(port: int) -> bool:
    """True when something listens on (or holds) 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 9 and int(cols[1].rsplit(":", 1)[1], 16) == port and cols[3] == "0A":
                inodes.add(cols[9])
    return inodes


def _pid_of(inodes: set[str]) -> int | None:
    wanted = {f"socket:[{i}]" for i in inodes}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in wanted:
                        return int(proc.name)
    return None


def _container_of(port: int) -> tuple[str, str] | None:
    """(container name, compose working directory) of a container publishing this port."""
    try:
        out = subprocess.run(["docker", "ps", "--filter", f"publish={port}", "--format",
                              "{{.Names}}"], capture_output=True, text=True, timeout=15).stdout
        name = out.split()[0] if out.split() else ""
        if not name:
            return None
        labels = subprocess.run(["docker", "inspect", "-f", "{{json .Config.Labels}}", name],
                                capture_output=True, text=True, timeout=15).stdout
        workdir = json.loads(labels or "{}").get("com.docker.compose.project.working_dir", "")
        return name, workdir
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def _down_advice(root: Path, docker: bool) -> str:
    from fedfabric.admin.layout import default_network_dir

    where = "" if root == default_network_dir(docker).expanduser().resolve() else f" --dir {root}"
    flag = " --docker" if docker else ""
    return f"run `fedfabric network down{flag}{where}` or pass `--base-port`"


def describe(port: int) -> tuple[str, str]:
    """(what holds the port, what to do about it), as precisely as /proc and docker tell."""
    pid = _pid_of(_listening_inodes(port))
    if pid is not None:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            program = Path(cmd[0].decode(errors="replace")).name
        except OSError:
            cmd, program = [], "?"
        if program == "docker-proxy" or not cmd:
            found = _container_of(port)
            if found:
                name, workdir = found
                if workdir and (Path(workdir) / "network.json").is_file():
                    root = Path(workdir).resolve()
                    return (f"container {name} of the Docker network in {root}",
                            _down_advice(root, True))
                return f"container {name}", "stop it or pass `--base-port`"
        with contextlib.suppress(OSError):
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
            if (cwd / "network.json").is_file():
                return (f"the native network in {cwd} ({program}, pid {pid})",
                        _down_advice(cwd.resolve(), False))
        return f"{program} (pid {pid})", "stop it or pass `--base-port`"
    return "another process", "free it or pass `--base-port`"


def check_free(ports: Iterable[int]) -> None:
    """Raise PortClash for the first port in use."""
    for port in ports:
        if in_use(port):
            holder, advice = describe(port)
            raise PortClash(port, holder, advice)
