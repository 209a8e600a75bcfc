"""Lecture 8: AlexNet's layer table on 227x227x3 (shapes and parameter counts, computed
from static node shapes without allocating or running anything): 96 11x11x3 convolutions
stride 4 -> 55x55x96, 256 5x5x48 (two groups), 384 3x3x256, 384 3x3x192, 256 3x3x192,
fully connected 4096, 4096, 1000: 60,965,224 parameters (62,378,344 without groups).
"""

from _common import check, render, setup

import graphnn as gn

args = setup(__doc__)
s = gn.nn.alexnet(groups=True, softmax=True).summary((3, 227, 227))
print(s.format(hwc=True))
shapes = {name: s.hwc(shape) for name, _, shape, _ in s.rows}
for layer, want in [("conv1", "55x55x96"), ("pool1", "27x27x96"), ("conv2", "27x27x256"),
                    ("pool2", "13x13x256"), ("conv3", "13x13x384"), ("conv4", "13x13x384"),
                    ("conv5", "13x13x256"), ("pool3", "6x6x256")]:
    print(f"  {layer}: {shapes[layer]}")
    assert shapes[layer] == want, (layer, shapes[layer], want)
check("total parameters (two groups)", s.total, 60_965_224)
check("without groups", gn.nn.alexnet(groups=False).num_params(), 62_378_344)
with open(f"{args.out}/14_alexnet.txt", "w") as f:
    f.write(s.format(hwc=True) + "\n")
render(s.graph, args.out, "14_alexnet")  # the shapes-only graph: params appear as inputs
