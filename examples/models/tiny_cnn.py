"""A tiny convolutional network on one 6x6 image (lecture 7): conv 3x3 (2 filters, pad 1)
-> ReLU -> 2x2 max-pool -> flatten -> linear 18 -> 3 classes -> softmax cross-entropy.

Try it:  graphnn render examples/models/tiny_cnn.py --collapse -o cnn.svg
         graphnn grad-check examples/models/tiny_cnn.py
         graphnn summary examples/models/tiny_cnn.py
"""

import numpy as np

import graphnn as gn


def build() -> gn.Graph:
    rng = np.random.default_rng(0)
    with gn.Graph("tiny_cnn") as g:
        x = gn.input("x", shape=(1, 1, 6, 6))
        t = gn.input("t", shape=(1,), dtype="int64")
        with g.scope("conv1"):
            w = gn.param("conv1.weight", rng.normal(0, 0.5, (2, 1, 3, 3)))
            b = gn.param("conv1.bias", np.zeros(2))
            h = gn.relu(gn.conv2d(x, w, b, padding=1))
        with g.scope("pool1"):
            p = gn.max_pool2d(h, 2)
        with g.scope("fc1"):
            W = gn.param("fc1.weight", rng.normal(0, 0.3, (18, 3)))
            logits = (gn.flatten(p, start_dim=1) @ W).named("logits")
        g.mark_output(gn.cross_entropy(logits, t, name="loss"))
    return g


def feeds() -> dict:
    x = np.arange(36.0).reshape(1, 1, 6, 6) / 36.0
    return {"x": x, "t": np.array([2])}
