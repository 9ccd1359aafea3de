"""Federated learning over the ledger: model vectors, strategies, clients, aggregators."""

import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
from fedfabric.fl.aggregator import Aggregator, public_scheme
from fedfabric.fl.client import Client
from fedfabric.fl.strategy import STRATEGIES, FedAvg, FedSGD, Privacy
from fedfabric.fl.vector import Layout, from_vector, model_spec, spec_hash, to_vector

__all__ = ["STRATEGIES", "Aggregator", "Client", "FedAvg", "FedSGD", "Layout", "Privacy",
           "from_vector", "model_spec", "public_scheme", "spec_hash", "to_vector"]
