"""How ``gn.fit`` runs a graph: the interpreter (``gn.run``) or the compiled function
(``gn.compile``), behind one call that returns output values and gradients.

>>> pick_engine("interpret")
'interpret'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphnn.codegen.compiler import compile as compile_graph
from graphnn.core.errors import AnomalyError
from graphnn.core.ir import Graph, Node
from graphnn.run.interpret import run


class Runner:
    """Runs one set of outputs (and optionally gradients) with the chosen engine."""

    def __init__(self, g: Graph, outputs: list[Node], loss: Node | None, wrt: list[Node],
                 engine: str) -> None:
        self.g, self.outputs, self.loss, self.wrt, self.engine = g, outputs, loss, wrt, engine
        self.fn = None
        if engine == "compiled":
            self.fn = compile_graph(g, outputs=outputs, wrt=wrt or None,
                                    **({"loss": loss} if wrt else {}))

    def __call__(self, feeds: dict[str, Any]) -> tuple[list[np.ndarray], dict[Node, Any]]:
        if self.fn is None:
            r = run(self.g, feeds, outputs=self.outputs, wrt=self.wrt or None,
                       loss=self.loss if self.wrt else None)
            return [r.value(o) for o in self.outputs], {p: r.grad(p) for p in self.wrt}
        return _call_compiled(self.fn, self, feeds)


def _call_compiled(fn: Any, runner: Runner, feeds: dict[str, Any]) -> Any:
    res = fn(feeds)  # a CompiledResult: value(node) and grad(node)
    return [res.value(o) for o in runner.outputs], {p: res.grad(p) for p in runner.wrt}


def pick_engine(engine: str) -> str:
    if engine == "auto":
        return "compiled"
    if engine not in ("compiled", "interpret"):
        raise ValueError(f"engine must be 'auto', 'compiled' or 'interpret', not {engine!r}")
    return engine


class Values:
    def __init__(self, values: dict[Node, Any]) -> None:
        self._v = values

    def value(self, node: Node) -> Any:
        return self._v[node]


def anomaly_report(g: Graph, feeds: dict[str, Any], vals: list[Any], wrt: list[Node],
                    loss: Node) -> str:
    try:
        run(g, feeds, outputs=[loss], wrt=wrt, anomaly=True)
    except AnomalyError as e:
        return str(e)
    return f"the loss is {vals[0]} (no single node produced the first non-finite value)"
