"""A 2-8-2 tanh MLP learning XOR with softmax cross-entropy (lecture 5's training loop).

Try it:  graphnn train examples/models/xor_mlp.py -o xor.npz
         graphnn summary examples/models/xor_mlp.py
         graphnn render examples/models/xor_mlp.py -o xor.svg   # one batch: the 4 XOR rows
"""


import graphnn as gn

INPUT_SHAPE = (2,)
TRAIN = {"loss": "cross_entropy", "optimizer": "adam", "lr": 0.05, "epochs": 30,
         "batch_size": 32}


def model() -> gn.nn.Module:
    """The network (gn.nn owns and seeds its weights)."""
    return gn.nn.MLP([2, 8, 2], activation="tanh", seed=0)


def data() -> tuple:
    """Training and validation sets: noisy points around the four XOR corners."""
    X, y = gn.data.xor(256, seed=0)
    Xv, yv = gn.data.xor(64, seed=1)
    return X, y, Xv, yv


def build() -> gn.Graph:
    """The graph of one batch (the four XOR rows) with its loss, for render/trace/..."""
    net = model()
    with gn.Graph("xor_mlp") as g:
        x = gn.input("x", shape=(4, 2))
        t = gn.input("t", shape=(4,), dtype="int64")
        logits = net(x)
        g.mark_output(gn.cross_entropy(logits, t, name="loss"))
    return g


def feeds() -> dict:
    X, y = gn.data.xor_table()
    return {"x": X, "t": y}
