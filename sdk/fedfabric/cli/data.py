"""`fedfabric data share|grant|fetch|revoke|log`: encrypted datasets shared under chain rules."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated

import typer

from fedfabric.cli.common import (
    DirOption,
    JsonOption,
    OrgOption,
    ProfileOption,
    StoreCredentialsOption,
    StoreEndpointOption,
    StoreOption,
    as_json,
    console,
    fail,
    fields,
    network_dir,
    open_store_option,
    safe,
    table,
)
from fedfabric.cli.ledger import ledger_as
from fedfabric.data import DataSharing, org_key, publish_key
from fedfabric.ledger import Ledger
from fedfabric.store import StoreError

data_app = typer.Typer(no_args_is_help=True, help="Share encrypted datasets under chain rules. "
                       "Revocation stops future fetches; a copy already fetched cannot be "
                       "recalled.")
APPS = {"data": data_app}

KeysOption = Annotated[Path | None, typer.Option(help="Organisation keys [default: "
                                                 "<network>/orgkeys].")]
Purpose = Annotated[str, typer.Option("--purpose", "-p", help="training, inference or read.")]


def _sharing(org: str, dir: Path | None, store: str | None, endpoint: str | None,
             credentials: Path | None, keys: Path | None, ledger: Ledger) -> DataSharing:
    root = network_dir(dir)
    msp = f"{org}MSP" if not org.endswith("MSP") else org
    key = org_key(keys or root / "orgkeys", msp)
    return DataSharing(ledger, open_store_option(store, endpoint, credentials, dir, msp), msp,
                       key)


@data_app.command("share")
def data_share(
    source: Path, dataset_id: str, name: Annotated[str, typer.Option(help="Readable name.")],
    rows: Annotated[int, typer.Option(help="Number of records.")] = 0,
    org: OrgOption = "Org1", user: Annotated[str, typer.Option("--user", "-u")] = "Admin",
    dir: DirOption = None, profile: ProfileOption = None, store: StoreOption = None,
    store_endpoint: StoreEndpointOption = None, store_credentials: StoreCredentialsOption = None,
    keys: KeysOption = None, output_json: JsonOption = False,
) -> None:
    """Encrypt a file, store the ciphertext, register the dataset (your org owns it)."""
    if not source.is_file():
        raise typer.BadParameter(f"{source} is not a file")
    with ledger_as(org, user, dir, profile) as ledger:
        sharing = _sharing(org, dir, store, store_endpoint, store_credentials, keys, ledger)
        publish_key(ledger, sharing.msp_id, sharing.key)
        d = sharing.share(source, dataset_id, name, {"file": source.name}, rows)
    print(as_json(d)) if output_json else console.print(fields("dataset shared", d))


@data_app.command("publish-key")
def data_publish_key(
    org: OrgOption = "Org1", user: Annotated[str, typer.Option("--user", "-u")] = "Admin",
    dir: DirOption = None, profile: ProfileOption = None, keys: KeysOption = None,
) -> None:
    """Publish your organisation's X25519 key, so that datasets can be granted to it."""
    with ledger_as(org, user, dir, profile) as ledger:
        sharing = _sharing(org, dir, None, None, None, keys, ledger)
        publish_key(ledger, sharing.msp_id, sharing.key)
    console.print(f"{sharing.msp_id}'s key is published")


@data_app.command("grant")
def data_grant(
    dataset_id: str, grantee: Annotated[str, typer.Argument(help="Grantee MSP id.")],
    purpose: Purpose = "read", days: Annotated[float, typer.Option()] = 30.0,
    org: OrgOption = "Org1", user: Annotated[str, typer.Option("--user", "-u")] = "Admin",
    dir: DirOption = None, profile: ProfileOption = None, store: StoreOption = None,
    store_endpoint: StoreEndpointOption = None, store_credentials: StoreCredentialsOption = None,
    keys: KeysOption = None, output_json: JsonOption = False,
) -> None:
    """Wrap the data key to the grantee's published key and record the grant."""
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days)
    with ledger_as(org, user, dir, profile) as ledger:
        g = _sharing(org, dir, store, store_endpoint, store_credentials, keys, ledger).grant(
            dataset_id, grantee, purpose, expires)
    print(as_json(g)) if output_json else console.print(fields("grant recorded", g))


@data_app.command("fetch")
def data_fetch(
    dataset_id: str, dest: Path, purpose: Purpose = "read",
    org: OrgOption = "Org2", user: Annotated[str, typer.Option("--user", "-u")] = "User1",
    dir: DirOption = None, profile: ProfileOption = None, store: StoreOption = None,
    store_endpoint: StoreEndpointOption = None, store_credentials: StoreCredentialsOption = None,
    keys: KeysOption = None,
) -> None:
    """Fetch and decrypt a dataset you may use; the access is recorded on chain."""
    with ledger_as(org, user, dir, profile) as ledger:
        sharing = _sharing(org, dir, store, store_endpoint, store_credentials, keys, ledger)
        try:
            entry = sharing.fetch(dataset_id, dest, purpose)
        except StoreError as e:
            raise fail(str(e)) from e
    console.print(f"{safe(dataset_id)} decrypted into {safe(dest)} (access recorded in tx "
                  f"{safe(entry.tx_id)})")


@data_app.command("revoke")
def data_revoke(
    dataset_id: str, grantee: Annotated[str, typer.Argument(help="Grantee MSP id.")],
    purpose: Purpose = "read",
    org: OrgOption = "Org1", user: Annotated[str, typer.Option("--user", "-u")] = "Admin",
    dir: DirOption = None, profile: ProfileOption = None, store: StoreOption = None,
    store_endpoint: StoreEndpointOption = None, store_credentials: StoreCredentialsOption = None,
    keys: KeysOption = None,
) -> None:
    """End the grant and rotate the data key: the dataset is re-encrypted under a new key
    wrapped only to the organisations still granted, so the revoked one cannot read the
    current version. A copy it already fetched cannot be recalled."""
    with ledger_as(org, user, dir, profile) as ledger:
        sharing = _sharing(org, dir, store, store_endpoint, store_credentials, keys, ledger)
        try:
            _, dataset = sharing.revoke(dataset_id, grantee, purpose)
        except StoreError as e:
            raise fail(str(e)) from e
    console.print(f"{safe(grantee)}'s {safe(purpose)} grant on {safe(dataset_id)} revoked; the "
                  f"dataset is re-encrypted under a new key (version {dataset.version}) that "
                  f"{safe(grantee)} does not hold. A copy it already fetched cannot be recalled.")


@data_app.command("log")
def data_log(
    dataset_id: str, org: OrgOption = "Org1",
    user: Annotated[str, typer.Option("--user", "-u")] = "User1", dir: DirOption = None,
    profile: ProfileOption = None, output_json: JsonOption = False,
) -> None:
    """Every recorded access to the dataset."""
    from fedfabric.ledger import all_pages

    with ledger_as(org, user, dir, profile) as ledger:
        log = list(all_pages(ledger.datasets.access_log, dataset_id))
    if output_json:
        print(as_json(log))
        return
    console.print(table(f"accesses to {dataset_id}", ["time", "org", "identity", "purpose",
                                                      "tx"],
                        [[e.time, e.msp_id, e.identity, e.purpose, e.tx_id[:16] + "…"]
                         for e in log]))
