"""One training round with chain and encryption, against the same round in plaintext.

    python bench/round.py [--dir DIR] [--orgs 3] [--width 16]

Breakdown of the encrypted round: train (local epochs), encrypt, store (shards + manifest),
chain (the concurrent SubmitUpdate transactions, to the round's close), aggregate (fetch, verify
and add, per aggregator), endorse (EndorseAggregate transactions to finalisation), decrypt (and
apply). The plaintext round is the same training plus a numpy sum, in one process.
"""

from __future__ import annotations

import argparse
import datetime
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

import fedfabric.he  # noqa: F401  (TenSEAL first)
from fedfabric.admin import NativeNetwork
from fedfabric.admin.layout import default_network_dir
from fedfabric.fl import Aggregator, FedAvg, to_vector
from fedfabric.fl.samples import breast_cancer, classifier
from fedfabric.gateway import ConnectionProfile
from fedfabric.he import CKKS
from fedfabric.ledger import Ledger
from fedfabric.ledger.schema import Participant, TaskSpec
from fedfabric.store import LocalStore, sha256


class Clock:
    def __init__(self) -> None:
        self.phases: dict[str, float] = {}

    def time(self, phase: str, fn, *args):  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        out = fn(*args)
        self.phases[phase] = self.phases.get(phase, 0.0) + time.perf_counter() - began
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=default_network_dir())
    parser.add_argument("--orgs", type=int, default=3)
    args = parser.parse_args()

    profile = ConnectionProfile.from_dict(NativeNetwork(args.dir).profile())
    names = [o.name for o in profile.organizations.values()][:args.orgs]
    gateways = {n: (profile.connect(n, user="Admin"), profile.connect(n)) for n in names}
    admin = {n: Ledger(g[0].get_network(profile.channel), profile.chaincode)
             for n, g in gateways.items()}
    user = {n: Ledger(g[1].get_network(profile.channel), profile.chaincode)
            for n, g in gateways.items()}
    data, _ = breast_cancer(len(names), seed=7)
    store = LocalStore(Path(tempfile.mkdtemp(prefix="fedfabric-bench-")))
    ckks = CKKS.generate()
    strategy = FedAvg(epochs=1, batch_size=32)
    models = [classifier(data[0][0].shape[1]) for _ in names]
    weights = to_vector(models[0])

    task_id, later = f"bench-{uuid.uuid4().hex[:8]}", datetime.datetime.now(datetime.UTC) + \
        datetime.timedelta(days=1)
    datasets = {}
    for n in names:
        datasets[n] = f"{task_id}-{n.lower()}"
        admin[n].datasets.register(datasets[n], "d", sha256(datasets[n].encode()), "u", {}, 1, {})
        if n != names[0]:
            admin[n].datasets.grant(datasets[n], profile.org(names[0]).msp_id, "training", later)
    context = store.put(ckks.public_bytes())
    admin[names[0]].tasks.create(TaskSpec(
        id=task_id, model_spec_hash=sha256(b"s"), initial_weights_hash=sha256(b"w"),
        initial_weights_uri="u", he_context_hash=context, he_context_uri=store.uri(context),
        participants=[Participant(profile.org(n).msp_id, datasets[n]) for n in names],
        rounds=1, min_updates=len(names), quorum=2, strategy="fedavg"))

    for model, (x, y) in zip(models, data, strict=True):  # warm TensorFlow up, untimed
        strategy.local_update(model, weights, x, y)
    clock = Clock()
    round_began = time.perf_counter()
    manifests = []
    for model, (x, y) in zip(models, data, strict=True):
        update, samples = clock.time("train", strategy.local_update, model, weights, x, y)
        shards = clock.time("encrypt", ckks.encrypt, update)
        manifests.append((clock.time("store", store.put_shards, shards, len(update), "ckks"),
                          len(shards), samples))

    def submit(i: int) -> None:
        m, s, n = manifests[i]
        user[names[i]].tasks.submit_update(task_id, 1, m, s, n, datasets[names[i]])

    with ThreadPoolExecutor(len(names)) as pool:
        clock.time("chain", lambda: [f.result() for f in [pool.submit(submit, i)
                                                          for i in range(len(names))]])
    included = user[names[0]].tasks.round(task_id, 1).included
    for n in names[:2]:
        network = gateways[n][1].get_network(profile.channel)
        agg = Aggregator(user[n], network, profile.chaincode, store,
                         Path(tempfile.mkdtemp()) / "cp.json", profile.org(n).msp_id)
        began = time.perf_counter()
        shards = [store.get_shards(i.manifest_hash)[1] for i in included]
        clock.time("aggregate", ckks.aggregate, shards)
        before = time.perf_counter()
        agg.aggregate_round(task_id, 1, included)  # fetches and adds again, stores, endorses
        fetch_and_add = before - began
        clock.phases["endorse"] = clock.phases.get("endorse", 0.0) + \
            (time.perf_counter() - before) - fetch_and_add
    final = user[names[0]].tasks.round(task_id, 1)
    manifest, shards = store.get_shards(final.final_hash or "")
    clock.time("decrypt", lambda: strategy.apply(weights, ckks.decrypt(shards, manifest.length),
                                                 int(manifest.meta["samples"])))
    encrypted_wall = time.perf_counter() - round_began

    plain_began = time.perf_counter()
    updates = [strategy.local_update(m, weights, x, y) for m, (x, y) in zip(models, data,
                                                                            strict=True)]
    strategy.apply(weights, np.sum([u for u, _ in updates], axis=0), sum(n for _, n in updates))
    plain_wall = time.perf_counter() - plain_began

    for a, u in gateways.values():
        a.close()
        u.close()
    table = Table(title=f"one round, {len(names)} orgs, {len(weights)} parameters, CKKS, "
                        f"quorum 2")
    table.add_column("phase")
    table.add_column("seconds", justify="right")
    for phase in ("train", "encrypt", "store", "chain", "aggregate", "endorse", "decrypt"):
        table.add_row(phase, f"{clock.phases.get(phase, 0.0):.3f}")
    table.add_row("[bold]encrypted round on chain[/bold]", f"[bold]{encrypted_wall:.3f}[/bold]")
    table.add_row("[bold]plaintext in-process FedAvg[/bold]", f"[bold]{plain_wall:.3f}[/bold]")
    Console().print(table)


if __name__ == "__main__":
    main()
