"""The benchmark's dense model under Flower: FedAvg over every SuperNode, evaluated on each."""
