"""Where the user is: the active ``with gn.Graph(...)`` block (per thread) and the
``file:line`` of the user's code that is building a node (for error messages and
``node.loc``).

>>> import graphnn as gn
>>> with gn.Graph("g") as g:
...     current_graph() is g
True
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from graphnn.core.errors import GraphError

if TYPE_CHECKING:  # pragma: no cover
    from graphnn.core.ir import Graph

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LOCAL = threading.local()


def user_location(skip: int = 1) -> str:
    """``file:line`` of the innermost stack frame outside the graphnn package."""
    return fmt_loc(user_frame(skip + 1))


#: file name -> is it graphnn's own code? (one prefix test per file, not per frame)
_INSIDE: dict[str, bool] = {}
#: frames walked at most: deeper than this inside graphnn, the location is "<graphnn>"
MAX_WALK = 64


def user_frame(skip: int = 1) -> tuple[str, int]:
    """``(file, line)`` of the innermost stack frame outside the graphnn package.

    Called once per node built, so the walk is cheap: ``sys._getframe`` (no
    ``inspect.stack()``, which reads source files), a bounded loop, and whether a file
    belongs to graphnn cached per file name.
    """
    f = sys._getframe(skip)
    inside = _INSIDE
    for _ in range(MAX_WALK):
        if f is None:
            break
        file = f.f_code.co_filename
        own = inside.get(file)
        if own is None:
            own = inside[file] = file.startswith(_PKG_DIR)
        if not own:
            return (file, f.f_lineno)
        f = f.f_back
    return ("<graphnn>", 0)


def fmt_loc(loc: tuple[str, int]) -> str:
    """``file:line``, the file relative to the working folder when it is below it."""
    path, line = loc
    try:
        rel = os.path.relpath(path)
        if not rel.startswith(".."):
            path = rel
    except ValueError:  # different drive on Windows
        pass
    return f"{path}:{line}"


def graph_stack() -> list[Graph]:
    """This thread's stack of active ``with gn.Graph(...)`` blocks (innermost last)."""
    stack = getattr(_LOCAL, "stack", None)
    if stack is None:
        stack = _LOCAL.stack = []
    return stack


def current_graph() -> Graph:
    """The innermost ``with gn.Graph(...)`` block's graph; a GraphError outside one."""
    stack = graph_stack()
    if not stack:
        raise GraphError(
            f"no active graph at {user_location()}: create leaves inside "
            "`with gn.Graph('name') as g:` (or call g.input / g.param directly)"
        )
    return stack[-1]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a block that makes many long-lived
    objects and no reference cycles (compiling, tracing, loading a large graph): with a
    big graph alive each automatic collection walks millions of objects (measured: a
    quarter of a 100,000-node compile, half of a 100,000-step trace table). Reference
    counting still frees memory; the collector resumes on exit if it was on.

    >>> import gc
    >>> with paused_gc():
    ...     gc.isenabled()
    False
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
