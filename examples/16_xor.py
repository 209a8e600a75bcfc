"""Lecture 2/5: XOR needs a hidden layer. A single layer (a line) cannot separate
{(0,1), (1,0)} from {(0,0), (1,1)}; a 2-4-2 network reaches 100% accuracy, on the four
XOR rows and on the noisy XOR point cloud.
"""

import os

import numpy as np
from _common import check, plotting, render, setup

import graphnn as gn

args = setup(__doc__)
X4, y4 = gn.data.xor_table()
X, y = np.tile(X4, (8, 1)), np.tile(y4, 8)

linear = gn.nn.Linear(2, 2)
gn.fit(linear, X, y, optimizer=gn.optim.Adam(lr=0.1), epochs=60, batch_size=32)
acc_lin = gn.evaluate(linear, X4, y4)
print(f"no hidden layer: accuracy {acc_lin:.2f} (at most 3 of the 4 rows)")
assert acc_lin <= 0.75

hidden = gn.nn.MLP([2, 4, 2], activation="tanh", seed=1)
h = gn.fit(hidden, X, y, optimizer=gn.optim.Adam(lr=0.1), epochs=60, batch_size=32)
check("2-4-2 network accuracy on the XOR rows", gn.evaluate(hidden, X4, y4), 1.0)
print("  class scores:\n", np.round(gn.predict(hidden, X4), 2))

Xn, yn = gn.data.xor(100 if args.fast else 400, noise=0.2, seed=0)
net = gn.nn.MLP([2, 8, 2], activation="relu", seed=0)
hn = gn.fit(net, Xn, yn, optimizer=gn.optim.Adam(lr=0.05), epochs=40 if args.fast else 60,
            batch_size=32, val=(Xn, yn))
check("noisy XOR cloud accuracy", gn.evaluate(net, Xn, yn), 1.0)

with gn.Graph("xor") as g:
    x = gn.input("x", shape=(4, 2))
    probs = gn.softmax(hidden(x, train=False)).named("probs")
render(g, args.out, "16_xor", run=gn.run(g, {"x": X4}))
if plotting():
    from graphnn import plot

    print("boundary:", plot.plot_decision_boundary(lambda P: gn.predict(net, P), Xn, yn,
                                                   os.path.join(args.out, "16_xor.png")))
