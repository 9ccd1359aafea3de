"""One organisation's ClientApp: train from the global weights on its own partition (as a
fedfabric participant does: same seed handling, epochs, batch size), evaluate on its held-out
part. The SuperNode's node config names the partition: data-path="...npz".

Each reply also says where the ClientApp's time went: start-s (from its process's start to the
handler: Python, Flower, the app), setup-s (importing TensorFlow, building the model, loading
the data) and fit-s (local training)."""

import os
import time
import zlib
from pathlib import Path

from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

app = ClientApp()


def _process_age() -> float:
    """Seconds since this process started."""
    started = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    return float(Path("/proc/uptime").read_text().split()[0]) - started / os.sysconf("SC_CLK_TCK")


def _model_and_data(msg: Message, context: Context):
    import keras
    from dense_app.data import load
    from dense_app.model import build

    model = build()
    model.set_weights(msg.content["arrays"].to_numpy_ndarrays())
    return keras, model, load(str(context.node_config["data-path"]))


@app.train()
def train(msg: Message, context: Context) -> Message:
    start, began = _process_age(), time.perf_counter()
    keras, model, ((x, y), _) = _model_and_data(msg, context)
    cfg = context.run_config
    seed = zlib.crc32(f"{cfg['seed']}|{msg.content['config']['server-round']}|"
                      f"{context.node_config['data-path']}".encode())
    keras.utils.set_random_seed(seed)
    fitting = time.perf_counter()
    model.fit(x, y, epochs=int(cfg["epochs"]), batch_size=int(cfg["batch-size"]), verbose=0,
              shuffle=True)
    fit = time.perf_counter() - fitting
    return Message(RecordDict({"arrays": ArrayRecord(model.get_weights()),
                               "metrics": MetricRecord({
                                   "num-examples": len(x), "start-s": start,
                                   "setup-s": fitting - began, "fit-s": fit})}),
                   reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    _, model, (_, (x, y)) = _model_and_data(msg, context)
    loss, accuracy = model.evaluate(x, y, batch_size=int(context.run_config["batch-size"]),
                                    verbose=0)
    return Message(RecordDict({"metrics": MetricRecord({
        "loss": float(loss), "accuracy": float(accuracy), "num-examples": len(x)})}),
        reply_to=msg)
