"""Errors raised by network administration."""

from __future__ import annotations

from pathlib import Path


class AdminError(Exception):
    """An administration step could not be done; the message says what and why."""


class StepFailed(AdminError):
    """A step failed at a node: names the node, its log file and the log's last lines."""

    def __init__(self, step: str, node: str, reason: str, log: Path | None = None) -> None:
        self.step, self.node, self.reason, self.log = step, node, reason, log
        self.log_tail = tail(log) if log else ""
        text = f"{step} failed at {node}: {reason}"
        if log:
            text += f"\nlog: {log}"
            if self.log_tail:
                text += "\n--- last lines ---\n" + self.log_tail
        super().__init__(text)


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a text file, or '' when it cannot be read."""
    try:
        with path.open("rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 16384))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])
