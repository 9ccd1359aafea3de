"""A participant's local state for one task, in ``<state>/tasks/<task id>/``: the global weights
after each applied round, the update prepared for a round before it is submitted, the aggregate
made for a round before it is endorsed, and how the task ended here. Every file is written
atomically (temporary file, fsync, rename), so a process killed at any point leaves either the
old file or the new one; together with the chain's record this is what a restart resumes from.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class TaskState:
    def __init__(self, root: Path, task_id: str) -> None:
        self.dir = Path(root) / "tasks" / task_id

    def _json(self, name: str) -> dict[str, Any] | None:
        path = self.dir / name
        if not path.is_file():
            return None
        value = json.loads(path.read_text())
        return value if isinstance(value, dict) else None

    def _put_json(self, name: str, value: dict[str, Any]) -> None:
        write_atomic(self.dir / name, json.dumps(value, sort_keys=True).encode())

    # how the task ended here: {"outcome": "refused" | "left out" | "cancelled" | ..., "reason"}
    @property
    def ending(self) -> dict[str, Any] | None:
        return self._json("ending.json")

    def end(self, outcome: str, reason: str = "") -> None:
        self._put_json("ending.json", {"outcome": outcome, "reason": reason})

    # global weights: round 0 is the initial weights
    def weights(self, round: int) -> np.ndarray | None:
        path = self.dir / f"weights-{round}.npy"
        if not path.is_file():
            return None
        return np.asarray(np.load(path, allow_pickle=False), dtype=np.float64)

    def save_weights(self, round: int, weights: np.ndarray) -> None:
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(weights, dtype=np.float64), allow_pickle=False)
        write_atomic(self.dir / f"weights-{round}.npy", buf.getvalue())

    def applied(self) -> int:
        """The last round whose global weights are here (-1: not even the initial ones)."""
        rounds = [int(p.stem.split("-")[1]) for p in self.dir.glob("weights-*.npy")]
        return max(rounds, default=-1)

    def update(self, round: int) -> dict[str, Any] | None:
        return self._json(f"update-{round}.json")

    def save_update(self, round: int, value: dict[str, Any]) -> None:
        self._put_json(f"update-{round}.json", value)

    def aggregate(self, round: int) -> dict[str, Any] | None:
        return self._json(f"aggregate-{round}.json")

    def save_aggregate(self, round: int, value: dict[str, Any]) -> None:
        self._put_json(f"aggregate-{round}.json", value)

    def key_bundle(self) -> str | None:
        """threshold-ckks: the hash of the key bundle this member posted (made once)."""
        made = self._json("key-bundle.json")
        return str(made["digest"]) if made else None

    def save_key_bundle(self, digest: str) -> None:
        self._put_json("key-bundle.json", {"digest": digest})

    def timings(self, round: int) -> dict[str, Any] | None:
        """Seconds this service spent per phase of the round (bench/round.py reads them)."""
        return self._json(f"timings-{round}.json")

    def save_timings(self, round: int, phases: dict[str, float]) -> None:
        self._put_json(f"timings-{round}.json", dict(phases))

    def metrics(self, round: int) -> dict[str, Any] | None:
        return self._json(f"metrics-{round}.json")

    def save_metrics(self, round: int, value: dict[str, Any]) -> None:
        self._put_json(f"metrics-{round}.json", value)

    def metrics_recorded(self, round: int) -> bool:
        """Whether the round's metrics are on chain (sent after the round is applied)."""
        return (self.dir / f"metrics-{round}.recorded").is_file()

    def save_metrics_recorded(self, round: int) -> None:
        write_atomic(self.dir / f"metrics-{round}.recorded", b"")
