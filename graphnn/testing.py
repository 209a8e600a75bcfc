"""Public gradient-checking helpers: finite differences against autodiff.

>>> import numpy as np, graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x", shape=(3,))
...     y = gn.sum(gn.tanh(x) * x)
>>> report = gn.testing.check_grads(g, {"x": np.array([0.1, -0.4, 2.0])}, wrt=[x])
>>> report.ok, report.worst < 1e-6
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphnn.core.ir import Graph, Node


def rel_err(a: Any, b: Any) -> float:
    """max |a - b| / max(1, |b|), elementwise, as one float (0.0 for empty arrays)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


def numeric_grad(f: Any, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of the scalar function ``f`` at ``x``."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    flat, gf = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = float(f(x))
        flat[i] = old - eps
        fm = float(f(x))
        flat[i] = old
        gf[i] = (fp - fm) / (2 * eps)
    return g


@dataclass
class GradReport:
    """Result of :func:`check_grads`: per-node relative errors and the worst one."""

    errors: dict[str, float] = field(default_factory=dict)
    tol: float = 1e-6

    @property
    def worst(self) -> float:
        return max(self.errors.values(), default=0.0)

    @property
    def ok(self) -> bool:
        return self.worst <= self.tol

    def __str__(self) -> str:
        rows = [f"{k:>20}  {v:.3e}" for k, v in self.errors.items()]
        return "\n".join(rows + [f"worst relative error {self.worst:.3e} "
                                 f"({'ok' if self.ok else 'FAILED'}, tol {self.tol:g})"])


def check_grads(graph: Graph, feeds: Mapping[str, Any], wrt: list[Node | str],
                loss: Node | str | None = None, eps: float = 1e-6,
                tol: float = 1e-6) -> GradReport:
    """Compare ``gn.run``'s reverse-mode gradients with central finite differences."""
    from graphnn.run.interpret import run

    feeds = {k.name if isinstance(k, Node) else k: np.asarray(v, dtype=np.float64)
             for k, v in feeds.items()}
    r = run(graph, feeds, wrt=wrt, loss=loss)
    loss_node = r.loss
    report = GradReport(tol=tol)
    for w in r.wrt:
        base = feeds.get(w.name, graph.value_of(w) if w.role == "param" else None)

        def f(v: np.ndarray, name: str = w.name) -> float:
            return float(run(graph, {**feeds, name: v}, outputs=[loss_node]).value(loss_node))

        report.errors[w.name] = rel_err(r.grad(w), numeric_grad(f, base, eps))
    return report
