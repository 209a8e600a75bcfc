"""A compiled CuPy step replayed as a CUDA graph: ``gn.compile(..., backend="cupy",
cuda_graph=True)``.

The first call runs the step as usual (the warm-up: kernels compile, cuBLAS and the
memory pool settle). The second call captures the whole step on a private non-default
stream (``cupy.cuda.Stream.begin_capture`` / ``end_capture``) with its inputs in fixed
device buffers and its temporaries in a private memory pool kept alive with the graph,
then launches it; every later call copies the feeds into those buffers, writes the fused
optimizer's scalars (lr, bias corrections...) into a small device buffer the captured
kernels read, and replays the graph (``Graph.launch``): one launch instead of one per
kernel, and no Python per op.

What replays is what was captured, so:

- the results are the captured output arrays, overwritten by the next call (copy what
  you keep; ``gn.fit`` reads each step's loss before the next);
- the params (and the optimizer's state buffers) must stay the same arrays: when one is
  replaced (an upload after ``set_value`` on a non-resident param, ``zero_state``) the
  step is captured again (``captures`` counts them);
- a change of :func:`graphnn.set_float32_matmul_precision` captures the step again (the
  captured GEMMs keep the precision they were captured with);
- a step that cannot be captured (a host sync such as ``float(x)``, an upload of a
  NumPy array, an op CuPy cannot capture) raises during capture; the step then runs
  uncaptured from then on and ``status`` says why (``"off: <reason>"``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphnn.core.device import precision_generation


class CudaGraphStep:
    """Runs ``function(*args)`` as a captured CUDA graph after one warm-up call.

    ``inputs``: positions of the arguments that are feeds (copied into fixed buffers
    each call); the other arguments (params) are captured as they are. ``n_scalars``:
    when the last argument is the fused optimizer's per-param ``(scalars..., state
    buffers...)`` list, how many leading entries are scalars: they go to the function as
    one more argument, a float64 device table with a row per param (the generated CuPy
    update's ``_sc``), written before each replay so that it reads this step's values;
    None when there is no such argument.
    ``status``: "warm-up", "captured" or "off: <why capture failed>"."""

    def __init__(self, cp: Any, function: Callable[..., Any], inputs: Sequence[int],
                 n_scalars: int | None = None) -> None:
        self.cp, self.function = cp, function
        self.inputs = list(inputs)
        self.n_scalars = n_scalars
        self.status = "warm-up"
        self.calls = 0
        self.captures = 0
        self.launches = 0
        self._graph: Any = None
        self._key: tuple[int, ...] = ()
        # (number of arguments, positions of those a capture is tied to), made once
        self._fixed_pos: tuple[int, list[int]] | None = None
        self._outs: Any = None
        self._bufs: list[Any] = []
        self._pool: Any = None
        self._stream: Any = None
        # the fused update's scalar table (a float64 row per param) on the device, and
        # its host copy written before each replay
        self._sc: Any = None
        self._sc_host: np.ndarray | None = None

    def __call__(self, args: list[Any]) -> Any:
        self.calls += 1
        if self.status.startswith("off") or self.calls == 1:
            return self.function(*args)
        key = self._identity(args)
        if self._graph is None or key != self._key:
            err = self._capture(args, key)
            if err is not None:
                self.status = f"off: {err}"
                self._graph = self._outs = self._pool = None
                return self.function(*args)
        return self._replay(args)

    # -- capture -------------------------------------------------------------------
    def _identity(self, args: list[Any]) -> tuple[int, ...]:
        """Which arrays a captured graph is tied to: the non-feed arguments and the
        optimizer's state buffers (not its scalars, which change every step)."""
        n = len(args)
        if self._fixed_pos is None or self._fixed_pos[0] != n:
            upd = n - 1 if self.n_scalars is not None else -1
            self._fixed_pos = (n, [k for k in range(n) if k not in self.inputs and k != upd])
        fixed = [id(args[k]) for k in self._fixed_pos[1]]
        if self.n_scalars is not None and args[-1] is not None:
            ns = self.n_scalars
            for per in args[-1]:
                fixed += map(id, per[ns:])
        # the GEMM kernels a capture holds follow the float32 matmul precision of then
        fixed.append(precision_generation())
        return tuple(fixed)

    def _captured_args(self, args: list[Any]) -> list[Any]:
        """``args`` with the feeds replaced by the fixed buffers, and the optimizer's scalar
        table (on the device) after them when there is an update."""
        cp = self.cp
        if len(self._bufs) != len(self.inputs) or any(
                b.shape != args[k].shape or b.dtype != args[k].dtype
                for b, k in zip(self._bufs, self.inputs)):
            self._bufs = [cp.empty_like(args[k]) for k in self.inputs]
        out = list(args)
        for b, k in zip(self._bufs, self.inputs):
            b[...] = args[k]  # (a capture does not run; this step's feeds, not garbage)
            out[k] = b
        self._sc = self._sc_host = None
        if self.n_scalars is not None and args[-1] is not None:
            ns, upd = self.n_scalars, args[-1]
            self._sc_host = np.array([u[:ns] for u in upd], dtype=np.float64).reshape(
                len(upd), ns)
            self._sc = cp.asarray(self._sc_host)  # the table the captured update reads
            out.append(self._sc)
        return out

    def _capture(self, args: list[Any], key: tuple[int, ...]) -> str | None:
        """Capture the step; the reason it could not be captured, or None."""
        cp = self.cp
        cargs = self._captured_args(args)
        if self._stream is None:
            self._stream = cp.cuda.Stream(non_blocking=True)
        stream, pool = self._stream, cp.cuda.MemoryPool()
        err: BaseException | None = None
        graph = outs = None
        with cp.cuda.using_allocator(pool.malloc), stream:
            stream.begin_capture()
            try:
                outs = self.function(*cargs)
            except Exception as e:  # noqa: BLE001 - any failure means "not capturable"
                err = e
            try:
                graph = stream.end_capture()
            except Exception as e:  # noqa: BLE001 - an invalidated capture ends here
                err = err or e
        if err is not None:
            return f"{type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else ''}"
        self._graph, self._outs, self._pool, self._key = graph, outs, pool, key
        self.captures += 1
        self.status = "captured"
        return None

    # -- replay --------------------------------------------------------------------
    def _replay(self, args: list[Any]) -> Any:
        cp, stream = self.cp, self._stream
        stream.wait_event(cp.cuda.get_current_stream().record())
        with stream:
            for b, k in zip(self._bufs, self.inputs):
                b[...] = args[k]
            if self._sc is not None and args[-1] is not None:
                ns = self.n_scalars
                self._sc_host[...] = [u[:ns] for u in args[-1]]  # this step's scalars
                self._sc.set(self._sc_host)
            self._graph.launch(stream)
        cp.cuda.get_current_stream().wait_event(stream.record())
        self.launches += 1
        return self._outs


__all__ = ["CudaGraphStep"]
