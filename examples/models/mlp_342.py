"""The lectures' two-layer MLP 3-4-2 with sigmoid activations and a squared loss
L = 1/2 sum (o - t)^2 (lectures 2 and 6).

Try it:  graphnn render examples/models/mlp_342.py -o mlp.svg
         graphnn jacobian examples/models/mlp_342.py --of o --wrt x
         graphnn summary examples/models/mlp_342.py
"""

import numpy as np

import graphnn as gn


def build() -> gn.Graph:
    """x (3) -> sigmoid(W1 x + b1) (4) -> sigmoid(W2 h + b2) (2) = o; loss L."""
    rng = np.random.default_rng(0)
    with gn.Graph("mlp_342") as g:
        x = gn.input("x", shape=(3,))
        t = gn.input("t", shape=(2,))
        with g.scope("layer1"):
            w1 = gn.param("W1", rng.uniform(-1, 1, (4, 3)))
            b1 = gn.param("b1", np.zeros(4))
            h = gn.sigmoid(w1 @ x + b1).named("h")
        with g.scope("layer2"):
            w2 = gn.param("W2", rng.uniform(-1, 1, (2, 4)))
            b2 = gn.param("b2", np.zeros(2))
            o = gn.sigmoid(w2 @ h + b2).named("o")
        with g.scope("loss"):
            loss = (0.5 * gn.sum((o - t) ** 2)).named("L")
        g.mark_output(loss)
    return g


def feeds() -> dict:
    """One training example."""
    return {"x": [1.0, 0.5, -1.0], "t": [1.0, 0.0]}
