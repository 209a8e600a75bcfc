"""Lecture 2: a layer o = f(W x + b) with o: 4x1, W: 4x3, x: 3x1, b: 4x1, and the affine
map as ONE linear map on the augmented vector: W~ = [W | b], x~ = [x; 1], W~ x~ = W x + b.
"""

import numpy as np
from _common import check, render, setup

import graphnn as gn

args = setup(__doc__)
rng = np.random.default_rng(0)
Wv, bv, xv = rng.normal(size=(4, 3)), rng.normal(size=(4, 1)), rng.normal(size=(3, 1))

with gn.Graph("layer") as g:
    x = gn.input("x", shape=(3, 1))
    W = gn.param("W", Wv)
    b = gn.param("b", bv)
    z = (W @ x + b).named("z")
    o = gn.sigmoid(z).named("o")
for n in (o, W, x, b):
    print(f"  {n.name}: {n.shape[0]}x{n.shape[1]}")
assert (o.shape, W.shape, x.shape, b.shape) == ((4, 1), (4, 3), (3, 1), (4, 1))

with gn.Graph("augmented") as ga:
    xa = gn.input("x~", shape=(4, 1))
    Wa = gn.param("W~", np.hstack([Wv, bv]))  # [W | b] is 4x4
    za = (Wa @ xa).named("z")
print(f"  W~ = [W | b]: {Wa.shape[0]}x{Wa.shape[1]},  x~ = [x; 1]: {xa.shape[0]}x1")
r = gn.run(g, {"x": xv})
ra = gn.run(ga, {"x~": np.vstack([xv, [[1.0]]])})
check("W~ x~ == W x + b", ra.value(za), r.value(z))
render(g, args.out, "03_layer", run=r)
render(ga, args.out, "03_augmented", run=ra)

print("\nthe same layer with gn.nn.Linear(3, 4) (weights 4x3, bias 4):")
lin = gn.nn.Linear(3, 4)
print(lin.summary((3,)))
assert lin.num_params() == 4 * 3 + 4
