"""`fedfabric org`: organisations join and leave the running network through config updates."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from fedfabric.admin import AdminError
from fedfabric.admin.configupdate import UpdateSummary
from fedfabric.admin.docker import open_network
from fedfabric.admin.orgs import Consortium
from fedfabric.cli.common import (
    DirOption,
    DockerOption,
    RichProgress,
    console,
    fail,
    network_dir,
    table,
)

app = typer.Typer(no_args_is_help=True, help=(
    "Organisations join and leave the channel: each step is what one organisation's admin "
    "does (see docs/admin.md); `add` and `remove` run them all for a local demo."))

NameArg = Annotated[str, typer.Argument(help="The organisation, e.g. Org4.")]
FileArg = Annotated[Path, typer.Argument(help="The config update file.")]
AsOption = Annotated[str | None, typer.Option(
    "--as", help="The member whose admin fetches the channel config [default: the first].")]
OutOption = Annotated[Path | None, typer.Option(
    help="Where to write the update [default: DIR/updates/ACTION-ORG.pb].")]
SignersOption = Annotated[str | None, typer.Option(
    help="Comma-separated members whose admins sign [default: a majority of the members].")]


def _consortium(dir: Path | None, docker: bool) -> Consortium:
    net = open_network(network_dir(dir, docker), docker)
    if not net.exists:
        raise fail(f"no network at {net.layout.root}: run `fedfabric network up` first")
    return Consortium(net, RichProgress())


def _signers(value: str | None) -> list[str] | None:
    return [s.strip() for s in value.split(",") if s.strip()] if value else None


def _show(update: UpdateSummary, path: Path, needed: int) -> None:
    signed = ", ".join(update.signers) or "nobody yet"
    console.print(f"{path}: {update.describe()} on channel {update.channel}; signed by "
                  f"{signed} (the members' admins needed: {needed})", highlight=False)


@app.command("add")
def org_add(name: NameArg, dir: DirOption = None, docker: DockerOption = False,
            signers: SignersOption = None) -> None:
    """Every step of adding an organisation: prepare, propose, sign, submit, join."""
    c = _consortium(dir, docker)
    began = time.monotonic()
    try:
        org = c.add(name, _signers(signers))
    except AdminError as e:
        raise fail(str(e)) from e
    console.print(f"[bold]{org.name} joined[/bold] channel {c.topology.channel} in "
                  f"{time.monotonic() - began:.1f}s; members: "
                  f"{', '.join(o.name for o in c.topology.org_list)}")


@app.command("remove")
def org_remove(name: NameArg, dir: DirOption = None, docker: DockerOption = False,
               signers: SignersOption = None) -> None:
    """Every step of removing an organisation: propose, sign, submit (its nodes stop)."""
    c = _consortium(dir, docker)
    try:
        org = c.remove(name, _signers(signers))
    except AdminError as e:
        raise fail(str(e)) from e
    console.print(f"[bold]{org.name} left[/bold] channel {c.topology.channel}; members: "
                  f"{', '.join(o.name for o in c.topology.org_list)}")


@app.command("prepare")
def org_prepare(name: NameArg, dir: DirOption = None, docker: DockerOption = False) -> None:
    """Step 1 (the new organisation): its CA, identities, chaincode package, MSP definition."""
    c = _consortium(dir, docker)
    try:
        org = c.prepare(name)
    except AdminError as e:
        raise fail(str(e)) from e
    console.print(f"{org.name} is ready to join; its MSP definition: {c.definition_file(org)}",
                  highlight=False)


@app.command("propose-add")
def org_propose_add(
    name: NameArg, dir: DirOption = None, docker: DockerOption = False,
    as_org: AsOption = None, out: OutOption = None,
    definition: Annotated[Path | None, typer.Option(
        help="The new organisation's MSP definition [default: the one `prepare` wrote].")
    ] = None,
) -> None:
    """Step 2 (a member): the config update that adds a prepared organisation."""
    c = _consortium(dir, docker)
    try:
        path = c.propose_add(name, as_org, out, definition)
        _show(c.summary(path), path, c.topology.majority)
    except AdminError as e:
        raise fail(str(e)) from e


@app.command("propose-remove")
def org_propose_remove(name: NameArg, dir: DirOption = None, docker: DockerOption = False,
                       as_org: AsOption = None, out: OutOption = None) -> None:
    """Step 1 of a removal (a member): the config update that removes an organisation."""
    c = _consortium(dir, docker)
    try:
        path = c.propose_remove(name, as_org, out)
        _show(c.summary(path), path, c.topology.majority)
    except AdminError as e:
        raise fail(str(e)) from e


@app.command("sign-update")
def org_sign_update(
    file: FileArg,
    org: Annotated[str, typer.Option("--org", "-o", help="The member whose admin signs.")],
    dir: DirOption = None, docker: DockerOption = False,
) -> None:
    """A member's admin adds its signature to a config update file."""
    c = _consortium(dir, docker)
    try:
        _show(c.sign(file, org), file, c.topology.majority)
    except AdminError as e:
        raise fail(str(e)) from e


@app.command("submit-update")
def org_submit_update(
    file: FileArg, dir: DirOption = None, docker: DockerOption = False,
    org: Annotated[str | None, typer.Option(
        "--org", "-o", help="The member whose admin submits (and signs) [default: the first "
        "signer].")] = None,
) -> None:
    """Send a signed config update to the orderers; the launcher's record follows it."""
    c = _consortium(dir, docker)
    try:
        update = c.submit(file, org)
    except AdminError as e:
        raise fail(str(e)) from e
    console.print(f"channel {update.channel} updated: {update.describe()}", highlight=False)
    for msp_id in update.adds:
        console.print(f"next, {msp_id}'s admin runs `fedfabric org join "
                      f"{msp_id.removesuffix('MSP')}`", highlight=False)


@app.command("join")
def org_join(name: NameArg, dir: DirOption = None, docker: DockerOption = False) -> None:
    """Last step (the new organisation): start its peer and chaincode service, join."""
    c = _consortium(dir, docker)
    try:
        org = c.join(name)
    except AdminError as e:
        raise fail(str(e)) from e
    console.print(f"[bold]{org.name} joined[/bold] channel {c.topology.channel}")


@app.command("list")
def org_list(dir: DirOption = None, docker: DockerOption = False,
             as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
             ) -> None:
    """Members, organisations preparing to join, and those that left."""
    c = _consortium(dir, docker)
    topo = c.topology
    rows = [{"org": o.name, "msp_id": o.msp_id, "status": "member", "peer": o.peer_address}
            for o in topo.org_list]
    rows += [{"org": o.name, "msp_id": o.msp_id, "status": "preparing", "peer": o.peer_address}
             for o in c.net.pending_orgs()]
    rows += [{"org": f"Org{n}", "msp_id": f"Org{n}MSP", "status": "left", "peer": ""}
             for n in topo.removed]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    console.print(table(f"organisations of channel {topo.channel}",
                        ["org", "msp_id", "status", "peer"],
                        [list(r.values()) for r in rows]))
