"""Models and baselines for bench/codegen.py: the MLP and LeNet graphs, a hand-written
NumPy MLP step, PyTorch eager and jax.jit steps, and a 2,000-node graph."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

import graphnn as gn


def mlp_graph(batch: int, rng: np.random.Generator) -> tuple[gn.Graph, Any, list[Any]]:
    f32 = "float32"
    sizes = [784, 256, 128, 10]
    with gn.Graph(f"mlp{batch}") as g:
        x = gn.input("x", shape=(batch, 784), dtype=f32)
        y = gn.input("y", shape=(batch, 10), dtype=f32)
        h, params = x, []
        for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), 1):
            W = gn.param(f"W{k}", (rng.normal(size=(a, b)) / np.sqrt(a)).astype(f32))
            bb = gn.param(f"b{k}", np.zeros(b, f32))
            params += [W, bb]
            h = h @ W + bb
            if k < 3:
                h = gn.relu(h)
        loss = (-gn.mean(gn.sum(y * gn.log_softmax(h), axis=1))).named("loss")
    return g, loss, params


def numpy_step(x: np.ndarray, y: np.ndarray, P: list[np.ndarray], lr: float) -> float:
    """A hand-written NumPy training step (what a careful user writes)."""
    W1, b1, W2, b2, W3, b3 = P
    B = x.shape[0]
    z1 = x @ W1 + b1
    h1 = np.maximum(z1, 0)
    z2 = h1 @ W2 + b2
    h2 = np.maximum(z2, 0)
    z3 = h2 @ W3 + b3
    m = z3.max(axis=1, keepdims=True)
    e = np.exp(z3 - m)
    s = e.sum(axis=1, keepdims=True)
    loss = -(y * (z3 - m - np.log(s))).sum(axis=1).mean()
    g3 = (e / s - y) * np.float32(1.0 / B)
    g2 = (g3 @ W3.T) * (z2 > 0)
    g1 = (g2 @ W2.T) * (z1 > 0)
    grads = [x.T @ g1, g1.sum(0), h1.T @ g2, g2.sum(0), h2.T @ g3, g3.sum(0)]
    for p, gr in zip(P, grads):
        p -= np.float32(lr) * gr
    return float(loss)


def torch_mlp(x: np.ndarray, y: np.ndarray, store: list[np.ndarray], lr: float) -> Any:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", "1")))
    P = [torch.tensor(s.copy(), requires_grad=True) for s in store]
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> None:
        W1, b1, W2, b2, W3, b3 = P
        h = torch.relu(tx @ W1 + b1)
        h = torch.relu(h @ W2 + b2)
        out = torch.log_softmax(h @ W3 + b3, dim=1)
        loss = -(ty * out).sum(dim=1).mean()
        for p in P:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in P:
                p -= lr * p.grad

    return step


def jax_mlp(x: np.ndarray, y: np.ndarray, store: list[np.ndarray], lr: float) -> Any:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None

    def loss_fn(P: Any, x: Any, y: Any) -> Any:
        W1, b1, W2, b2, W3, b3 = P
        h = jax.nn.relu(x @ W1 + b1)
        h = jax.nn.relu(h @ W2 + b2)
        return -(y * jax.nn.log_softmax(h @ W3 + b3, axis=1)).sum(axis=1).mean()

    @jax.jit
    def step(P: Any, x: Any, y: Any) -> Any:
        grads = jax.grad(loss_fn)(P, x, y)
        return [p - lr * gr for p, gr in zip(P, grads)]

    state = {"P": [jnp.asarray(s) for s in store]}
    jx, jy = jnp.asarray(x), jnp.asarray(y)

    def run() -> None:
        state["P"] = step(state["P"], jx, jy)
        state["P"][0].block_until_ready()

    return run


def big_graph(n_nodes: int, rng: np.random.Generator) -> tuple[gn.Graph, Any]:
    """A graph of about ``n_nodes`` nodes, all of them live: each new value combines the
    previous one with a random earlier one (a ladder with long skip connections)."""
    with gn.Graph("big") as g:
        x = gn.input("x", shape=(8,))
        w = gn.param("w", rng.normal(size=8))
        vals = [x * w]
        unary = [gn.tanh, gn.sigmoid, lambda a: a * 0.5, lambda a: -a, gn.relu]
        while len(g.nodes) < n_nodes - 2:
            prev, other = vals[-1], vals[int(rng.integers(0, len(vals)))]
            k = int(rng.integers(0, 3))
            if k == 0:
                v = prev * gn.tanh(other)
            elif k == 1:
                v = prev + other * 0.1
            else:
                v = unary[int(rng.integers(0, len(unary)))](prev)
            vals.append(v)
        out = gn.sum(vals[-1]).named("out")
    return g, out


def lenet_graph(batch: int, rng: np.random.Generator) -> tuple[gn.Graph, Any, list[Any]]:
    f32 = "float32"

    def w(*shape: int) -> np.ndarray:
        fan_in = int(np.prod(shape[1:]))
        return (rng.normal(size=shape) / np.sqrt(fan_in)).astype(f32)

    with gn.Graph(f"lenet{batch}") as g:
        x = gn.input("x", shape=(batch, 1, 28, 28), dtype=f32)
        t = gn.input("t", shape=(batch,), dtype="int64")
        ps = [gn.param("c1w", w(6, 1, 5, 5)), gn.param("c1b", np.zeros(6, f32)),
              gn.param("c2w", w(16, 6, 5, 5)), gn.param("c2b", np.zeros(16, f32)),
              gn.param("f1w", w(120, 256).T.copy()), gn.param("f1b", np.zeros(120, f32)),
              gn.param("f2w", w(84, 120).T.copy()), gn.param("f2b", np.zeros(84, f32)),
              gn.param("f3w", w(10, 84).T.copy()), gn.param("f3b", np.zeros(10, f32))]
        h = gn.max_pool2d(gn.relu(gn.conv2d(x, ps[0], ps[1])), 2)
        h = gn.max_pool2d(gn.relu(gn.conv2d(h, ps[2], ps[3])), 2)
        h = gn.flatten(h, 1)
        h = gn.relu(h @ ps[4] + ps[5])
        h = gn.relu(h @ ps[6] + ps[7])
        loss = gn.cross_entropy(h @ ps[8] + ps[9], t).named("loss")
    return g, loss, ps


def torch_lenet(store: list[np.ndarray], x: np.ndarray, t: np.ndarray) -> Any:
    """The LeNet training step of lenet_graph in PyTorch eager (lr 0, as the compiled
    step), on copies of ``store``; None when torch is not installed."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", "1")))
    P = [torch.tensor(s.copy(), requires_grad=True) for s in store]
    tx, tt = torch.from_numpy(x), torch.from_numpy(t)

    def step() -> None:
        h = F.max_pool2d(torch.relu(F.conv2d(tx, P[0], P[1])), 2)
        h = F.max_pool2d(torch.relu(F.conv2d(h, P[2], P[3])), 2)
        h = torch.flatten(h, 1)
        h = torch.relu(h @ P[4] + P[5])
        h = torch.relu(h @ P[6] + P[7])
        lo = F.cross_entropy(h @ P[8] + P[9], tt)
        for p in P:
            p.grad = None
        lo.backward()
        with torch.no_grad():
            for p in P:
                p -= 0.0 * p.grad

    return step
