"""What every command shares: consoles, errors, how to reach the network as an org and user."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from fedfabric.admin.layout import default_network_dir

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
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]



def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
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


def table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    t = Table(title=title)
    for column in columns:
        t.add_column(column, overflow="fold")
    for row in rows:
        t.add_row(*("-" if v is None or v == "" else str(v) for v in row))
    return t


def fields(title: str, record: Any) -> Table:
    """A two-column table of a record's fields (nested values as compact JSON)."""
    is_record = dataclasses.is_dataclass(record) and not isinstance(record, type)
    data = dataclasses.asdict(record) if is_record else dict(record)
    rows = [[k, json.dumps(v) if isinstance(v, dict | list) else v] for k, v in data.items()]
    return table(title, ["field", "value"], rows)
