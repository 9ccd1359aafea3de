"""Federated learning over the ledger: apps, strategies, the participant service, task setup."""

import fedfabric.he  # noqa: F401  (TenSEAL before TensorFlow)
from fedfabric.fl.app import AppError, FLApp, Hyperparameters, LocalData, Split
from fedfabric.fl.participant import Floors, Participant
from fedfabric.fl.setup import TaskSetupError, create_task, default_quorum
from fedfabric.fl.strategy import STRATEGIES, FedAvg, FedSGD, Privacy, Strategy, strategy_for
from fedfabric.fl.vector import Layout, from_vector, model_spec, spec_hash, to_vector

__all__ = ["STRATEGIES", "AppError", "FLApp", "FedAvg", "FedSGD", "Floors", "Hyperparameters",
           "Layout", "LocalData", "Participant", "Privacy", "Split", "Strategy", "TaskSetupError",
           "create_task", "default_quorum", "from_vector", "model_spec", "spec_hash",
           "strategy_for", "to_vector"]
