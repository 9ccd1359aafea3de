"""FEATURES inputs -> HIDDEN ReLU units -> a probability: HIDDEN * (FEATURES + 2) + 1 weights."""

import keras

from dense_app.size import FEATURES, HIDDEN


def build() -> keras.Model:
    model = keras.Sequential([
        keras.Input(shape=(FEATURES,)),
        keras.layers.Dense(HIDDEN, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model
