"""The fast conv/pool helpers against brute-force references, on the layouts and corner
cases their fast paths distinguish: max-pool windows that tile the input exactly, leave a
border, overlap, or are padded; ties (ReLU zeros), NaN inputs and non-finite upstream
gradients; float32 and float64; batch sizes 1 and many; strided, dilated, grouped and
padded convolutions. (Speed is measured in bench/, not asserted here.)"""

from __future__ import annotations

import numpy as np
import pytest

from graphnn.ops import conv as C
from graphnn.ops import pool as P

POOLS = [  # (input shape, kernel, stride, padding)
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0)),  # windows tile the input (LeNet)
    ((2, 3, 7, 9), (2, 2), (2, 2), (0, 0)),  # tiled, with a border no window covers
    ((1, 2, 7, 8), (3, 3), (2, 1), (1, 1)),  # overlapping and padded
    ((1, 2, 6, 6), (2, 3), (3, 4), (1, 1)),  # disjoint with gaps, padded
    ((3, 1, 5, 5), (3, 3), (1, 1), (0, 0)),  # stride 1: every input under several taps
]


def first_max(win: np.ndarray) -> int:
    """Flat index of the first maximum of a window, or of its last NaN (PyTorch's scan
    ``val > max || isnan(val)``: a NaN is the maximum, and a later NaN replaces it)."""
    nan = np.flatnonzero(np.isnan(win))
    return int(nan[-1]) if nan.size else int(np.argmax(win))


def ref_pool_grad(x, g, k, s, p):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=-np.inf)
    dx = np.zeros(xp.shape)
    for a in range(n):
        for b in range(c):
            for oi in range(g.shape[2]):
                for oj in range(g.shape[3]):
                    r, q = oi * s[0], oj * s[1]
                    i, j = divmod(first_max(xp[a, b, r:r + k[0], q:q + k[1]]), k[1])
                    dx[a, b, r + i, q + j] += g[a, b, oi, oj]
    return dx[:, :, p[0]:p[0] + h, p[1]:p[1] + w]


def ref_pool_select(x, v, k, s, p, out_hw):
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=-np.inf)
    vp = np.pad(v, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    out = np.zeros(x.shape[:2] + out_hw)
    for a, b, oi, oj in np.ndindex(*out.shape):
        r, q = oi * s[0], oj * s[1]
        i, j = divmod(first_max(xp[a, b, r:r + k[0], q:q + k[1]]), k[1])
        out[a, b, oi, oj] = vp[a, b, r + i, q + j]
    return out


def relu_like(rng, shape, dtype):
    """Many exact ties: about half the entries are 0, as after a ReLU."""
    return np.maximum(rng.integers(-3, 4, size=shape), 0).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,k,s,p", POOLS)
def test_max_pool_grad_and_select_match_first_max_reference(shape, k, s, p, dtype) -> None:
    rng = np.random.default_rng(0)
    x = relu_like(rng, shape, dtype)
    x.flat[::7] = np.nan  # a NaN is the maximum of its windows
    y = P._max_pool2d(np, x, k, s, p)
    g = rng.normal(size=y.shape).astype(dtype)
    dx = P._max_pool2d_grad(np, x, g, k, s, p)
    assert dx.shape == x.shape and dx.dtype == x.dtype
    tol = 1e-5 if dtype == "float32" else 1e-12  # overlapping windows add up
    np.testing.assert_allclose(dx, ref_pool_grad(x, g, k, s, p), rtol=tol, atol=tol)
    v = rng.normal(size=shape).astype(dtype)
    sel = P._max_pool2d_select(np, x, v, k, s, p)
    assert sel.shape == y.shape and sel.dtype == v.dtype
    np.testing.assert_array_equal(sel, ref_pool_select(x, v, k, s, p, y.shape[2:]))


@pytest.mark.parametrize("shape,k,s,p", POOLS)
def test_max_pool_grad_keeps_non_finite_upstream_values_at_the_max_only(shape, k, s, p) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape)
    y = P._max_pool2d(np, x, k, s, p)
    g = np.where(rng.random(y.shape) < 0.5, np.inf, np.nan)
    dx = P._max_pool2d_grad(np, x, g, k, s, p)
    routed = ref_pool_grad(x, np.ones(y.shape), k, s, p) > 0
    assert np.all(dx[~routed] == 0)  # no inf * 0 = NaN leaking into other inputs
    assert not np.isfinite(dx[routed]).any()


CONVS = [  # (x shape, w shape, stride, padding, dilation, groups)
    ((64, 1, 28, 28), (6, 1, 5, 5), (1, 1), (0, 0), (1, 1), 1),  # LeNet conv1
    ((8, 6, 12, 12), (16, 6, 5, 5), (1, 1), (0, 0), (1, 1), 1),  # LeNet conv2
    ((1, 3, 7, 6), (4, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1),  # one image, padded
    ((2, 4, 9, 7), (6, 2, 3, 2), (2, 1), (1, 2), (1, 2), 2),  # strided, dilated, grouped
    ((3, 2, 10, 8), (4, 1, 2, 3), (3, 2), (0, 1), (2, 1), 2),  # batch < OW: N-major columns
    ((1, 4, 9, 9), (4, 2, 3, 3), (2, 2), (1, 1), (1, 1), 2),
]


def ref_conv(x, w, s, p, d, groups):
    n, c, h, wd = x.shape
    co, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    oh = (h + 2 * p[0] - d[0] * (kh - 1) - 1) // s[0] + 1
    ow = (wd + 2 * p[1] - d[1] * (kw - 1) - 1) // s[1] + 1
    out = np.zeros((n, co, oh, ow))
    for o in range(co):
        grp = o // (co // groups)
        for ci, i, j in np.ndindex(cg, kh, kw):
            r, q = i * d[0], j * d[1]
            out[:, o] += w[o, ci, i, j] * xp[:, grp * cg + ci, r:r + s[0] * (oh - 1) + 1:s[0],
                                              q:q + s[1] * (ow - 1) + 1:s[1]]
    return out


@pytest.mark.parametrize("xs,ws,s,p,d,groups", CONVS)
def test_conv_helpers_match_direct_sums_and_adjoints(xs, ws, s, p, d, groups) -> None:
    rng = np.random.default_rng(2)
    x, w, b = rng.normal(size=xs), rng.normal(size=ws), rng.normal(size=ws[0])
    kw = {"stride": s, "padding": p, "dilation": d, "groups": groups}
    y = C._conv2d(np, x, w, b, **kw)
    assert y.flags.c_contiguous
    np.testing.assert_allclose(y, ref_conv(x, w, s, p, d, groups) + b[:, None, None],
                               rtol=1e-10, atol=1e-10)
    g = rng.normal(size=y.shape)
    dx = C._conv2d_grad_input(np, g, w, input_size=xs[2:], **kw)
    dw = C._conv2d_grad_weight(np, x, g, kernel_size=ws[2:], **kw)
    # <conv(x, w), g> = <x, dX> = <w, dW>: each gradient is the exact adjoint
    inner = float(np.sum(ref_conv(x, w, s, p, d, groups) * g))
    assert dx.shape == x.shape and dx.flags.c_contiguous
    assert np.isclose(np.sum(x * dx), inner, rtol=1e-10)
    assert np.isclose(np.sum(w * dw), inner, rtol=1e-10)


def test_conv_keeps_float32_and_promotes_like_numpy() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 6, 6)).astype("float32")
    w = rng.normal(size=(4, 3, 3, 3)).astype("float32")
    kw = {"stride": (1, 1), "padding": (1, 1), "dilation": (1, 1), "groups": 1}
    assert C._conv2d(np, x, w, np.zeros(4, "float32"), **kw).dtype == np.float32
    assert C._conv2d(np, x, w, np.zeros(4), **kw).dtype == np.float64  # float64 bias
    g = np.ones((2, 4, 6, 6), "float32")
    assert C._conv2d_grad_input(np, g, w, input_size=(6, 6), **kw).dtype == np.float32
    assert C._conv2d_grad_weight(np, x, g, kernel_size=(3, 3), **kw).dtype == np.float32
