"""Start detached node processes, find them again by pid file, stop them by pid.

A pid file records the pid and the process start time (from /proc), so a pid reused by an
unrelated process after a reboot is never mistaken for a node and never signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path


def _start_time(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    # A zombie has exited, unless it is a leader whose other threads are still exiting (a
    # killed Go node): until they have, its files and sockets are held.
    if fields[0] == "Z" and _threads(pid) <= 1:
        return None
    return int(fields[19])


def _threads(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def start(cmd: list[str], env: dict[str, str], log: Path, pid_file: Path, cwd: Path) -> int:
    """Start cmd in its own session with output appended to log; record it in pid_file."""
    log.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    started = _start_time(proc.pid)
    tmp = pid_file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": proc.pid, "start": started, "cmd": cmd[0]}))
    tmp.replace(pid_file)
    return proc.pid


def running_pid(pid_file: Path) -> int | None:
    """The pid recorded in pid_file if that very process is still running."""
    try:
        record = json.loads(pid_file.read_text())
    except (OSError, ValueError):
        return None
    pid = int(record["pid"])
    started = _start_time(pid)
    if started is None or started != record.get("start"):
        return None
    return pid


def stop(pid_file: Path, timeout: float = 20.0) -> bool:
    """Stop the process recorded in pid_file: SIGTERM, then SIGKILL after timeout.

    Returns True when a running process was stopped. The pid file is removed either way.
    """
    pid = running_pid(pid_file)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        if not wait_exit(pid_file, timeout):
            os.kill(pid, signal.SIGKILL)
            wait_exit(pid_file, 5.0)
    pid_file.unlink(missing_ok=True)
    return pid is not None


def wait_exit(pid_file: Path, timeout: float) -> bool:
    """Poll (bounded) until the process of pid_file has exited; reap it if it is our child."""
    deadline = time.monotonic() + timeout
    while True:
        pid = running_pid(pid_file)
        if pid is None:
            return True
        with contextlib.suppress(ChildProcessError):  # reap it if it is our child
            os.waitpid(pid, os.WNOHANG)
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
