"""Lecture 3: activations and their derivatives (autodiff vs the lecture formulas):
sigmoid (s' = s (1 - s)), tanh (1 - tanh^2), ReLU max(0, z), Leaky ReLU max(0.1 z, z),
PReLU max(a z, z) with learnable a, ELU, maxout max(w1.x + b1, w2.x + b2), softmax.
Plots each curve with its derivative when matplotlib is installed, else prints a table.
"""

import os

import numpy as np
from _common import check, plotting, render, setup

import graphnn as gn

args = setup(__doc__)
zs = np.linspace(-3, 3, 13 if args.fast else 121)
zs = zs[np.abs(zs) > 1e-9]  # the kinks at 0 have no derivative
s = 1 / (1 + np.exp(-zs))
a = 0.25  # PReLU slope (learnable)
LECTURE = {
    "sigmoid": (lambda z: gn.sigmoid(z), s, s * (1 - s)),
    "tanh": (lambda z: gn.tanh(z), np.tanh(zs), 1 - np.tanh(zs) ** 2),
    "relu": (lambda z: gn.relu(z), np.maximum(0, zs), (zs > 0) * 1.0),
    "leaky_relu": (lambda z: gn.leaky_relu(z, 0.1), np.maximum(0.1 * zs, zs),
                   np.where(zs > 0, 1.0, 0.1)),
    "prelu": (lambda z: gn.prelu(z, gn.param("a", a)), np.maximum(a * zs, zs),
              np.where(zs > 0, 1.0, a)),
    "elu": (lambda z: gn.elu(z, 1.0), np.where(zs > 0, zs, np.exp(zs) - 1),
            np.where(zs > 0, 1.0, np.exp(zs))),
}
curves = {}
for name, (fn, want, dwant) in LECTURE.items():
    with gn.Graph(name) as g:
        z = gn.input("z", shape=zs.shape)
        y = fn(z).named("y")
    # elementwise: the gradient of sum(y) is the derivative at every point
    r = gn.run(g, {"z": zs}, wrt=[z], seed=np.ones(zs.shape))
    text = str(gn.formula(name))
    print(f"\n{name}: {text}")
    check(f"{name}(z)", r.value(y), want)
    check(f"{name}'(z) autodiff == formula", r.grad(z), dwant)
    curves[name] = r.value(y)
    curves[name + "'"] = r.grad(z)

print("\nPReLU: the slope a is a parameter; dy/da = z where z < 0, else 0")
with gn.Graph("prelu_a") as g:
    z = gn.input("z", shape=zs.shape)
    ap = gn.param("a", a)
    y = gn.sum(gn.prelu(z, ap))
r = gn.run(g, {"z": zs}, wrt=[ap])
check("d sum(prelu) / da", r.grad(ap), np.sum(np.minimum(zs, 0)))

print("\nmaxout: max(w1.x + b1, w2.x + b2)")
with gn.Graph("maxout") as g:
    x = gn.input("x", shape=(2,))
    w1, b1 = gn.param("w1", [1.0, -1.0]), gn.param("b1", 0.5)
    w2, b2 = gn.param("w2", [0.5, 2.0]), gn.param("b2", -1.0)
    m = gn.maxout(gn.sum(w1 * x) + b1, gn.sum(w2 * x) + b2, name="maxout")
r = gn.run(g, {"x": [1.0, 2.0]}, wrt=[w1, w2])
check("maxout value", r.value(m), max(1 - 2 + 0.5, 0.5 + 4 - 1))
check("gradient goes to the winning piece w2", r.grad(w2), [1.0, 2.0])
check("and none to w1", r.grad(w1), [0.0, 0.0])
render(g, args.out, "05_maxout", run=r)

print("\nsoftmax: exp(z_k) / sum_j exp(z_j)")
with gn.Graph("softmax") as g:
    zk = gn.input("z", shape=(3,))
    p = gn.softmax(zk).named("p")
    pick = p * gn.const([1.0, 0.0, 0.0])
    lp = gn.sum(pick)
zv = np.array([2.0, 1.0, 0.1])
r = gn.run(g, {"z": zv}, wrt=[zk])
pv = np.exp(zv) / np.exp(zv).sum()
check("softmax(2, 1, 0.1)", r.value(p), pv)
check("dp_0/dz = p_0 (e_0 - p)", r.grad(zk), pv[0] * (np.eye(3)[0] - pv))

if plotting():
    from graphnn import plot

    for name in LECTURE:
        path = plot.plot_curves(zs, {name: curves[name], f"{name}'": curves[name + "'"]},
                                os.path.join(args.out, f"05_{name}.png"), title=name,
                                styles=["-", "--"])
    print(f"\nplots: {args.out}/05_<name>.png")
else:
    print("\n(matplotlib not installed: table instead of plots)")
    print("    z   " + "  ".join(f"{n:>10}" for n in curves))
    for i in range(0, len(zs), max(1, len(zs) // 8)):
        print(f"{zs[i]:5.2f}  " + "  ".join(f"{curves[n][i]:10.4f}" for n in curves))
