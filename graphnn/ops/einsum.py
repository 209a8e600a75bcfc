"""``einsum``: Einstein summation as ONE op record (``xp.einsum`` forward), with NumPy's
and PyTorch's equation syntax (``"bij,bjk->bik"``, implicit output, ``...``).

The public function validates the equation against the operands' shapes when the node is
built (errors name every operand's shape), spells ``...`` out as letters, makes the
output explicit and broadcasts size-1 axes with explicit ``broadcast_to`` nodes; the
record then only ever stores a letters-commas-arrow equation whose sizes agree exactly,
which the record's check re-validates (the equation reaches generated code as the
``repr`` of that validated string only).

Derivatives are einsums too: the cotangent of operand i is
``einsum(out, other operands..., extras -> subscripts of i)``, where a letter repeated in
operand i (a diagonal, ``"ii->i"``) is renamed and tied to its twin by an identity
matrix, and a letter summed only inside operand i (``"ij->i"``) comes from a vector of
ones: one einsum node per cotangent, differentiable again. The jvp is the sum over
operands of the equation with that operand's tangent in its place.

>>> import numpy as np
>>> einsum("ij,jk->ik", np.eye(2), np.array([[1.0, 2.0], [3.0, 4.0]]))
array([[1., 2.],
       [3., 4.]])
>>> float(einsum("ii", np.array([[1.0, 2.0], [3.0, 4.0]])))   # implicit output: trace
5.0
"""

from __future__ import annotations

import re
import string
import sys
from typing import Any

import numpy as np

from graphnn.core import ir
from graphnn.core.bind import bind
from graphnn.core.device import array_module
from graphnn.core.errors import ShapeError, describe, fmt_shape
from graphnn.core.op import Onnx, Op, register, tt

Shape = tuple[int, ...]
LETTERS = string.ascii_letters
_STORED = re.compile(r"[A-Za-z]*(,[A-Za-z]*)*->[A-Za-z]*")
_USER = re.compile(r"[A-Za-z.,\- >]*")


def _shp(o: Any) -> Shape:
    return tuple(int(v) for v in (o.shape if hasattr(o, "shape") else np.shape(o)))


def _split(eq: str) -> tuple[list[str], str]:
    ins, out = eq.split("->")
    return ins.split(","), out


def _check_stored(*shapes: Shape, equation: str = "") -> None:
    """The stored equation: letters, commas and one arrow only, one term per operand,
    every letter's size the same wherever it appears (what the public function makes)."""
    if not isinstance(equation, str) or not _STORED.fullmatch(equation):
        raise ValueError(f"einsum equation {equation!r} must be letters, commas and one "
                         "'->' (gn.einsum normalises '...' and implicit outputs)")
    _sizes(equation, shapes)


def _sizes(equation: str, shapes: tuple[Shape, ...]) -> dict[str, int]:
    terms, out = _split(equation)
    listed = ", ".join(fmt_shape(tuple(s)) for s in shapes)
    where = f"einsum({equation!r}) with operand shapes {listed}"
    if len(terms) != len(shapes):
        raise ValueError(f"{where}: the equation has {len(terms)} operand term(s) for "
                         f"{len(shapes)} operand(s)")
    size: dict[str, int] = {}
    for k, (t, s) in enumerate(zip(terms, shapes)):
        if len(t) != len(s):
            raise ValueError(f"{where}: subscripts {t!r} of operand {k} name {len(t)} "
                             f"axes, its shape {fmt_shape(tuple(s))} has {len(s)}")
        for c, n in zip(t, s):
            if size.setdefault(c, int(n)) != int(n):
                raise ValueError(f"{where}: subscript {c!r} has size {size[c]} and {n}")
    for c in out:
        if c not in size:
            raise ValueError(f"{where}: output subscript {c!r} appears in no operand")
    if len(set(out)) != len(out):
        raise ValueError(f"{where}: output subscripts {out!r} repeat a letter")
    return size


def _shape_rule(*shapes: Shape, equation: str = "") -> Shape:
    size = _sizes(equation, shapes)
    return tuple(size[c] for c in _split(equation)[1])


def _fresh(used: str, k: int) -> list[str]:
    free = [c for c in LETTERS if c not in used]
    if len(free) < k:
        raise ValueError(f"einsum: the gradient needs {k} spare letters, only {len(free)} "
                         "are left (an equation with at most 52 distinct subscripts)")
    return free[:k]


def _vjp(g: Any, out: Any, *ops: Any, equation: str = "") -> tuple[Any, ...]:
    terms, osub = _split(equation)
    size = _sizes(equation, tuple(_shp(o) for o in ops))
    dtype = np.result_type(*[getattr(o, "dtype", np.float64) for o in ops])
    cts: list[Any] = []
    for i, s in enumerate(terms):
        cts.append(lambda i=i, s=s: _cotangent(g, ops, terms, osub, i, s, size, dtype))
    return tuple(cts)


def _cotangent(g: Any, ops: tuple[Any, ...], terms: list[str], osub: str, i: int, s: str,
               size: dict[str, int], dtype: Any) -> Any:
    xp = np if isinstance(g, ir.Node) or "cupy" not in sys.modules else array_module(g)
    others = [k for k in range(len(ops)) if k != i]
    seen_elsewhere = set(osub).union(*[set(terms[k]) for k in others])
    repeats = len(s) - len(set(s))
    fresh = iter(_fresh("".join(terms) + osub, repeats))
    target, subs, args = "", [osub] + [terms[k] for k in others], [g] + [ops[k] for k in others]
    done: set[str] = set()
    for c in s:
        if c in done:  # a diagonal: a new letter tied to c by an identity matrix
            f = next(fresh)
            target += f
            subs.append(c + f)
            args.append(xp.eye(size[c], dtype=dtype))
            continue
        done.add(c)
        target += c
        if c not in seen_elsewhere:  # summed inside operand i only: broadcast back
            subs.append(c)
            args.append(xp.ones(size[c], dtype=dtype))
    return einsum_op(",".join(subs) + "->" + target, *args)


def _jvp(t: Any, out: Any, *ops: Any, equation: str = "") -> Any:
    total = None
    for i, ti in enumerate(t):
        if ti is None:
            continue
        term = einsum_op(equation, *ops[:i], ti, *ops[i + 1:])
        total = term if total is None else total + term
    return total


def _cost(*shapes: Shape, out_shape: Shape = (), equation: str = "") -> int:
    size = _sizes(equation, shapes)
    return int(np.prod([size[c] for c in size], dtype=np.int64)) * max(len(shapes) - 1, 1)


def _import_einsum(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    eq = a.get("equation", "")
    return [einsum(eq.decode() if isinstance(eq, bytes) else str(eq), *x)]


EINSUM = register(Op(
    name="einsum", label="einsum", forward=lambda xp, *ops, equation="": xp.einsum(
        equation, *ops), shape=_shape_rule, check=_check_stored, fresh=True,
    latex=r"Y = \operatorname{einsum}(X_1, X_2, \dots)",
    vjp=_vjp, jvp=_jvp, cost=_cost,
    numpy="xp.einsum({equation}, {inputs})",
    trace=tt("dX_i = einsum(dY, other operands -> X_i's subscripts)"),
    onnx=Onnx(op_type="Einsum", attrs=lambda p: {"equation": p["equation"]},
              imports={"Einsum": _import_einsum}),
    doc="Einstein summation over a letters-only equation (gn.einsum normalises '...' and "
        "implicit outputs); the gradients are einsums.",
))


def einsum_op(equation: str, *operands: Any) -> Any:
    """Bind the record to an already normalised equation (the rules' own use)."""
    return bind(EINSUM, *operands, equation=equation)


def _fail(equation: str, operands: tuple[Any, ...], msg: str) -> Exception:
    shapes = ", ".join(fmt_shape(_shp(o)) for o in operands)
    text = f"einsum({equation!r}): {msg} (operand shapes: {shapes})"
    nodes = [o for o in operands if isinstance(o, ir.Node)]
    if nodes:
        return ShapeError(text + "".join(f"\n  operand: {describe(o)}" for o in nodes),
                          node=nodes[0])
    return ValueError(text)


def normalize(equation: str, shapes: list[Shape]) -> tuple[str, list[Shape], Shape]:
    """(letters-only explicit equation, the shape each operand broadcasts to, the shape
    every letter has) for ``equation`` on operands of ``shapes``; ValueError explains."""
    if not isinstance(equation, str):
        raise TypeError(f"the equation must be a string, got {type(equation).__name__}")
    if not _USER.fullmatch(equation):
        bad = sorted(set(re.sub(r"[A-Za-z.,\- >]", "", equation)))
        raise ValueError(f"invalid character(s) {''.join(bad)!r}: subscripts are letters "
                         "a-z A-Z, with ',' between operands, '->' and '...'")
    eq = equation.replace(" ", "")
    if eq.count("->") > 1 or eq.replace("->", "").count("-") or eq.replace("->", "").count(">"):
        raise ValueError("the equation may hold one '->' and no other '-' or '>'")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"the equation has {len(terms)} operand term(s) for {len(shapes)} "
                         "operand(s)")
    parsed: list[tuple[str, str, bool]] = []  # (before ..., after ..., has ...)
    for t in terms + ([rhs] if arrow else []):
        head, dots, tail = t.partition("...")
        if "." in head + tail:
            raise ValueError(f"'.' may only appear as '...' (once per term), in {t!r}")
        parsed.append((head, tail, bool(dots)))
    used = "".join(h + t for h, t, _ in parsed)
    nell = []
    for k, ((head, tail, dots), s) in enumerate(zip(parsed, shapes)):
        n = len(s) - len(head) - len(tail)
        if n < 0 or (n and not dots):
            raise ValueError(f"subscripts {terms[k]!r} of operand {k} do not fit its shape "
                             f"{fmt_shape(s)} ({len(head) + len(tail)} letters for "
                             f"{len(s)} axes)")
        nell.append(n)
    ne = max(nell, default=0)
    ell = "".join(_fresh(used, ne)) if ne else ""
    ins = [h + ell[ne - n:] + t for (h, t, _), n in zip(parsed, nell)]
    counts: dict[str, int] = {}
    for t in ins:
        for c in t:
            counts[c] = counts.get(c, 0) + 1
    if arrow:
        head, tail, dots = parsed[-1]
        if ne and not dots:
            raise ValueError("the operands have '...' axes but the output names none; "
                             "write '...' in the output")
        out = head + (ell if dots else "") + tail
        for c in out:
            if c not in counts:
                raise ValueError(f"output subscript {c!r} appears in no operand")
        if len(set(out)) != len(out):
            raise ValueError(f"output subscripts {rhs!r} repeat a letter")
    else:
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    size: dict[str, int] = {}
    for k, (t, s) in enumerate(zip(ins, shapes)):
        own: dict[str, int] = {}
        for c, n in zip(t, s):
            if own.setdefault(c, n) != n:
                raise ValueError(f"subscript {c!r} is repeated in operand {k} with sizes "
                                 f"{own[c]} and {n} (a diagonal needs equal sizes)")
            if size.get(c, 1) == 1 or n == 1 or size[c] == n:
                size[c] = max(size.get(c, 1), n) if n != 0 and size.get(c) != 0 else 0
            else:
                what = "subscript" if c not in ell else "'...' axis"
                raise ValueError(f"{what} {c!r} has size {size[c]} in one operand and {n} in "
                                 f"operand {k}; sizes must agree (or be 1 to broadcast)")
    targets = [tuple(size[c] for c in t) for t in ins]
    return ",".join(ins) + "->" + out, targets, tuple(size[c] for c in out)


def einsum(equation: str, *operands: Any, name: str | None = None) -> Any:
    """Einstein summation (``numpy.einsum`` / ``torch.einsum``): ``"ij,jk->ik"`` is a
    matrix product, ``"bij,bjk->bik"`` a batched one, ``"ii->i"`` a diagonal, ``"ij->"``
    a sum; without ``->`` the output is the letters used once, sorted; ``...`` stands for
    broadcast axes. Operands may also be given as one list (``einsum(eq, [a, b])``).
    Errors (bad letters, a term per operand, sizes) name every operand's shape.

    >>> import numpy as np
    >>> einsum("...i,...i->...", np.ones((2, 3)), np.arange(3.0))   # batched dot
    array([3., 3.])
    >>> einsum("i,j", np.array([1.0, 2.0]), np.array([3.0, 4.0]))   # outer product
    array([[3., 4.],
           [6., 8.]])
    """
    from graphnn.ops.linalg import broadcast_to

    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError(f"einsum({equation!r}): needs at least one operand")
    shapes = [_shp(o) for o in operands]
    try:
        eq, targets, _ = normalize(equation, shapes)
    except (TypeError, ValueError) as e:
        raise _fail(str(equation), operands, str(e)) from None
    ops = [o if s == t else broadcast_to(o, t) for o, s, t in zip(operands, shapes, targets)]
    return bind(EINSUM, *ops, equation=eq, name=name)


__all__ = ["einsum"]
