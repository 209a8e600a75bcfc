"""One sigmoid neuron with three inputs: o = sigmoid(w . x + b) (lecture 2).

Try it:  graphnn render examples/models/neuron.py -o neuron.svg
         graphnn trace examples/models/neuron.py
"""

import numpy as np

import graphnn as gn


def build() -> gn.Graph:
    """The neuron's graph; w and b are trainable params."""
    with gn.Graph("neuron") as g:
        x = gn.input("x", shape=(3,))
        w = gn.param("w", np.array([0.5, -1.0, 2.0]))
        b = gn.param("b", 0.1)
        z = (gn.sum(w * x) + b).named("z")
        g.mark_output(gn.sigmoid(z).named("o"))
    return g


def feeds() -> dict:
    """The input the lecture uses."""
    return {"x": [1.0, 2.0, 3.0]}
