"""A small stand-in for ``gn.trace`` built from ``gn.run`` hooks (the player's interface)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import graphnn as gn


@dataclass
class FakeStep:
    index: int
    phase: str
    node: Any
    targets: list[Any] = field(default_factory=list)
    local: str | None = None

    def __str__(self) -> str:
        verb = "computes" if self.phase == "forward" else "sends its gradient to"
        tgt = ", ".join(t.name for t in self.targets)
        return f"step {self.index}: {self.node.name} {verb} {tgt}".strip()


class FakeTrace:
    def __init__(self, graph: gn.Graph, feeds: dict, wrt: list) -> None:
        self.graph = graph
        self.steps: list[FakeStep] = []
        self._vals: list[dict[int, Any]] = []
        self._grads: list[dict[int, Any]] = []
        vals: dict[int, Any] = {}
        grads: dict[int, Any] = {}
        consumers = graph.consumers()

        def on_forward(node: Any, value: Any, inputs: Any) -> None:
            vals[node.id] = np.asarray(value)
            self._push("forward", node, list(dict.fromkeys(consumers[node.id])), vals, grads)

        def on_backward(node: Any, upstream: Any, contributions: Any) -> None:
            grads.setdefault(node.id, np.asarray(upstream))
            targets = [i for i, c in zip(node.inputs, contributions) if c is not None]
            for i, c in zip(node.inputs, contributions):
                if c is not None:
                    grads[i.id] = grads.get(i.id, 0) + np.asarray(c)
            self._push("backward", node, targets, vals, grads, local=f"d{node.name}")

        self.run = gn.run(graph, feeds, wrt=wrt, on_forward=on_forward,
                          on_backward=on_backward)

    def _push(self, phase: str, node: Any, targets: list, vals: dict, grads: dict,
              local: str | None = None) -> None:
        self.steps.append(FakeStep(len(self.steps), phase, node, targets, local))
        self._vals.append(dict(vals))
        self._grads.append(dict(grads))

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, i: int) -> FakeStep:
        return self.steps[i]

    def state_at(self, i: int) -> tuple[dict[int, Any], dict[int, Any]]:
        return self._vals[i], self._grads[i]
