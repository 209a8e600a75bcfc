"""Lecture 2: the toy network nn(x, w1, w2) = w2 h(w1 x) with h = sigmoid, and
dnn/dw1 = w2 h'(w1 x) x, shown three ways: the trace's chain rule with numbers, the
closed form from sympy, and the formula evaluated by hand.
Run: python examples/trace_toy_net.py
"""

import numpy as np

import graphnn as gn

with gn.Graph("toy") as g:
    x = gn.input("x")
    w1 = gn.param("w1", 0.5)
    w2 = gn.param("w2", -2.0)
    u = (w1 * x).named("u")
    h = gn.sigmoid(u).named("h")
    nn = (w2 * h).named("nn")

tr = gn.trace(g, {"x": 1.5}, wrt=[w1, w2])
print(tr.to_table())

print("\n== dnn/dw1 = w2 h'(w1 x) x ==")
xv, w1v, w2v = 1.5, 0.5, -2.0
s = 1 / (1 + np.exp(-w1v * xv))
by_hand = w2v * s * (1 - s) * xv
print(f"w2 h'(w1 x) x = {w2v} * {s * (1 - s):.4g} * {xv} = {by_hand:.4g}")
print(f"trace:          {float(tr.run.grad(w1)):.4g}")
assert np.isclose(by_hand, float(tr.run.grad(w1)))

print("\n== symbolically ==")
expr = gn.to_sympy(g, nn)
print("nn =", expr)
import sympy as sp  # noqa: E402

w1s = sp.Symbol("w1", real=True)
print("dnn/dw1 =", sp.diff(expr, w1s), "  (= w2 h'(w1 x) x with h' = h (1 - h))")
