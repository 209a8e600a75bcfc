"""The optimizer's update compiled into the step: ``gn.compile(..., optimizer=opt)``.

An optimizer that can be fused describes its per-param update as an :class:`UpdateRule`:
a few assignments over the param ``w``, its gradient ``g``, state buffers (momenta: one
array per param, shaped like it, kept between steps) and runtime scalars (``lr``, betas,
bias corrections...). The expressions use ``+ - * /``, ``sqrt(...)`` and names only, so
one text is both Python (NumPy: a helper function updating the arrays in place) and C
(CuPy: one multi-tensor ``ElementwiseKernel`` over all the params of a dtype, each
param's segment reading its gradient and writing the param and its state in place).
Hyperparameter VALUES never become code: every scalar is an argument read from the
optimizer at each step (an lr schedule works), and the rule's text comes from the
optimizer class, never from user data.

The update runs only when the loss is finite (a device-side test on CuPy: no host sync),
so a step that produces NaN leaves the params as they were, as the unfused path does.

>>> r = UpdateRule("sgd", scalars=("lr",), state=(), steps=(("w", "w - lr * g"),))
>>> r.python_lines(), r.c_lines("double")
(['w[...] = w - lr * g'], ['w = w - lr * g;'])
"""

from __future__ import annotations

import ast
import keyword
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from graphnn.core.errors import GraphError
from graphnn.core.ir import PARAM, Node

#: Rules already checked (their fields): a handful per process, one per optimizer setup.
_CHECKED: set[tuple[object, ...]] = set()
#: Names a rule may not use: C/CuPy kernel internals and the loss guard's input.
_TAKEN = {"i", "L", "xp", "np", "sqrt", "isfinite", "_ind"}


@dataclass(frozen=True)
class UpdateRule:
    """One optimizer's in-place update of a param, as text both Python and C read.

    ``scalars``: runtime scalar argument names, in order; ``state``: per-param buffer
    names, in order (their initial values come from the optimizer at run time);
    ``steps``: ``(target, expression)`` assignments in order; a target is ``w``, a state
    buffer, or a new local name. ``name`` labels the generated helper / kernel."""

    name: str
    scalars: tuple[str, ...]
    state: tuple[str, ...]
    steps: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        # optimizers make their rule at every step (to notice a hyperparameter switched
        # on or off): check each distinct rule once, not its ``ast`` per step
        key = (self.name, self.scalars, self.state, self.steps)
        if key not in _CHECKED:
            self.check()
            _CHECKED.add(key)

    def check(self) -> None:
        """GraphError unless every name is an identifier of the rule and every expression
        is arithmetic (``+ - * /``, unary ``-``, ``sqrt``, numbers) over known names."""
        if not self.name.isidentifier() or not self.name.isascii():
            raise GraphError(f"update rule name {self.name!r} is not an identifier")
        known = {"w", "g", *self.scalars, *self.state}
        for n in known:
            if (not n.isidentifier() or not n.isascii() or keyword.iskeyword(n)
                    or n in _TAKEN or n.startswith("_")):
                raise GraphError(f"update rule {self.name}: bad name {n!r}")
        if len(known) != 2 + len(self.scalars) + len(self.state):
            raise GraphError(f"update rule {self.name}: names repeat")
        for target, expr in self.steps:
            _check_expr(self.name, expr, known)
            if target not in known:
                if (not target.isidentifier() or not target.isascii() or target in _TAKEN
                        or target.startswith("_") or keyword.iskeyword(target)):
                    raise GraphError(f"update rule {self.name}: bad local {target!r}")
                known.add(target)
            elif target in ("g", *self.scalars):
                raise GraphError(f"update rule {self.name}: {target!r} is read-only")

    def locals(self) -> list[str]:
        outer = {"w", *self.state}
        return [t for t, _ in self.steps if t not in outer]

    def python_lines(self) -> list[str]:
        """The NumPy statements (state and param written in place with ``[...] =``)."""
        inplace = {"w", *self.state}
        return [f"{t}[...] = {_py(e)}" if t in inplace else f"{t} = {_py(e)}"
                for t, e in self.steps]

    def c_lines(self, ctype: str) -> list[str]:
        """The C statements of the kernel body (locals declared with ``ctype``)."""
        seen: set[str] = set()
        out = []
        for t, e in self.steps:
            decl = f"{ctype} " if t not in ("w", *self.state) and t not in seen else ""
            seen.add(t)
            out.append(f"{decl}{t} = {_c(e)};")
        return out


def _check_expr(rule: str, expr: str, known: set[str]) -> None:
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        raise GraphError(f"update rule {rule}: cannot read {expr!r}") from None
    for node in ast.walk(tree):
        ok = isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Add, ast.Sub,
                               ast.Mult, ast.Div, ast.USub, ast.Load))
        if isinstance(node, ast.Name):
            ok = node.id in known or node.id == "sqrt"
        elif isinstance(node, ast.Constant):
            ok = type(node.value) in (int, float)
        elif isinstance(node, ast.Call):
            ok = (isinstance(node.func, ast.Name) and node.func.id == "sqrt"
                  and len(node.args) == 1 and not node.keywords)
        if not ok:
            raise GraphError(f"update rule {rule}: {expr!r} may use + - * /, sqrt(), "
                             f"numbers and the rule's names only")


def _py(expr: str) -> str:
    return ast.unparse(_Rewrite(True).visit(ast.parse(expr, mode="eval")))


def _c(expr: str) -> str:
    """C reads the same text (its precedence of + - * / and unary - is Python's); numbers
    are written as floats, so ``1/2`` divides as in Python."""
    return ast.unparse(_Rewrite(False).visit(ast.parse(expr, mode="eval")))


class _Rewrite(ast.NodeTransformer):
    """``sqrt`` -> ``xp.sqrt`` (Python); every number a float literal."""

    def __init__(self, python: bool) -> None:
        self.python = python

    def visit_Name(self, node: ast.Name) -> Any:  # noqa: N802 - ast's visitor name
        if node.id == "sqrt" and self.python:
            return ast.Attribute(value=ast.Name("xp", ast.Load()), attr="sqrt", ctx=ast.Load())
        return node

    def visit_Constant(self, node: ast.Constant) -> Any:  # noqa: N802
        return ast.Constant(float(node.value))


class FusedOptimizer(Protocol):
    """What ``gn.compile(..., optimizer=)`` needs from an optimizer (gn.optim's SGD, Adam,
    Adagrad and RMSprop provide it): its rule (None: it cannot be fused) and, once per
    step, each param's runtime scalars and state buffers."""

    def fused_rule(self) -> UpdateRule | None: ...

    def fused_step(self, params: Sequence[tuple[Any, Any]]
                   ) -> list[tuple[tuple[float, ...], tuple[Any, ...]]]: ...


def fused_rule_of(optimizer: Any) -> UpdateRule | None:
    """The optimizer's :class:`UpdateRule`, or None when it has none (the step then
    returns gradients and the optimizer updates afterwards)."""
    fn = getattr(optimizer, "fused_rule", None)
    return fn() if callable(fn) else None


def step_rule(optimizer: Any, wrt: Sequence[Node], loss: Node | None) -> UpdateRule | None:
    """The optimizer's update rule, checked against the step ``gn.compile`` is making
    (GraphError when it cannot be compiled in); None without an optimizer."""
    if optimizer is None:
        return None
    rule = fused_rule_of(optimizer)
    if rule is None:
        raise GraphError(f"{type(optimizer).__name__} has no fused update (fused_rule() is "
                         "None): compile without optimizer= and call opt.step(result)")
    if not wrt or loss is None:
        raise GraphError("compile(optimizer=...) needs wrt= params and a loss")
    for w in wrt:
        if w.op is not PARAM or w.dtype.kind != "f":
            raise GraphError(f"compile(optimizer=...): {w.name!r} is not a float param",
                             node=w)
    return rule


@dataclass
class UpdatePlan:
    """What a compiled step with a fused update needs at run time: the optimizer, the
    rule it was compiled with, and the params it updates (source-graph nodes, in the
    order of the generated function's update argument)."""

    optimizer: Any
    rule: UpdateRule
    params: list[Any]

    def arguments(self, values: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Per param: its scalars then its state buffers (one optimizer step begins)."""
        now = fused_rule_of(self.optimizer)
        if now != self.rule:
            raise GraphError(f"the optimizer's update changed since it was compiled "
                             f"({self.rule.name} -> {now.name if now else 'unfused'}: a "
                             "hyperparameter switched on or off); compile the step again")
        per = self.optimizer.fused_step(list(zip(self.params, values)))
        return [(*s, *b) for s, b in per]


__all__ = ["FusedOptimizer", "UpdatePlan", "UpdateRule", "fused_rule_of", "step_rule"]
