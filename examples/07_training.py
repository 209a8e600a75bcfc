"""Lecture 5: training. The loop forward -> loss -> backward -> optimizer step written
out, then gn.fit with stochastic mini-batches and each optimizer from class (SGD, SGD with
momentum, Adam, Adagrad, RMSprop), initialisation scale and vanishing gradients with
sigmoid, and training vs validation curves (a gap means overfitting).
"""

import os

import numpy as np
from _common import plotting, render, setup

import graphnn as gn

args = setup(__doc__)
X, y = gn.data.spirals(150 if args.fast else 600, classes=3, seed=0)
Xtr, ytr, Xva, yva = gn.data.split(X, y, test=0.25, seed=0)
epochs = 5 if args.fast else 150

print("the loop by hand: w <- w - eta dL/dw on mini-batches of 32")
model = gn.nn.MLP([2, 32, 3], activation="tanh", seed=0)
with gn.Graph("loop") as g:
    xb = gn.input("x", shape=(32, 2))
    tb = gn.input("t", shape=(32,), dtype="int64")
    loss = gn.cross_entropy(model(xb), tb).named("loss")
params = model.param_nodes(g)
rng = np.random.default_rng(0)
for epoch in range(3):
    order = rng.permutation(len(Xtr))
    for s in range(0, len(Xtr) - 31, 32):  # the last partial batch is dropped
        idx = order[s:s + 32]
        r = gn.run(g, {"x": Xtr[idx], "t": ytr[idx]}, wrt=params)  # forward + backward
        for p in params:                                           # gradient step
            g.value_of(p)[...] -= 0.5 * r.grad(p)
    print(f"  epoch {epoch + 1}: last batch loss {float(r.value(loss)):.4f}")
render(g, args.out, "07_training_step", run=r)

print(f"\noptimizers on spirals ({epochs} epochs, batch 32, the same initial weights):")
histories, nets = {}, {}
for name, opt in [("SGD", gn.optim.SGD(lr=0.3)),
                  ("SGD+momentum", gn.optim.SGD(lr=0.1, momentum=0.9)),
                  ("Adam", gn.optim.Adam(lr=0.01)),
                  ("Adagrad", gn.optim.Adagrad(lr=0.1)),
                  ("RMSprop", gn.optim.RMSprop(lr=0.003))]:
    net = gn.nn.MLP([2, 64, 64, 3], activation="relu", seed=1)
    h = gn.fit(net, Xtr, ytr, optimizer=opt, epochs=epochs, batch_size=32, val=(Xva, yva))
    histories[name], nets[name] = h, net
    print(f"  {name:<13} train loss {h.train_loss[-1]:.4f}  val acc {h.val_acc[-1]:.3f}  "
          f"({sum(h.seconds):.2f} s, {h.engine})")

print("\ninitialisation scale: gradient norms at the first layer of a deep sigmoid net")
deep_x = gn.data.xor(64, seed=0)[0]
for c in (0.01, 1.0, 4.0):
    net = gn.nn.MLP([2] + [16] * 6 + [2], activation="sigmoid",
                    init=lambda s, r, c=c: gn.nn.init.uniform(s, r, c), seed=0)
    with gn.Graph() as g:
        out = net(gn.input("x", shape=(64, 2)))
        lo = gn.sum(out * out)
    r = gn.run(g, {"x": deep_x}, wrt=[g["fc1.weight"], g["fc7.weight"]])
    print(f"  U(-{c}, {c}): |dL/dW1| = {np.linalg.norm(r.grad('fc1.weight')):.2e}, "
          f"|dL/dW7| = {np.linalg.norm(r.grad('fc7.weight')):.2e}")

print("\noverfitting: a big network on 40 noisy points")
Xs, ys = gn.data.moons(80, noise=0.35, seed=3)
big = gn.nn.MLP([2, 128, 128, 2], activation="relu", seed=0)
h = gn.fit(big, Xs[:40], ys[:40], optimizer=gn.optim.Adam(lr=0.01), epochs=epochs * 2,
           batch_size=40, val=(Xs[40:], ys[40:]))
print(f"  final train loss {h.train_loss[-1]:.3f} vs validation loss {h.val_loss[-1]:.3f}")
if plotting():
    from graphnn import plot

    print("  curves:", plot.plot_history(h, os.path.join(args.out, "07_overfitting.png")))
    print("  curves:", histories["Adam"].plot(os.path.join(args.out, "07_adam.png")))
    print("  boundary:", plot.plot_decision_boundary(
        lambda P: gn.predict(nets["Adam"], P), Xtr, ytr, os.path.join(args.out, "07_spirals.png")))
