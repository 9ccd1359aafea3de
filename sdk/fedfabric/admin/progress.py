"""Progress reporting for long administration jobs; the CLI plugs in a Rich reporter."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class Progress(Protocol):
    def step(self, text: str) -> AbstractContextManager[None]:
        """A context manager around one step: shown as started, then done or failed."""

    def note(self, text: str) -> None:
        """A line of information that is not a step."""


class SilentProgress:
    """Reports nothing: the default for API callers."""

    @contextmanager
    def step(self, text: str) -> Iterator[None]:
        yield

    def note(self, text: str) -> None:
        pass


class PrintProgress:
    """Plain lines on stdout with the time each step took."""

    @contextmanager
    def step(self, text: str) -> Iterator[None]:
        began = time.monotonic()
        print(f"... {text}", flush=True)
        try:
            yield
        except BaseException:
            print(f"FAIL {text} ({time.monotonic() - began:.1f}s)", flush=True)
            raise
        print(f"ok  {text} ({time.monotonic() - began:.1f}s)", flush=True)

    def note(self, text: str) -> None:
        print(f"    {text}", flush=True)
