"""Lecture 2: multi-layer perceptrons 3-4-2 (sigmoid) and 3-4-4-1, and their nested forms
f = W2 max(0, W1 x) and f = W5 sigma(W4 tanh(W3 max(0, W2 max(0, W1 x)))).
Naming: the inputs are not a layer, so 3-4-2 is a two-layer network.
"""

import numpy as np
from _common import check, render, setup

import graphnn as gn

args = setup(__doc__)

for sizes in ([3, 4, 2], [3, 4, 4, 1]):
    net = gn.nn.MLP(sizes, activation="sigmoid", seed=0)
    layers = len(sizes) - 1
    print(f"\n{'-'.join(map(str, sizes))}: {layers} layers, {net.num_params()} parameters")
    print(net.summary((3,)))
    with gn.Graph(f"mlp_{'_'.join(map(str, sizes))}") as g:
        x = gn.input("x", shape=(3,))
        y = net(x)
    r = gn.run(g, {"x": [1.0, 2.0, 3.0]})
    print("  output:", np.round(r.value(y), 4))
    render(g, args.out, f"04_mlp_{'_'.join(map(str, sizes))}", run=r)
check("3-4-2 parameters (4x3 + 4 + 2x4 + 2)", gn.nn.MLP([3, 4, 2]).num_params(), 26)
check("3-4-4-1 parameters", gn.nn.MLP([3, 4, 4, 1]).num_params(), 41)

print("\nnested forms written directly with ops:")
rng = np.random.default_rng(1)
Ws = [rng.normal(size=s) for s in [(4, 3), (4, 4), (4, 4), (4, 4), (2, 4)]]
xv = rng.normal(size=3)
with gn.Graph("nested") as g:
    x = gn.input("x", shape=(3,))
    W1, W2, W3, W4, W5 = (gn.param(f"W{i + 1}", w) for i, w in enumerate(Ws))
    f_small = (gn.param("V2", Ws[4][:, :4]) @ gn.relu(W1 @ x)).named("f_2layer")
    f = (W5 @ gn.sigmoid(W4 @ gn.tanh(W3 @ gn.relu(W2 @ gn.relu(W1 @ x))))).named("f_5layer")
r = gn.run(g, {"x": xv}, outputs=[f_small, f])
relu = lambda v: np.maximum(v, 0)  # noqa: E731
sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
check("W2 max(0, W1 x)", r.value(f_small), Ws[4][:, :4] @ relu(Ws[0] @ xv))
check("W5 s(W4 tanh(W3 r(W2 r(W1 x))))", r.value(f),
      Ws[4] @ sig(Ws[3] @ np.tanh(Ws[2] @ relu(Ws[1] @ relu(Ws[0] @ xv)))))
render(g, args.out, "04_nested", run=r)
