"""Lecture 7: pooling. Max pooling 2x2 stride 2 over [[1,1,2,4],[5,6,7,8],[3,2,1,0],
[1,2,3,4]] gives [[6,8],[3,4]]; average pooling gives [[3.25,5.25],[2,2]]. Pooling has
no parameters; output size (W - F)/S + 1. The gradient of max pooling goes to the winner
of each window; average pooling spreads it evenly.
"""

import numpy as np
from _common import check, render, setup

import graphnn as gn

args = setup(__doc__)
X = np.array([[1.0, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]])

with gn.Graph("pooling") as g:
    x = gn.input("x", shape=(1, 1, 4, 4))
    mx = gn.max_pool2d(x, 2, name="max_pool")
    av = gn.avg_pool2d(x, 2, name="avg_pool")
    loss = gn.sum(mx).named("sum_max")
r = gn.run(g, {"x": X[None, None]}, wrt=[x], loss=loss, outputs=[mx, av, loss])
check("max pool 2x2 stride 2", r.value(mx)[0, 0], [[6, 8], [3, 4]])
check("average pool 2x2 stride 2", r.value(av)[0, 0], [[3.25, 5.25], [2, 2]])
check("d sum(max)/dx: 1 at each window's max", r.grad(x)[0, 0],
      [[0, 0, 0, 0], [0, 1, 0, 1], [1, 0, 0, 0], [0, 0, 0, 1]])
ra = gn.run(g, {"x": X[None, None]}, wrt=[x], loss=gn.sum(av))
check("d sum(avg)/dx: 1/4 everywhere", ra.grad(x)[0, 0], np.full((4, 4), 0.25))
render(g, args.out, "11_pooling", run=r)

pool = gn.nn.MaxPool2d(2)
check("MaxPool2d parameters", pool.num_params(), 0)
for Wd, F, S in [(4, 2, 2), (55, 3, 2), (28, 2, 2)]:
    out = gn.nn.MaxPool2d(F, S).summary((1, Wd, Wd)).rows[0][2]
    check(f"W={Wd} F={F} S={S}: (W-F)/S+1", out[1], (Wd - F) // S + 1)
