"""What every use case does on the real network: train its FL app with encrypted updates (every
organisation's participant in this one process: the quick simulation), deploy the registered
model, predict as one organisation and verify as another, and share one dataset between two
organisations under a chain-enforced grant."""

from __future__ import annotations

import argparse
import datetime
import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console

import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
from fedfabric.admin.docker import open_network
from fedfabric.admin.layout import default_network_dir
from fedfabric.admin.profile import network_profile
from fedfabric.data import DataSharing, org_key, publish_key
from fedfabric.fl import FLApp
from fedfabric.fl.app import partition
from fedfabric.fl.serving import predict_and_record, verify
from fedfabric.fl.simulate import simulate
from fedfabric.ledger import Ledger
from fedfabric.store import LocalStore

APPS = Path(__file__).resolve().parent / "apps"


def run(title: str, app_name: str, labels: list[str]) -> None:
    parser = argparse.ArgumentParser(description=title)
    parser.add_argument("--dir", type=Path, default=default_network_dir())
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    console = Console()
    profile = network_profile(args.dir)
    names = [o.msp_id for o in profile.organizations.values()][:3]
    store = LocalStore(args.dir / "blobs")
    app = FLApp.load(APPS / app_name)
    # Every organisation reads what another just wrote: wait for all peers after each write.
    after_commit = open_network(args.dir).wait_for_block
    gateways = {msp: (profile.connect(msp, user="Admin"), profile.connect(msp))
                for msp in names}
    admin = {msp: Ledger(g[0].get_network(profile.channel), profile.chaincode,
                         after_commit=after_commit) for msp, g in gateways.items()}
    user = {msp: Ledger(g[1].get_network(profile.channel), profile.chaincode,
                        after_commit=after_commit) for msp, g in gateways.items()}
    try:
        with tempfile.TemporaryDirectory() as work:
            data = dict(zip(names, partition(app, Path(work) / "data", len(names)),
                            strict=True))
            console.print(f"[bold]{title}[/bold]: " + ", ".join(
                f"{label} ({msp})" for label, msp in zip(labels, names, strict=True)))
            history = simulate(admin, store, app, data, Path(work) / "state", args.rounds)
            for r in history.rounds:
                accuracy = [m.metrics["accuracy"] for m in r.metrics]
                console.print(f"  round {r.round}: mean accuracy "
                              f"{sum(accuracy) / max(len(accuracy), 1):.4f}")
            with np.load(data[names[0]]) as f:
                rows = f["x_test"][:5]
        task = history.task
        name = str(task.hyperparameters["model_name"])
        admin[names[0]].models.deploy(name, "1")
        console.print(f"model {name}:1 registered and deployed by {names[0]}")

        inference, _ = predict_and_record(user[names[0]], store, name, "1", rows)
        verdict = verify(user[names[1]], store, inference.id)
        console.print(f"prediction {inference.id} by {names[0]} on 5 records: "
                      f"{verdict.verdict} by {verdict.msp_id}")

        keys = args.dir / "orgkeys"
        sharer, receiver = names[1], names[0]
        for msp in (sharer, receiver):
            publish_key(admin[msp], msp, org_key(keys, msp))
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "records.csv"
            np.savetxt(source, rows, delimiter=",", fmt="%.6f")
            dataset_id = f"{task.id}-shared"
            owner = DataSharing(admin[sharer], store, sharer, org_key(keys, sharer))
            owner.share(source, dataset_id, f"{labels[1]} records", {"columns": rows.shape[1]},
                        len(rows))
            owner.grant(dataset_id, receiver, "read",
                        datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=7))
            copy = Path(tmp) / "copy.csv"
            DataSharing(user[receiver], store, receiver, org_key(keys, receiver)).fetch(
                dataset_id, copy)
            same = copy.read_bytes() == source.read_bytes()
        log = user[receiver].datasets.access_log(dataset_id).items
        console.print(f"dataset {dataset_id} shared by {sharer} with {receiver}: "
                      f"decrypted {'intact' if same else 'DIFFERENT'}, {len(log)} access(es) "
                      "on the audit log")
        if not same or verdict.verdict != "VERIFIED":
            raise SystemExit(1)
    finally:
        for pair in gateways.values():
            for g in pair:
                g.close()
