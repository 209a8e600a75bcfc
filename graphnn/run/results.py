"""One result protocol: every result of running a graph — ``gn.run`` (a Run), a compiled
call (CompiledResult), ``gn.jvp`` (JvpResult), a training step and ``gn.fit``'s History —
answers ``value(ref)``, ``grad(ref)`` and ``tangent(ref)`` by node or by name, and
``has_value`` / ``has_grad`` / ``has_tangent``. What a result does not hold raises one
error, :class:`ResultError` (a GraphError and a KeyError), naming the ref and what the
result does hold.

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x"); w = gn.param("w", 3.0)
...     y = (w * x).named("y")
>>> r = gn.run(g, {"x": 2.0}, wrt=[w])
>>> float(r.value("y")), float(r.grad(w))
(6.0, 2.0)
>>> try:
...     r.grad("x")
... except ResultError as e:
...     print(type(e).__name__, e.ref, e.what, e.available)
MissingGradError x grad ['y', 'w']
>>> isinstance(gn.jvp(g, {"x": 2.0}, {"x": 1.0}), Results)
True
"""

from __future__ import annotations

from typing import Any

from graphnn.core.device import to_host
from graphnn.core.errors import GradError, GraphError
from graphnn.core.ir import Node

MISSING: Any = object()  # what ``_lookup`` returns for a ref it does not hold
WORDS = {"value": ("value", "values"), "grad": ("gradient", "gradients"),
         "tangent": ("tangent", "tangents")}
SHOWN = 12  # at most this many available names are listed in an error


class ResultError(GraphError, KeyError):
    """A result was asked for a value, gradient or tangent it does not hold.

    ``ref`` is the name asked for, ``what`` one of "value", "grad", "tangent" and
    ``available`` the names the result holds for it.
    """

    def __init__(self, message: str, ref: str = "", what: str = "value",
                 available: list[str] | None = None, node: Any = None) -> None:
        super().__init__(message, node=node)
        self.ref, self.what, self.available = ref, what, list(available or [])

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class MissingGradError(ResultError, GradError):
    """A gradient that was not taken (also a GradError, as ``Run.grad`` always raised)."""


def ref_name(ref: str | Node) -> str:
    """The name a ref stands for: a node's name, or the string itself.

    >>> ref_name("w")
    'w'
    """
    if isinstance(ref, Node):
        return ref.name
    if isinstance(ref, str):
        return ref
    raise ResultError(f"results are read by node or name, not {type(ref).__name__} "
                      f"{ref!r}", ref=repr(ref))


class Results:
    """Base class of results. Subclasses implement ``_lookup(what, ref)`` (the array, or
    :data:`MISSING`) and ``_available(what)`` (names held); ``kind`` names the result in
    errors and ``_hint(what, ref)`` may add advice (e.g. "pass it in wrt=")."""

    __slots__ = ()
    kind = "result"

    def value(self, ref: str | Node, host: bool = False) -> Any:
        """The forward value of ``ref`` (a node or its name); ``host=True``: a NumPy copy
        of a device (CuPy) array."""
        return self._fetch("value", ref, host)

    def grad(self, ref: str | Node, host: bool = False) -> Any:
        """The gradient of the loss with respect to ``ref`` (``host`` as for ``value``)."""
        return self._fetch("grad", ref, host)

    def tangent(self, ref: str | Node, host: bool = False) -> Any:
        """The forward-mode tangent (directional derivative) of ``ref``."""
        return self._fetch("tangent", ref, host)

    def has_value(self, ref: str | Node) -> bool:
        return self._lookup("value", ref) is not MISSING

    def has_grad(self, ref: str | Node) -> bool:
        return self._lookup("grad", ref) is not MISSING

    def has_tangent(self, ref: str | Node) -> bool:
        return self._lookup("tangent", ref) is not MISSING

    # -- for subclasses ------------------------------------------------------------
    def _lookup(self, what: str, ref: str | Node) -> Any:
        return MISSING

    def _available(self, what: str) -> list[str]:
        return []

    def _hint(self, what: str, ref: str | Node) -> str:
        return ""

    def _fetch(self, what: str, ref: str | Node, host: bool = False) -> Any:
        v = self._lookup(what, ref)
        if v is MISSING:
            raise self._missing(what, ref)
        return to_host(v) if host else v

    def _missing(self, what: str, ref: str | Node) -> ResultError:
        name = ref_name(ref)
        one, many = WORDS[what]
        names = self._available(what)
        hint = self._hint(what, ref)
        shown = names[:SHOWN] + ([f"... {len(names)} in all"] if len(names) > SHOWN else [])
        held = f"{many}: {shown}" if names else f"it holds no {many}"
        msg = f"no {one} for {name!r} in this {self.kind}" + (f" ({hint})" if hint else "")
        cls = MissingGradError if what == "grad" else ResultError
        return cls(f"{msg}; {held}", ref=name, what=what, available=names,
                   node=ref if isinstance(ref, Node) else None)


class TableResults(Results):
    """Results held in three name -> array tables (``values``, ``grads``, ``tangents``);
    a ref is looked up by its name.

    >>> r = TableResults(values={"y": 1.0})
    >>> r.value("y"), r.has_grad("y")
    (1.0, False)
    """

    __slots__ = ("values", "grads", "tangents")

    def __init__(self, values: dict[str, Any] | None = None,
                 grads: dict[str, Any] | None = None,
                 tangents: dict[str, Any] | None = None) -> None:
        self.values = dict(values or {})
        self.grads = dict(grads or {})
        self.tangents = dict(tangents or {})

    def _table(self, what: str) -> dict[str, Any]:
        return {"value": self.values, "grad": self.grads, "tangent": self.tangents}[what]

    def _lookup(self, what: str, ref: str | Node) -> Any:
        return self._table(what).get(ref_name(ref), MISSING)

    def _available(self, what: str) -> list[str]:
        return list(self._table(what))


__all__ = ["MISSING", "MissingGradError", "ResultError", "Results", "TableResults",
           "ref_name"]
