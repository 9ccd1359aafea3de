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
APPS = {"aggregator": aggregator_app}


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
