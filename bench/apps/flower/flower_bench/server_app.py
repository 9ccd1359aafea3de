"""The ServerApp: Flower's own FedAvg over all `nodes` SuperNodes for num-server-rounds rounds,
each round a training and an evaluation on every node. It records when each round ends (through
FedAvg's evaluate_fn hook, called before round 1 and after every round) in timings-file, with
the ClientApps' own account of their training time (mean over nodes, per round)."""

import json
import time
from pathlib import Path

from flwr.app import ArrayRecord, ConfigRecord, Context, MetricRecord
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    import keras
    from dense_app.model import build

    cfg = context.run_config
    keras.utils.set_random_seed(int(cfg["seed"]))
    initial = ArrayRecord(build().get_weights())
    nodes = int(cfg["nodes"])
    strategy = FedAvg(fraction_train=1.0, fraction_evaluate=1.0, min_train_nodes=nodes,
                      min_evaluate_nodes=nodes, min_available_nodes=nodes)
    marks: list[tuple[int, float]] = []

    def mark(server_round: int, arrays: ArrayRecord) -> MetricRecord | None:
        marks.append((server_round, time.time()))
        return None

    result = strategy.start(grid=grid, initial_arrays=initial,
                            num_rounds=int(cfg["num-server-rounds"]),
                            train_config=ConfigRecord({}), evaluate_fn=mark)
    accuracy = {r: float(m["accuracy"]) for r, m in result.evaluate_metrics_clientapp.items()
                if "accuracy" in m}
    clients = {r: {k: float(v) for k, v in m.items() if k.endswith("-s")}
               for r, m in result.train_metrics_clientapp.items()}
    Path(str(cfg["timings-file"])).write_text(json.dumps({"marks": marks, "accuracy": accuracy,
                                                          "clients": clients}))
