"""The support matrix: for every op and every capability, the rule that provides it, or
the reason it cannot exist. Read from the op records alone (nothing here is keyed by op
name); tests/test_support_matrix.py exercises every rule it reports numerically, and
docs/ops.md prints it.

A status is ``"rule"`` (the record has it), ``"derived: <from what>"`` (graphnn derives it
from another rule of the record) or an :class:`Unsupported` with its reason; ``None``
would be a gap, which the tests reject.

>>> import graphnn as gn
>>> capabilities(gn.REGISTRY["exp"])["cupy"]
'rule'
>>> capabilities(gn.REGISTRY["matmul"])["numpy_inplace"].reason
'not elementwise: one NumPy call per node'
"""

from __future__ import annotations

from typing import Any

from graphnn.core.op import Op, TraceText, Unsupported, supported

CAPABILITIES = ("run", "grad", "jvp", "trace_text", "to_sympy", "from_sympy", "numpy",
                "numpy_inplace", "numexpr", "cupy", "onnx_export", "onnx_import")

_LEAF = Unsupported("a leaf: its value comes from feeds, params or the constant")


def _status(rule: Any, derived: str | None = None) -> Any:
    if isinstance(rule, Unsupported):
        return rule
    if rule is not None:
        return "rule"
    return f"derived: {derived}" if derived else None


def _sympy(op: Op) -> Any:
    if isinstance(op.sympy, Unsupported):
        return op.sympy
    if callable(op.sympy):
        return "rule"
    return "derived: the forward on object arrays of sympy values"


def _trace(op: Op) -> Any:
    if op.elementwise and op.deriv is not None:
        return "derived: deriv= evaluated on sympy values"
    return _status(op.trace if isinstance(op.trace, (TraceText, Unsupported)) else None)


def _onnx(op: Op, what: str) -> Any:
    o = op.onnx
    if o is None or isinstance(o, Unsupported):
        return o
    if what == "export":
        return "rule" if (o.op_type or o.export) else None
    if isinstance(o.imports, Unsupported):
        return o.imports
    return "rule" if o.imports else None


def capabilities(op: Op) -> dict[str, Any]:
    """Capability -> status for ``op`` (see the module doc)."""
    if op.leaf:
        return {c: ("rule" if c in ("run", "numpy", "onnx_export", "onnx_import",
                                    "to_sympy", "from_sympy", "cupy") else _LEAF)
                for c in CAPABILITIES}
    not_ew = Unsupported("not elementwise: one NumPy call per node")
    cuda: Any
    if op.elementwise:
        cuda = _status(op.cuda, "sympy.ccode of the formula" if callable(op.sympy) else None)
    elif op.gpu is not None:
        cuda = "rule"  # the op's own CuPy kernels
    else:
        cuda = "derived: the NumPy template with xp = cupy" if op.numpy else None
    return {
        "run": "rule",
        "grad": _status(op.vjp),
        "jvp": _status(op.jvp),
        "trace_text": _trace(op),
        "to_sympy": _sympy(op),
        "from_sympy": _sympy(op) if op.elementwise else (
            _sympy(op) if not supported(_sympy(op)) else
            "derived: to_sympy's expansion into elementwise ops"),
        "numpy": _status(op.numpy),
        "numpy_inplace": _status(op.inplace) if op.elementwise else not_ew,
        "numexpr": _status(op.numexpr) if op.elementwise else not_ew,
        "cupy": cuda,
        "onnx_export": _onnx(op, "export"),
        "onnx_import": _onnx(op, "import"),
    }


def internal(op: Op) -> bool:
    """Ops autodiff makes for other ops' gradients (``conv2d_grad_input``,
    ``max_pool2d_select``...): listed by ``graphnn ops --all`` and docs, not by default."""
    return op.name.endswith(("_grad", "_select")) or "_grad_" in op.name


def gaps(op: Op) -> list[str]:
    """Capabilities with neither a rule nor an explicit reason."""
    return [c for c, s in capabilities(op).items() if s is None]


def cell(status: Any) -> str:
    """One matrix cell for docs/ops.md."""
    if status is None:
        return "**missing**"
    if isinstance(status, Unsupported):
        return "no"
    return "yes" if status == "rule" else "yes*"
