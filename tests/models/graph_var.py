"""A module-level graph named `graph` (no build()) with feeds as a dict."""

import graphnn as gn

with gn.Graph("square") as graph:
    x = gn.input("x", shape=(2,))
    gn.sum(x * x).named("s")

feeds = {"x": [1.0, 2.0]}
