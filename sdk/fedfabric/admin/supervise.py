"""Keep one child process running: `python -m fedfabric.admin.supervise -- CMD [ARGS...]`.

The launcher runs each chaincode service under this supervisor. When the child exits on its own
it is restarted after a back-off (1 s doubling to 30 s, reset after a minute of good running).
SIGTERM or SIGINT stops the child and then the supervisor.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from types import FrameType


def supervise(cmd: list[str]) -> int:
    stopping = threading.Event()
    child: subprocess.Popen[bytes] | None = None

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.set()
        if child is not None and child.poll() is None:
            child.terminate()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    backoff = 1.0
    while not stopping.is_set():
        began = time.monotonic()
        child = subprocess.Popen(cmd)
        code = child.wait()
        if stopping.is_set():
            break
        if time.monotonic() - began > 60:
            backoff = 1.0
        print(f"supervise: {cmd[0]} exited with code {code}; restarting in {backoff:.0f}s",
              file=sys.stderr, flush=True)
        stopping.wait(backoff)
        backoff = min(backoff * 2, 30.0)
    if child is not None and child.poll() is None:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return 0


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("usage: python -m fedfabric.admin.supervise -- CMD [ARGS...]", file=sys.stderr)
        return 2
    return supervise(args)


if __name__ == "__main__":
    sys.exit(main())
