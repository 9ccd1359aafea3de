"""8 features (log income, age, debt-to-income, utilisation, credit history, open accounts,
delinquencies, log loan) -> 16 -> 8 -> probability of default."""

import keras


def build() -> keras.Model:
    model = keras.Sequential([
        keras.Input(shape=(8,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model
