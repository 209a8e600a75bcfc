"""Lecture 2: without activations any depth collapses to ONE linear map: W3 W2 W1 x is
the single matrix (W3 W2 W1) applied to x, symbolically (sympy) and numerically; with a
ReLU in between it no longer does.
"""

import numpy as np
from _common import check, render, setup

import graphnn as gn

args = setup(__doc__)
rng = np.random.default_rng(0)
Ws = [rng.normal(size=s) for s in [(4, 3), (5, 4), (2, 5)]]
bs = [rng.normal(size=s[0]) for s in [(4, 3), (5, 4), (2, 5)]]

with gn.Graph("deep_linear") as g:
    x = gn.input("x", shape=(3,))
    W1, W2, W3 = (gn.param(f"W{i + 1}", w) for i, w in enumerate(Ws))
    y = (W3 @ (W2 @ (W1 @ x))).named("y")
M = Ws[2] @ Ws[1] @ Ws[0]
xv = rng.normal(size=3)
r = gn.run(g, {"x": xv}, wrt=[x], seed=np.ones(2))
check("3 layers == one 2x3 matrix W3 W2 W1", r.value(y), M @ xv)
J = np.stack([gn.run(g, {"x": rng.normal(size=3)}, wrt=[x], seed=e).grad(x)
              for e in np.eye(2)])
check("the Jacobian is that matrix, at any x", J, M)
render(g, args.out, "17_deep_linear", run=r)

lc = gn.collapse_linear(g, y, x)
print("  symbolically:", lc.matrix_form, "| linear:", lc.is_linear)
assert lc.is_linear

print("\nwith biases it is still one affine map: A x + c, A = W3 W2 W1")
with gn.Graph("deep_affine") as g2:
    x2 = gn.input("x", shape=(3,))
    h = x2
    for i in range(3):
        h = gn.param(f"W{i + 1}", Ws[i]) @ h + gn.param(f"b{i + 1}", bs[i])
c = Ws[2] @ (Ws[1] @ bs[0] + bs[1]) + bs[2]
check("A x + c", gn.run(g2, {"x": xv}).value(h), M @ xv + c)
print("  symbolically:", gn.collapse_linear(g2, h, x2).matrix_form)

print("\nwith a ReLU between the layers the map depends on x: no single matrix")
with gn.Graph("with_relu") as g3:
    x3 = gn.input("x", shape=(3,))
    y3 = gn.param("W2", Ws[1]) @ gn.relu(gn.param("W1", Ws[0]) @ x3)
J1 = gn.run(g3, {"x": xv}, wrt=[x3], seed=np.eye(5)[0]).grad(x3)
J2 = gn.run(g3, {"x": -xv}, wrt=[x3], seed=np.eye(5)[0]).grad(x3)
print(f"  row 1 of the Jacobian at x and at -x: {np.round(J1, 3)} vs {np.round(J2, 3)}")
assert not np.allclose(J1, J2)
assert not gn.collapse_linear(g3, y3, x3).is_linear
