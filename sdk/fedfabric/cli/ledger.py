"""`fedfabric dataset|acl|task|round|model`: the ledger's records, as a chosen org and user."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from fedfabric.admin import AdminError
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
    load_profile,
    network_dir,
    open_store_option,
    safe,
    table,
)
from fedfabric.cli.faults import explain
from fedfabric.gateway import GatewayError, ProfileError
from fedfabric.ledger import Ledger, LedgerError, all_pages
from fedfabric.ledger.decode import decode
from fedfabric.ledger.schema import ModelSpec

dataset_app = typer.Typer(no_args_is_help=True, help="Register, list and show datasets.")
acl_app = typer.Typer(no_args_is_help=True, help="Grant, revoke and check access; the audit log.")
model_app = typer.Typer(no_args_is_help=True, help="The model registry.")
APPS = {"dataset": dataset_app, "acl": acl_app, "model": model_app}

AdminUser = Annotated[str, typer.Option("--user", "-u", help="Act as this user of the org.")]
ReadUser = Annotated[str, typer.Option("--user", "-u", help="Act as this user of the org.")]
Purpose = Annotated[str, typer.Option("--purpose", "-p", help="training, inference or read.")]


@contextmanager
def ledger_as(org: str, user: str, dir: Path | None, profile: Path | None) -> Iterator[Ledger]:
    """A Ledger acting as user of org; refusals end the command with their code and reason."""
    p = load_profile(dir, profile)
    try:
        gateway = p.connect(org, user=user)
    except (ProfileError, AdminError, OSError, ValueError) as e:
        raise fail(str(e), 2) from e
    try:
        yield Ledger(gateway.get_network(p.channel), p.chaincode)
    except (LedgerError, GatewayError) as e:
        raise fail(explain(e, None if profile else network_dir(dir))) from e
    finally:
        gateway.close()


def _json_arg(what: str, text: str) -> dict[str, Any]:
    """A JSON object given inline or as @file."""
    try:
        raw = Path(text[1:]).read_text() if text.startswith("@") else text
        value = json.loads(raw)
    except (OSError, ValueError) as e:
        raise fail(f"{what}: {e}", 2) from e
    if not isinstance(value, dict):
        raise fail(f"{what} must be a JSON object", 2)
    return value


def _name_version(text: str) -> tuple[str, str]:
    name, sep, version = text.partition(":")
    if not sep or not name or not version:
        raise fail(f"{text!r}: give the model as NAME:VERSION", 2)
    return name, version


def _show(value: Any, as_json_output: bool, title: str) -> None:
    print(as_json(value)) if as_json_output else console.print(fields(title, value))


# ---- datasets ----------------------------------------------------------------------------------
@dataset_app.command("register")
def dataset_register(
    dataset_id: str, name: Annotated[str, typer.Option(help="A readable name.")],
    sha256: Annotated[str, typer.Option(help="sha256 of the (encrypted) content.")],
    uri: Annotated[str, typer.Option(help="Where the ciphertext lives.")],
    rows: Annotated[int, typer.Option(help="Number of rows.")],
    schema: Annotated[str, typer.Option(help="JSON object (or @file): schema summary.")] = "{}",
    encryption: Annotated[str, typer.Option(help="JSON object (or @file): how it is "
                                            "encrypted.")] = "{}",
    org: OrgOption = "Org1", user: AdminUser = "Admin", dir: DirOption = None,
    profile: ProfileOption = None, output_json: JsonOption = False,
) -> None:
    """Register a dataset owned by your organisation (admins only)."""
    schema_obj, encryption_obj = _json_arg("--schema", schema), _json_arg("--encryption",
                                                                          encryption)
    with ledger_as(org, user, dir, profile) as ledger:
        d = ledger.datasets.register(dataset_id, name, sha256, uri, schema_obj, rows,
                                     encryption_obj)
    _show(d, output_json, f"dataset {d.id} registered")


@dataset_app.command("list")
def dataset_list(org: OrgOption = "Org1", user: ReadUser = "User1", dir: DirOption = None,
                 profile: ProfileOption = None, output_json: JsonOption = False) -> None:
    """Every dataset on the channel."""
    with ledger_as(org, user, dir, profile) as ledger:
        items = list(all_pages(ledger.datasets.list))
    if output_json:
        print(as_json(items))
        return
    console.print(table("datasets", ["id", "name", "owner", "rows", "sha256", "registered"],
                        [[d.id, d.name, d.owner_msp, d.rows, d.sha256[:16] + "…", d.created_at]
                         for d in items]))


@dataset_app.command("show")
def dataset_show(dataset_id: str, org: OrgOption = "Org1", user: ReadUser = "User1",
                 dir: DirOption = None, profile: ProfileOption = None,
                 output_json: JsonOption = False) -> None:
    """One dataset."""
    with ledger_as(org, user, dir, profile) as ledger:
        d = ledger.datasets.get(dataset_id)
    _show(d, output_json, f"dataset {d.id}")


# ---- access control ----------------------------------------------------------------------------
@acl_app.command("grant")
def acl_grant(
    dataset_id: str, grantee: Annotated[str, typer.Argument(help="Grantee MSP id.")],
    purpose: Purpose = "training",
    days: Annotated[float, typer.Option(help="Valid for this many days.")] = 30.0,
    identity: Annotated[str, typer.Option(help="Only this identity (certificate CN).")] = "",
    org: OrgOption = "Org1", user: AdminUser = "Admin", dir: DirOption = None,
    profile: ProfileOption = None, output_json: JsonOption = False,
) -> None:
    """Let an organisation (or one identity in it) use a dataset for a purpose."""
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days)
    with ledger_as(org, user, dir, profile) as ledger:
        g = ledger.datasets.grant(dataset_id, grantee, purpose, expires, grantee_id=identity)
    _show(g, output_json, "grant recorded")


@acl_app.command("revoke")
def acl_revoke(
    dataset_id: str, grantee: Annotated[str, typer.Argument(help="Grantee MSP id.")],
    purpose: Purpose = "training",
    identity: Annotated[str, typer.Option(help="The identity the grant names, if any.")] = "",
    org: OrgOption = "Org1", user: AdminUser = "Admin", dir: DirOption = None,
    profile: ProfileOption = None, output_json: JsonOption = False,
) -> None:
    """End a grant now. A copy already fetched cannot be recalled."""
    with ledger_as(org, user, dir, profile) as ledger:
        g = ledger.datasets.revoke(dataset_id, grantee, purpose, grantee_id=identity)
    _show(g, output_json, "grant revoked")


@acl_app.command("check")
def acl_check(
    dataset_id: str, msp_id: Annotated[str, typer.Argument(help="The organisation asking.")],
    purpose: Purpose = "training",
    identity: Annotated[str, typer.Option(help="The identity asking (certificate CN).")] = "",
    org: OrgOption = "Org1", user: ReadUser = "User1", dir: DirOption = None,
    profile: ProfileOption = None, output_json: JsonOption = False,
) -> None:
    """May this organisation use the dataset for this purpose now, and why."""
    with ledger_as(org, user, dir, profile) as ledger:
        decision = ledger.datasets.check(dataset_id, msp_id, purpose, identity)
    if output_json:
        print(as_json(decision))
    else:
        verdict = "[green]allowed[/green]" if decision.allowed else "[red]denied[/red]"
        console.print(f"{safe(msp_id)} {safe(purpose)} on {safe(dataset_id)}: {verdict} "
                      f"({safe(decision.reason)})")
    if not decision.allowed:
        raise typer.Exit(3)


@acl_app.command("log")
def acl_log(dataset_id: str, org: OrgOption = "Org1", user: ReadUser = "User1",
            dir: DirOption = None, profile: ProfileOption = None,
            output_json: JsonOption = False) -> None:
    """The dataset's grants and every recorded access."""
    with ledger_as(org, user, dir, profile) as ledger:
        grants = list(all_pages(ledger.datasets.grants, dataset_id))
        log = list(all_pages(ledger.datasets.access_log, dataset_id))
    if output_json:
        print(json.dumps({"grants": json.loads(as_json(grants)),
                                  "accesses": json.loads(as_json(log))}, indent=2))
        return
    console.print(table(f"grants on {dataset_id}",
                        ["grantee", "identity", "purpose", "status", "expires", "granted"],
                        [[g.grantee_msp, g.grantee_id, g.purpose, g.status, g.expires_at,
                          g.granted_at] for g in grants]))
    console.print(table(f"accesses to {dataset_id}", ["time", "org", "identity", "purpose", "tx"],
                        [[e.time, e.msp_id, e.identity, e.purpose, e.tx_id[:16] + "…"]
                         for e in log]))


# ---- models ------------------------------------------------------------------------------------
@model_app.command("register")
def model_register(
    spec: Annotated[str, typer.Argument(help="The model spec: JSON object or @file.")],
    org: OrgOption = "Org1", user: AdminUser = "Admin", dir: DirOption = None,
    profile: ProfileOption = None, output_json: JsonOption = False,
) -> None:
    """Register an immutable model version (admins only)."""
    try:
        model_spec = decode(ModelSpec, _json_arg("spec", spec))
    except TypeError as e:
        raise fail(f"spec: {e}", 2) from e
    with ledger_as(org, user, dir, profile) as ledger:
        m = ledger.models.register(model_spec)
    _show(m, output_json, f"model {m.name}:{m.version} registered")


@model_app.command("list")
def model_list(name: Annotated[str, typer.Option(help="Only this model's versions.")] = "",
               org: OrgOption = "Org1", user: ReadUser = "User1", dir: DirOption = None,
               profile: ProfileOption = None, output_json: JsonOption = False) -> None:
    """Every model version (or one model's)."""
    with ledger_as(org, user, dir, profile) as ledger:
        items = list(all_pages(ledger.models.list, name))
    if output_json:
        print(as_json(items))
        return
    console.print(table("models", ["name", "version", "owner", "status", "framework",
                                   "provenance", "weights"],
                        [[m.name, m.version, m.owner_msp, m.status, m.framework,
                          m.provenance.task_id or m.provenance.type, m.weights_hash[:16] + "…"]
                         for m in items]))


@model_app.command("show")
def model_show(model: Annotated[str, typer.Argument(metavar="NAME:VERSION")],
               org: OrgOption = "Org1", user: ReadUser = "User1", dir: DirOption = None,
               profile: ProfileOption = None, output_json: JsonOption = False) -> None:
    """A model version with the metrics other organisations attested."""
    name, version = _name_version(model)
    with ledger_as(org, user, dir, profile) as ledger:
        view = ledger.models.get(name, version)
    if output_json:
        print(as_json(view))
        return
    console.print(fields(f"model {name}:{version}", view.model))
    console.print(table("attested metrics", ["org", "metrics", "time"],
                        [[a.msp_id, json.dumps(a.metrics), a.time] for a in view.attestations]))


@model_app.command("lineage")
def model_lineage(model: Annotated[str, typer.Argument(metavar="NAME:VERSION")],
                  org: OrgOption = "Org1", user: ReadUser = "User1", dir: DirOption = None,
                  profile: ProfileOption = None, output_json: JsonOption = False) -> None:
    """Where a model came from: task -> rounds -> updates -> aggregates."""
    name, version = _name_version(model)
    with ledger_as(org, user, dir, profile) as ledger:
        lineage = ledger.models.lineage(name, version)
    if output_json:
        print(as_json(lineage))
        return
    m = lineage.model
    console.print(f"[bold]{safe(m.name)}:{safe(m.version)}[/bold] ({safe(m.status)}) weights "
                  f"{safe(m.weights_hash)}")
    if lineage.task is None:
        console.print(f"provenance: external — {safe(m.provenance.description)}")
        return
    console.print(f"from task {safe(lineage.task.id)} ({safe(lineage.task.status)}), "
                  f"initiator {safe(lineage.task.initiator_msp)}")
    rows = []
    for r in lineage.rounds:
        for u in r.updates:
            rows.append([r.round, "update", u.msp_id, u.manifest_hash[:16] + "…", u.samples])
        for e in r.endorsements:
            rows.append([r.round, "aggregate", e.msp_id, e.aggregate_hash[:16] + "…",
                         "final" if e.aggregate_hash == r.final_hash else "dissent"])
    console.print(table("lineage", ["round", "kind", "org", "hash", "note"], rows))


@model_app.command("predict")
def model_predict(
    model: Annotated[str, typer.Argument(metavar="NAME[:VERSION]")],
    input_file: Annotated[Path, typer.Argument(metavar="INPUT", help=".npy or .csv rows of "
                                               "features")],
    store: StoreOption = None, store_endpoint: StoreEndpointOption = None,
    store_credentials: StoreCredentialsOption = None,
    owner: Annotated[str | None, typer.Option(
        help="The organisation whose model you expect (MSP id); others' are refused.")] = None,
    org: OrgOption = "Org1", user: ReadUser = "User1", dir: DirOption = None,
    profile: ProfileOption = None, output_json: JsonOption = False,
) -> None:
    """Predict with a deployed model (weights checked against the chain); record the inference."""
    import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
    from fedfabric.fl.serving import latest_deployed, predict_and_record
    from fedfabric.store import StoreError

    x = _load_rows(input_file)
    name, _, version = model.partition(":")
    with ledger_as(org, user, dir, profile) as ledger:
        try:
            version = version or latest_deployed(ledger, name, owner)
            inference, output = predict_and_record(
                ledger, open_store_option(store, store_endpoint, store_credentials, dir, org,
                                          profile), name, version, x, owner)
        except (StoreError, ValueError) as e:
            raise fail(str(e)) from e
    if output_json:
        print(json.dumps({"inference": json.loads(as_json(inference)),
                                  "output": json.loads(output)}, indent=2))
        return
    console.print(f"[bold]inference {safe(inference.id)}[/bold] with {safe(name)}:"
                  f"{safe(version)}: "
                  f"output hash {inference.output_hash[:16]}… recorded in tx "
                  f"{inference.tx_id[:16]}…")
    console.print(table("predictions", ["row", "output"],
                        [[i, ", ".join(row)] for i, row in enumerate(json.loads(output))]))


@model_app.command("verify")
def model_verify(
    inference_id: str,
    store: StoreOption = None, store_endpoint: StoreEndpointOption = None,
    store_credentials: StoreCredentialsOption = None,
    org: OrgOption = "Org2", user: ReadUser = "User1", dir: DirOption = None,
    profile: ProfileOption = None, output_json: JsonOption = False,
) -> None:
    """Re-run another organisation's inference and attest it (VERIFIED or DISPUTED)."""
    import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
    from fedfabric.fl.serving import verify
    from fedfabric.store import StoreError

    with ledger_as(org, user, dir, profile) as ledger:
        try:
            verdict = verify(ledger, open_store_option(
                store, store_endpoint, store_credentials, dir, org, profile), inference_id)
        except (StoreError, ValueError) as e:
            raise fail(str(e)) from e
    if output_json:
        print(as_json(verdict))
    else:
        colour = "green" if verdict.verdict == "VERIFIED" else "red"
        console.print(f"inference {safe(inference_id)}: [{colour}]{safe(verdict.verdict)}"
                      f"[/{colour}] by {safe(verdict.msp_id)}")
    if verdict.verdict != "VERIFIED":
        raise typer.Exit(3)


def _load_rows(path: Path) -> Any:
    import numpy as np

    try:
        if path.suffix == ".npy":
            return np.load(path, allow_pickle=False).astype(np.float32)
        return np.atleast_2d(np.loadtxt(path, delimiter=",", dtype=np.float32))
    except (OSError, ValueError) as e:
        raise fail(f"{path}: {e}", 2) from e


def _set_status(model: str, status: str, org: str, user: str, dir: Path | None,
                profile: Path | None,
                output_json: bool) -> None:
    name, version = _name_version(model)
    with ledger_as(org, user, dir, profile) as ledger:
        m = ledger.models.set_status(name, version, status)
    _show(m, output_json, f"model {name}:{version} is {m.status}")


@model_app.command("deploy")
def model_deploy(model: Annotated[str, typer.Argument(metavar="NAME:VERSION")],
                 org: OrgOption = "Org1", user: AdminUser = "Admin", dir: DirOption = None,
                 profile: ProfileOption = None, output_json: JsonOption = False) -> None:
    """Mark a model version DEPLOYED (the owning org's admins only)."""
    _set_status(model, "DEPLOYED", org, user, dir, profile, output_json)


@model_app.command("retire")
def model_retire(model: Annotated[str, typer.Argument(metavar="NAME:VERSION")],
                 org: OrgOption = "Org1", user: AdminUser = "Admin", dir: DirOption = None,
                 profile: ProfileOption = None, output_json: JsonOption = False) -> None:
    """Mark a model version RETIRED (the owning org's admins only)."""
    _set_status(model, "RETIRED", org, user, dir, profile, output_json)
