"""Gather tables: the loop-free building block of adaptive pooling and interpolate.

A linear map along one axis that reads, for output ``o``, inputs ``idx[o, m]`` with weights
``w[o, m]`` (where ``mask[o, m]``) runs as one ``xp.take`` and a sum over ``m``; its
transpose (the gradient) is again such a table, built once with a sort and a bincount,
so a scatter-add needs neither loops nor atomics.

>>> import numpy as np
>>> idx = np.array([[0, 1], [1, 2]]); mask = np.array([[True, True], [True, False]])
>>> _gsum(np, np.array([1.0, 10.0, 100.0]), 0, idx, None, mask)
array([11., 10.])
>>> _transpose_table(np, idx, None, mask, 3)[0]
array([[0, 0],
       [0, 1],
       [0, 0]])
"""

from __future__ import annotations

from typing import Any

# helpers (xp first; codegen copies them)


def _gsum(xp: Any, v: Any, axis: int, idx: Any, w: Any = None, mask: Any = None) -> Any:
    """Gather-sum along ``axis``: out[..., o, ...] = sum over m of v[..., idx[o, m], ...]
    (times ``w[o, m]``; only where ``mask[o, m]``, so nothing outside a window, not even
    an inf, reaches the sum). ``idx``, ``w`` and ``mask`` are (O, M) tables."""
    o, m = int(idx.shape[0]), int(idx.shape[1])
    if m == 2 and w is not None and mask is None:  # linear: two gathers, no temporaries
        ws = tuple(xp.reshape(w[:, j].astype(v.dtype), (o,) + (1,) * (v.ndim - axis - 1))
                   for j in range(2))
        return (xp.take(v, idx[:, 0], axis=axis) * ws[0]
                + xp.take(v, idx[:, 1], axis=axis) * ws[1])
    t = xp.take(v, xp.reshape(idx, (-1,)), axis=axis)
    t = xp.reshape(t, tuple(v.shape[:axis]) + (o, m) + tuple(v.shape[axis + 1:]))
    tail = (1,) * (v.ndim - axis - 1)
    if w is not None:
        t = t * xp.reshape(w.astype(v.dtype), (o, m) + tail)
    if mask is not None:
        t = xp.where(xp.reshape(mask, (o, m) + tail), t, xp.zeros((), dtype=v.dtype))
    if m == 1:
        return xp.reshape(t, tuple(v.shape[:axis]) + (o,) + tuple(v.shape[axis + 1:]))
    return xp.sum(t, axis=axis + 1)


def _transpose_table(xp: Any, idx: Any, w: Any, mask: Any, n_in: int) -> tuple[Any, Any,
                                                                                  Any]:
    """The gather table of the transposed map: for each of the ``n_in`` inputs, the
    outputs (and weights) that read it, in output order; (n_in, M') with a mask."""
    n_out, m = int(idx.shape[0]), int(idx.shape[1])
    if mask is None:
        mask = xp.ones((n_out, m), dtype=bool)
    outs = xp.broadcast_to(xp.arange(n_out)[:, None], (n_out, m))[mask]
    ins = idx[mask]
    pos = xp.arange(ins.size)
    order = xp.argsort(ins * max(int(ins.size), 1) + pos)  # unique keys: by input, output
    ins, outs = ins[order], outs[order]
    cnt = xp.bincount(ins, minlength=n_in)
    mm = max(int(cnt.max()) if n_in else 1, 1)
    slot = pos - (xp.cumsum(cnt) - cnt)[ins]
    tidx = xp.zeros((n_in, mm), dtype=idx.dtype)
    tidx[ins, slot] = outs
    tmask = xp.zeros((n_in, mm), dtype=bool)
    tmask[ins, slot] = True
    tw = None
    if w is not None:
        tw = xp.zeros((n_in, mm), dtype=w.dtype)
        tw[ins, slot] = w[mask][order]
    return tidx, tw, tmask
