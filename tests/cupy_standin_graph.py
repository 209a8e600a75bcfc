"""The stand-in's streams and CUDA graphs: ``cupy.cuda.Stream`` (``begin_capture`` /
``end_capture``), ``Graph.launch``, ``Event``, ``MemoryPool``, ``using_allocator``.

CuPy semantics emulated (checked against CuPy 14's ``cupy/cuda/stream.pyx``):

- capture cannot start on the default (null) stream;
- while the current stream captures, device work is RECORDED, not run: the stand-in runs
  each op eagerly (its results need shapes and dtypes), records it, and at
  ``end_capture`` puts back every array that existed before the capture and was written
  during it, so memory the capture touched looks unchanged, as after a real capture;
- host syncs and uploads during capture (``float(x)``, ``.get()``, ``asnumpy``,
  ``asarray(numpy_array)``, ``.set()``) raise ``CUDARuntimeError``
  (cudaErrorStreamCaptureUnsupported) and invalidate the capture, so ``end_capture``
  raises too (cudaErrorStreamCaptureInvalidated);
- ``Graph.launch`` replays the recorded ops in order on the same arrays: each op is
  called again with the same arguments (Python scalars as captured: a real graph keeps
  kernel arguments by value) and its result is written into the array the capture
  returned, so later ops and the caller see the new values.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np


class CUDARuntimeError(RuntimeError):
    """``cupy.cuda.runtime.CUDARuntimeError``."""


_CURRENT: list[Any] = []   # the stream stack (``with stream:``)
_ACTIVE: list[Capture] = []  # captures in progress


def _root(h: np.ndarray) -> np.ndarray:
    while isinstance(h.base, np.ndarray):
        h = h.base
    return h


def _arrays(x: Any) -> Iterator[Any]:
    from tests.cupy_standin import ndarray

    if isinstance(x, ndarray):
        yield x
    elif isinstance(x, (tuple, list)):
        for y in x:
            yield from _arrays(y)


class Capture:
    """What one capture recorded: ``(fn, args, kw, result)`` per op."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.ops: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], Any]] = []
        self.created: set[int] = set()    # ids of memory made during the capture
        self.old: set[int] = set()        # ids of memory that existed before it
        self.keep: list[np.ndarray] = []  # keeps those ids unique
        self.saved: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.invalid: str | None = None
        self.depth = 0

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], kw: dict[str, Any],
            writes: tuple[Any, ...]) -> Any:
        if self.depth:  # an op inside a recorded op: part of it
            return fn(*args, **kw)
        for a in _arrays(list(args) + list(kw.values())):
            r = _root(a._h)
            if id(r) not in self.created and id(r) not in self.old:
                self.old.add(id(r))
                self.keep.append(r)
        for w in writes:
            r = _root(w._h)
            if id(r) not in self.created and id(r) not in self.saved:
                self.saved[id(r)] = (r, r.copy())
        self.depth += 1
        try:
            res = fn(*args, **kw)
        finally:
            self.depth -= 1
        for a in _arrays(res):
            r = _root(a._h)
            if id(r) not in self.old:
                self.created.add(id(r))
                self.keep.append(r)
        self.ops.append((fn, args, kw, res))
        return res

    def restore(self) -> None:
        for r, copy in self.saved.values():
            r[...] = copy


def capturing() -> Capture | None:
    """The capture recording on the current stream, if any."""
    if _ACTIVE and _CURRENT and _CURRENT[-1] is _ACTIVE[-1].stream:
        return _ACTIVE[-1]
    return None


def run_op(fn: Callable[..., Any], args: tuple[Any, ...], kw: dict[str, Any],
           writes: tuple[Any, ...] = ()) -> Any:
    """Run one device op (recorded while the current stream captures)."""
    cap = capturing()
    if cap is None:
        return fn(*args, **kw)
    return cap.run(fn, args, kw, writes)


def check_sync(where: str) -> None:
    """A host sync or transfer: an error while the current stream captures."""
    cap = capturing()
    if cap is not None and not cap.depth:
        cap.invalid = cap.invalid or where
        raise CUDARuntimeError(f"cudaErrorStreamCaptureUnsupported: operation not permitted "
                               f"when stream is capturing ({where})")


def _refresh(old: Any, new: Any) -> None:
    from tests.cupy_standin import ndarray

    if isinstance(old, ndarray) and isinstance(new, ndarray):
        if not np.may_share_memory(old._h, new._h):
            old._h[...] = new._h
    elif isinstance(old, (tuple, list)) and isinstance(new, (tuple, list)):
        for o, n in zip(old, new):
            _refresh(o, n)


class Graph:
    """``cupy.cuda.Graph``: replays a capture's ops on the same arrays."""

    def __init__(self, ops: list[Any], keep: list[np.ndarray]) -> None:
        self.ops, self._keep = ops, keep
        self.launches = 0

    def launch(self, stream: Any = None) -> None:
        for fn, args, kw, res in self.ops:
            _refresh(res, fn(*args, **kw))
        self.launches += 1


class Event:
    """``cupy.cuda.Event``: work is synchronous here, so events are always complete."""

    def record(self, stream: Any = None) -> None:
        return None

    def synchronize(self) -> None:
        return None

    done = True


class Stream:
    """``cupy.cuda.Stream``: a context that makes it current; capture (see the module)."""

    null: Stream

    def __init__(self, null: bool = False, non_blocking: bool = False,
                 ptds: bool = False, priority: int | None = None) -> None:
        self.ptr = 0 if null else id(self)
        self._capture: Capture | None = None

    def __enter__(self) -> Stream:
        _CURRENT.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _CURRENT.pop()

    def use(self) -> Stream:
        _CURRENT[:] = [self]
        return self

    def synchronize(self) -> None:
        check_sync("Stream.synchronize")

    def record(self, event: Event | None = None) -> Event:
        return event or Event()

    def wait_event(self, event: Event) -> None:
        return None

    def begin_capture(self, mode: int | None = None) -> None:
        if self.ptr == 0:
            raise RuntimeError("cannot capture on the default (legacy) stream")
        if self._capture is not None:
            raise CUDARuntimeError("cudaErrorIllegalState: the stream is already capturing")
        self._capture = Capture(self)
        _ACTIVE.append(self._capture)

    def is_capturing(self) -> bool:
        return self._capture is not None

    def end_capture(self) -> Graph:
        cap = self._capture
        if cap is None:
            raise CUDARuntimeError("cudaErrorIllegalState: the stream is not capturing")
        self._capture = None
        _ACTIVE.remove(cap)
        cap.restore()
        if cap.invalid is not None:
            raise CUDARuntimeError("cudaErrorStreamCaptureInvalidated: the capture was "
                                   f"invalidated ({cap.invalid})")
        return Graph(cap.ops, cap.keep)


Stream.null = Stream(null=True)


def get_current_stream() -> Stream:
    return _CURRENT[-1] if _CURRENT else Stream.null


class MemoryPool:
    """``cupy.cuda.MemoryPool``: the stand-in's memory is NumPy's; nothing to pool."""

    def malloc(self, size: int) -> Any:  # pragma: no cover - never called here
        raise RuntimeError("the stand-in allocates with NumPy: nothing may call "
                           "MemoryPool.malloc (CuPy's allocator hook is not emulated)")

    def used_bytes(self) -> int:
        return 0


@contextlib.contextmanager
def using_allocator(allocator: Any = None) -> Iterator[None]:
    yield
