"""`fedfabric identity`: an organisation's identities, from its own CA."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from fedfabric.admin import AdminError
from fedfabric.admin.docker import open_network
from fedfabric.admin.identities import Identities
from fedfabric.cli.common import (
    DirOption,
    DockerOption,
    RichProgress,
    console,
    fail,
    network_dir,
    table,
)

app = typer.Typer(no_args_is_help=True,
                  help="Register, enrol, list and revoke an organisation's identities.")

NameArg = Annotated[str, typer.Argument(help="The identity's name, e.g. alice.")]
OrgOption = Annotated[str, typer.Option("--org", "-o", help="The organisation, e.g. Org1.")]
SecretOption = Annotated[str | None, typer.Option(
    help="The enrolment secret [default: a random one at register; the registered one at "
    "enroll].")]


def _identities(dir: Path | None, docker: bool) -> Identities:
    net = open_network(network_dir(dir, docker), docker)
    if not net.exists:
        raise fail(f"no network at {net.layout.root}: run `fedfabric network up` first")
    return Identities(net, RichProgress())


@app.command("register")
def identity_register(
    name: NameArg, org: OrgOption, dir: DirOption = None, docker: DockerOption = False,
    role: Annotated[str, typer.Option(help="client, admin or peer.")] = "client",
    secret: SecretOption = None,
) -> None:
    """Register an identity with the organisation's CA; prints its enrolment secret."""
    ids = _identities(dir, docker)
    try:
        got = ids.register(org, name, role, secret)
    except AdminError as e:
        raise fail(str(e)) from e
    console.print(f"{name} registered; enrolment secret: {got}", highlight=False)


@app.command("enroll")
def identity_enroll(name: NameArg, org: OrgOption, dir: DirOption = None,
                    docker: DockerOption = False, secret: SecretOption = None) -> None:
    """Enrol a registered identity: its MSP folder, which the connection profile lists."""
    ids = _identities(dir, docker)
    try:
        msp = ids.enroll(org, name, secret)
    except AdminError as e:
        raise fail(str(e)) from e
    console.print(f"{name} enrolled: {msp}", highlight=False)


@app.command("list")
def identity_list(org: OrgOption, dir: DirOption = None, docker: DockerOption = False,
                  as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
                  ) -> None:
    """The identities the organisation's CA knows, and their state."""
    ids = _identities(dir, docker)
    try:
        found = ids.list(org)
    except AdminError as e:
        raise fail(str(e)) from e
    if as_json:
        print(json.dumps([asdict(i) for i in found], indent=2))
        return
    console.print(table(f"identities of {org}", ["name", "role", "status", "msp"],
                        [[i.name, i.role, i.status, i.msp] for i in found]))


@app.command("revoke")
def identity_revoke(name: NameArg, org: OrgOption, dir: DirOption = None,
                    docker: DockerOption = False) -> None:
    """Revoke an identity: the CA's new CRL goes into the organisation's MSP in the channel
    config (signed by its admin), and the peers refuse the identity from then on."""
    ids = _identities(dir, docker)
    try:
        block = ids.revoke(org, name)
    except AdminError as e:
        raise fail(str(e)) from e
    console.print(f"{name} revoked; the CRL is in the channel config (block {block})",
                  highlight=False)
