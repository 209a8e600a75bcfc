"""Graphs for the render benchmark and tests: a deep MLP with its symbolic backward pass."""

from __future__ import annotations

import numpy as np

import graphnn as gn


def scalar_chain(n: int) -> tuple[gn.Graph, gn.Node]:
    """The interpreter benchmarks' chain: ``n`` op nodes alternating ``h * 0.999`` and
    ``tanh(h)`` from a scalar input; returns the graph and its input."""
    with gn.Graph("chain") as g:
        x = gn.input("x")
        c = gn.const(0.999)
        h = x
        for i in range(n):
            h = gn.tanh(h) if i % 2 else h * c
    return g, x


def deep_mlp(layers: int = 100, width: int = 8, seed: int = 0) -> tuple[gn.Graph, dict]:
    """A ``layers``-deep tanh MLP whose loss is differentiated with ``gn.grad`` (all params).

    Every layer lives in a group ``fc<i>``; returns the graph and feeds for ``gn.run``.
    """
    rng = np.random.default_rng(seed)
    with gn.Graph(f"mlp{layers}") as g:
        h = gn.input("x", shape=(width,))
        params = []
        for i in range(layers):
            with g.scope(f"fc{i + 1}"):
                w = gn.param(f"W{i + 1}", rng.normal(0, 1 / np.sqrt(width), (width, width)))
                b = gn.param(f"b{i + 1}", np.zeros(width))
                h = gn.tanh(w @ h + b)
                params += [w, b]
        loss = gn.sum(h * h).named("loss")
    gn.grad(loss, params)
    return g, {"x": rng.normal(size=width)}
