"""A hand-built graph trained by `graphnn train`: logistic regression on 2-D points,
batches of 8 rows (the batch axis is part of the graph), loss = the graph's output."""

import numpy as np

import graphnn as gn

TRAIN = {"optimizer": "sgd", "lr": 0.5, "epochs": 5}


def build():
    with gn.Graph("logreg") as g:
        x = gn.input("x", shape=(8, 2))
        t = gn.input("t", shape=(8,))
        w = gn.param("w", np.zeros(2))
        b = gn.param("b", 0.0)
        p = gn.sigmoid(x @ w + b)
        g.mark_output(gn.mse_loss(p, t, name="loss"))
    return g


def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2))
    return {"x": X, "t": (X[:, 0] + X[:, 1] > 0).astype(float)}
