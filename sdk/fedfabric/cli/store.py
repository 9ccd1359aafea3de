"""`fedfabric store up|down|status`: the consortium's local S3 server (SeaweedFS)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer

from fedfabric.admin import AdminError
from fedfabric.admin.objectstore import ObjectStoreServer
from fedfabric.cli.common import console, fail, fields

app = typer.Typer(no_args_is_help=True, help="Run the S3 server (SeaweedFS) that holds the "
                  "consortium's blobs: each organisation writes only under its own prefix.")

StoreDir = Annotated[Path, typer.Option(
    "--dir", envvar="FEDFABRIC_STORE_DIR", help="Directory that holds the server's data, log "
    "and credentials.")]
PortOption = Annotated[int | None, typer.Option(
    help="S3 port; it also uses the next 7 ports [default: 8333, or the last one used].")]
DEFAULT_DIR = Path("~/.fedfabric/store")
DEFAULT_PORT = 8333


def _server(dir: Path, port: int | None, bucket: str | None = None) -> ObjectStoreServer:
    """The server in dir, on the port and bucket given, else those it last ran with."""
    dir = dir.expanduser()
    saved: dict[str, object] = {}
    with contextlib.suppress(OSError, ValueError):
        saved = json.loads((dir / "server.json").read_text())
    return ObjectStoreServer(dir, port or int(str(saved.get("port", DEFAULT_PORT))),
                             bucket=bucket or str(saved.get("bucket", "fedfabric")))


@app.command("up")
def store_up(
    dir: StoreDir = DEFAULT_DIR,
    port: PortOption = None,
    orgs: Annotated[int, typer.Option(min=1, max=99, help="Organisations Org1MSP..OrgNMSP."
                                      )] = 3,
    network: Annotated[Path | None, typer.Option(
        help="Make identities for this network's organisations instead of --orgs.")] = None,
    bucket: Annotated[str | None, typer.Option(help="Bucket [default: fedfabric].")] = None,
) -> None:
    """Start the S3 server, make the bucket and one identity per organisation: each may write
    only under s3://BUCKET/<its MSP id>/ and read the whole bucket."""
    names = [f"Org{i}MSP" for i in range(1, orgs + 1)]
    if network is not None:
        from fedfabric.admin.profile import network_profile

        try:
            names = sorted(network_profile(network).organizations)
        except AdminError as e:
            raise fail(str(e), 2) from e
    server = _server(dir, port, bucket)
    try:
        files = server.serve(names)
    except AdminError as e:
        raise fail(str(e)) from e
    (server.root / "server.json").write_text(json.dumps({"port": server.port,
                                                         "bucket": server.bucket}))
    console.print(f"[bold]S3 server up[/bold] at {server.endpoint}, bucket {server.bucket}, "
                  f"data in {server.root}", highlight=False, soft_wrap=True)
    for org, path in files.items():
        console.print(f"  {org}: writes s3://{server.bucket}/{org}/, credentials in {path}",
                      highlight=False, soft_wrap=True)


@app.command("down")
def store_down(
    dir: StoreDir = DEFAULT_DIR,
    port: PortOption = None,
    purge: Annotated[bool, typer.Option(help="Also delete its data and credentials.")] = False,
) -> None:
    """Stop the S3 server."""
    server = _server(dir, port)
    stopped = server.down(purge=purge)
    console.print(("S3 server stopped" if stopped else "S3 server was not running")
                  + (f"; {server.root} deleted" if purge else ""), highlight=False)


@app.command("status")
def store_status(
    dir: StoreDir = DEFAULT_DIR,
    port: PortOption = None,
    output_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Whether the S3 server runs and answers."""
    status = _server(dir, port).status()
    if output_json:
        print(json.dumps({**dataclasses.asdict(status), "log": str(status.log)}, indent=2))
    else:
        console.print(fields("S3 server", status))
    if not status.ready:
        raise typer.Exit(1)
