"""Quiz mode: hide one number of a trace (a forward value, a local derivative or a
gradient) and check a student's answer against it, with the step-by-step computation as
the explanation; a :class:`Quiz` keeps the score over several questions.

>>> import graphnn as gn
>>> with gn.Graph("lecture") as g:
...     x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
...     d = (x + y).named("d")
...     f = (d * z).named("f")
>>> q = gn.quiz(g, {"x": 1, "y": -3, "z": 4}, kind="grad", seed=0)
>>> print(q.question.prompt)
step 7 of 7, at d = x + y with x = 1, y = -3: upstream ∂f/∂d = 4, local ∂d/∂y = 1. What is ∂f/∂y?
>>> r = q.check("4")
>>> r.correct, r.expected, q.score
(True, '4', (1, 1))
>>> print(r.explanation)
upstream ∂f/∂d = 4
local ∂d/∂y = 1
∂f/∂y = ∂f/∂d · local ∂d/∂y = 4 · 1 = 4
>>> q.next().kind
'grad'
"""

from __future__ import annotations

import ast
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphnn.core.errors import GraphError
from graphnn.core.ir import Graph, Node
from graphnn.core.op import ADAPTERS
from graphnn.teach import narrate as N
from graphnn.teach.numfmt import fmt_value
from graphnn.teach.trace import Step, Trace, trace
from graphnn.teach.tracefmt import forward_text, node_expr

KINDS = ("value", "local", "grad", "any")
RTOL, ATOL = 1e-3, 1e-4  # the default tolerance of a check (also the HTML player's)


@dataclass(frozen=True)
class Question:
    """One hidden number: ``kind`` is "value", "local" or "grad"; ``step`` the trace
    step it belongs to, ``input`` the input position (local and grad questions)."""

    kind: str
    step: Step
    input: int | None
    prompt: str
    expected: Any
    explanation: str


@dataclass(frozen=True)
class Result:
    """The verdict on one answer: ``expected`` is the hidden number as text."""

    correct: bool
    expected: str
    answer: str
    explanation: str

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        head = "correct" if self.correct else f"not quite: the answer is {self.expected}"
        return f"{head}\n{self.explanation}"


def _context(step: Step) -> str:
    n = step.node
    known = [f"{i.name} = {fmt_value(v)}" for i, v in zip(step.inputs, step.input_values)
             if not (i.op.name == "const")]
    where = f" with {', '.join(known)}" if known else ""
    return f"step {step.number} of {len(step.trace or [])}, at {n.name} = {node_expr(n)}{where}"


def _value_question(step: Step) -> Question:
    n = step.node
    return Question("value", step, None, f"{_context(step)}. What is {n.name}?",
                    np.asarray(step.value), forward_text(step))


def _local_question(step: Step, k: int) -> Question:
    name = N.local_sym(step, step.inputs[k].name)
    loc = step.local[k] if k < len(step.local) else None
    hint = f" (formula: {loc.expr})" if loc is not None and loc.expr else ""
    return Question("local", step, k, f"{_context(step)}. What is {name}?{hint}",
                    np.asarray(step.local_value[k]), N.local_line(step, k))


def _grad_question(step: Step, k: int) -> Question:
    up = N.upstream_line(step).split("   (")[0].replace("seed ", "upstream ")
    loc = step.local[k] if k < len(step.local) else None
    rule = N.local_line(step, k).split(" = ")[0:2] if loc is not None and loc.expr else None
    local = f", {' = '.join(rule)}" if rule else ""
    lhs = N.product_line(step, k).split(" = ")[0]
    expl = "\n".join([N.upstream_line(step), N.local_line(step, k), N.product_line(step, k)])
    return Question("grad", step, k, f"{_context(step)}: {up}{local}. What is {lhs}?",
                    np.asarray(step.contributions[k]), expl)


def candidates(tr: Trace, kind: str = "any") -> list[Question]:
    """Every question the trace offers, in step order (``kind`` filters)."""
    if kind not in KINDS:
        raise GraphError(f"quiz: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    out: list[Question] = []
    for s in tr:
        if s.kind == "eval" and not s.op.leaf and kind in ("value", "any"):
            out.append(_value_question(s))
        if s.kind != "vjp":
            continue
        for k, c in enumerate(s.contributions):
            if c is None:
                continue
            if kind in ("local", "any") and s.local_value[k] is not None:
                out.append(_local_question(s, k))
            if kind in ("grad", "any"):
                out.append(_grad_question(s, k))
    return out


def parse_answer(text: Any) -> np.ndarray:
    """A number or a (nested) list of numbers, from text or Python values.

    >>> parse_answer("-2").tolist(), parse_answer("[1, 0.5]").tolist(), parse_answer(3).tolist()
    (-2.0, [1.0, 0.5], 3.0)
    """
    if isinstance(text, str):
        try:
            text = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            raise ValueError(f"cannot read {text!r} as a number or a list of numbers"
                             ) from None
    try:
        return np.asarray(text, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"cannot read {text!r} as a number or a list of numbers") from None


class Quiz:
    """Questions drawn (seeded) from one trace; ``question`` is the one being asked,
    ``check(answer)`` grades it and ``next()`` draws another; ``score`` is
    (correct, asked)."""

    def __init__(self, tr: Trace, kind: str = "any", seed: int | None = None,
                 rtol: float = RTOL, atol: float = ATOL) -> None:
        self.trace = tr
        self.kind = kind
        self.pool = candidates(tr, kind)
        if not self.pool:
            raise GraphError(f"quiz: the trace has no {kind if kind != 'any' else ''} "
                             "question to ask".replace("  ", " "))
        self.rng = random.Random(seed)
        self.rtol, self.atol = rtol, atol
        self.right = self.asked = 0
        self.results: list[Result] = []
        self._done: set[int] = set()
        self.question = self.next()

    @property
    def score(self) -> tuple[int, int]:
        """(correct answers, questions checked)."""
        return self.right, self.asked

    def next(self) -> Question:
        """Draw the next question (seeded; questions repeat only once all were asked)."""
        fresh = [q for q in self.pool if id(q) not in self._done] or self.pool
        self.question = fresh[self.rng.randrange(len(fresh))]
        return self.question

    def check(self, answer: Any) -> Result:
        """Grade ``answer`` (a number, a list, or their text) for the current question;
        unreadable text counts as wrong."""
        q = self.question
        try:
            got = parse_answer(answer)
            ok = got.shape in ((), q.expected.shape) or got.size == q.expected.size
            ok = bool(ok and np.allclose(got.reshape(-1) if got.ndim else got,
                                         q.expected.reshape(-1), rtol=self.rtol,
                                         atol=self.atol))
        except ValueError:
            ok = False
        res = Result(ok, fmt_value(q.expected), str(answer), q.explanation)
        self.right += ok
        self.asked += 1
        self.results.append(res)
        self._done.add(id(q))
        return res


def quiz(graph: Graph | Trace, feeds: Mapping[str | Node, Any] | None = None, *,
         wrt: Any = None, kind: str = "any", seed: int | None = None, rtol: float = 1e-3,
         atol: float = ATOL, **trace_options: Any) -> Quiz:
    """A :class:`Quiz` on ``gn.trace(graph, feeds, wrt=wrt, ...)`` (or on a Trace).

    ``kind``: "value" (a forward value), "local" (a local derivative), "grad" (a
    gradient through the chain rule) or "any"; ``seed`` makes the draw repeatable;
    answers within ``rtol``/``atol`` of the hidden number count as correct.
    """
    tr = graph if isinstance(graph, Trace) else trace(graph, feeds, wrt=wrt, **trace_options)
    return Quiz(tr, kind, seed, rtol, atol)


def player_questions(tr: Trace, kind: str = "any") -> tuple[list[dict[str, Any]],
                                                            dict[str, float]]:
    """The questions of :func:`candidates` as plain data for the HTML player's quiz
    (``trace.save("page.html", quiz=True)``) and the tolerances its check uses.

    >>> import graphnn as gn
    >>> with gn.Graph() as g:
    ...     x = gn.input("x"); y = (x * x).named("y")
    >>> qs, tol = player_questions(gn.trace(g, {"x": 3.0}), "value")
    >>> [(q["step"], q["expected"], q["answer"]) for q in qs], tol["rtol"]
    ([(1, [9.0], '9')], 0.001)
    """
    out = []
    for q in candidates(tr, kind):
        flat = np.asarray(q.expected, dtype=float).reshape(-1)
        out.append({"step": q.step.index, "kind": q.kind, "input": q.input,
                    "prompt": q.prompt, "explanation": q.explanation,
                    "expected": [float(v) if np.isfinite(v) else str(v) for v in flat],
                    "shape": list(np.shape(q.expected)), "answer": fmt_value(q.expected)})
    return out, {"rtol": RTOL, "atol": ATOL}


ADAPTERS["quiz_questions"] = player_questions  # graphnn.viz.player reaches the quiz here
