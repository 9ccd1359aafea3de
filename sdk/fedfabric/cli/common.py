"""What every command shares: consoles, errors, how to reach the network as an org and user."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from fedfabric.admin.layout import default_network_dir
from fedfabric.gateway import ConnectionProfile
from fedfabric.store import Store

console = Console()
err = Console(stderr=True)

DirOption = Annotated[Path | None, typer.Option(
    "--dir", envvar="FEDFABRIC_NETWORK", show_default=False,
    help="Directory that holds the network's state [default: ~/.fedfabric/network].")]


DockerOption = Annotated[bool, typer.Option(
    "--docker", help="The network in Docker containers (default directory ~/.fedfabric/docker).")]


def network_dir(value: Path | None, docker: bool = False) -> Path:
    return value if value is not None else default_network_dir(docker)
ProfileOption = Annotated[Path | None, typer.Option(
    "--profile", envvar="FEDFABRIC_PROFILE",
    help="A JSON connection profile (instead of --dir).")]
OrgOption = Annotated[str, typer.Option("--org", "-o", help="Act as this organisation.")]
StoreOption = Annotated[str | None, typer.Option(
    "--store", envvar="FEDFABRIC_STORE", help="The blob store: a directory, file:///path or "
    "s3://bucket/prefix (with S3, your organisation's prefix) [default: <network>/blobs].")]
StoreEndpointOption = Annotated[str | None, typer.Option(
    "--store-endpoint", envvar="AWS_ENDPOINT_URL", help="The S3 endpoint URL (else from the "
    "AWS environment or profile).")]
StoreCredentialsOption = Annotated[Path | None, typer.Option(
    "--store-credentials", envvar="FEDFABRIC_STORE_CREDENTIALS", help="A JSON file with url, "
    "endpoint, access_key and secret_key: what `fedfabric store up` writes per organisation.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]



def load_profile(dir: Path | None, profile: Path | None) -> ConnectionProfile:
    """The connection profile from --profile, else from the network directory; bad ones end
    the command with exit code 2."""
    from fedfabric.admin import AdminError
    from fedfabric.admin.profile import load_profile as load

    try:
        return load(profile, network_dir(dir))
    except AdminError as e:
        raise fail(str(e), 2) from e


def profile_store_credentials(dir: Path | None, profile: Path | None,
                              org: str) -> Path | None:
    """The org's S3 credentials file that its connection profile names (a network brought up
    with --store s3), if any."""
    from fedfabric.gateway import ProfileError

    try:
        return load_profile(dir, profile).org(org).store_credentials
    except (typer.Exit, ProfileError):  # no profile or no such org: the command says so later
        return None


def open_store_option(store: str | None, endpoint: str | None, credentials: Path | None,
                      dir: Path | None, org: str | None = None,
                      profile: Path | None = None) -> Store:
    """The store the options name (a credentials file may name it), else the org's store in
    its connection profile, else <network>/blobs; a bad URL, unknown bucket or refused
    credentials end the command with exit code 2."""
    from fedfabric.store import LocalStore, StoreError, open_store

    if store is None and credentials is None and org is not None:
        credentials = profile_store_credentials(dir, profile, org)
    try:
        if credentials is not None:
            try:
                given = json.loads(Path(credentials).read_text())
                key, secret = str(given["access_key"]), str(given["secret_key"])
            except (OSError, ValueError, KeyError) as e:
                raise StoreError(f"{credentials} is not a store credentials file: {e}") from e
            return open_store(store or str(given.get("url", "")),
                              endpoint or given.get("endpoint"), access_key=key,
                              secret_key=secret)
        if store is not None:
            return open_store(store, endpoint)
        return LocalStore(network_dir(dir) / "blobs")
    except StoreError as e:
        raise fail(str(e), 2) from e


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


class RichProgress:
    """Each step shows a spinner while it runs, then a tick (or a cross) and its time."""

    @contextmanager
    def step(self, text: str) -> Iterator[None]:
        began = time.monotonic()
        try:
            with console.status(text):
                yield
        except BaseException:
            console.print(f"[red]✗[/red] {text} [dim]({time.monotonic() - began:.1f}s)[/dim]")
            raise
        console.print(f"[green]✓[/green] {text} [dim]({time.monotonic() - began:.1f}s)[/dim]")

    def note(self, text: str) -> None:
        console.print(f"  [dim]{text}[/dim]")


def as_json(value: Any) -> str:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    elif isinstance(value, list):
        value = [dataclasses.asdict(v) if dataclasses.is_dataclass(v) and not isinstance(v, type)
                 else v for v in value]
    return json.dumps(value, indent=2)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(value: object) -> str:
    """Text from the chain or another organisation, without control characters (terminal
    escapes); print it as a rich.text.Text or through safe(), never as markup."""
    return _CONTROL.sub("?", str(value))


def safe(value: object) -> str:
    """Untrusted text made safe to interpolate into Rich markup."""
    return escape(plain(value))


def table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    """A table whose cells are shown literally: never interpreted as markup."""
    t = Table(title=Text(plain(title)))
    for column in columns:
        t.add_column(Text(plain(column)), overflow="fold")
    for row in rows:
        t.add_row(*(v if isinstance(v, Text) else Text("-" if v is None or v == "" else
                                                        plain(v)) for v in row))
    return t


def fields(title: str, record: Any) -> Table:
    """A two-column table of a record's fields (nested values as compact JSON)."""
    is_record = dataclasses.is_dataclass(record) and not isinstance(record, type)
    data = dataclasses.asdict(record) if is_record else dict(record)
    rows = [[k, json.dumps(v) if isinstance(v, dict | list) else v] for k, v in data.items()]
    return table(title, ["field", "value"], rows)
