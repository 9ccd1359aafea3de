"""`fedfabric train`: the quick single-process simulation of a consortium."""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from fedfabric.cli.common import (
    DirOption,
    ProfileOption,
    StoreCredentialsOption,
    StoreEndpointOption,
    StoreOption,
    console,
    fail,
    load_profile,
    open_store_option,
)
from fedfabric.store import Store

train_app = typer.Typer(help="Simulate a consortium in one process (separate organisations "
                        "run `fedfabric participant run`).")
APPS = {"train": train_app}


@train_app.callback(invoke_without_command=True)
def train(
    app_dir: Annotated[Path, typer.Option("--app", help="The FL app directory.")],
    data: Annotated[list[str] | None, typer.Option(
        "--data", metavar="ORG=LOCATION", help="Each organisation's data; repeat. Without it, "
        "the app's partition() makes demo data for --orgs organisations.")] = None,
    orgs: Annotated[int, typer.Option(help="Organisations, when --data is not given.")] = 3,
    rounds: Annotated[int, typer.Option(help="Training rounds.")] = 3,
    round_timeout: Annotated[int, typer.Option(help="Seconds per round before it closes "
                                               "with min_updates.")] = 300,
    store: StoreOption = None, store_endpoint: StoreEndpointOption = None,
    store_credentials: StoreCredentialsOption = None,
    scheme: Annotated[str, typer.Option(help="threshold-ckks, or single-key ckks or paillier."
                                        )] = "threshold-ckks",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every step.")] = False,
    dir: DirOption = None, profile: ProfileOption = None,
) -> None:
    """Train an FL app over several organisations of the network with every participant in
    this one process (a quick simulation through the same participant code, each with its own
    gateway connection, keys and state). The chain records everything as usual."""
    import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
    from fedfabric.cli.tasks import metrics_table, record_table, task_summary
    from fedfabric.fl import AppError, FLApp
    from fedfabric.fl.app import partition
    from fedfabric.fl.simulate import simulate
    from fedfabric.ledger import Ledger, LedgerError

    logging.basicConfig(stream=sys.stdout, level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for noisy in ("absl", "tensorflow", "h5py"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    p = load_profile(dir, profile)
    blobs = open_store_option(store, store_endpoint, store_credentials, dir)
    try:
        app = FLApp.load(app_dir)
    except AppError as e:
        raise fail(str(e), 2) from e
    with tempfile.TemporaryDirectory() as work:
        try:
            if data:
                locations = dict(item.split("=", 1) for item in data)
                names = [p.org(o).msp_id for o in locations]
                locations = {p.org(o).msp_id: loc for o, loc in locations.items()}
            else:
                names = [o.msp_id for o in p.organizations.values()][:orgs]
                locations = dict(zip(names, partition(app, Path(work) / "data", len(names)),
                                     strict=True))
        except (AppError, ValueError) as e:
            raise fail(str(e), 2) from e
        gateways = [p.connect(msp, user="Admin") for msp in names]
        admins = {msp: Ledger(g.get_network(p.channel), p.chaincode)
                  for msp, g in zip(names, gateways, strict=True)}
        stores: Store | dict[str, Store] = blobs
        if store is None and store_credentials is None and all(
                p.org(m).store_credentials for m in names):  # each with its own S3 identity
            stores = {m: open_store_option(None, None, p.org(m).store_credentials, dir)
                      for m in names}
        console.print(f"simulating {len(names)} organisations ({', '.join(names)}) training "
                      f"{app.name} for {rounds} rounds in one process")
        try:
            history = simulate(admins, stores, app,
                               locations, Path(work) / "state", rounds, round_timeout,
                               on_task=lambda t: console.print(f"task {t.id} created"),
                               scheme=scheme)
        except (LedgerError, AppError, RuntimeError, ValueError) as e:
            raise fail(str(e)) from e
        finally:
            for g in gateways:
                g.close()
    console.print(task_summary(history.task), highlight=False)
    console.print(record_table(history))
    console.print(metrics_table(history))
