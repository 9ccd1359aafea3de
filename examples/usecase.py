"""What every use case does on the real network: train with encrypted updates, register and
deploy the model, predict as one organisation and verify as another, and share one dataset
between two organisations under a chain-enforced grant."""

from __future__ import annotations

import argparse
import datetime
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from rich.console import Console

import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
from fedfabric.admin.docker import open_network
from fedfabric.admin.layout import default_network_dir
from fedfabric.data import DataSharing, org_key, publish_key
from fedfabric.fl import FedAvg
from fedfabric.fl.coordinator import parties_from_profile, train
from fedfabric.fl.samples import classifier, evaluator
from fedfabric.fl.serving import predict_and_record, verify
from fedfabric.gateway import ConnectionProfile
from fedfabric.store import LocalStore

Data = tuple[list[tuple[np.ndarray, np.ndarray]], tuple[np.ndarray, np.ndarray]]


def run(title: str, parties_label: list[str], make_data: Callable[[int, int], Data]) -> None:
    parser = argparse.ArgumentParser(description=title)
    parser.add_argument("--dir", type=Path, default=default_network_dir())
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    console = Console()
    profile = ConnectionProfile.from_network_dir(args.dir)
    names = [o.name for o in profile.organizations.values()][:3]
    store = LocalStore(args.dir / "blobs")
    data, (x_test, y_test) = make_data(3, args.seed)
    console.print(f"[bold]{title}[/bold]: " + ", ".join(
        f"{label} ({n}, {len(y)} records)" for label, n, (_, y) in
        zip(parties_label, names, data, strict=True)))

    # Every organisation reads what another just wrote: wait for all peers after each write.
    after_commit = open_network(args.dir).wait_for_block
    parties, gateways = parties_from_profile(profile, names, data, after_commit)
    try:
        with tempfile.TemporaryDirectory() as work:
            result = train(parties, profile.chaincode, store,
                           lambda: classifier(x_test.shape[1]), args.rounds,
                           FedAvg(epochs=1, batch_size=32), evaluator(x_test, y_test),
                           Path(work), seed=args.seed,
                           on_round=lambda r: console.print(
                               f"  round {r.round}: accuracy {r.metrics['accuracy']:.4f}"))
        owner, user1, user2 = parties[0].admin, parties[0].user, parties[1].user
        owner.models.deploy(result.model_name, result.model_version)
        console.print(f"model {result.model_name}:1 registered and deployed by "
                      f"{parties[0].msp_id}")

        inference, _ = predict_and_record(user1, store, result.model_name, "1", x_test[:5])
        verdict = verify(user2, store, inference.id)
        console.print(f"prediction {inference.id} by {parties[0].msp_id} on 5 records: "
                      f"{verdict.verdict} by {verdict.msp_id}")

        keys = args.dir / "orgkeys"
        sharer, receiver = parties[1], parties[0]
        for p in (sharer, receiver):
            publish_key(p.admin, p.msp_id, org_key(keys, p.msp_id))
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "records.csv"
            x, y = data[1]
            np.savetxt(source, np.column_stack([x, y]), delimiter=",", fmt="%.6f")
            dataset_id = f"{result.task_id}-shared"
            DataSharing(sharer.admin, store, sharer.msp_id, org_key(keys, sharer.msp_id)).share(
                source, dataset_id, f"{parties_label[1]} records", {"columns": x.shape[1] + 1},
                len(y))
            DataSharing(sharer.admin, store, sharer.msp_id, org_key(keys, sharer.msp_id)).grant(
                dataset_id, receiver.msp_id, "read",
                datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=7))
            copy = Path(tmp) / "copy.csv"
            DataSharing(receiver.user, store, receiver.msp_id, org_key(keys, receiver.msp_id)
                        ).fetch(dataset_id, copy)
            same = copy.read_bytes() == source.read_bytes()
        log = receiver.user.datasets.access_log(dataset_id).items
        console.print(f"dataset {dataset_id} shared by {sharer.msp_id} with {receiver.msp_id}: "
                      f"decrypted {'intact' if same else 'DIFFERENT'}, {len(log)} access(es) "
                      "on the audit log")
        if not same or verdict.verdict != "VERIFIED":
            raise SystemExit(1)
    finally:
        for g in gateways:
            g.close()
