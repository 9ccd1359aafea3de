"""A generated dense model (Input(FEATURES) -> Dense(HIDDEN) -> Dense(1)) and its data."""
