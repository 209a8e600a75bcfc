"""Lecture 8: the small digit classifier with batch normalisation: conv 3x3x16 pad 1,
batch-norm, ReLU, max-pool 2 stride 2, conv 3x3x32 pad 1, conv 3x3x64 pad 1, FC 50,
FC 10, softmax. Batch norm uses batch statistics while training and its running
statistics (state, not gradients) in evaluation: two branches of one graph.
"""

import os
import sys

import numpy as np
from _common import plotting, render, setup

import graphnn as gn

args = setup(__doc__)
model = gn.nn.digit_classifier(size=8, softmax=False, seed=0)
print(gn.nn.digit_classifier(size=8, softmax=True).summary((1, 8, 8)).format(hwc=True))
try:
    X, y = gn.data.digits()
except ImportError as e:
    print(e)
    sys.exit(0)
Xtr, ytr, Xte, yte = gn.data.split(X, y, test=0.2, seed=0)
if args.fast:
    Xtr, ytr, Xte, yte = Xtr[:256], ytr[:256], Xte[:128], yte[:128]
epochs = 2 if args.fast else 12

h = gn.fit(model, Xtr, ytr, optimizer=gn.optim.Adam(lr=2e-3), epochs=epochs, batch_size=64,
           val=(Xte, yte), seed=0, verbose=True)
acc = gn.evaluate(model, Xte, yte)
state = model.named_values(trainable=False)
print(f"test accuracy {acc:.4f}; running mean of bn1 (first 4 channels): "
      f"{np.round(state['bn1.running_mean'][:4], 3)}")

with gn.Graph("bn_train_vs_eval") as g:
    x = gn.input("x", shape=(8, 1, 8, 8))
    train_out = model(x, train=True).named("train_logits")
    eval_out = model(x, train=False).named("eval_logits")
r = gn.run(g, {"x": Xte[:8]}, outputs=[train_out, eval_out])
print("same weights, two branches: max |train - eval| logits =",
      f"{np.abs(r.value(train_out) - r.value(eval_out)).max():.3f}")
render(g, args.out, "13_bn_classifier", run=r)
if plotting():
    print("curves:", h.plot(os.path.join(args.out, "13_bn_curves.png")))
