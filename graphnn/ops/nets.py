"""Network building blocks as composites of existing ops (so every step shows in a
trace and a drawing): ``glu``, ``linear`` and ``scaled_dot_product_attention``, with
PyTorch's (torch.nn.functional) names, argument orders and conventions.

>>> import numpy as np, graphnn as gn
>>> glu(np.array([1.0, 2.0, 0.0, 0.0]))   # [1, 2] * sigmoid([0, 0])
array([0.5, 1. ])
>>> linear(np.ones((2, 3)), np.ones((4, 3)), np.arange(4.0)).tolist()[0]
[3.0, 4.0, 5.0, 6.0]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphnn.core import ir
from graphnn.core.errors import ShapeError, describe, fmt_shape

Shape = tuple[int, ...]


def _shape(x: Any) -> Shape:
    s = x.shape if isinstance(x, ir.Node) else np.shape(x)
    return tuple(int(v) for v in s)


def _fail(op: str, msg: str, *xs: Any) -> Exception:
    """A build-time error naming the inputs' shapes (ShapeError when one is a node)."""
    nodes = [x for x in xs if isinstance(x, ir.Node)]
    if nodes:
        detail = "".join(f"\n  input: {describe(x)}" for x in nodes)
        return ShapeError(f"{op}: {msg}{detail}", node=nodes[0])
    return ValueError(f"{op}: {msg}")


def glu(x: Any, dim: int = -1, *, name: str | None = None) -> Any:
    """Gated linear unit (``torch.nn.functional.glu``): ``x`` halved along ``dim`` into
    ``a`` and ``b`` (two ``narrow`` nodes), then ``a * sigmoid(b)``.

    >>> import numpy as np
    >>> glu(np.array([[2.0, 4.0, 0.0, 100.0]])).round(6)
    array([[1., 4.]])
    """
    from graphnn.ops.activations import sigmoid
    from graphnn.ops.elementwise import mul
    from graphnn.ops.shape import _dim, chunk

    s = _shape(x)
    if not s:
        raise _fail("glu", "glu does not support 0-dimensional tensors", x)
    try:
        d = _dim(dim, len(s))
    except (TypeError, ValueError) as e:
        raise _fail("glu", str(e), x) from None
    if s[d] % 2:
        raise _fail("glu", f"halving dimension must be even, but dimension {d} is size "
                           f"{s[d]} (shape {fmt_shape(s)})", x)
    a, b = chunk(x, 2, d) if s[d] else (x, x)
    return mul(a, sigmoid(b), name=name)


def linear(x: Any, weight: Any, bias: Any = None, *, name: str | None = None) -> Any:
    """``torch.nn.functional.linear``: ``x @ weight.T + bias`` with ``weight`` of shape
    (out_features, in_features) (or (in_features,): the last axis is summed away) and
    ``bias`` of shape (out_features,) (or anything that broadcasts). Built from
    ``transpose``, ``matmul`` and ``add`` nodes.

    >>> import numpy as np
    >>> linear(np.array([1.0, 2.0]), np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]]))
    array([1., 3., 4.])
    """
    from graphnn.ops.elementwise import add
    from graphnn.ops.linalg import matmul, transpose

    xs, ws = _shape(x), _shape(weight)
    if not xs:
        raise _fail("linear", "the input must have at least one dimension (in_features), "
                              "got a 0-d tensor", x, weight)
    if len(ws) not in (1, 2):
        raise _fail("linear", f"weight must be 1-D or 2-D (out_features, in_features), got "
                              f"shape {fmt_shape(ws)}", weight, x)
    if ws[-1] != xs[-1]:
        raise _fail("linear", f"input shape {fmt_shape(xs)} and weight shape "
                              f"{fmt_shape(ws)} do not fit: in_features {xs[-1]} != "
                              f"{ws[-1]}", x, weight)
    out_shape = xs[:-1] + ws[:-1]
    if bias is not None:
        bs = _shape(bias)
        try:
            full = np.broadcast_shapes(out_shape, bs)
        except ValueError:
            full = None
        if full != out_shape:
            raise _fail("linear", f"bias shape {fmt_shape(bs)} does not broadcast to the "
                                  f"output shape {fmt_shape(out_shape)}", bias, x, weight)
    y = matmul(x, transpose(weight) if len(ws) == 2 else weight,
               name=name if bias is None else None)
    return y if bias is None else add(y, bias, name=name)


def safe_softmax(scores: Any, *, name: str | None = None) -> Any:
    """Softmax over the last axis that gives 0 (not NaN) for a row that is all -inf (a
    fully masked query), as PyTorch's attention does: ``where(ok, softmax(where(ok,
    scores, 0)), 0)`` with ``ok = max(scores) > -inf`` per row.

    >>> import numpy as np
    >>> safe_softmax(np.array([[0.0, 0.0], [-np.inf, -np.inf]]))
    array([[0.5, 0.5],
           [0. , 0. ]])
    """
    from graphnn.ops.activations import softmax
    from graphnn.ops.index import gt, where
    from graphnn.ops.reduce import max as rmax

    ok = gt(rmax(scores, axis=-1, keepdims=True), -np.inf)
    return where(ok, softmax(where(ok, scores, 0.0), -1), 0.0, name=name)


def scaled_dot_product_attention(query: Any, key: Any, value: Any, attn_mask: Any = None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None, *, seed: int | None = None,
                                 name: str | None = None) -> Any:
    """``torch.nn.functional.scaled_dot_product_attention`` as a composite (each step one
    node: ``matmul``, scale ``mul``, mask ``where`` / ``add``, ``softmax``, ``dropout``,
    ``matmul``): ``softmax(Q K^T * scale + mask) V`` with ``scale = 1/sqrt(E)`` by default.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); leading axes
    broadcast. ``attn_mask``: bool (True = take part) or float (added to the scores),
    broadcastable to (..., L, S); ``is_causal``: a lower-triangular mask (no
    ``attn_mask`` with it, as PyTorch). ``dropout_p > 0`` drops attention weights with a
    seeded :func:`graphnn.dropout` (``seed``). A query whose every key is masked gets
    zero weights (as PyTorch: :func:`safe_softmax`).

    >>> import numpy as np
    >>> q = k = np.eye(2)[None]
    >>> scaled_dot_product_attention(q, k, np.array([[[1.0], [3.0]]]), scale=0.0)
    array([[[2.],
            [2.]]])
    """
    from graphnn.ops.activations import softmax
    from graphnn.ops.elementwise import add, mul
    from graphnn.ops.index import where
    from graphnn.ops.linalg import matmul
    from graphnn.ops.norm import dropout
    from graphnn.ops.shape import movedim

    qs, ks, vs = _shape(query), _shape(key), _shape(value)
    op = "scaled_dot_product_attention"
    if min(len(qs), len(ks), len(vs)) < 2:
        raise _fail(op, f"query, key and value need at least 2 dimensions (..., L, E), got "
                        f"{fmt_shape(qs)}, {fmt_shape(ks)}, {fmt_shape(vs)}",
                    query, key, value)
    if qs[-1] != ks[-1]:
        raise _fail(op, f"query {fmt_shape(qs)} and key {fmt_shape(ks)} must have the same "
                        "embedding size (last axis)", query, key)
    if ks[-2] != vs[-2]:
        raise _fail(op, f"key {fmt_shape(ks)} and value {fmt_shape(vs)} must have the same "
                        "sequence length (axis -2)", key, value)
    try:
        np.broadcast_shapes(qs[:-2], ks[:-2], vs[:-2])
    except ValueError:
        raise _fail(op, f"the batch axes of query {fmt_shape(qs)}, key {fmt_shape(ks)} and "
                        f"value {fmt_shape(vs)} do not broadcast", query, key, value) from None
    if is_causal and attn_mask is not None:
        raise _fail(op, "give attn_mask or is_causal, not both (as PyTorch)", query)
    if not 0.0 <= float(dropout_p) <= 1.0:
        raise _fail(op, f"dropout_p must be in [0, 1], got {dropout_p}", query)
    L, S = qs[-2], ks[-2]
    mask = None
    if is_causal:
        mask = np.tril(np.ones((L, S), dtype=bool))
    elif attn_mask is not None:
        ms = _shape(attn_mask)
        try:
            np.broadcast_shapes(ms, qs[:-1] + (S,))
        except ValueError:
            raise _fail(op, f"attn_mask shape {fmt_shape(ms)} does not broadcast to the "
                            f"attention scores' shape (..., {L}, {S})", attn_mask,
                        query) from None
        mask = attn_mask
    sc = 1.0 / math.sqrt(qs[-1]) if scale is None else float(scale)
    scores = mul(matmul(query, movedim(key, -1, -2)), sc)
    if mask is not None:
        if np.dtype(getattr(mask, "dtype", np.float64)) == np.bool_:
            scores = where(mask, scores, -np.inf)
        else:
            scores = add(scores, mask)
    weights = safe_softmax(scores) if attn_mask is not None else softmax(scores, -1)
    if dropout_p > 0.0:
        weights = dropout(weights, float(dropout_p), True, seed=seed)
    return matmul(weights, value, name=name)


__all__ = ["glu", "linear", "safe_softmax", "scaled_dot_product_attention"]
