"""Layers for the network ops: ``LayerNorm``, ``GroupNorm``, ``InstanceNorm1d/2d/3d``,
``Embedding``, ``GLU`` and
``MultiheadAttention`` (a composite: in-projection, heads, scaled dot-product attention,
out-projection), with PyTorch's constructors, parameter names and layouts, so a PyTorch
``state_dict`` loads with ``model.load_state_dict``.

>>> import graphnn as gn
>>> mha = gn.nn.MultiheadAttention(8, 2, batch_first=True)
>>> sorted(mha.named_values())
['in_proj_bias', 'in_proj_weight', 'out_proj.bias', 'out_proj.weight']
>>> with gn.Graph():
...     out, w = mha(gn.input("x", shape=(3, 5, 8)))
>>> out.shape, w.shape
((3, 5, 8), (3, 5, 5))
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from graphnn import ops as gn
from graphnn.core.errors import GraphError, ShapeError
from graphnn.core.ir import Node
from graphnn.nn import init as I
from graphnn.nn.layers import Linear
from graphnn.nn.module import Module
from graphnn.ops.nets import safe_softmax


class LayerNorm(Module):
    """``torch.nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True,
    bias=True)``: gn.layer_norm over the trailing ``normalized_shape`` axes with a learnable
    ``weight`` (ones) and ``bias`` (zeros) of that shape.

    >>> import graphnn as gn
    >>> with gn.Graph():
    ...     y = gn.nn.LayerNorm(4)(gn.input("x", shape=(2, 4)))
    >>> y.shape
    (2, 4)
    """

    kind = "ln"

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, name: str | None = None) -> None:
        super().__init__(name)
        ns = normalized_shape
        self.normalized_shape = (int(ns),) if np.ndim(ns) == 0 else tuple(int(v) for v in ns)
        self.eps, self.elementwise_affine = float(eps), elementwise_affine
        self.has_bias = bias and elementwise_affine
        if elementwise_affine:
            self.declare("weight", self.normalized_shape, "ones")
            if bias:
                self.declare("bias", self.normalized_shape, "zeros")

    def forward(self, x: Node, train: bool) -> Node:
        g = x.graph
        w = self.param(g, "weight") if self.elementwise_affine else None
        b = self.param(g, "bias") if self.has_bias else None
        return gn.layer_norm(x, self.normalized_shape, w, b, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """``torch.nn.GroupNorm(num_groups, num_channels, eps=1e-5, affine=True)``:
    gn.group_norm with a per-channel ``weight`` (ones) and ``bias`` (zeros).

    >>> import graphnn as gn
    >>> gn.nn.GroupNorm(2, 6).num_params()
    12
    """

    kind = "gn"

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, name: str | None = None) -> None:
        super().__init__(name)
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels={num_channels} must be divisible by "
                             f"num_groups={num_groups}")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = float(eps), affine
        if affine:
            self.declare("weight", (num_channels,), "ones")
            self.declare("bias", (num_channels,), "zeros")

    def forward(self, x: Node, train: bool) -> Node:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ShapeError(f"GroupNorm({self.num_groups}, {self.num_channels}) at "
                             f"'{self.path}': input shape {x.shape} has no channel axis 1 of "
                             f"size {self.num_channels}", node=x)
        g = x.graph
        w, b = (self.param(g, "weight"), self.param(g, "bias")) if self.affine else (None, None)
        return gn.group_norm(x, self.num_groups, w, b, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(Module):
    """``torch.nn.InstanceNorm{1,2,3}d(num_features, eps=1e-5, momentum=0.1, affine=False,
    track_running_stats=False)``: gn.instance_norm over each sample's channel. With
    ``track_running_stats`` the running mean / variance are state buffers updated in
    training mode (as BatchNorm's, see ``gn.nn.update_state``) and used in evaluation."""

    kind = "in"
    spatial = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = False, track_running_stats: bool = False,
                 name: str | None = None) -> None:
        super().__init__(name)
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.declare("weight", (num_features,), "ones")
            self.declare("bias", (num_features,), "zeros")
        if track_running_stats:
            self.declare("running_mean", (num_features,), "zeros", trainable=False)
            self.declare("running_var", (num_features,), "ones", trainable=False)

    def forward(self, x: Node, train: bool) -> Node:
        want = self.spatial + 2
        if x.ndim != want or x.shape[1] != self.num_features:
            raise ShapeError(f"{type(self).__name__}({self.num_features}) at '{self.path}': "
                             f"input shape {x.shape} is not (N, {self.num_features}, "
                             f"{', '.join('...' for _ in range(self.spatial))})", node=x)
        g = x.graph
        w, b = (self.param(g, "weight"), self.param(g, "bias")) if self.affine else (None, None)
        rm, rv = ((self.param(g, "running_mean"), self.param(g, "running_var"))
                  if self.track_running_stats else (None, None))
        return gn.instance_norm(x, rm, rv, w, b, use_input_stats=train or rm is None,
                                momentum=self.momentum, eps=self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Instance norm over (N, C, L).

    >>> import graphnn as gn
    >>> gn.nn.InstanceNorm1d(3, affine=True).num_params()
    6
    """

    spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance norm over (N, C, H, W).

    >>> import graphnn as gn
    >>> with gn.Graph():
    ...     gn.nn.InstanceNorm2d(2)(gn.input("x", shape=(1, 2, 3, 3))).shape
    (1, 2, 3, 3)
    """

    spatial = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance norm over (N, C, D, H, W)."""

    spatial = 3


class Embedding(Module):
    """``torch.nn.Embedding(num_embeddings, embedding_dim, padding_idx=None)``: rows of a
    learnable ``weight`` (num_embeddings, embedding_dim), initialised N(0, 1), at integer
    indices (gn.embedding). ``padding_idx``: that row starts at zero and never gets a
    gradient (the weight passes through a 0/1 row mask).

    >>> import graphnn as gn
    >>> with gn.Graph():
    ...     y = gn.nn.Embedding(10, 3)(gn.input("i", shape=(2, 5), dtype="int64"))
    >>> y.shape
    (2, 5, 3)
    """

    kind = "emb"

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 name: str | None = None) -> None:
        super().__init__(name)
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within "
                                 f"num_embeddings ({num_embeddings})")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx

        def normal(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
            w = rng.standard_normal(shape)
            if padding_idx is not None:
                w[padding_idx] = 0.0
            return w

        self.declare("weight", (num_embeddings, embedding_dim), normal)

    def forward(self, x: Node, train: bool) -> Node:
        if x.dtype.kind not in "iu":
            raise GraphError(f"Embedding at '{self.path}': indices must be an integer node "
                             f"(gn.input(..., dtype='int64')), got dtype {x.dtype}")
        w = self.param(x.graph, "weight")
        if self.padding_idx is not None:
            keep = np.ones((self.num_embeddings, 1))
            keep[self.padding_idx] = 0.0
            w = w * keep
        return gn.embedding(x, w)

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class GLU(Module):
    """``torch.nn.GLU(dim=-1)``: gn.glu (first half times sigmoid of the second).

    >>> import graphnn as gn
    >>> with gn.Graph():
    ...     y = gn.nn.GLU()(gn.input("x", shape=(2, 6)))
    >>> y.shape
    (2, 3)
    """

    kind = "act"

    def __init__(self, dim: int = -1, name: str | None = None) -> None:
        super().__init__(name)
        self.dim = int(dim)

    def forward(self, x: Node, train: bool) -> Node:
        return gn.glu(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class MultiheadAttention(Module):
    """``torch.nn.MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True,
    kdim=None, vdim=None, batch_first=False)`` as a composite, with PyTorch's parameters:
    ``in_proj_weight`` (3E, E; Xavier uniform; or, when ``kdim`` / ``vdim`` differ from E,
    ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim) and ``v_proj_weight`` (E, vdim)),
    ``in_proj_bias`` (3E; zeros) and the child ``out_proj``
    (a Linear, bias zeros). Called as ``mha(query, key=None, value=None,
    key_padding_mask=None, need_weights=True, attn_mask=None, average_attn_weights=True,
    is_causal=False)`` it returns ``(output, weights)`` like PyTorch (weights None unless
    ``need_weights``; averaged over heads unless ``average_attn_weights=False``); key and
    value default to the query (self-attention). In a Sequential it is self-attention and
    gives the output alone. Masks follow PyTorch: a bool ``attn_mask`` (L, S) or (N*H, L,
    S) and ``key_padding_mask`` (N, S) say True where attention is NOT allowed; a float
    mask is added to the scores. Dropout on the weights is seeded by ``dropout_seed``."""

    kind = "mha"

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 kdim: int | None = None, vdim: int | None = None, batch_first: bool = False,
                 dropout_seed: int | None = None, name: str | None = None) -> None:
        super().__init__(name)
        if num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim={embed_dim} must be divisible by "
                             f"num_heads={num_heads}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout}")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout, self.has_bias, self.batch_first = float(dropout), bias, batch_first
        self.drop_seed = dropout_seed
        e = self.embed_dim
        self.kdim, self.vdim = int(kdim or e), int(vdim or e)
        self.same_dims = self.kdim == e and self.vdim == e
        if self.same_dims:
            self.declare("in_proj_weight", (3 * e, e), I.glorot_uniform)
        else:  # PyTorch's layout when key / value sizes differ: three projections
            for key, d in (("q", e), ("k", self.kdim), ("v", self.vdim)):
                self.declare(f"{key}_proj_weight", (e, d), I.glorot_uniform)
        if bias:
            self.declare("in_proj_bias", (3 * e,), "zeros")
        self.out_proj = Linear(e, e, bias=bias)
        if bias:
            self.out_proj.declare("bias", (e,), "zeros")

    def children(self) -> list[tuple[str, Module]]:
        return [("out_proj", self.out_proj)]

    def __call__(self, query: Node, key: Node | None = None, value: Node | None = None,  # type: ignore[override]
                 key_padding_mask: Any = None, need_weights: bool = True,
                 attn_mask: Any = None, average_attn_weights: bool = True,
                 is_causal: bool = False, *, train: bool | None = None) -> tuple[Node, Any]:
        if not isinstance(query, Node):
            raise GraphError(f"MultiheadAttention must be called on graph nodes, got "
                             f"{type(query).__name__}; make one with gn.input(...)")
        self._ensure_paths()
        self._ensure_values()
        train = self.training if train is None else train
        with query.graph.scope((self.path or self.kind).replace(".", "/")):
            return self._attend(query, query if key is None else key,
                                (query if key is None else key) if value is None else value,
                                key_padding_mask, need_weights, attn_mask,
                                average_attn_weights, is_causal, train)

    def forward(self, x: Node, train: bool) -> Node:
        return self._attend(x, x, x, None, False, None, True, False, train)[0]

    def _check(self, what: str, t: Node) -> None:
        size = {"query": self.embed_dim, "key": self.kdim, "value": self.vdim}[what]
        if t.ndim not in (2, 3) or t.shape[-1] != size:
            raise ShapeError(f"MultiheadAttention({self.embed_dim}, {self.num_heads}): {what} "
                             f"must be (L, E), ({'N, L' if self.batch_first else 'L, N'}, E) "
                             f"with E = {size}, got shape {t.shape}", node=t)

    def _attend(self, q: Node, k: Node, v: Node, key_padding_mask: Any, need_weights: bool,
                attn_mask: Any, average: bool, is_causal: bool, train: bool
                ) -> tuple[Node, Any]:
        for what, t in (("query", q), ("key", k), ("value", v)):
            self._check(what, t)
        if not q.ndim == k.ndim == v.ndim:
            raise ShapeError(f"MultiheadAttention: query, key and value must all be batched or "
                             f"all unbatched, got shapes {q.shape}, {k.shape}, {v.shape}", node=q)
        batched = q.ndim == 3
        if batched and not self.batch_first:  # (L, N, E) -> (N, L, E)
            q, k, v = (gn.transpose(t, (1, 0, 2)) for t in (q, k, v))
        if not batched:
            q, k, v = (gn.unsqueeze(t, 0) for t in (q, k, v))
        if k.shape[:2] != v.shape[:2] or k.shape[0] != q.shape[0]:
            raise ShapeError(f"MultiheadAttention: key {k.shape} and value {v.shape} must have "
                             f"the same batch and length, and the query's batch", node=k)
        g, e, h, hd = q.graph, self.embed_dim, self.num_heads, self.head_dim
        n, L, S = q.shape[0], q.shape[1], k.shape[1]
        ws = (gn.chunk(self.param(g, "in_proj_weight"), 3, 0) if self.same_dims else
              [self.param(g, f"{key}_proj_weight") for key in "qkv"])
        bs = gn.chunk(self.param(g, "in_proj_bias"), 3, 0) if self.has_bias else (None,) * 3

        def heads(t: Node, w: Node, b: Any, length: int) -> Node:  # (N, len, E) -> (N, H, len, hd)
            return gn.transpose(gn.reshape(gn.linear(t, w, b), (n, length, h, hd)), (0, 2, 1, 3))

        qh, kh, vh = heads(q, ws[0], bs[0], L), heads(k, ws[1], bs[1], S), heads(v, ws[2], bs[2], S)
        mask = self._mask(attn_mask, key_padding_mask, is_causal, n, L, S, g)
        scores = gn.mul(gn.matmul(qh, gn.movedim(kh, -1, -2)), 1.0 / math.sqrt(hd))
        if mask is not None:
            scores = gn.add(scores, mask)
        # PyTorch: a fully masked query gets zero weights without need_weights (its
        # attention kernel) and NaN with them (an explicit softmax); so here too
        safe = mask is not None and not need_weights
        weights = safe_softmax(scores) if safe else gn.softmax(scores, -1)
        p = self.dropout if train else 0.0
        if p > 0.0:
            weights = gn.dropout(weights, p, True, seed=self.drop_seed)
        ctx = gn.reshape(gn.transpose(gn.matmul(weights, vh), (0, 2, 1, 3)), (n, L, e))
        with g.scope("out_proj"):  # nested in this module's group, not its path again
            out = self.out_proj.forward(ctx, train)
        if not batched:
            out = gn.squeeze(out, (0,))
        elif not self.batch_first:
            out = gn.transpose(out, (1, 0, 2))
        if not need_weights:
            return out, None
        wts = gn.mean(weights, axis=1) if average else weights
        return out, (gn.squeeze(wts, (0,)) if not batched else wts)

    def _mask(self, attn_mask: Any, kpm: Any, is_causal: bool, n: int, L: int, S: int,
              g: Any) -> Any:
        """One additive float mask broadcasting to (N, H, L, S): -inf where not allowed."""

        def additive(m: Any, shape: tuple[int, ...], what: str) -> Any:
            ms = tuple(m.shape) if isinstance(m, Node) else np.shape(m)
            if int(np.prod(ms, dtype=np.int64)) != int(np.prod(shape, dtype=np.int64)):
                raise ShapeError(f"MultiheadAttention: {what} of shape {tuple(ms)} must have "
                                 f"shape {shape}")
            m = gn.reshape(m, shape) if tuple(ms) != shape else m
            dt = m.dtype if isinstance(m, Node) else np.asarray(m).dtype
            if dt == np.bool_:
                return gn.where(m, -np.inf, 0.0) if isinstance(m, Node) else np.where(
                    m, -np.inf, 0.0)
            return m

        total: Any = None
        if is_causal and attn_mask is None:
            attn_mask = ~np.tril(np.ones((L, S), dtype=bool))
        if attn_mask is not None:
            nd = len(tuple(attn_mask.shape) if isinstance(attn_mask, Node)
                     else np.shape(attn_mask))
            shape = (L, S) if nd == 2 else (n, self.num_heads, L, S)
            total = additive(attn_mask, shape, "attn_mask")
        if kpm is not None:
            pad = additive(kpm, (n, 1, 1, S), "key_padding_mask")
            total = pad if total is None else gn.add(total, pad)
        if total is not None and not isinstance(total, Node):
            total = g.constant(np.asarray(total, dtype=np.float64))
        return total

    def extra_repr(self) -> str:
        dims = "" if self.same_dims else f", kdim={self.kdim}, vdim={self.vdim}"
        return (f"{self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"
                f"{dims}, batch_first={self.batch_first}")


__all__ = ["LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
           "Embedding", "GLU", "MultiheadAttention"]
