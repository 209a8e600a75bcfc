"""Lecture 8: LeNet on the 8x8 handwritten digits (scikit-learn's copy, no download):
conv-relu-pool, conv-relu-pool, two fully connected layers, softmax (inside the
cross-entropy). Trains with gn.fit and reports test accuracy (>= 97% in the full run).
"""

import os
import sys

import numpy as np
from _common import plotting, render, setup

import graphnn as gn

args = setup(__doc__)
try:
    X, y = gn.data.digits()
except ImportError as e:
    print(e)
    sys.exit(0)  # the optional extra is missing: nothing to train
Xtr, ytr, Xte, yte = gn.data.split(X, y, test=0.2, seed=0)
if args.fast:
    Xtr, ytr, Xte, yte = Xtr[:256], ytr[:256], Xte[:128], yte[:128]
epochs = 2 if args.fast else 20

model = gn.nn.lenet(size=8, seed=0)
print(model.summary((1, 8, 8)))
h = gn.fit(model, Xtr, ytr, optimizer=gn.optim.Adam(lr=3e-3), epochs=epochs, batch_size=32,
           val=(Xte, yte), seed=0, verbose=True,
           schedule=lambda opt: gn.optim.CosineLR(opt, T_max=epochs))
acc = gn.evaluate(model, Xte, yte)
print(f"test accuracy {acc:.4f} after {h.epochs} epochs, {sum(h.seconds):.1f} s ({h.engine})")
if not args.fast:
    assert acc >= 0.97, acc
gn.save(model, os.path.join(args.out, "12_lenet.npz"))

with gn.Graph("lenet") as g:
    x = gn.input("x", shape=(1, 1, 8, 8))
    probs = gn.softmax(model(x, train=False)).named("probs")
r = gn.run(g, {"x": Xte[:1]})
print(f"first test digit: label {yte[0]}, predicted {int(np.argmax(r.value(probs)))}")
render(g, args.out, "12_lenet", run=r)
filters = model.named_values()["conv1.weight"][:, 0]  # the learned 5x5 filters of conv1
print(f"learned conv1 filters: {filters.shape[0]} of {filters.shape[1]}x{filters.shape[2]}")
if plotting():
    from graphnn import plot

    print("curves:", h.plot(os.path.join(args.out, "12_lenet_curves.png")))
    print("learned filters:", plot.plot_images(filters, os.path.join(args.out,
                                                                     "12_filters.png")))
