"""`fedfabric network`: bring a Fabric network up, down, inspect it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fedfabric.admin import AdminError, Topology
from fedfabric.admin.docker import open_network
from fedfabric.cli.common import (
    DirOption,
    DockerOption,
    RichProgress,
    console,
    fail,
    network_dir,
)

app = typer.Typer(no_args_is_help=True, help="Bring a Fabric network up, down, inspect it.")


@app.command("up")
def network_up(
    dir: DirOption = None,
    docker: DockerOption = False,
    orgs: Annotated[int | None, typer.Option(
        help="Organisations, one peer each [default: 3].")] = None,
    orderers: Annotated[int | None, typer.Option(
        help="Raft orderers: 1 or 3 [default: 3].")] = None,
    channel: Annotated[str | None, typer.Option(help="Channel name [default: fedfabric].")] = None,
    base_port: Annotated[int | None, typer.Option(help="First of the ports the nodes use "
                                                  "[default: 7000].")] = None,
    crypto: Annotated[str | None, typer.Option(
        help="Where identities come from: ca (each organisation's own Fabric CA) or "
        "cryptogen (generated at once; faster, for tests) [default: ca].")] = None,
    store: Annotated[str | None, typer.Option(
        help="Where blobs go: local (a directory under the network) or s3 (an S3 server, "
        "SeaweedFS, with one identity per organisation, in the connection profile) "
        "[default: local].")] = None,
    batch_timeout: Annotated[str | None, typer.Option(
        help="How long the orderers wait for more transactions before cutting a block, "
        "10ms to 10s [default: 100ms].")] = None,
) -> None:
    """Create the network, or resume an existing one with its ledgers."""
    net = open_network(network_dir(dir, docker), docker)
    given = {k: v for k, v in dict(orgs=orgs, orderers=orderers, channel=channel,
                                   base_port=base_port, crypto=crypto, store=store,
                                   batch_timeout=batch_timeout).items() if v is not None}
    try:
        topology = None
        if net.exists:
            if given:
                topology = Topology.from_dict({**net.topology.to_dict(), **given})
        else:
            given.setdefault("crypto", "ca")
            topology = Topology(**given, runtime="docker" if docker else "native")  # type: ignore[arg-type]
        began = time.monotonic()
        net.up(topology, progress=RichProgress())
    except ValueError as e:
        raise fail(str(e), 2) from e
    except AdminError as e:
        raise fail(str(e)) from e
    t = net.topology
    console.print(f"[bold]network up[/bold] in {time.monotonic() - began:.1f}s: "
                  f"{t.members} org(s), {t.orderers} orderer(s), channel {t.channel}, "
                  f"identities from {'their CAs' if t.crypto == 'ca' else 'cryptogen'}, "
                  f"state in {net.layout.root}")
    if t.store == "s3":
        console.print(f"S3 store at http://127.0.0.1:{t.store_port}: each organisation writes "
                      f"under s3://fedfabric/<its MSP id>/ with the credentials its profile "
                      f"names ({net.layout.root / 'store' / 'credentials'})", highlight=False,
                      soft_wrap=True)


@app.command("down")
def network_down(
    dir: DirOption = None,
    docker: DockerOption = False,
    purge: Annotated[bool, typer.Option("--purge", help="Also delete ledgers and keys.")] = False,
) -> None:
    """Stop every node this network started; --purge deletes its data too."""
    net = open_network(network_dir(dir, docker), docker)
    if not net.exists and not purge:
        raise fail(f"no network at {net.layout.root}")
    try:
        stopped = net.down(purge=purge, progress=RichProgress())
    except AdminError as e:
        raise fail(str(e)) from e
    console.print(f"stopped {len(stopped)} process(es)" + ("; data deleted" if purge else
                                                          "; data kept"))


@app.command("status")
def network_status(
    dir: DirOption = None,
    docker: DockerOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Health of every node and the channel height each one has."""
    net = open_network(network_dir(dir, docker), docker)
    try:
        nodes = net.status()
    except AdminError as e:
        raise fail(str(e)) from e
    if as_json:
        print(json.dumps([{**n.__dict__, "log": str(n.log)} for n in nodes], indent=2))
    else:
        table = Table(title=f"{net.layout.root} — channel {net.topology.channel}")
        for col in ("node", "kind", "org", "address", "pid", "health", "height"):
            table.add_column(col, overflow="fold")
        for n in nodes:
            health = "[green]OK[/green]" if n.healthy else f"[red]{n.detail}[/red]"
            table.add_row(n.name, n.kind, n.org, n.address, str(n.pid or "-"), health,
                          "-" if n.height is None else str(n.height))
        console.print(table)
    if not all(n.healthy for n in nodes):
        raise typer.Exit(1)


@app.command("profile")
def network_profile(
    dir: DirOption = None, docker: DockerOption = False,
    org: Annotated[str | None, typer.Option(help="Only this organisation.")] = None,
    export: Annotated[Path | None, typer.Option(
        help="With --org: copy the organisation's own crypto material here and write "
        "EXPORT/profile.json naming only it (what its own machine holds).")] = None,
) -> None:
    """Print the JSON connection profile that the SDK and other tools use."""
    from fedfabric.admin.profile import export_org
    from fedfabric.gateway import ConnectionProfile, ProfileError

    if export is not None and org is None:
        raise fail("--export needs --org", 2)
    try:
        profile = open_network(network_dir(dir, docker), docker).profile()
        if org is None:
            print(json.dumps(profile, indent=2))
            return
        whole = ConnectionProfile.from_dict(profile)
        if export is not None:
            console.print(f"{whole.org(org).name}'s profile written to "
                          f"{export_org(whole, org, export)}", highlight=False)
            return
        o = whole.org(org)
        one = whole.to_dict()
        one["organizations"] = {o.msp_id: one["organizations"][o.msp_id]}
        print(json.dumps(one, indent=2))
    except (AdminError, ProfileError, OSError) as e:
        raise fail(str(e)) from e
