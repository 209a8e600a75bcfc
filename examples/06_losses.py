"""Lecture 4: losses. Squared 1/2 sum (o - t)^2, L1, MSE (1/n), binary cross-entropy
-(y log p + (1 - y) log(1 - p)), cross-entropy with softmax and one-hot targets (-log p of
the true class). Logistic regression = one sigmoid neuron + BCE.
"""

import numpy as np
from _common import check, render, setup

import graphnn as gn

args = setup(__doc__)
o = np.array([0.8, 0.2, 0.6])
t = np.array([1.0, 0.0, 1.0])

with gn.Graph("losses") as g:
    on, tn = gn.input("o", shape=(3,)), gn.input("t", shape=(3,))
    sq = gn.squared_loss(on, tn).named("squared")
    l1 = gn.l1_loss(on, tn, reduction="sum").named("l1")
    mse = gn.mse_loss(on, tn).named("mse")
    bce = gn.bce_loss(on, tn).named("bce")
r = gn.run(g, {"o": o, "t": t}, outputs=[sq, l1, mse, bce])
check("squared 1/2 sum (o - t)^2", r.value(sq), 0.5 * np.sum((o - t) ** 2))
check("L1 sum |o - t|", r.value(l1), np.sum(np.abs(o - t)))
check("MSE 1/n sum (o - t)^2", r.value(mse), np.mean((o - t) ** 2))
check("BCE -(t log o + (1-t) log(1-o))", r.value(bce),
      np.mean(-(t * np.log(o) + (1 - t) * np.log(1 - o))))
rg = gn.run(g, {"o": o, "t": t}, wrt=[on], loss=sq)
check("d squared / do = o - t", rg.grad(on), o - t)

print("\ncross-entropy with softmax, one-hot target (true class 0):")
z = np.array([2.0, 1.0, 0.1])
with gn.Graph("ce") as g2:
    zn = gn.input("z", shape=(1, 3))
    ce_int = gn.cross_entropy(zn, gn.const(np.array([0]))).named("ce")
    ce_hot = gn.cross_entropy(zn, gn.const(np.array([[1.0, 0.0, 0.0]]))).named("ce_onehot")
r2 = gn.run(g2, {"z": z[None]}, wrt=[zn], loss=ce_int)
p = np.exp(z) / np.exp(z).sum()
check("CE = -log p_true", r2.value(ce_int), -np.log(p[0]))
check("same with a one-hot row", gn.run(g2, {"z": z[None]}, outputs=[ce_hot]).value(ce_hot),
      -np.log(p[0]))
check("dCE/dz = p - onehot", r2.grad(zn), (p - np.eye(3)[0])[None])
render(g2, args.out, "06_cross_entropy", run=r2)

print("\nlogistic regression = one sigmoid neuron + BCE, trained with gradient descent:")
rng = np.random.default_rng(0)
X = rng.normal(size=(64, 2))
y = (X @ np.array([2.0, -1.0]) + 0.3 > 0).astype(float)
with gn.Graph("logreg") as g3:
    x = gn.input("x", shape=(64, 2))
    yt = gn.input("y", shape=(64,))
    w = gn.param("w", np.zeros(2))
    b = gn.param("b", 0.0)
    prob = gn.sigmoid(x @ w + b).named("p")
    loss = gn.bce_loss(prob, yt).named("bce")
opt = gn.optim.SGD([w, b], lr=1.0)
for _ in range(50 if args.fast else 300):
    rr = gn.run(g3, {"x": X, "y": y}, wrt=[w, b], loss=loss, outputs=[loss, prob])
    opt.step(rr)
acc = np.mean((rr.value(prob) > 0.5) == y)
print(f"  loss {float(rr.value(loss)):.4f}, accuracy {acc:.3f}, w = {np.round(g3.value_of(w), 2)}")
assert acc >= 0.95
