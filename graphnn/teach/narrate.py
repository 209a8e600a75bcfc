"""Chain-rule narratives for trace steps, in the lectures' notation.

Totals are written with the differentiated output's name (``∂f/∂d``: the gradient of
``f`` w.r.t. ``d`` through the whole graph); local derivatives of one node w.r.t. one
input are marked ``local`` (``local ∂f/∂d = z = 4``). Every backward step states its
upstream gradient (the first one the seed, saying what is differentiated), then for each
input the local derivative (formula and value) and the product; a fan-out sum lists
each term.

>>> import graphnn as gn
>>> with gn.Graph("lecture") as g:
...     x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
...     d = (x + y).named("d")
...     f = (d * z).named("f")
>>> t = gn.trace(g, {"x": 1, "y": -3, "z": 4})
>>> print(t[5].text)
seed ∂f/∂f = 1   (L = f: the output being differentiated)
local ∂f/∂d = z = 4
∂f/∂d = ∂f/∂f · local ∂f/∂d = 1 · 4 = 4
local ∂f/∂z = d = -2
∂f/∂z = ∂f/∂f · local ∂f/∂z = 1 · (-2) = -2
>>> print(t[5])
step 6 of 7  backward vjp at f = d * z: seed ∂f/∂f = 1; ∂f/∂d = 1 · 4 = 4; ∂f/∂z = 1 · (-2) = -2
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from graphnn.teach.numfmt import fmt_num, fmt_value, is_scalar, paren
from graphnn.teach.tracefmt import forward_text, latex_name, latex_value, node_expr

if TYPE_CHECKING:  # pragma: no cover
    from graphnn.teach.trace import Step

# per node: step indices and (consumer, contribution) of its gradient terms, and the
# indices of its accumulate steps
FanIn = tuple[list[int], list[tuple[str, Any]], list[int]]


def loss_name(step: Step) -> str:
    """The name of the differentiated output (``L`` when the trace has none)."""
    tr = step.trace
    return tr.loss.name if tr is not None and tr.loss is not None else "L"


def total(step: Step, of: str) -> str:
    """``∂f/∂d``: the total gradient of the loss w.r.t. node ``of``."""
    return f"∂{loss_name(step)}/∂{of}"


def local_sym(step: Step, inp: str) -> str:
    """``local ∂f/∂d``: the local derivative of this step's node w.r.t. ``inp``."""
    return f"local ∂{step.node.name}/∂{inp}"


def is_seed(step: Step) -> bool:
    """True for the first backward step: its upstream gradient is the seed."""
    tr = step.trace
    return tr is not None and step.kind == "vjp" and tr.first_vjp is step


def upstream_line(step: Step) -> str:
    """``upstream ∂f/∂d = 4``, or the seed line for the first backward step."""
    g = f"{total(step, step.node.name)} = {fmt_value(step.upstream)}"
    if is_seed(step):
        L = loss_name(step)
        return f"seed {g}   ({'' if L == 'L' else f'L = {L}: '}the output being differentiated)"
    return f"upstream {g}"


def local_line(step: Step, k: int) -> str:
    """``local ∂f/∂d = z = 4``: the formula of the local derivative and its value."""
    inp = step.inputs[k]
    locs, lvals = step.local, step.local_value
    loc = locs[k] if k < len(locs) else None
    lv = lvals[k] if k < len(lvals) else None
    value = "" if lv is None else fmt_value(lv)
    if loc is None:
        return f"{local_sym(step, inp.name)} = {value or '?'}"
    if loc.expr is None:  # a rule such as "dA = dY @ B^T  [A = W]"
        return f"{local_sym(step, inp.name)}: {loc.text}"
    expr = loc.expr
    same = lv is not None and _is_number(expr) and _all_equal(lv, float(expr))
    tail = f" = {value}" if value and value != expr and not same else ""
    return f"{local_sym(step, inp.name)} = {expr}{tail}"


def _all_equal(v: Any, x: float) -> bool:
    """True when every entry of ``v`` equals ``x`` (fast for scalars)."""
    a = np.asarray(v)
    return bool(a == x) if a.ndim == 0 else bool(np.all(a == x))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def product_line(step: Step, k: int, short: bool = False) -> str:
    """``∂f/∂d = ∂f/∂f · local ∂f/∂d = 1 · 4 = 4`` (upstream times local = total);
    ``short`` leaves out the symbols (``∂f/∂d = 1 · 4 = 4``)."""
    inp, c = step.inputs[k], step.contributions[k]
    tr = step.trace
    via = f" (via {step.node.name})" if tr is not None and tr.partial(inp) else ""
    lhs = total(step, inp.name) + via
    syms = f"{total(step, step.node.name)} · {local_sym(step, inp.name)}"
    lv = step.local_value[k] if k < len(step.local_value) else None
    if lv is not None and is_scalar(step.upstream) and is_scalar(c) and is_scalar(lv):
        nums = f"{paren(fmt_num(step.upstream))} · {paren(fmt_num(lv))} = {fmt_num(c)}"
    elif lv is not None:  # an elementwise op: the Jacobian is diagonal, multiply entries
        syms = syms.replace(" · ", " ⊙ ")
        nums = f"{fmt_value(step.upstream)} ⊙ {fmt_value(lv)} = {fmt_value(c)}"
    else:
        nums = fmt_value(c)
    return f"{lhs} = {nums}" if short else f"{lhs} = {syms} = {nums}"


def backward_lines(step: Step) -> list[str]:
    """The upstream (or seed) line, then per input its local derivative and product."""
    lines = [upstream_line(step)]
    for k, c in enumerate(step.contributions):
        if c is not None:
            lines += [local_line(step, k), product_line(step, k)]
    return lines


def summary(step: Step) -> str:
    """One line for a backward step: upstream, then the products (tables, lists)."""
    up = upstream_line(step).split("   (")[0]
    parts = [product_line(step, k, short=True) for k, c in enumerate(step.contributions)
             if c is not None]
    return "; ".join([up, *parts])


def fan_in_terms(step: Step) -> list[tuple[str, Any]]:
    """The (consumer name, contribution) terms summed so far at an accumulate step."""
    tr = step.trace
    return [] if tr is None else tr.fan_in(step)


def fan_in_index(steps: list[Step]) -> dict[int, FanIn]:
    """Per node id: the step indices and (consumer, contribution) terms of the gradient
    contributions it receives, and the indices of its accumulate steps (ascending)."""
    index: dict[int, FanIn] = {}
    for s in steps:
        if s.kind == "vjp":
            for i, c in zip(s.inputs, s.contributions):
                if c is not None:
                    at, terms, _ = index.setdefault(i.id, ([], [], []))
                    at.append(s.index)
                    terms.append((s.node.name, c))
        elif s.kind == "accumulate":
            index.setdefault(s.node.id, ([], [], []))[2].append(s.index)
    return index


def accumulate_text(step: Step) -> str:
    """``fan-out sum ∂f/∂x = 3 (via mul) + 1 (via add) = 4`` (each term shown)."""
    terms = fan_in_terms(step)
    if len(terms) < 2:
        src = step.source.name if step.source is not None else "?"
        terms = [("earlier", step.previous), (src, step.contribution)]
    sum_txt = " + ".join(f"{paren(fmt_value(c))} (via {n})" for n, c in terms)
    return f"fan-out sum {total(step, step.node.name)} = {sum_txt} = {fmt_value(step.total)}"


def tangent_text(step: Step) -> str:
    """Forward mode: ``ḋ = ∂d/∂x·ẋ + ∂d/∂y·ẏ = 1·1 + 1·0 = 1`` for scalar nodes."""
    n = step.node
    dot = f"{n.name}\u0307"
    if n.op.leaf:
        return f"{dot} = {fmt_value(step.tangent) if step.tangent is not None else '0'}"
    terms, nums = [], []
    lvals = step.local_value
    for k, inp in enumerate(n.inputs):
        t = step.input_tangents[k] if k < len(step.input_tangents) else None
        if t is None:
            continue
        terms.append(f"∂{n.name}/∂{inp.name}·{inp.name}\u0307")
        lv = lvals[k] if k < len(lvals) else None
        if lv is not None and is_scalar(lv) and is_scalar(t):
            nums.append(f"{paren(fmt_num(lv))}·{paren(fmt_num(t))}")
    if not terms:
        return f"{dot} = 0"
    num = f" = {' + '.join(nums)}" if len(nums) == len(terms) else ""
    return f"{dot} = {' + '.join(terms)}{num} = {fmt_value(step.tangent)}"


def step_text(step: Step) -> str:
    """The one-line description ``str(step)`` returns (``step 4 of 7  forward eval ...``)."""
    tr = step.trace
    of = f" of {len(tr)}" if tr is not None else ""
    head = f"step {step.number}{of}  {step.phase} {step.kind}"
    if step.kind == "eval":
        body = forward_text(step)
        if tr is not None and tr.mode == "forward":
            body += "   |   " + tangent_text(step)
        return f"{head}  {body}"
    if step.kind == "accumulate":
        return f"{head}  {accumulate_text(step)}"
    return f"{head} at {step.node.name} = {node_expr(step.node)}: {summary(step)}"


def _frac(top: str, bottom: str) -> str:
    return r"\frac{\partial " + top + r"}{\partial " + bottom + "}"


def backward_latex(step: Step) -> str:
    """The backward step in LaTeX: totals as fractions, locals marked ``local``."""
    L, n = latex_name(loss_name(step)), latex_name(step.node.name)
    up = _frac(L, n) + " = " + latex_value(step.upstream)
    parts = [(r"\text{seed } " if is_seed(step) else "") + up]
    for k, (inp, c) in enumerate(zip(step.inputs, step.contributions)):
        if c is None:
            continue
        i = latex_name(inp.name)
        loc = r"\mathrm{local}\," + _frac(n, i)
        lv = step.local_value[k]
        nums = latex_value(c)
        if is_scalar(step.upstream) and is_scalar(c) and lv is not None and is_scalar(lv):
            nums = f"{fmt_num(step.upstream)} \\cdot {paren(fmt_num(lv))} = {fmt_num(c)}"
        parts.append(f"{_frac(L, i)} = {_frac(L, n)} \\cdot {loc} = {nums}")
    return r",\quad ".join(parts)


def accumulate_latex(step: Step) -> str:
    """A fan-out sum in LaTeX, each term shown."""
    terms = fan_in_terms(step) or [("", step.previous), ("", step.contribution)]
    body = " + ".join(latex_value(c) if not latex_value(c).startswith("-")
                      else f"({latex_value(c)})" for _, c in terms)
    L, name = latex_name(loss_name(step)), latex_name(step.node.name)
    return f"{_frac(L, name)} = {body} = {latex_value(step.total)}"
