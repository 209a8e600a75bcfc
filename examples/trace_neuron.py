"""Lecture 2/6: one sigmoid neuron o = sigma(w1 x1 + w2 x2 + w3 x3 + b) with the squared
loss L = 1/2 (o - t)^2, traced with every number, and checked against the lecture's
formula dL/dw_i = (o - t) sigma'(z) x_i.  Run: python examples/trace_neuron.py
"""

import numpy as np

import graphnn as gn

xs, ws, b_val, target = [1.0, 2.0, 3.0], [0.5, -1.0, 2.0], 0.1, 1.0

with gn.Graph("neuron") as g:
    x = [gn.input(f"x{i + 1}") for i in range(3)]
    w = [gn.param(f"w{i + 1}", v) for i, v in enumerate(ws)]
    b = gn.param("b", b_val)
    z = (w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + b).named("z")
    o = gn.sigmoid(z).named("o")
    t = gn.input("t")
    L = (0.5 * (o - t) ** 2).named("L")

feeds = {"x1": xs[0], "x2": xs[1], "x3": xs[2], "t": target}
tr = gn.trace(g, feeds, wrt=w + [b])
print(tr.to_table())

print("\n== the lecture's formula dL/dw_i = (o - t) sigma'(z) x_i ==")
r = tr.run
ov = float(r.value(o))
for i in range(3):
    formula = (ov - target) * ov * (1 - ov) * xs[i]
    print(f"dL/dw{i + 1}: trace {float(r.grad(w[i])):+.6f}   formula {formula:+.6f}")
    assert np.isclose(float(r.grad(w[i])), formula)

print("\n== sigmoid and its derivative ==")
print(gn.formula("sigmoid").text)
