"""The stand-in cupy behaves like CuPy where generated code depends on it: host values
are refused by device calls, kernels follow CuPy's argument and dtype rules, and the
kernels' C runs on the host with the right numbers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.cupy_standin import installed
from tests.test_codegen_cupy_run import needs_gxx


def test_host_values_are_refused_like_cupy() -> None:
    with installed() as cp:
        d = cp.asarray(np.arange(6.0).reshape(2, 3))
        for bad in (lambda: cp.broadcast_to(np.float64(1.0), (2, 3)),
                    lambda: cp.broadcast_to(np.ones(3), (2, 3)),
                    lambda: cp.matmul(np.ones((2, 2)), d[:, :2]),
                    lambda: cp.exp(np.ones(3)), lambda: d + np.ones(3),
                    lambda: np.ones(3) + d[0], lambda: cp.add(d, np.array(2.0)),
                    lambda: np.asarray(d), lambda: cp.concatenate([d, np.ones((2, 3))])):
            with pytest.raises(TypeError):
                bad()
        # scalars (Python or NumPy) are fine in ufuncs; results stay on the device
        for r in (d * np.float64(2.0), np.float32(2.0) * d, cp.exp(d), cp.sum(d),
                  cp.maximum(d, 0), np.exp(d), cp.exp(cp.asarray(np.float64(1.0)))):
            assert isinstance(r, cp.ndarray)
        assert not isinstance(d, np.ndarray) and isinstance(cp.asnumpy(d), np.ndarray)
        assert float(cp.sum(d)) == 15.0 and d.T.shape == (3, 2)
        with pytest.raises(AttributeError):
            d.no_such_method()


@needs_gxx
def test_elementwise_kernel_semantics() -> None:
    with installed() as cp:
        k = cp.ElementwiseKernel("float32 x, float32 a", "float32 y", "y = x * a + 1.0f;",
                                 "axpy_test")
        x = cp.asarray(np.arange(6, dtype=np.float32).reshape(2, 3))
        y = k(x, np.float32(2.0))  # a scalar is cast to the parameter's type
        assert isinstance(y, cp.ndarray) and y.dtype == np.float32 and y.shape == (2, 3)
        np.testing.assert_array_equal(cp.asnumpy(y), np.arange(6).reshape(2, 3) * 2 + 1)
        row = cp.asarray(np.array([1, 2, 3], dtype=np.float32))
        np.testing.assert_array_equal(cp.asnumpy(k(x, row)), cp.asnumpy(x) * [1, 2, 3] + 1)
        with pytest.raises(TypeError, match="Unsupported type"):
            k(x, np.ones(3, dtype=np.float32))          # a host array
        with pytest.raises(TypeError, match="Type is mismatched"):
            k(x, cp.asarray(np.ones(3)))                # float64 for a float32 parameter
        with pytest.raises(ValueError, match="Loop size is undecided"):
            k(np.float32(1.0), np.float32(2.0))          # no array: no shape
        t = cp.ElementwiseKernel("T x", "T y", "y = x + x;", "twice_test")
        assert t(cp.asarray(np.arange(3))).dtype == np.int64


@needs_gxx
def test_reduction_and_raw_kernels() -> None:
    with installed() as cp:
        ssq = cp.ReductionKernel("float64 x", "float64 y", "x * x", "a + b", "y = sqrt(a)",
                                 "0", "l2norm_test")
        x = np.arange(12.0).reshape(3, 4)
        np.testing.assert_allclose(cp.asnumpy(ssq(cp.asarray(x), axis=1)),
                                   np.sqrt((x * x).sum(axis=1)))
        assert ssq(cp.asarray(x)).shape == () and ssq(cp.asarray(x), axis=0,
                                                       keepdims=True).shape == (1, 4)
        raw = cp.RawKernel(r'''extern "C" __global__ void scale_test(const float* x, float* y,
            float a, int n) {
            int i = blockIdx.x * blockDim.x + threadIdx.x;
            if (i < n) y[i] = a * x[i];
        }''', "scale_test")
        xs, ys = cp.asarray(np.arange(10, dtype=np.float32)), cp.zeros(10, dtype=np.float32)
        raw((3,), (4,), (xs, ys, np.float32(2.0), np.int32(10)))
        np.testing.assert_array_equal(cp.asnumpy(ys), np.arange(10) * 2.0)
        with pytest.raises(TypeError):
            raw((3,), (4,), (np.ones(10, np.float32), ys, np.float32(2.0), np.int32(10)))


@needs_gxx
def test_raw_parameters_of_elementwise_kernels() -> None:
    """``raw`` arrays are whole arrays indexed ``x[j]`` in C order (no broadcasting, no
    loop size); raw outputs are written through; all-raw kernels take ``size=`` (CuPy's
    rules, ``cupy/_core/_kernel.pyx``)."""
    with installed() as cp:
        rev = cp.ElementwiseKernel("raw T x, int64 n", "T y", "y = x[n - 1 - i];",
                                   "reverse_test")
        x = cp.asarray(np.arange(6.0).reshape(2, 3).T)  # not C-contiguous: logical order
        y = cp.empty(6, np.float64)
        rev(x, 6, y)
        np.testing.assert_array_equal(cp.asnumpy(y), np.arange(6.0).reshape(2, 3).T.ravel()[::-1])
        fill = cp.ElementwiseKernel("raw T x", "raw T y", "y[i] = x[i] * 2;", "double_test")
        out = cp.zeros(4, np.float64)
        fill(cp.asarray(np.arange(4.0)), out, size=4)
        np.testing.assert_array_equal(cp.asnumpy(out), [0.0, 2.0, 4.0, 6.0])
        with pytest.raises(ValueError, match="Loop size is undecided"):
            fill(cp.asarray(np.arange(4.0)), out)           # every argument raw, no size=
        with pytest.raises(ValueError, match="size parameter"):
            rev(x, 6, y, size=6)                             # size= with a non-raw array
        made = fill(cp.asarray(np.arange(4.0)), size=4)    # size= makes the raw output
        assert made.shape == (4,) and cp.asnumpy(made).tolist() == [0.0, 2.0, 4.0, 6.0]
        flag = cp.ElementwiseKernel("T x", "T y, raw int8 f", "y = x; if (i == 0) f[0] = 1;",
                                    "flag_test")
        f = cp.zeros(1, np.int8)
        flag(cp.asarray(np.ones(3)), cp.empty(3, np.float64), f)
        assert int(f[0]) == 1
        with pytest.raises(ValueError, match="Output array size is Undecided"):
            flag(cp.asarray(np.ones(3)))                    # a raw output, no size=
