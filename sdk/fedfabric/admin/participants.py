"""Participant services as local processes, one per organisation: what ``make demo`` and the
tests start. Each process gets only its own organisation's directory: its connection profile
and crypto material (``fedfabric network profile --org --export``), its data, its state and
keys. A real deployment runs ``fedfabric participant run`` on each organisation's own machine.

Example::

    services = ParticipantProcesses(Path("/tmp/consortium"))
    services.start("Org2", app_dir, "/tmp/consortium/org2/data.npz", store_dir)
    ...
    services.stop_all()
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fedfabric.admin import process
from fedfabric.admin.errors import AdminError


class ParticipantProcesses:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def org_dir(self, org: str) -> Path:
        return self.root / org.lower()

    def profile(self, org: str) -> Path:
        return self.org_dir(org) / "fabric" / "profile.json"

    def state(self, org: str) -> Path:
        return self.org_dir(org) / "state"

    def log(self, org: str) -> Path:
        return self.org_dir(org) / "participant.log"

    def _pid_file(self, org: str) -> Path:
        return self.org_dir(org) / "participant.pid"

    def command(self, org: str, app: Path, data: str, store: Path,
                extra: list[str] | None = None) -> list[str]:
        return [sys.executable, "-m", "fedfabric.cli", "participant", "run", "--org", org,
                "--app", str(app), "--data", data, "--store", str(store),
                "--state", str(self.state(org)), "--profile", str(self.profile(org)),
                *(extra or [])]

    def start(self, org: str, app: Path, data: str, store: Path, extra: list[str] | None = None,
              env: dict[str, str] | None = None) -> int:
        """Start the organisation's service (its profile must have been exported); its output
        is appended to log(org)."""
        if not self.profile(org).is_file():
            raise AdminError(f"no profile for {org} at {self.profile(org)}: export it first "
                             "(fedfabric network profile --org ORG --export DIR)")
        if self.pid(org) is not None:
            raise AdminError(f"the participant of {org} already runs (pid {self.pid(org)})")
        environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1",
                       **(env or {})}
        return process.start(self.command(org, app, data, store, extra), environment,
                             self.log(org), self._pid_file(org), self.org_dir(org))

    def pid(self, org: str) -> int | None:
        return process.running_pid(self._pid_file(org))

    def kill(self, org: str) -> None:
        """SIGKILL the organisation's service (fault injection)."""
        import signal

        pid = self.pid(org)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            process.wait_exit(self._pid_file(org), 10.0)

    def stop(self, org: str, timeout: float = 20.0) -> bool:
        return process.stop(self._pid_file(org), timeout)

    def stop_all(self) -> list[str]:
        stopped = []
        for pid_file in sorted(self.root.glob("*/participant.pid")):
            if process.stop(pid_file):
                stopped.append(pid_file.parent.name)
        return stopped
