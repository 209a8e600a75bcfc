"""Lecture 7: convolution. A filter slides over the input computing W^T x + b and spans
the full input depth: a 5x5x3 filter has 76 parameters; 32x32x3 with six 5x5 filters gives
28x28x6. Output size (W - F + 2P)/S + 1, parameters (F F D_in) K + K. Hand-made filters
first: [-1, 1] (vertical edges), the Laplacian [[0,1,0],[1,-4,1],[0,1,0]] and
[[-1,-1,-1],[-1,8,-1],[-1,-1,-1]]; then learned ones.
"""

import os

import numpy as np
from _common import check, plotting, render, setup

import graphnn as gn

args = setup(__doc__)

# a test image: a bright square on a dark background (or a digit when scikit-learn is here)
img = np.zeros((12, 12))
img[3:9, 4:10] = 1.0
try:
    img = gn.data.digits()[0][0, 0] if not args.fast else img
except ImportError:
    pass
H, W = img.shape
FILTERS = {
    "edge [-1, 1]": np.array([[-1.0, 1.0]]),
    "Laplacian": np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    "8-neighbour": np.array([[-1.0, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
}


def correlate(image, k):  # the sliding window W^T x, in plain numpy
    kh, kw = k.shape
    return np.array([[np.sum(image[i:i + kh, j:j + kw] * k) for j in range(W - kw + 1)]
                     for i in range(H - kh + 1)])


responses = []
for name, k in FILTERS.items():
    with gn.Graph("filter") as g:
        x = gn.input("image", shape=(1, 1, H, W))
        y = gn.conv2d(x, gn.const(k[None, None]), name="response")
    r = gn.run(g, {"image": img[None, None]})
    check(f"{name}: output {y.shape[2]}x{y.shape[3]}", r.value(y)[0, 0], correlate(img, k))
    responses.append(r.value(y)[0, 0])
render(g, args.out, "10_filter", run=r)

edge = responses[0]
print("  the [-1, 1] filter fires on vertical edges only: rows of the square's response")
print("   ", np.round(edge[5], 2))

print("\nsizes and parameter counts")
conv = gn.nn.Conv2d(3, 6, 5)
s = conv.summary((3, 32, 32))
check("one 5x5x3 filter: 5*5*3 + 1 params", 5 * 5 * 3 + 1, 76)
check("32x32x3, six 5x5 filters -> 28x28x6", s.rows[0][2], (6, 28, 28))
check("(F F D_in) K + K", s.total, 76 * 6)
for (Wd, F, P, S) in [(32, 5, 0, 1), (32, 5, 2, 1), (227, 11, 0, 4), (7, 3, 1, 2)]:
    with gn.Graph() as g:
        out = gn.conv2d(gn.input("x", (1, 1, Wd, Wd)), gn.input("w", (1, 1, F, F)),
                        stride=S, padding=P)
    check(f"W={Wd} F={F} P={P} S={S}: (W-F+2P)/S+1", out.shape[2], (Wd - F + 2 * P) // S + 1)
with gn.Graph() as g:
    one = gn.conv2d(gn.input("x", (1, 64, 14, 14)), gn.input("w", (32, 64, 1, 1)))
check("1x1 convolution mixes depth only: 14x14x32", one.shape[1:], (32, 14, 14))

print("\nreceptive field of a KxK conv (stride 1) then PxP pooling: (P + K - 1)^2")
for K, P in [(3, 2), (5, 2), (3, 3)]:
    # which inputs influence the first output: its gradient is nonzero exactly there
    with gn.Graph() as g:
        xin = gn.input("x", (1, 1, 12, 12))
        outa = gn.avg_pool2d(gn.conv2d(xin, gn.const(np.ones((1, 1, K, K)))), P)
        first = gn.sum(outa * gn.const(np.eye(1, outa.shape[2] * outa.shape[3]).reshape(
            outa.shape)))
    ra = gn.run(g, {"x": np.zeros((1, 1, 12, 12))}, wrt=[xin])
    check(f"K={K}, P={P}: inputs seen by one output", np.count_nonzero(ra.grad(xin)),
          (P + K - 1) ** 2)

print("\nfully connected on a 4x4 input: 16 weights + 1 bias per unit; 32x32x3 -> 3072")
check("Linear(16, 1) parameters", gn.nn.Linear(16, 1).num_params(), 17)
with gn.Graph() as g:
    flat = gn.flatten(gn.input("x", (1, 3, 32, 32)), 1)
check("flatten 32x32x3", flat.shape[1], 3072)

if plotting():
    from graphnn import plot

    p = plot.plot_images([img, *responses], os.path.join(args.out, "10_filters.png"),
                         ["image", *FILTERS])
    print("\nresponses:", p)
