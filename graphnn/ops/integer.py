"""Integer and bit ops: floor_divide, remainder, bitwise and/or/xor/not, and cast.

Integer and bool tensors are ordinary values (inputs, constants, results of comparisons
and of these ops); gradients flow through floating point only (``gn.grad`` w.r.t. an
integer node is an error). PyTorch's semantics: ``floor_divide`` rounds toward -inf,
``remainder`` takes the divisor's sign (Python's ``%``), bitwise ops take integer or bool
operands, ``cast`` converts like ``Tensor.to(dtype)`` (float -> int truncates toward 0).

C has no operator for a flooring division or a divisor-signed remainder that works for
both integer and floating operands, so these two records say ``cuda=Unsupported``: they
are never fused and run as their own ``cupy.floor_divide`` / ``cupy.remainder`` call.

>>> import graphnn as gn, numpy as np
>>> with gn.Graph() as g:
...     a = gn.input("a", shape=(4,), dtype="int64")
...     q, r = (a // 3).named("q"), (a % 3).named("r")
>>> run = gn.run(g, {"a": np.array([-7, -1, 5, 9])})
>>> run.value("q").tolist(), run.value("r").tolist()
([-3, -1, 1, 3], [2, 2, 2, 0])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphnn.core import shapes as S
from graphnn.core.bind import bind
from graphnn.core.op import Onnx, Op, Unsupported, register, tt

_NO_C = Unsupported("C's / and % truncate toward zero for integers and have no floating "
                    "form; the op runs as its own CuPy call, unfused")
_PIECEWISE = "piecewise constant: its derivative is 0 almost everywhere (as PyTorch, no gradient)"


# -- floor_divide, remainder ----------------------------------------------------------------


def _export_floor_divide(ex: Any, n: Any) -> None:
    a, b = (i.name for i in n.inputs)
    a, b = (_cast_to(ex, n, i, k) for k, i in enumerate((a, b)))
    if n.dtype.kind == "f":
        q = ex.emit("Div", [a, b], ex.name(n.name + "__div"))
        ex.emit("Floor", [q], n.name)
    else:  # ONNX Mod with fmod=0 is Python's % for integers: (a - a % b) / b is exact
        m = ex.emit("Mod", [a, b], ex.name(n.name + "__mod"), fmod=0)
        d = ex.emit("Sub", [a, m], ex.name(n.name + "__sub"))
        ex.emit("Div", [d, b], n.name)


def _export_remainder(ex: Any, n: Any) -> None:
    a, b = (_cast_to(ex, n, i.name, k) for k, i in enumerate(n.inputs))
    if n.dtype.kind == "f":  # a - floor(a / b) * b
        q = ex.emit("Floor", [ex.emit("Div", [a, b], ex.name(n.name + "__div"))],
                    ex.name(n.name + "__floor"))
        ex.emit("Sub", [a, ex.emit("Mul", [q, b], ex.name(n.name + "__mul"))], n.name)
    else:
        ex.emit("Mod", [a, b], n.name, fmod=0)


def _cast_to(ex: Any, n: Any, name: str, k: int) -> str:
    """Input ``k`` in the output's dtype (ONNX arithmetic takes equal types)."""
    if n.inputs[k].dtype == n.dtype:
        return name
    return ex.emit("Cast", [name], ex.name(f"{n.name}__in{k}"), to=ex.elem(n.dtype))


def _import_mod(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    if int(a.get("fmod", 0)):
        raise im.unsupported("Mod with fmod=1 (C's fmod; graphnn's remainder is Python's %)")
    return [remainder(x[0], x[1])]


FLOOR_DIVIDE = register(Op(
    name="floor_divide", label="//", elementwise=True, shape=S.elementwise,
    forward=lambda xp, a, b: xp.floor_divide(a, b),
    deriv=lambda out, a, b: (None, None), nondiff=(0, 1),
    trace=tt("no derivative (" + _PIECEWISE + ")"),
    sympy=lambda sp, a, b: sp.floor(a / b),
    numpy="xp.floor_divide({0}, {1})", inplace=("xp.floor_divide({0}, {1}, out={out})",),
    numexpr=Unsupported("numexpr has no floor division"), cuda=_NO_C,
    onnx=Onnx(export=_export_floor_divide, imports=Unsupported(
        "ONNX has no floor division: graphnn exports it as Floor(Div) / Div(Sub(a, Mod))")),
    doc="a // b, rounded toward -inf (PyTorch's floor_divide; no gradient)"))
REMAINDER = register(Op(
    name="remainder", label="%", elementwise=True, shape=S.elementwise,
    forward=lambda xp, a, b: xp.remainder(a, b),
    deriv=lambda out, a, b: (1.0, lambda: -floor_divide(a, b)),
    sympy=lambda sp, a, b: a - b * sp.floor(a / b),
    numpy="xp.remainder({0}, {1})", inplace=("xp.remainder({0}, {1}, out={out})",),
    numexpr=Unsupported("numexpr has no flooring remainder"), cuda=_NO_C,
    onnx=Onnx(export=_export_remainder, imports={"Mod": _import_mod}),
    doc="a % b with the sign of b (Python's %, PyTorch's remainder); d/da = 1, "
        "d/db = -floor(a / b)"))


def floor_divide(a: Any, b: Any, *, name: str | None = None) -> Any:
    """``a // b`` rounded toward -inf (``torch.floor_divide``); ``a // b`` on nodes.

    >>> import numpy as np
    >>> floor_divide(np.array([-7, 7]), 2)
    array([-4,  3])
    """
    return bind(FLOOR_DIVIDE, a, b, name=name)


def remainder(a: Any, b: Any, *, name: str | None = None) -> Any:
    """``a % b`` with the sign of ``b`` (``torch.remainder``); ``a % b`` on nodes.

    >>> import numpy as np
    >>> remainder(np.array([-7.0, 7.0]), 3.0)
    array([2., 1.])
    """
    return bind(REMAINDER, a, b, name=name)


# -- bitwise ops ----------------------------------------------------------------------------


def _bit_dtype(*dtypes: Any, **_: Any) -> Any:
    dt = np.result_type(*dtypes)
    if dt.kind not in "biu":
        raise ValueError(f"bitwise ops take integer or bool operands, got {dt}")
    return dt


def _export_bitwise(onnx_type: str, bool_type: str) -> Any:
    def export(ex: Any, n: Any) -> None:
        ins = [_cast_to(ex, n, i.name, k) for k, i in enumerate(n.inputs)]
        ex.emit(bool_type if n.dtype == bool else onnx_type, ins, n.name)
    return export


def _bitwise(name: str, ufunc: str, c_op: str, onnx_type: str, bool_type: str,
             doc: str) -> Op:
    unary = name == "bitwise_not"
    return register(Op(
        name=name, label=c_op, elementwise=True, shape=S.same if unary else S.elementwise,
        dtype=_bit_dtype,
        forward=(lambda xp, a: getattr(xp, ufunc)(a)) if unary else
        (lambda xp, a, b: getattr(xp, ufunc)(a, b)),
        vjp=(lambda g, out, a: (None,)) if unary else (lambda g, out, a, b: (None, None)),
        jvp=lambda t, out, *a: None, nondiff=(0,) if unary else (0, 1),
        trace=tt("no derivative (integer or bool values)"),
        sympy=Unsupported("sympy has no bitwise operators on integers"),
        numpy=f"xp.{ufunc}({{0}})" if unary else f"xp.{ufunc}({{0}}, {{1}})",
        inplace=(f"xp.{ufunc}({{0}}, out={{out}})",) if unary else
        (f"xp.{ufunc}({{0}}, {{1}}, out={{out}})",),
        numexpr=Unsupported("numexpr's bit operators take bool operands only"),
        # x ^ all-ones: ~x for an integer, !x for a bool (C's ~true is -2, which is true)
        cuda="(({0}) ^ (decltype({0}))(-1))" if unary else
        f"(({{0}}) {c_op} ({{1}}))",
        onnx=Onnx(export=_export_bitwise(onnx_type, bool_type),
                  imports={onnx_type: None}),
        doc=doc))


BITWISE_AND = _bitwise("bitwise_and", "bitwise_and", "&", "BitwiseAnd", "And",
                       "a & b on integer or bool values (no gradient)")
BITWISE_OR = _bitwise("bitwise_or", "bitwise_or", "|", "BitwiseOr", "Or",
                      "a | b on integer or bool values (no gradient)")
BITWISE_XOR = _bitwise("bitwise_xor", "bitwise_xor", "^", "BitwiseXor", "Xor",
                       "a ^ b on integer or bool values (no gradient)")
BITWISE_NOT = _bitwise("bitwise_not", "invert", "~", "BitwiseNot", "Not",
                       "~a: bit complement of an integer, logical not of a bool")


def bitwise_and(a: Any, b: Any, *, name: str | None = None) -> Any:
    """``a & b`` for integer or bool values (``torch.bitwise_and``); ``a & b`` on nodes.

    >>> import numpy as np
    >>> bitwise_and(np.array([6, 3]), np.array([3, 3]))
    array([2, 3])
    """
    return bind(BITWISE_AND, a, b, name=name)


def bitwise_or(a: Any, b: Any, *, name: str | None = None) -> Any:
    """``a | b`` for integer or bool values; ``a | b`` on nodes.

    >>> import numpy as np
    >>> bitwise_or(np.array([4, 1]), 2)
    array([6, 3])
    """
    return bind(BITWISE_OR, a, b, name=name)


def bitwise_xor(a: Any, b: Any, *, name: str | None = None) -> Any:
    """``a ^ b`` for integer or bool values; ``a ^ b`` on nodes.

    >>> import numpy as np
    >>> bitwise_xor(np.array([True, False]), True)
    array([False,  True])
    """
    return bind(BITWISE_XOR, a, b, name=name)


def bitwise_not(a: Any, *, name: str | None = None) -> Any:
    """``~a``: the bit complement of an integer, the negation of a bool; ``~a`` on nodes.

    >>> import numpy as np
    >>> bitwise_not(np.array([0, 5])), bitwise_not(np.array([True, False]))
    (array([-1, -6]), array([False,  True]))
    """
    return bind(BITWISE_NOT, a, name=name)


# -- cast -----------------------------------------------------------------------------------

_CASTS = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64")


def _cast_check(a: S.Shape, dtype: str = "float64") -> None:
    if dtype not in _CASTS:
        raise ValueError(f"cast: dtype must be one of {', '.join(_CASTS)}, got {dtype!r}")


def _cast_vjp(g: Any, out: Any, a: Any, dtype: str = "float64") -> tuple[Any]:
    if np.dtype(dtype).kind != "f" or np.dtype(a.dtype).kind != "f":
        return (None,)
    return (lambda: cast(g, np.dtype(a.dtype).name),)


def _cast_jvp(t: Any, out: Any, a: Any, dtype: str = "float64") -> Any:
    if t[0] is None or np.dtype(dtype).kind != "f":
        return None
    return cast(t[0], dtype)


def _cast_sympy(sp: Any, a: Any, dtype: str = "float64") -> Any:
    kind = np.dtype(dtype).kind
    if kind == "f":
        return a
    if kind == "b":
        return sp.Piecewise((1, sp.Ne(a, 0)), (0, True))
    return sp.sign(a) * sp.floor(sp.Abs(a))  # toward zero


def _import_cast(im: Any, n: Any, x: list[Any], a: dict[str, Any]) -> list[Any]:
    to = np.dtype(im.onnx.helper.tensor_dtype_to_np_dtype(a["to"]))
    if to.name not in _CASTS:
        raise im.unsupported(f"Cast to {to}")
    return [x[0] if to == x[0].dtype else cast(x[0], to.name)]


CAST = register(Op(
    name="cast", label="cast", elementwise=True, shape=S.same, check=_cast_check,
    dtype=lambda a, dtype="float64": np.dtype(dtype),
    forward=lambda xp, a, dtype="float64": xp.asarray(a).astype(dtype),
    vjp=_cast_vjp, jvp=_cast_jvp,
    trace=tt("dX = dY cast back to X's dtype (float to float; no gradient through an "
             "integer or bool result)"),
    sympy=_cast_sympy,
    numpy="xp.asarray({0}).astype({dtype})", fresh=True,
    inplace=("xp.copyto({out}, {0}, casting='unsafe')",),
    numexpr=Unsupported("numexpr has no cast"),
    cuda="({0})",  # every fused member is a C variable of its own type: assignment converts
    onnx=Onnx(export=lambda ex, n: ex.emit("Cast", [n.inputs[0].name], n.name,
                                           to=ex.elem(n.dtype)),
              imports={"Cast": _import_cast}),
    doc="a converted to dtype (PyTorch's Tensor.to(dtype)): float -> int truncates toward "
        "0, nonzero -> True; the gradient flows float to float only"))


def cast(a: Any, dtype: Any, *, name: str | None = None) -> Any:
    """``a`` converted to ``dtype`` (``Tensor.to(dtype)``; also ``node.to(dtype)``).

    >>> import numpy as np
    >>> cast(np.array([-1.7, 0.0, 2.9]), "int64"), cast(np.array([0.0, 2.0]), "bool")
    (array([-1,  0,  2]), array([False,  True]))
    """
    return bind(CAST, a, dtype=np.dtype(dtype).name, name=name)
