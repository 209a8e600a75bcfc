"""Lecture 2: a neuron o = sigma(sum_i w_i x_i + b) with three inputs, and the toy scalar
network nn(x, w1, w2) = w2 h(w1 x) with dnn/dw1 = w2 h'(w1 x) x.
"""

import numpy as np
from _common import check, render, setup

import graphnn as gn

args = setup(__doc__)


def sig(z):
    return 1 / (1 + np.exp(-z))


print("neuron: o = sigmoid(w . x + b)")
with gn.Graph("neuron") as g:
    x = gn.input("x", shape=(3,))
    w = gn.param("w", np.array([0.5, -1.0, 2.0]))
    b = gn.param("b", 0.1)
    z = (gn.sum(w * x) + b).named("z")
    o = gn.sigmoid(z).named("o")

xv = np.array([1.0, 2.0, 3.0])
r = gn.run(g, {"x": xv}, wrt=[w, b, x])
zv = 0.5 * 1 - 1.0 * 2 + 2.0 * 3 + 0.1
check("z = w . x + b", r.value(z), zv)
check("o = sigma(z)", r.value(o), sig(zv))
check("do/dw = sigma'(z) x", r.grad(w), sig(zv) * (1 - sig(zv)) * xv)
check("do/db = sigma'(z)", r.grad(b), sig(zv) * (1 - sig(zv)))
check("do/dx = sigma'(z) w", r.grad(x), sig(zv) * (1 - sig(zv)) * np.array([0.5, -1, 2]))
render(g, args.out, "02_neuron", run=r)

print("\ntoy network nn(x, w1, w2) = w2 h(w1 x), h = tanh")
with gn.Graph("toy") as t:
    xs = gn.input("x")
    w1 = gn.param("w1", 0.7)
    w2 = gn.param("w2", -1.3)
    h = gn.tanh(w1 * xs).named("h")
    net = (w2 * h).named("nn")
rt = gn.run(t, {"x": 2.0}, wrt=[w1, w2])
check("nn = w2 tanh(w1 x)", rt.value(net), -1.3 * np.tanh(1.4))
check("dnn/dw1 = w2 h'(w1 x) x", rt.grad(w1), -1.3 * (1 - np.tanh(1.4) ** 2) * 2.0)
check("dnn/dw2 = h(w1 x)", rt.grad(w2), np.tanh(1.4))
render(t, args.out, "02_toy_network", run=rt)
