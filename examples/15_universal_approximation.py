"""Lecture 2: universal approximation with boxes. Two steep sigmoid neurons make a step
up at a and a step down at b: sigma(k(x - a)) - sigma(k(x - b)) is a box on [a, b]; in two
dimensions four neurons (x > a1, x < b1, y > a2, y < b2) and a thresholding output neuron
make a box (a tower). A hidden layer of many such pairs sums boxes of heights f(midpoint)
and approximates a 1-D curve as closely as we like.
"""

import os

import numpy as np
from _common import check, plotting, render, setup

import graphnn as gn

args = setup(__doc__)
k = 2000.0  # steepness: sigmoid(k z) is nearly a step


def f(x):
    return 0.5 * np.sin(2 * np.pi * x) + x


def boxes_network(n_boxes, name, m=1):
    """1 -> 2n (sigmoid) -> 1 with the weights set by hand, not trained."""
    edges = np.linspace(0, 1, n_boxes + 1)
    a, b = edges[:-1], edges[1:]
    heights = f((a + b) / 2)
    with gn.Graph(name) as g:
        x = gn.input("x", shape=(1, m))
        W1 = gn.param("W1", np.full((2 * n_boxes, 1), k))
        b1 = gn.param("b1", -k * np.concatenate([a, b])[:, None])
        W2 = gn.param("W2", np.concatenate([heights, -heights])[None, :])
        h = gn.sigmoid(W1 @ x + b1).named("steps")
        y = (W2 @ h).named("y")
    return g, x, y


xs = np.linspace(0.013, 0.987, 40 if args.fast else 400)
print("one box on [0.3, 0.6] from two sigmoid neurons:")
g, x, y = boxes_network(1, "one_box")
g.set_value("b1", -k * np.array([[0.3], [0.6]]))
g.set_value("W2", np.array([[1.0, -1.0]]))
vals = np.array([gn.run(g, {"x": [[v]]}).value(y)[0, 0] for v in (0.2, 0.45, 0.7)])
check("box(0.2), box(0.45), box(0.7)", vals, [0, 1, 0], tol=1e-6)
render(g, args.out, "15_one_box", run=gn.run(g, {"x": [[0.45]]}))

print("\na 2-D box (tower) from four neurons and a thresholding output:")
with gn.Graph("tower") as g2:
    p = gn.input("p", shape=(2,))
    W = gn.param("W", k * np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]]))
    b = gn.param("b", -k * np.array([0.2, -0.5, 0.3, -0.7]))  # x > .2, x < .5, y > .3, y < .7
    four = gn.sigmoid(W @ p + b).named("four_neurons")
    tower = gn.sigmoid(k * (gn.sum(four) - 3.5)).named("tower")
inside = [float(gn.run(g2, {"p": q}).value(tower)) for q in ([0.3, 0.5], [0.6, 0.5],
                                                               [0.3, 0.8])]
check("tower at (0.3,0.5), (0.6,0.5), (0.3,0.8)", inside, [1, 0, 0], tol=1e-6)
render(g2, args.out, "15_tower", run=gn.run(g2, {"p": [0.3, 0.5]}))

print("\nsums of boxes approximate f(x) = 0.5 sin(2 pi x) + x:")
errors = {}
for n in (4, 16, 64):
    g, x, y = boxes_network(n, f"boxes_{n}", m=len(xs))  # all points in one run
    approx = gn.run(g, {"x": xs[None]}).value(y)[0]
    errors[n] = np.max(np.abs(approx - f(xs)))
    print(f"  {n:3d} boxes ({2 * n} hidden neurons): max error {errors[n]:.4f}")
    if plotting() and n == 16:
        from graphnn import plot

        plot.plot_curves(xs, {"f(x)": f(xs), f"{n} boxes": approx},
                         os.path.join(args.out, "15_boxes.png"), title="sum of boxes")
assert errors[4] > errors[16] > errors[64] and errors[64] < 0.06
