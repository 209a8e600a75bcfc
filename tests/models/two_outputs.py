"""A graph with two outputs (render shows both; gradients need --of)."""

import graphnn as gn


def build():
    with gn.Graph("two") as g:
        x = gn.input("x")
        g.mark_output((x * x).named("sq"), gn.exp(x).named("ex"))
    return g


def feeds():
    return {"x": 2.0}
