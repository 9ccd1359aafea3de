"""`fedfabric chaincode`: the chaincode's lifecycle on the running network."""

from __future__ import annotations

import time

import typer

from fedfabric.admin import AdminError
from fedfabric.admin.docker import open_network
from fedfabric.admin.upgrade import upgrade_chaincode
from fedfabric.cli.common import DirOption, DockerOption, RichProgress, console, fail, network_dir

app = typer.Typer(no_args_is_help=True, help="The chaincode's lifecycle on the running network.")


@app.command("upgrade")
def chaincode_upgrade(dir: DirOption = None, docker: DockerOption = False) -> None:
    """Package the current chaincode, install it, have every member approve it at the next
    sequence, commit it and restart the chaincode services; the ledger's data stays."""
    net = open_network(network_dir(dir, docker), docker)
    if not net.exists:
        raise fail(f"no network at {net.layout.root}: run `fedfabric network up` first")
    began = time.monotonic()
    try:
        sequence = upgrade_chaincode(net, RichProgress())
    except AdminError as e:
        raise fail(str(e)) from e
    console.print(f"[bold]chaincode {net.topology.chaincode} upgraded[/bold] to sequence "
                  f"{sequence} in {time.monotonic() - began:.1f}s")
