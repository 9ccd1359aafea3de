"""`fedfabric participant`: one organisation's participant service and its dataset."""

from __future__ import annotations

import datetime
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from fedfabric.admin import NativeNetwork
    from fedfabric.admin.participants import ParticipantServices
    from fedfabric.fl import Participant
    from fedfabric.gateway import Gateway
    from fedfabric.store import Store

from fedfabric.cli.common import (
    DirOption,
    OrgOption,
    ProfileOption,
    StoreCredentialsOption,
    StoreEndpointOption,
    StoreOption,
    console,
    fail,
    network_dir,
    open_store_option,
)

participant_app = typer.Typer(no_args_is_help=True, help="Run an organisation's participant.")
ThreadsOption = Annotated[int, typer.Option(
    min=0, help="TensorFlow's CPU threads (per op, and ops at once); 0, the default: one per core. "
    "Participants sharing a host each get their share, e.g. 1 for three on two cores.")]
APPS = {"participant": participant_app}

AppOption = Annotated[Path, typer.Option("--app", help="The FL app directory.")]
DataOption = Annotated[str, typer.Option("--data", help="Where this organisation's data is "
                                         "(a path or URL the app's data() reads; never put "
                                         "on chain).")]
UserOption = Annotated[str, typer.Option("--user", "-u", help="The organisation's identity the "
                                         "service acts as (an admin: it joins tasks).")]
StateOption = Annotated[Path | None, typer.Option(
    "--state", help="The service's own directory: event checkpoint, task state, and the "
    "organisation key unless --keys [default: ~/.fedfabric/participants/<org>].")]
KeysOption = Annotated[Path | None, typer.Option(
    "--keys", help="The organisation key directory [default: <state>/keys].")]


def _participant(org: str, user: str, app_dir: Path, data: str, store: Store,
                 state: Path | None, keys: Path | None, dir: Path | None,
                 profile: Path | None, quorum_floor: int = 2, min_updates_floor: int = 2
                 ) -> tuple[Participant, Gateway]:
    """The service's parts; bad options end the command with exit code 2."""
    import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
    from fedfabric.cli.common import load_profile
    from fedfabric.fl import AppError, FLApp, Floors, Participant
    from fedfabric.gateway import ProfileError
    from fedfabric.keys import org_key
    from fedfabric.ledger import Ledger

    p = load_profile(dir, profile)
    try:
        o = p.org(org)
        app = FLApp.load(app_dir)
        state_dir = state or Path.home() / ".fedfabric" / "participants" / o.name.lower()
        gateway = p.connect(org, user=user)
    except (ProfileError, AppError, OSError) as e:
        raise fail(str(e), 2) from e
    ledger = Ledger(gateway.get_network(p.channel), p.chaincode)
    try:
        participant = Participant(
            ledger, o.msp_id, app, data, store,
            state_dir, org_key(keys or state_dir / "keys", o.msp_id),
            Floors(quorum_floor, min_updates_floor))
    except (AppError, OSError) as e:
        gateway.close()
        raise fail(str(e), 2) from e
    return participant, gateway


@participant_app.command("run")
def participant_run(
    org: OrgOption, app_dir: AppOption, data: DataOption, user: UserOption = "Admin",
    store: StoreOption = None, store_endpoint: StoreEndpointOption = None,
    store_credentials: StoreCredentialsOption = None, state: StateOption = None,
    keys: KeysOption = None,
    quorum_floor: Annotated[int, typer.Option(help="Refuse tasks with a smaller quorum.")] = 2,
    min_updates_floor: Annotated[int, typer.Option(
        help="Refuse tasks with a smaller min_updates.")] = 2,
    until_task: Annotated[str | None, typer.Option(help="Stop once this task has ended here."
                                                   )] = None,
    threads: ThreadsOption = 0,
    dir: DirOption = None, profile: ProfileOption = None,
) -> None:
    """Take part in every task that names this organisation and whose app hash matches:
    train, encrypt, submit; aggregate and endorse; decrypt, apply, evaluate. Runs until
    SIGTERM or Ctrl-C; its state directory makes a restart resume where it stopped."""
    from fedfabric.ledger import LedgerError

    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format="%(asctime)s.%(msecs)03d %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    for noisy in ("absl", "tensorflow", "h5py"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    if threads:
        from fedfabric.fl.localmodel import limit_threads

        limit_threads(threads)  # before anything has run TensorFlow
    blobs = open_store_option(store, store_endpoint, store_credentials, dir, org, profile)
    participant, gateway = _participant(org, user, app_dir, data, blobs, state, keys, dir,
                                        profile, quorum_floor, min_updates_floor)
    stop = threading.Event()
    participant.hold = _hold_from_environment(stop)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        participant.run(stop=stop, until_task=until_task)
    except LedgerError as e:
        raise fail(str(e)) from e
    finally:
        gateway.close()


def _hold_from_environment(stop: threading.Event) -> Callable[[str, int], None]:
    """Fault injection for tests: FEDFABRIC_PARTICIPANT_HOLD=STEP:ROUND (submit, endorse or
    apply) makes the service log that it holds there and wait until it is stopped or killed."""
    wanted = os.environ.get("FEDFABRIC_PARTICIPANT_HOLD", "")

    def hold(step: str, round: int) -> None:
        if wanted == f"{step}:{round}":
            logging.getLogger("fedfabric.participant").warning(
                "holding before %s of round %d (FEDFABRIC_PARTICIPANT_HOLD)", step, round)
            stop.wait()
            raise SystemExit(0)

    return hold


@participant_app.command("register")
def participant_register(
    org: OrgOption, app_dir: AppOption, data: DataOption,
    dataset: Annotated[str, typer.Option("--dataset", help="The dataset id to register.")],
    grant: Annotated[list[str] | None, typer.Option(
        "--grant", metavar="MSP", help="Grant `training` to this initiator; repeat.")] = None,
    days: Annotated[int, typer.Option(help="Days the grants last.")] = 30,
    user: UserOption = "Admin", store: StoreOption = None,
    store_endpoint: StoreEndpointOption = None, store_credentials: StoreCredentialsOption = None,
    state: StateOption = None,
    keys: KeysOption = None, dir: DirOption = None, profile: ProfileOption = None,
) -> None:
    """Register this organisation's local data as a dataset (its hash and rows on chain; the
    data stays here), grant `training` to initiators, and publish the organisation key."""
    from fedfabric.ledger import LedgerError

    blobs = open_store_option(store, store_endpoint, store_credentials, dir, org, profile)
    participant, gateway = _participant(org, user, app_dir, data, blobs, state, keys, dir,
                                        profile)
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days)
    try:
        participant.publish_key()
        participant.register_dataset(dataset, f"{participant.app.name} data of "
                                     f"{participant.msp_id}", grant or [], expires)
    except LedgerError as e:
        raise fail(str(e)) from e
    finally:
        gateway.close()
    console.print(f"dataset {dataset} of {participant.msp_id}: "
                  f"{participant.data.train.samples} training rows, sha256 "
                  f"{participant.data_digest[:16]}…; training granted to "
                  f"{', '.join(grant or []) or 'nobody yet'}", highlight=False)


ServicesOption = Annotated[Path | None, typer.Option(
    "--services", help="Where the local services keep each organisation's directory "
    "[default: <network>/participants].")]


def _services(dir: Path | None, services: Path | None
              ) -> tuple[NativeNetwork, ParticipantServices]:
    from fedfabric.admin import AdminError
    from fedfabric.admin.docker import open_network
    from fedfabric.admin.participants import participant_services

    try:
        net = open_network(network_dir(dir))
        return net, participant_services(net, services)
    except AdminError as e:
        raise fail(str(e), 2) from e


@participant_app.command("start")
def participant_start(
    org: OrgOption, app_dir: AppOption, data: Annotated[Path, typer.Option(
        "--data", help="This organisation's data file (mounted read-only in a container).")],
    store: StoreOption = None, store_endpoint: StoreEndpointOption = None,
    store_credentials: StoreCredentialsOption = None, threads: ThreadsOption = 0,
    dir: DirOption = None, services: ServicesOption = None,
) -> None:
    """Start an organisation's participant in the background beside the local network: a
    process natively, a container of the participant image beside a Docker network. It gets
    only that organisation's exported material, its data, its state, and the app."""
    from fedfabric.admin import AdminError
    from fedfabric.gateway import ConnectionProfile

    net, s = _services(dir, services)
    if not app_dir.is_dir() or not data.exists():
        raise fail(f"{app_dir if not app_dir.is_dir() else data} does not exist", 2)
    open_store_option(store, store_endpoint, store_credentials, dir, org)  # refuse a bad one
    store_args: list[str] = []  # credentials name their store; else the profile's S3 store
    if store is not None or (store_credentials is None and net.topology.store != "s3"):
        blobs = store or str(net.layout.root / "blobs")
        store_args = ["--store", blobs if "://" in blobs else str(Path(blobs).resolve())]
    if store_endpoint:
        store_args += ["--store-endpoint", store_endpoint]
    if store_credentials:
        store_args += ["--store-credentials", str(store_credentials.resolve())]
    try:
        if not s.profile(org).is_file():
            s.export(ConnectionProfile.from_dict(net.profile()), org)
        which = s.start(org, app_dir.resolve(), data.resolve(), store_args,
                        ["--threads", str(threads)] if threads else [])
    except AdminError as e:
        raise fail(str(e)) from e
    console.print(f"participant of {org} started ({which}); its directory is "
                  f"{s.org_dir(org)}", highlight=False)


@participant_app.command("stop")
def participant_stop(
    org: Annotated[str | None, typer.Option("--org", "-o", help="This organisation's "
                                            "service [default: all of them].")] = None,
    dir: DirOption = None, services: ServicesOption = None,
) -> None:
    """Stop local participant services (SIGTERM, then SIGKILL after a bounded wait)."""
    _, s = _services(dir, services)
    stopped = [org] if org and s.stop(org) else [] if org else s.stop_all()
    console.print(f"stopped: {', '.join(stopped) or 'none was running'}")


@participant_app.command("logs")
def participant_logs(org: OrgOption, dir: DirOption = None,
                     services: ServicesOption = None) -> None:
    """A local participant service's log."""
    from fedfabric.admin.participants import ParticipantContainers

    _, s = _services(dir, services)
    text = s.logs(org) if isinstance(s, ParticipantContainers) else \
        s.log(org).read_text() if s.log(org).exists() else ""
    print(text, end="")
