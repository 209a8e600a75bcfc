"""Normalisation and dropout with PyTorch's (torch.nn.functional) semantics, as
composites of existing ops so every step shows in a trace: ``layer_norm``,
``group_norm``, ``instance_norm``, ``batch_norm`` and ``dropout``.

Statistics are graph nodes: ``mean`` over the normalised axes, the biased variance
``mean((x - mean)^2)``, then ``(x - mean) * rsqrt(var + eps)`` and the optional
per-channel affine ``* weight + bias``. In training mode ``batch_norm`` (and
``instance_norm`` with running statistics) update the running statistics as PyTorch does
(``running <- (1 - momentum) running + momentum batch``, the variance unbiased) through
the mechanism the ``gn.nn`` BatchNorm layers use: inside a graph the batch statistics are
recorded with the graph (``gn.nn.state_outputs(g)`` names them, ``gn.nn.update_state(g,
run)`` folds a run's values in; ``gn.train`` does both), on plain arrays the running
arrays are updated in place at once.

``dropout`` draws its mask with ``rand_like`` (``seed=``), a record that says
``pure=False``: CSE never merges two draws and constant folding never freezes one.

>>> import numpy as np
>>> layer_norm(np.array([[1.0, 3.0]]), 2).round(4)
array([[-1.,  1.]])
>>> sorted(set(dropout(np.ones(1000), 0.5, seed=0).tolist()))   # kept ones scaled by 2
[0.0, 2.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphnn.core import ir
from graphnn.core.op import adapter
from graphnn.ops.nets import _fail, _shape

Shape = tuple[int, ...]


class RunningStats:
    """The running statistics one ``batch_norm`` / ``instance_norm`` call updates: each
    target is a param node (its graph's stored array) or a NumPy array, written in place.
    Recorded (through the ``record_stats`` adapter that gn.nn registers) in
    ``gn.nn.graph_state(g).stats`` beside the BatchNorm layers' own entries,
    so ``gn.nn.update_state`` and ``gn.train`` treat both alike."""

    def __init__(self, mean: Any, var: Any, momentum: float) -> None:
        self.mean, self.var, self.momentum = mean, var, float(momentum)

    @staticmethod
    def _array(t: Any) -> Any:
        return t.graph.value_of(t) if isinstance(t, ir.Node) else t

    def update_running(self, mean: Any, var: Any, count: int) -> None:
        """running <- (1 - momentum) running + momentum batch (variance unbiased)."""
        m = self.momentum
        for t, v in ((self.mean, mean), (self.var, var * (count / max(count - 1, 1)))):
            if t is None:
                continue
            a = self._array(t)
            a *= 1.0 - m
            a += m * np.asarray(v).reshape(a.shape)


def _record(x: Any, stats: RunningStats, mean: Any, var: Any, count: int) -> None:
    """Update now (arrays) or record the batch statistics with the graph (nodes)."""
    if isinstance(mean, ir.Node):  # the layers' mechanism, which gn.nn registers
        adapter("record_stats")(mean.graph, (stats, mean, var, count))
    else:
        stats.update_running(np.asarray(mean).reshape(-1), np.asarray(var).reshape(-1), count)


def _normalize(x: Any, axes: tuple[int, ...], eps: float) -> tuple[Any, Any, Any]:
    """((x - mean) * rsqrt(var + eps), mean, biased var) over ``axes`` (kept as size 1)."""
    from graphnn.ops.reduce import mean
    from graphnn.ops.unary import rsqrt

    mu = mean(x, axis=axes, keepdims=True)
    xc = x - mu
    var = mean(xc * xc, axis=axes, keepdims=True)
    return xc * rsqrt(var + eps), mu, var


def _affine(y: Any, weight: Any, bias: Any, shape: Shape, what: str, x: Any) -> Any:
    """``y * weight + bias`` with each reshaped to ``shape`` (checked: same size)."""
    from graphnn.ops.linalg import reshape

    size = int(np.prod(shape, dtype=np.int64))
    for nm, p in (("weight", weight), ("bias", bias)):
        if p is not None and int(np.prod(_shape(p), dtype=np.int64)) != size:
            raise _fail(what, f"{nm} of shape {_shape(p)} must have {size} elements (one per "
                              f"normalised {'element' if what == 'layer_norm' else 'channel'})",
                        p, x)
    if weight is not None:
        y = y * (weight if _shape(weight) == shape else reshape(weight, shape))
    if bias is not None:
        y = y + (bias if _shape(bias) == shape else reshape(bias, shape))
    return y


def _eps(eps: Any, what: str, x: Any) -> float:
    e = float(eps)
    if not e >= 0.0:
        raise _fail(what, f"eps must be >= 0, got {eps}", x)
    return e


def layer_norm(x: Any, normalized_shape: Any, weight: Any = None, bias: Any = None,
               eps: float = 1e-5, *, name: str | None = None) -> Any:
    """``torch.nn.functional.layer_norm``: normalise over the trailing axes given by
    ``normalized_shape`` (an int or a tuple that must equal ``x``'s last axes), biased
    variance, then ``* weight + bias`` (each of shape ``normalized_shape``).

    >>> import numpy as np
    >>> layer_norm(np.array([[0.0, 2.0, 4.0]]), (3,), np.array([1.0, 1.0, 2.0])).round(4)
    array([[-1.2247,  0.    ,  2.4495]])
    """
    ns = (int(normalized_shape),) if np.ndim(normalized_shape) == 0 else tuple(
        int(v) for v in normalized_shape)
    s = _shape(x)
    k = len(ns)
    if k == 0 or k > len(s) or s[len(s) - k:] != ns:
        raise _fail("layer_norm", f"normalized_shape {ns} must be a non-empty tuple equal to "
                                  f"the last axes of the input shape {s}", x)
    y, _, _ = _normalize(x, tuple(range(len(s) - k, len(s))), _eps(eps, "layer_norm", x))
    if weight is None and bias is None:
        return y.named(name) if name and isinstance(y, ir.Node) else y
    out = _affine(y, weight, bias, ns, "layer_norm", x)
    return out.named(name) if name and isinstance(out, ir.Node) else out


def _channels(x: Any, what: str, least: int = 2) -> Shape:
    s = _shape(x)
    if len(s) < least:
        raise _fail(what, f"expected an input of at least {least} dimensions (N, C, ...), "
                          f"got shape {s}", x)
    return s


def group_norm(x: Any, num_groups: int, weight: Any = None, bias: Any = None,
               eps: float = 1e-5, *, name: str | None = None) -> Any:
    """``torch.nn.functional.group_norm``: channels (axis 1 of (N, C, ...)) split into
    ``num_groups`` groups, each sample's group normalised over its channels and positions
    (biased variance), then a per-channel ``* weight + bias`` (each (C,)).

    >>> import numpy as np
    >>> group_norm(np.array([[1.0, 3.0, 5.0, 9.0]]), 2).round(4)
    array([[-1.,  1., -1.,  1.]])
    """
    from graphnn.ops.linalg import reshape

    s = _channels(x, "group_norm")
    g = int(num_groups)
    if g <= 0 or s[1] % g:
        raise _fail("group_norm", f"expected the number of channels {s[1]} of input shape "
                                  f"{s} to be divisible by num_groups={num_groups}", x)
    grouped = reshape(x, (s[0], g, -1)) if s[0] * s[1] else reshape(x, (s[0], g, 0))
    y, _, _ = _normalize(grouped, (2,), _eps(eps, "group_norm", x))
    y = reshape(y, s)
    out = _affine(y, weight, bias, (s[1],) + (1,) * (len(s) - 2), "group_norm", x)
    return out.named(name) if name and isinstance(out, ir.Node) else out


def _running(x: Any, what: str, rm: Any, rv: Any, c: int) -> None:
    for nm, t in (("running_mean", rm), ("running_var", rv)):
        if t is not None and _shape(t) != (c,):
            raise _fail(what, f"{nm} must have shape ({c},) (one per channel), got "
                              f"{_shape(t)}", t, x)


def batch_norm(x: Any, running_mean: Any, running_var: Any, weight: Any = None,
               bias: Any = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5, *, name: str | None = None) -> Any:
    """``torch.nn.functional.batch_norm`` on (N, C, ...): per channel, normalise with the
    batch statistics over N and the positions (``training=True``; biased variance, as
    graph nodes) or with ``running_mean`` / ``running_var`` (evaluation), then
    ``* weight + bias`` (each (C,)). In training mode the running statistics (param
    nodes or arrays; None: not tracked) are updated as PyTorch does, with the unbiased
    batch variance (see the module doc for how a graph's update is applied).

    >>> import numpy as np
    >>> rm, rv = np.zeros(2), np.ones(2)
    >>> batch_norm(np.array([[1.0, 2.0], [3.0, 6.0]]), rm, rv, training=True).round(4)
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> rm, rv                                  # 0.9 * old + 0.1 * batch (unbiased var)
    (array([0.2, 0.4]), array([1.1, 1.7]))
    """
    from graphnn.ops.linalg import reshape
    from graphnn.ops.unary import rsqrt

    s = _channels(x, "batch_norm")
    c = s[1]
    e = _eps(eps, "batch_norm", x)
    _running(x, "batch_norm", running_mean, running_var, c)
    bshape = (c,) + (1,) * (len(s) - 2)
    if training:
        if e <= 0.0:
            raise _fail("batch_norm", f"eps must be positive in training mode, got {eps}", x)
        count = int(np.prod(s, dtype=np.int64)) // max(c, 1)
        if count <= 1:
            raise _fail("batch_norm", f"expected more than 1 value per channel when "
                                      f"training, got input shape {s}", x)
        axes = (0,) + tuple(range(2, len(s)))
        y, mu, var = _normalize(x, axes, e)
        if running_mean is not None or running_var is not None:
            _record(x, RunningStats(running_mean, running_var, momentum), mu, var, count)
    else:
        if running_mean is None or running_var is None:
            raise _fail("batch_norm", "running_mean and running_var must be given in "
                                      "evaluation mode (training=False)", x)
        rm, rv = reshape(running_mean, bshape), reshape(running_var, bshape)
        y = (x - rm) * rsqrt(rv + e)
    out = _affine(y, weight, bias, bshape, "batch_norm", x)
    return out.named(name) if name and isinstance(out, ir.Node) else out


def instance_norm(x: Any, running_mean: Any = None, running_var: Any = None,
                  weight: Any = None, bias: Any = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5, *,
                  name: str | None = None) -> Any:
    """``torch.nn.functional.instance_norm`` on (N, C, ...): each sample's channel
    normalised over its positions (biased variance), then ``* weight + bias`` (each
    (C,)). With running statistics and ``use_input_stats`` they are updated with the
    per-instance statistics averaged over the batch (as PyTorch); with
    ``use_input_stats=False`` the running statistics normalise instead.

    >>> import numpy as np
    >>> instance_norm(np.array([[[1.0, 3.0], [0.0, 4.0]]])).round(4)
    array([[[-1.,  1.],
            [-1.,  1.]]])
    """
    from graphnn.ops.linalg import reshape
    from graphnn.ops.reduce import mean
    from graphnn.ops.unary import rsqrt

    s = _channels(x, "instance_norm", 3)
    c = s[1]
    e = _eps(eps, "instance_norm", x)
    _running(x, "instance_norm", running_mean, running_var, c)
    bshape = (c,) + (1,) * (len(s) - 2)
    if use_input_stats:
        count = int(np.prod(s[2:], dtype=np.int64))
        if count <= 1:
            raise _fail("instance_norm", f"expected more than 1 spatial element when "
                                         f"training, got input shape {s}", x)
        y, mu, var = _normalize(x, tuple(range(2, len(s))), e)
        if running_mean is not None or running_var is not None:
            _record(x, RunningStats(running_mean, running_var, momentum),
                    mean(mu, axis=0), mean(var, axis=0), count)
    else:
        if running_mean is None or running_var is None:
            raise _fail("instance_norm", "running_mean and running_var must be given when "
                                         "use_input_stats=False", x)
        y = (x - reshape(running_mean, bshape)) * rsqrt(reshape(running_var, bshape) + e)
    out = _affine(y, weight, bias, bshape, "instance_norm", x)
    return out.named(name) if name and isinstance(out, ir.Node) else out


def dropout(x: Any, p: float = 0.5, training: bool = True, *, seed: int | None = None,
            name: str | None = None) -> Any:
    """``torch.nn.functional.dropout`` (inverted): in training mode each element is kept
    with probability ``1 - p`` and scaled by ``1 / (1 - p)``: ``x * (ge_mask(u, p) /
    (1 - p))`` with ``u = rand_like(x, seed=seed)`` (uniform [0, 1), NumPy's generator;
    ``seed=None`` draws a fresh mask on every run). ``p = 1`` gives ``x * 0``;
    ``training=False`` or ``p = 0`` returns ``x`` itself. The draw's record is impure,
    so passes never merge two dropouts or fold one.

    >>> import numpy as np
    >>> y = dropout(np.ones(6), 0.5, seed=3)
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    >>> bool((dropout(np.ones(6), 0.5, seed=3) == y).all())   # same seed, same mask
    True
    """
    from graphnn.ops.creation import rand_like
    from graphnn.ops.elementwise import ge_mask, mul

    pf = float(p)
    if not 0.0 <= pf <= 1.0:
        raise _fail("dropout", f"dropout probability has to be between 0 and 1, but got {p}",
                    x)
    if not training or pf == 0.0:
        return x
    if pf == 1.0:
        return mul(x, 0.0, name=name)
    keep = ge_mask(rand_like(x, seed=seed), pf)
    return mul(x, keep * (1.0 / (1.0 - pf)), name=name)


__all__ = ["layer_norm", "group_norm", "instance_norm", "batch_norm", "dropout",
           "RunningStats"]
