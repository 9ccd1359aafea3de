"""Where CKKS runs: in this process, or in a worker when TensorFlow was imported first."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from typing import Any


class WorkerError(RuntimeError):
    """A CKKS call failed in the worker process."""


class InProcess:
    def call(self, name: str, *args: Any) -> Any:
        from fedfabric.he import ckks

        return getattr(ckks, name)(*args)


class Worker:
    """Runs CKKS calls in `python -m fedfabric.he.worker`, started on first use."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def call(self, name: str, *args: Any) -> Any:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "fedfabric.he.worker"], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            assert self._proc.stdin and self._proc.stdout
            pickle.dump((name, args), self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._proc.stdin.flush()
            try:
                ok, value = pickle.load(self._proc.stdout)
            except EOFError as e:
                raise WorkerError(f"the CKKS worker exited (code {self._proc.wait()})") from e
        if not ok:
            raise WorkerError(value)
        return value

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            assert self._proc.stdin
            self._proc.stdin.close()
            self._proc.wait(timeout=10)


def choose() -> InProcess | Worker:
    if "tensorflow" in sys.modules and "tenseal" not in sys.modules:
        return Worker()
    import tenseal  # noqa: F401  (loaded now, it is safe whatever is imported later)

    return InProcess()
