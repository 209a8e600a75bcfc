"""Interpreter overhead per node: forward + backward of a 1,000-node scalar chain.

Runs graphnn's node-by-node interpreter side by side with baselines in one process:
a micrograd-style scalar autograd written inline below (pure Python floats), and
PyTorch eager with autograd when torch is installed. Prints microseconds per node and
ratios against graphnn.

    python bench/interpreter.py [--nodes 1000] [--repeat 50]
"""

from __future__ import annotations

import argparse
import math
import platform

import numpy as np
from _timing import best_of
from graphs import scalar_chain

import graphnn as gn


def graphnn_chain(n: int):
    g, x = scalar_chain(n)
    return lambda: gn.run(g, {"x": 0.5}, wrt=[x])


class Value:
    """The micrograd-style baseline: a scalar with a closure for its backward step."""

    __slots__ = ("data", "grad", "_back", "_prev")

    def __init__(self, data: float, prev: tuple = ()) -> None:
        self.data, self.grad, self._back, self._prev = data, 0.0, None, prev

    def __mul__(self, k: float) -> Value:
        out = Value(self.data * k, (self,))

        def back() -> None:
            self.grad += k * out.grad
        out._back = back
        return out

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def back() -> None:
            self.grad += (1 - t * t) * out.grad
        out._back = back
        return out

    def backward(self) -> None:
        order, seen, stack = [], set(), [self]
        while stack:  # iterative post-order (the chain is too deep for recursion)
            v = stack.pop()
            if id(v) in seen:
                continue
            seen.add(id(v))
            order.append(v)
            stack.extend(v._prev)
        self.grad = 1.0
        for v in order:  # a chain: reverse creation order is topological
            if v._back is not None:
                v._back()


def micrograd_chain(n: int):
    def step() -> float:
        x = Value(0.5)
        h = x
        for i in range(n):
            h = h.tanh() if i % 2 else h * 0.999
        h.backward()
        return x.grad
    return step


def torch_chain(n: int):
    import torch

    def step() -> float:
        x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
        h = x
        for i in range(n):
            h = torch.tanh(h) if i % 2 else h * 0.999
        h.backward()
        return float(x.grad)
    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=50)
    a = ap.parse_args()
    n = a.nodes
    rows = [("graphnn interpreter (run: forward + backward)", graphnn_chain(n))]
    rows.append(("micrograd-style Python scalars (build + backward)", micrograd_chain(n)))
    try:
        rows.append(("PyTorch eager + autograd (build + backward)", torch_chain(n)))
    except ImportError:
        print("torch not installed: PyTorch row skipped (pip install torch)")
    print(f"machine: {platform.machine()} {platform.processor() or ''} python "
          f"{platform.python_version()} numpy {np.__version__}; chain of {n} op nodes")
    base = None
    for label, fn in rows:
        t = best_of(fn, a.repeat)
        base = base or t
        print(f"{label:<52} {t * 1e3:8.3f} ms  {t / n * 1e6:6.2f} us/node  "
              f"ratio to graphnn {t / base:5.2f}x")


if __name__ == "__main__":
    main()
