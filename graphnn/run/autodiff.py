"""Reverse-mode autodiff: one loop over the reversed topological order that calls each
op's vjp rule. Given nodes it builds gradient nodes (``gn.grad``: the graph grows and
the result can be run, drawn, compiled and differentiated again); given arrays it
computes numbers (the interpreter's backward pass). Broadcasting is undone here, once,
with ``sum_to``; fan-out is an explicit accumulation (an ``add``) that hooks can show.

>>> import graphnn as gn
>>> with gn.Graph() as g:
...     x = gn.input("x"); y = gn.input("y"); z = gn.input("z")
...     f = ((x + y) * z).named("f")
>>> dx, dz = gn.grad(f, [x, z])
>>> r = gn.run(g, {"x": 1, "y": -3, "z": 4}, outputs=[dx, dz])
>>> float(r.value(dx)), float(r.value(dz))
(4.0, -2.0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphnn.core.errors import GradError, GraphError, describe, fmt_shape
from graphnn.core.ir import Node
from graphnn.core.traverse import backward_mask
from graphnn.ops.linalg import sum_to


def _rule_error(n: Node, e: Exception) -> GradError:
    return GradError(f"the backward (vjp) of {describe(n)} failed: {type(e).__name__}: {e}",
                     node=n)


def itself(n: Node) -> Node:
    """The primal of ``n`` in symbolic mode: the node itself (pass it as ``value`` to the
    sweeps, here and in run/batched.py, so the rules build nodes instead of numbers)."""
    return n


def backprop(order: Sequence[Node], value: Callable[[Node], Any] | list[Any],
             grads: dict[int, Any],
             needed: list[bool], on_node: Callable[..., None] | None = None,
             on_accumulate: Callable[..., None] | None = None,
             check: Callable[[Node, Any], None] | None = None) -> dict[int, Any]:
    """Propagate ``grads`` (node id -> cotangent) backwards through ``order``.

    ``order`` lists nodes in reverse topological order. ``value(node)`` returns the
    primal (the node itself for symbolic mode); numeric mode passes the list of values by
    node id instead (no call per lookup). Hooks:
    ``on_node(node, g, contributions)`` after each vjp, ``on_accumulate(target, source,
    previous, contribution, total)`` at each fan-out sum.
    """
    # One loop body on purpose: this is the interpreter's hot path (measured with
    # bench/interp_instructions.py; each helper call per node costs ~3% there).
    table = value if isinstance(value, list) else None
    symbolic = value is itself
    for n in order:
        g = grads.get(n.id)
        if g is None or n.op.leaf:
            continue
        vjp = n.op.vjp
        if vjp is None:
            raise GradError(f"op '{n.op.name}' has no gradient rule; cannot differentiate "
                            f"through {describe(n)}", node=n)
        try:
            if table is not None:
                cts = vjp(g, table[n.id], *[table[i.id] for i in n.inputs], **n.params)
            elif symbolic:
                cts = vjp(g, n, *n.inputs, **n.params)
            else:
                cts = vjp(g, value(n), *[value(i) for i in n.inputs], **n.params)
        except GraphError:
            raise
        except Exception as e:  # a rule failing at run time: name the node, not a traceback
            raise _rule_error(n, e) from e
        contribs: list[Any] = []
        for k, i in enumerate(n.inputs):
            ct = cts[k]
            if ct is None or not needed[i.id] or k in n.op.nondiff:
                contribs.append(None)
                continue
            if callable(ct):
                try:
                    ct = ct()
                except GraphError:
                    raise
                except Exception as e:
                    raise _rule_error(n, e) from e
                if ct is None:
                    contribs.append(None)
                    continue
            if (ct.shape if hasattr(ct, "shape") else ()) != i.shape:
                ct = sum_to(ct, i.shape)
            if check is not None:
                try:
                    check(i, ct)
                except GraphError as e:  # name the node whose backward made it
                    raise type(e)(f"{e}; it comes from the backward (vjp) of {describe(n)}",
                                  node=n) from None
            contribs.append(ct)
            prev = grads.get(i.id)
            if prev is None:
                grads[i.id] = ct
            else:
                total = prev + ct
                grads[i.id] = total
                if on_accumulate is not None:
                    on_accumulate(i, n, prev, ct, total)
        if on_node is not None:
            on_node(n, g, contribs)
    return grads


def grad(y: Node, wrt: Node | Sequence[Node], seed: Any = None) -> Any:
    """Symbolic gradient: add nodes computing d y / d wrt to y's graph and return them.

    ``y`` must be a scalar unless ``seed`` (a node or array of y's shape, the upstream
    cotangent) is given. Returns one node per ``wrt`` entry (a single node when ``wrt``
    is a node). The new nodes have role "grad" and are named ``d<y>_d<w>``.
    """
    single = isinstance(wrt, Node)
    wrt_list = [wrt] if single else list(wrt)
    if not isinstance(y, Node):
        raise GradError(f"gn.grad needs a node to differentiate, got {type(y).__name__}")
    graph = y.graph
    for w in wrt_list:
        graph.node(w)
        if np.dtype(w.dtype).kind not in "fc":
            raise GradError(f"gn.grad: {describe(w)} holds {np.dtype(w.dtype).name} values; "
                            "gradients flow through floating point only (an integer or "
                            "bool node has no gradient)", node=w)
    # every gradient node is made at the caller's file:line: find it once, not per node
    here = graph.current_origin()
    with graph.role("grad"), graph.origin(*here):
        if seed is None:
            if y.shape != ():
                raise GradError(
                    f"gn.grad: {describe(y)} is not a scalar (shape {fmt_shape(y.shape)}); "
                    "pass seed= (an array or node of that shape) or reduce it first", node=y)
            seed_node = graph.constant(np.ones((), dtype=y.dtype), name=None)
        else:
            seed_node = seed if isinstance(seed, Node) else graph.constant(
                np.asarray(seed, dtype=y.dtype))
            if seed_node.shape != y.shape:
                raise GradError(f"gn.grad: seed shape {fmt_shape(seed_node.shape)} does not "
                                f"match {describe(y)}", node=y)
        needed = backward_mask([y], wrt_list)
        order = [n for n in reversed(graph.nodes[: y.id + 1]) if needed[n.id]]
        grads = backprop(order, itself, {y.id: seed_node}, needed)
        out = []
        for w in wrt_list:
            gw = grads.get(w.id)
            if gw is None:
                gw = graph.constant(np.zeros(w.shape, dtype=w.dtype))
            if gw.role == "grad" and gw.name.startswith(gw.op.name + "_"):
                try:
                    gw.named(f"d{y.name}_d{w.name}")
                except Exception:  # noqa: BLE001 - name taken: keep the automatic one
                    pass
            out.append(gw)
    return out[0] if single else out
