"""The `fedfabric` command line."""

from __future__ import annotations

import typer

from fedfabric.cli import data, fl, ledger, network, participant, store, tasks

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Federated learning with encrypted updates on Hyperledger Fabric.")
app.add_typer(network.app, name="network")
app.add_typer(store.app, name="store")
for name, sub in {**ledger.APPS, **tasks.APPS, **participant.APPS, **data.APPS,
                  **fl.APPS}.items():
    app.add_typer(sub, name=name)

__all__ = ["app"]
