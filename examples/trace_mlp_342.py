"""Lecture 2/6: the 3-4-2 sigmoid MLP built from graphnn ops, traced through the forward
and the backward pass, checked against the delta rule
delta(l) = (W(l)^T delta(l+1)) * f'(z(l)), dJ/dW(l) = delta(l+1) a(l)^T,
and its input Jacobian shown as explicit local Jacobians and as the chain of products.
Run: python examples/trace_mlp_342.py
"""

import numpy as np

import graphnn as gn

rng = np.random.default_rng(0)
with gn.Graph("mlp342") as g:
    x = gn.input("x", shape=(3,))
    t = gn.input("t", shape=(2,))
    with g.scope("layer1"):
        W1 = gn.param("W1", rng.uniform(-1, 1, size=(4, 3)))
        b1 = gn.param("b1", np.zeros(4))
        z1 = (W1 @ x + b1).named("z1")
        a1 = gn.sigmoid(z1).named("a1")
    with g.scope("layer2"):
        W2 = gn.param("W2", rng.uniform(-1, 1, size=(2, 4)))
        b2 = gn.param("b2", np.zeros(2))
        z2 = (W2 @ a1 + b2).named("z2")
        y = gn.sigmoid(z2).named("y")
    L = (0.5 * gn.sum((y - t) ** 2)).named("L")

feeds = {"x": [1.0, -2.0, 0.5], "t": [0.0, 1.0]}
tr = gn.trace(g, feeds, wrt=[W1, b1, W2, b2])
print(tr.to_table())

print("\n== the delta rule by hand ==")
r = tr.run
xv, tv = np.array(feeds["x"]), np.array(feeds["t"])
a1v, yv = r.value(a1), r.value(y)
delta2 = (yv - tv) * yv * (1 - yv)
delta1 = (g.value_of(W2).T @ delta2) * a1v * (1 - a1v)
for name, mine, ref in [("dL/dW2", np.outer(delta2, a1v), r.grad(W2)),
                        ("dL/dW1", np.outer(delta1, xv), r.grad(W1))]:
    print(f"{name}: max |delta rule - trace| = {np.abs(mine - ref).max():.2e}")
    assert np.allclose(mine, ref)

print("\n== local Jacobians (explicit matrices) ==")
print(gn.local_jacobians(r))
print("\n== dy/dx as a chain of Jacobian products ==")
print(gn.jacobian_chain(r, y, x))
print("\n== full Jacobians and what each mode costs ==")
J = gn.jacobian(g, y, x, feeds, mode="forward")
print(np.round(np.asarray(J), 4))
print(gn.jacobian_cost(g, y, x))
print(gn.jacobian_cost(g, L, W1))
