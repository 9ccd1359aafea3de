"""What `fedfabric train` shows: progress per round, the chain's record, the model, a plot."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fedfabric.cli.common import console, table
from fedfabric.fl import FedAvg, FedSGD
from fedfabric.fl.coordinator import RoundReport, parties_from_profile, train
from fedfabric.fl.plain import train_central, train_plain
from fedfabric.fl.samples import breast_cancer, classifier, evaluator
from fedfabric.gateway import ConnectionProfile
from fedfabric.ledger import Ledger
from fedfabric.store import LocalStore


def run_training(profile: ConnectionProfile, orgs: int, rounds: int, epochs: int,
                 strategy_name: str, quorum: int, seed: int, store_dir: Path,
                 plot: Path | None, compare: bool,
                 after_commit: Callable[[int], None] | None = None) -> None:
    import numpy as np

    data, (x_test, y_test) = breast_cancer(orgs, seed=seed)
    evaluate = evaluator(x_test, y_test)

    def model_fn():  # type: ignore[no-untyped-def]
        return classifier(x_test.shape[1])

    def strategy() -> FedAvg:
        return FedSGD(learning_rate=0.5) if strategy_name == "fedsgd" else \
            FedAvg(epochs=epochs, batch_size=32)

    names = [o.name for o in profile.organizations.values()][:orgs]
    console.print(f"[bold]{orgs} hospitals[/bold] ({', '.join(names)}) each hold part of the "
                  f"breast-cancer data (non-IID): " + ", ".join(
                      f"{n} {len(y)} patients, {int(y.sum())} benign" for n, (_, y) in
                      zip(names, data, strict=True)))
    parties, gateways = parties_from_profile(profile, names, data, after_commit)
    began = time.monotonic()

    def on_round(r: RoundReport) -> None:
        console.print(f"  round {r.round}: accuracy {r.metrics['accuracy']:.4f}, loss "
                      f"{r.metrics['loss']:.4f}, aggregate {r.aggregate_hash[:16]}… "
                      f"[dim]({time.monotonic() - began:.1f}s)[/dim]")

    console.print(f"[bold]training[/bold]: {rounds} rounds of {strategy_name}, CKKS-encrypted "
                  f"updates, quorum {quorum}")
    with tempfile.TemporaryDirectory() as work:
        try:
            result = train(parties, profile.chaincode, LocalStore(store_dir), model_fn, rounds,
                           strategy(), evaluate, Path(work), quorum=quorum, seed=seed,
                           on_round=on_round)
        finally:
            for g in gateways:
                g.close()
    encrypted = [r.metrics for r in result.rounds]

    reader_gw = profile.connect(names[-1])
    reader = Ledger(reader_gw.get_network(profile.channel), profile.chaincode)
    history = reader.tasks.history(result.task_id)
    model = reader.models.get(result.model_name, result.model_version).model
    reader_gw.close()
    rows = []
    for r in history.rounds:
        updates = ", ".join(f"{u.msp_id} ({u.samples})" for u in r.updates)
        endorsed = ", ".join(f"{e.msp_id}{'' if e.aggregate_hash == r.final_hash else ' ✗'}"
                             for e in r.endorsements)
        rows.append([r.round, r.status, updates, endorsed, (r.final_hash or "")[:16] + "…"])
    console.print(table(f"what the chain recorded for task {result.task_id} (read by "
                        f"{names[-1]})", ["round", "status", "updates (samples)",
                                          "endorsed by", "final aggregate"], rows))
    console.print(f"[bold]registered model[/bold] {model.name}:{model.version} by "
                  f"{model.owner_msp}: weights {model.weights_hash[:16]}…, metrics "
                  f"{model.metrics}, provenance task {model.provenance.task_id} round "
                  f"{model.provenance.round}")

    comparison = {"encrypted federated": encrypted}
    if compare:
        comparison["plaintext federated"] = train_plain(model_fn, data, rounds, strategy(),
                                                        evaluate, seed=seed)
        x_all = np.concatenate([x for x, _ in data])
        y_all = np.concatenate([y for _, y in data])
        comparison["centralised"] = train_central(model_fn, x_all, y_all, rounds, epochs, 32,
                                                  evaluate, seed=seed)
        console.print(table("accuracy per round on the held-out set",
                            ["round", *comparison], [[i + 1, *(f"{h[i]['accuracy']:.4f}"
                                                             for h in comparison.values())]
                                                     for i in range(rounds)]))
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        styles = {"encrypted federated": dict(marker="o", linewidth=3),
                  "plaintext federated": dict(marker="x", linestyle="--"),
                  "centralised": dict(marker="s", linestyle=":")}
        for label, h in comparison.items():
            ax.plot(range(1, rounds + 1), [m["accuracy"] for m in h], label=label,
                    **styles[label])  # type: ignore[arg-type]
        ax.set_xticks(range(1, rounds + 1))
        ax.set(xlabel="round", ylabel="accuracy (held-out)",
               title=f"breast cancer, {orgs} hospitals, CKKS")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(plot, dpi=120)
        console.print(f"plot written to {plot}")
