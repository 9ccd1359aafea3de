"""The `fedfabric` command line."""

from __future__ import annotations

import typer

from fedfabric.cli import (
    chaincode,
    data,
    fl,
    identity,
    ledger,
    network,
    org,
    participant,
    store,
    tasks,
)

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Federated learning with encrypted updates on Hyperledger Fabric.")
app.add_typer(network.app, name="network")
app.add_typer(store.app, name="store")
app.add_typer(org.app, name="org")
app.add_typer(identity.app, name="identity")
app.add_typer(chaincode.app, name="chaincode")
for name, sub in {**ledger.APPS, **tasks.APPS, **participant.APPS, **data.APPS,
                  **fl.APPS}.items():
    app.add_typer(sub, name=name)



def main() -> None:
    """The `fedfabric` command: expected faults end it with one line, never a traceback."""
    import sys

    from fedfabric.admin import AdminError
    from fedfabric.cli.common import err
    from fedfabric.cli.faults import explain
    from fedfabric.gateway import GatewayError
    from fedfabric.ledger import LedgerError
    from fedfabric.store import StoreError

    try:
        app()
    except (LedgerError, GatewayError, AdminError, StoreError, ConnectionError,
            TimeoutError) as e:
        from fedfabric.admin.layout import default_network_dir

        err.print(f"error: {explain(e, default_network_dir())}", markup=False, highlight=False,
                  soft_wrap=True)
        sys.exit(1)


__all__ = ["app", "main"]
