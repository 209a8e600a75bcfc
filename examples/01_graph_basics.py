"""Lecture 1: computational graphs. f(x, y, z) = (x + y) * z at x = 1, y = -3, z = 4.

Forward: d = x + y = -2, f = d * z = -8. Backward: df/dz = d = -2, df/dd = z = 4,
df/dx = df/dy = 4. A node feeding two consumers receives the SUM of their gradients.
"""

import numpy as np
from _common import check, render, setup

import graphnn as gn

args = setup(__doc__)

print("f(x, y, z) = (x + y) * z")
with gn.Graph("lecture1") as g:
    x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
    d = (x + y).named("d")
    f = (d * z).named("f")

r = gn.run(g, {"x": 1.0, "y": -3.0, "z": 4.0}, wrt=[x, y, z, d])
check("forward d = x + y", r.value(d), -2)
check("forward f = d * z", r.value(f), -8)
check("df/dz = d", r.grad(z), -2)
check("df/dd = z", r.grad(d), 4)
check("df/dx = df/dd * dd/dx", r.grad(x), 4)
check("df/dy = df/dd * dd/dy", r.grad(y), 4)
render(g, args.out, "01_graph_basics", run=r)

print("\nstep by step (gn.trace):")
for step in gn.trace(g, {"x": 1.0, "y": -3.0, "z": 4.0}, wrt=[x, y, z]):
    print("  ", step)

print("\nfan-out: q = x * x + 3 x uses x three times; dq/dx = 2x + 3")
with gn.Graph("fanout") as g2:
    x2 = gn.input("x")
    q = (x2 * x2 + 3.0 * x2).named("q")
sums = []
r2 = gn.run(g2, {"x": 2.0}, wrt=[x2],
            on_accumulate=lambda target, source, prev, contrib, total: sums.append(
                (target.name, float(np.asarray(prev)), float(np.asarray(contrib)),
                 float(np.asarray(total)))))
for target, prev, contrib, total in sums:
    print(f"  gradient of {target}: {prev:g} + {contrib:g} = {total:g}")
check("dq/dx at x = 2 (sum of branches)", r2.grad(x2), 7)
render(g2, args.out, "01_fanout", run=r2)
