"""The GraphError family: every user-facing failure names the op, the nodes, the shapes
and the file:line where the user created the node.

>>> from graphnn.core.errors import ShapeError
>>> issubclass(ShapeError, GraphError)
True
"""

from __future__ import annotations

from typing import Any


class GraphError(Exception):
    """Base class of every error graphnn raises on purpose.

    ``node`` (when known) is the offending node; the message already names it.
    """

    def __init__(self, message: str, node: Any = None) -> None:
        super().__init__(message)
        self.node = node


class ShapeError(GraphError, ValueError):
    """Operand shapes do not fit the op (broadcasting, matmul, conv, reshape, ...)."""


class FeedError(GraphError, ValueError):
    """A feed is missing, unexpected, or has the wrong shape or dtype."""


class ParamError(GraphError, ValueError):
    """An op was given an invalid static parameter (stride <= 0, bad axis, ...)."""


class GraphMismatchError(GraphError, ValueError):
    """Nodes from different graphs were combined."""


class GradError(GraphError, ValueError):
    """A gradient was requested that cannot be computed as asked."""


class AnomalyError(GraphError, FloatingPointError):
    """Anomaly mode found a NaN or Inf value or gradient."""


class ParseError(GraphError, ValueError):
    """An expression string could not be parsed safely."""


class OnnxError(GraphError, ValueError):
    """An ONNX model cannot be imported or a graph cannot be exported: unsupported ops
    (all listed, with their node names), unsupported attributes, missing shapes."""


class DeviceError(GraphError, RuntimeError):
    """GPU execution was asked for where it cannot run: CuPy is not installed, or there
    is no CUDA GPU (the message says which), or an unknown device was named."""


def describe(node: Any) -> str:
    """One-line description of a node for error messages: name, op, shape, dtype, location."""
    if node is None:
        return "<no node>"
    try:
        return (
            f"'{node.name}' ({node.op.name}, shape {fmt_shape(node.shape)}, {node.dtype}) "
            f"created at {node.loc}"
        )
    except Exception:  # pragma: no cover - describing must never fail
        return repr(node)


def fmt_shape(shape: tuple[int, ...]) -> str:
    """Format a shape the way users write it: ``()``, ``(3,)``, ``(4, 3)``."""
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def did_you_mean(word: str, choices: Any) -> str:
    """``"; did you mean 'sigmoid'?"`` for a close match among ``choices``, else "".

    >>> did_you_mean("sigmod", ["sigmoid", "tanh"])
    "; did you mean 'sigmoid'?"
    >>> did_you_mean("slope", ["negative_slope"])
    "; did you mean 'negative_slope'?"
    """
    import difflib

    names = [str(c) for c in choices]
    close = difflib.get_close_matches(str(word), names, n=1, cutoff=0.7) or [
        c for c in names if word and str(word) in c][:1]
    return f"; did you mean {close[0]!r}?" if close else ""
