"""Participant services run for the organisations of a local network: one process each beside
a native network, one container each beside a Docker network. Each gets only its own
organisation's directory: its connection profile and crypto material (``fedfabric network
profile --org --export``), its data, its state and keys; the app is read-only. A real
deployment runs ``fedfabric participant run`` on each organisation's own machine.

Example::

    services = participant_services(network, Path("~/.fedfabric/network/participants"))
    services.export(profile, "Org2")
    services.start("Org2", app_dir, services.org_dir("Org2") / "data.npz", store_dir)
    ...
    services.stop_all()
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from fedfabric.admin import process
from fedfabric.admin.errors import AdminError
from fedfabric.admin.launcher import NativeNetwork
from fedfabric.admin.profile import export_org
from fedfabric.gateway import ConnectionProfile


class ParticipantServices:
    """Where each organisation's service keeps its things, under one root directory."""

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

    def export(self, profile: ConnectionProfile, org: str) -> Path:
        """Copy the organisation's own material into its directory; returns its profile."""
        return export_org(profile, org, self.org_dir(org) / "fabric")

    def arguments(self, org: str, app: Path, data: Path, store: list[str],
                  profile: Path | None = None) -> list[str]:
        """The service's options; store: its store options (--store URL, ...)."""
        return ["--org", org, "--app", str(app), "--data", str(data), *store,
                "--state", str(self.state(org)), "--profile", str(profile or self.profile(org))]

    def _check(self, org: str) -> None:
        if not self.profile(org).is_file():
            raise AdminError(f"no profile for {org} at {self.profile(org)}: export it first "
                             "(fedfabric network profile --org ORG --export DIR)")
        if self.running(org):
            raise AdminError(f"the participant of {org} already runs")

    def running(self, org: str) -> bool:
        raise NotImplementedError

    def start(self, org: str, app: Path, data: Path, store: Path | list[str],
              extra: list[str] | None = None, env: dict[str, str] | None = None) -> str:
        """Start the organisation's service; returns what identifies it (pid or container).
        store: a blob store directory, or the service's store options."""
        raise NotImplementedError

    def kill(self, org: str) -> None:
        """Stop the service at once, with SIGKILL (fault injection)."""
        raise NotImplementedError

    def stop(self, org: str) -> bool:
        raise NotImplementedError

    def stop_all(self) -> list[str]:
        return [d.name for d in sorted(self.root.glob("*/")) if d.is_dir() and self.stop(d.name)]


class ParticipantProcesses(ParticipantServices):
    """Services as local processes (output appended to log(org))."""

    def _pid_file(self, org: str) -> Path:
        return self.org_dir(org) / "participant.pid"

    def pid(self, org: str) -> int | None:
        return process.running_pid(self._pid_file(org))

    def running(self, org: str) -> bool:
        return self.pid(org) is not None

    def start(self, org: str, app: Path, data: Path, store: Path | list[str],
              extra: list[str] | None = None, env: dict[str, str] | None = None) -> str:
        self._check(org)
        command = [sys.executable, "-m", "fedfabric.cli", "participant", "run",
                   *self.arguments(org, app, data, _store_args(store)), *(extra or [])]
        environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1",
                       **(env or {})}
        return str(process.start(command, environment, self.log(org), self._pid_file(org),
                                 self.org_dir(org)))

    def kill(self, org: str) -> None:
        pid = self.pid(org)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            process.wait_exit(self._pid_file(org), 10.0)

    def stop(self, org: str) -> bool:
        return process.stop(self._pid_file(org))


class ParticipantContainers(ParticipantServices):
    """Services as containers of the participant image on a Docker network's bridge. A
    container mounts its organisation's directory, its data and the store at their own paths,
    and the app read-only; it reaches its peer by the peer's name inside the bridge."""

    def __init__(self, root: Path, network: NativeNetwork) -> None:
        from fedfabric.admin.docker import DockerNetwork

        super().__init__(root)
        if not isinstance(network, DockerNetwork):
            raise AdminError("participant containers need a Docker network (network up "
                             "--docker)")
        self.network = network

    def container(self, org: str) -> str:
        return self.network.participant_container(org)

    def running(self, org: str) -> bool:
        from fedfabric.admin.docker import docker

        try:
            state = json.loads(docker("inspect", "-f", "{{json .State}}", self.container(org),
                                      timeout=30))
        except AdminError:
            return False
        return bool(state.get("Running"))

    def _inside_credentials(self, org: str, credentials: Path, name: str) -> Path:
        """A copy (0600, in the org's directory) of a store credentials file whose endpoint, if
        it is the network's own S3 store on the host, is the store's address in the bridge."""
        from fedfabric.admin.docker import STORE, STORE_PORT

        data = json.loads(Path(credentials).read_text())
        host = f"http://127.0.0.1:{self.network.topology.store_port}"
        if str(data.get("endpoint", "")).rstrip("/") in (host, host.replace("127.0.0.1",
                                                                           "localhost")):
            data["endpoint"] = f"http://{STORE}:{STORE_PORT}"
        path = self.org_dir(org) / "fabric" / "store" / name
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(data, indent=2))
        return path

    def _inside_profile(self, org: str) -> Path:
        """The profile as seen from the bridge: peers by name, on their container ports; the
        network's store by its name."""
        from fedfabric.admin.topology import CONTAINER_PORTS

        data = json.loads(self.profile(org).read_text())
        for o in data["organizations"].values():
            if o.get("store_credentials"):
                o["store_credentials"] = str(self._inside_credentials(
                    org, Path(o["store_credentials"]), "credentials-bridge.json"))
            for peer in o["peers"]:
                peer["address"] = f"{peer['name']}:{CONTAINER_PORTS['peer']}"
        for orderer in data["orderers"]:
            orderer["address"] = f"{orderer['name']}:{CONTAINER_PORTS['orderer']}"
        path = self.profile(org).with_name("profile-bridge.json")
        path.write_text(json.dumps(data, indent=2))
        return path

    def start(self, org: str, app: Path, data: Path, store: Path | list[str],
              extra: list[str] | None = None, env: dict[str, str] | None = None) -> str:
        from fedfabric.admin.docker import docker
        from fedfabric.admin.pyimage import build_participant_image

        self._check(org)
        subprocess.run(["docker", "rm", "-f", self.container(org)], capture_output=True)
        image = build_participant_image()
        own, app, data = self.org_dir(org), Path(app).resolve(), Path(data).resolve()
        mounts = [f"{own}:{own}", f"{app}:{app}:ro"]
        args = _store_args(store)
        if "--store-credentials" in args:  # given ones, as seen from the bridge
            i = args.index("--store-credentials") + 1
            args[i] = str(self._inside_credentials(org, Path(args[i]), "given-bridge.json"))
        if "--store" in args and "://" not in args[args.index("--store") + 1]:
            local = Path(args[args.index("--store") + 1]).resolve()  # mounted at its own path
            local.mkdir(parents=True, exist_ok=True)
            mounts.append(f"{local}:{local}")
        if not data.is_relative_to(own):
            mounts.append(f"{data}:{data}:ro")
        docker("run", "-d", "--name", self.container(org), "--network",
               f"{self.network.project}-fabric", "--restart", "unless-stopped",
               *[a for m in mounts for a in ("-v", m)],
               *[a for k, v in (env or {}).items() for a in ("-e", f"{k}={v}")],
               image, *self.arguments(org, app, data, args, self._inside_profile(org)),
               *(extra or []))
        return self.container(org)

    def logs(self, org: str) -> str:
        result = subprocess.run(["docker", "logs", self.container(org)], capture_output=True,
                                text=True)
        text = result.stdout + result.stderr
        self.log(org).write_text(text)
        return text

    def kill(self, org: str) -> None:
        subprocess.run(["docker", "kill", "-s", "KILL", self.container(org)],
                       capture_output=True)

    def stop(self, org: str) -> bool:
        if not self.running(org):
            subprocess.run(["docker", "rm", "-f", self.container(org)], capture_output=True)
            return False
        self.logs(org)
        subprocess.run(["docker", "stop", "-t", "20", self.container(org)], capture_output=True)
        subprocess.run(["docker", "rm", "-f", self.container(org)], capture_output=True)
        return True


def _store_args(store: Path | list[str]) -> list[str]:
    return ["--store", str(Path(store).resolve())] if isinstance(store, Path) else list(store)


def participant_services(network: NativeNetwork, root: Path | None = None
                         ) -> ParticipantServices:
    """Processes beside a native network, containers beside a Docker one."""
    root = root or network.layout.root / "participants"
    if network.topology.docker:
        return ParticipantContainers(root, network)
    return ParticipantProcesses(root)
