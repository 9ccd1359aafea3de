"""`fedfabric aggregator run`: an organisation's aggregator as a long-running service."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from fedfabric.cli.common import DirOption, OrgOption, ProfileOption, console, fail, network_dir
from fedfabric.gateway import ConnectionProfile, GatewayError, ProfileError

aggregator_app = typer.Typer(no_args_is_help=True,
                             help="Run an organisation's aggregator (ciphertexts only).")
train_app = typer.Typer(help="Train a model with encrypted federated learning.")
APPS = {"aggregator": aggregator_app, "train": train_app}


@aggregator_app.command("run")
def aggregator_run(
    store: Annotated[Path, typer.Option(help="The blob store directory.")],
    checkpoint: Annotated[Path, typer.Option(help="Where to keep the event position; a "
                                             "restart resumes from it.")],
    task: Annotated[str | None, typer.Option(help="Stop when this task completes.")] = None,
    from_block: Annotated[int | None, typer.Option(help="First block to read when there is no "
                                                   "checkpoint yet.")] = None,
    org: OrgOption = "Org1", user: Annotated[str, typer.Option("--user", "-u")] = "User1",
    dir: DirOption = None, profile: ProfileOption = None,
) -> None:
    """Follow RoundClosed events; aggregate the included updates; endorse the aggregate."""
    import fedfabric.he  # noqa: F401  (TenSEAL first)
    from fedfabric.fl import Aggregator
    from fedfabric.ledger import Ledger, LedgerError
    from fedfabric.store import LocalStore

    try:
        p = ConnectionProfile.from_file(profile) if profile else \
            ConnectionProfile.from_network_dir(network_dir(dir))
        gateway = p.connect(org, user=user)
    except (ProfileError, OSError, ValueError) as e:
        raise fail(str(e), 2) from e
    network = gateway.get_network(p.channel)
    aggregator = Aggregator(Ledger(network, p.chaincode), network, p.chaincode,
                            LocalStore(store), checkpoint, p.org(org).msp_id)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print(f"aggregator of {p.org(org).msp_id} following {p.channel}"
                  + (f" until task {task} completes" if task else ""))
    try:
        aggregator.run(task_id=task, stop=stop, start_block=from_block)
    except (LedgerError, GatewayError) as e:
        raise fail(str(e)) from e
    finally:
        gateway.close()
    for r in aggregator.results:
        console.print(f"task {r.task_id} round {r.round}: endorsed {r.aggregate_hash[:16]}… "
                      f"({r.event}); left out: {', '.join(r.excluded) or 'none'}")


@train_app.callback(invoke_without_command=True)
def train(
    rounds: Annotated[int, typer.Option(help="Training rounds.")] = 5,
    epochs: Annotated[int, typer.Option(help="Local epochs per round.")] = 1,
    strategy: Annotated[str, typer.Option(help="fedavg or fedsgd.")] = "fedavg",
    quorum: Annotated[int, typer.Option(help="Organisations that must endorse an "
                                       "aggregate.")] = 2,
    orgs: Annotated[int, typer.Option(help="Participating organisations (Org1..N).")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    store: Annotated[Path | None, typer.Option(help="Blob store [default: <network>/blobs].")
                     ] = None,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of accuracy per round.")] = None,
    compare: Annotated[bool, typer.Option(help="Also train without encryption and "
                                          "centrally, for comparison.")] = True,
    dir: DirOption = None, profile: ProfileOption = None,
) -> None:
    """Train the sample classifier (breast-cancer data split across the orgs, non-IID) with
    CKKS-encrypted updates; every org trains and aggregates; the model is registered."""
    import fedfabric.he  # noqa: F401  (TenSEAL first)
    from fedfabric.cli.training import run_training

    if strategy not in ("fedavg", "fedsgd"):
        raise fail(f"strategy {strategy!r} must be fedavg or fedsgd", 2)
    try:
        p = ConnectionProfile.from_file(profile) if profile else \
            ConnectionProfile.from_network_dir(network_dir(dir))
    except (ProfileError, OSError, ValueError) as e:
        raise fail(str(e), 2) from e
    if not 1 <= orgs <= len(p.organizations):
        raise fail(f"the network has {len(p.organizations)} organisations, not {orgs}", 2)
    root = store or network_dir(dir) / "blobs"
    after_commit = None
    if not profile:  # a network we run: wait for every peer after each write
        from fedfabric.admin.docker import open_network

        after_commit = open_network(network_dir(dir)).wait_for_block
    try:
        run_training(p, orgs, rounds, epochs, strategy, quorum, seed, root, plot, compare,
                     after_commit)
    except GatewayError as e:
        raise fail(str(e)) from e
