"""Lecture 6: backpropagation by hand vs autodiff (the numbers must be equal).

One sigmoid neuron with squared loss: dL/dw = sum_n (o_n - t_n) s'(z_n) x_n.
The delta rule for a 3-4-2 sigmoid network with J = 1/2 |o - t|^2:
delta(l) = (W(l)^T delta(l+1)) * f'(z(l)),  dJ/dW(l) = delta(l+1) a(l)^T.
"""

import numpy as np
from _common import check, render, setup

import graphnn as gn

args = setup(__doc__)
rng = np.random.default_rng(0)


def sig(z):
    return 1 / (1 + np.exp(-z))


print("one sigmoid neuron, squared loss over N = 5 examples")
Xv, tv, wv = rng.normal(size=(5, 3)), rng.uniform(size=5), rng.normal(size=3)
with gn.Graph("neuron_loss") as g:
    X = gn.input("X", shape=(5, 3))
    t = gn.input("t", shape=(5,))
    w = gn.param("w", wv)
    o = gn.sigmoid(X @ w).named("o")
    L = gn.squared_loss(o, t).named("L")
r = gn.run(g, {"X": Xv, "t": tv}, wrt=[w])
z = Xv @ wv
by_hand = ((sig(z) - tv) * sig(z) * (1 - sig(z))) @ Xv  # sum_n (o - t) s'(z) x_n
check("dL/dw by hand == autodiff", r.grad(w), by_hand)
render(g, args.out, "08_neuron_loss", run=r)

print("\nthe delta rule on a 3-4-2 sigmoid network")
W1v, b1v = rng.normal(size=(4, 3)), rng.normal(size=(4, 1))
W2v, b2v = rng.normal(size=(2, 4)), rng.normal(size=(2, 1))
xv, tv2 = rng.normal(size=(3, 1)), np.array([[1.0], [0.0]])
with gn.Graph("delta_rule") as g2:
    x = gn.input("x", shape=(3, 1))
    tt = gn.input("t", shape=(2, 1))
    W1, b1 = gn.param("W1", W1v), gn.param("b1", b1v)
    W2, b2 = gn.param("W2", W2v), gn.param("b2", b2v)
    a1 = gn.sigmoid(W1 @ x + b1).named("a1")
    out = gn.sigmoid(W2 @ a1 + b2).named("o")
    J = gn.squared_loss(out, tt).named("J")
r2 = gn.run(g2, {"x": xv, "t": tv2}, wrt=[W1, b1, W2, b2])

# forward by hand
z1 = W1v @ xv + b1v
a1v = sig(z1)
z2 = W2v @ a1v + b2v
ov = sig(z2)
# backward by hand: the delta rule
delta3 = (ov - tv2) * ov * (1 - ov)              # dJ/dz2
dW2 = delta3 @ a1v.T                             # delta(l+1) a(l)^T
delta2 = (W2v.T @ delta3) * a1v * (1 - a1v)      # (W^T delta) * f'(z)
dW1 = delta2 @ xv.T
check("J = 1/2 |o - t|^2", r2.value(J), 0.5 * np.sum((ov - tv2) ** 2))
check("dJ/dW2 = delta3 a1^T", r2.grad(W2), dW2)
check("dJ/db2 = delta3", r2.grad(b2), delta3)
check("dJ/dW1 = delta2 x^T", r2.grad(W1), dW1)
check("dJ/db1 = delta2", r2.grad(b1), delta2)
report = gn.testing.check_grads(g2, {"x": xv, "t": tv2}, wrt=[W1, W2])
print(f"  finite differences agree too: worst relative error {report.worst:.1e}")
render(g2, args.out, "08_delta_rule", run=r2)
