"""Byte-identity check for the code emitter: compile a fixed corpus of graphs under many
settings and compare the sha256 of every generated module with stored reference hashes.

Use it around any change to the emission phase (``codegen/fuse.py``, ``emit.py``,
``memplan.py``, the NumPy / CuPy backends, the args computation in ``compiler.py``) that
must not change the generated source:

    python bench/emit_identical.py --save bench/emit_identical.json   # on the reference
    python bench/emit_identical.py                                     # after the change

The corpus: every graph in tests/test_codegen.py's EXAMPLES (plus its LeNet) and
``random_graph(k)`` for k < 30, each with backend "numpy" (inplace "auto" / True / False,
fusion on and off, optimize off) and "cupy" (fusion on and off); the random graphs also
with tiny in-place blocks (``numpy_backend.CHUNK = 4``) and in tiny part functions
(``emit.CHUNK_MIN = PART_SIZE = 1``); a large in-place group graph (also through numexpr);
the 20,000-node chain ``h = tanh(h * 0.5)`` with its gradient (bench/compile_scale.py's
"mulconst") and a 3,000-node chain over (300, 200) arrays (in-place groups, buffer reuse,
blocks); the bench LeNet and MLP (bench/codegen_models.py) and its 2,000-node ladder; the
MLP trained with a fused Adam and SGD-momentum update; hostile node names
(tests/test_hostile_names.py's corpus). For CuPy the kernel specs are hashed too.

The stored hashes (bench/emit_identical.json) were made at commit bad8bbc and remade at
dd4bcee (buffers kept between calls change the conv, pool and large-array modules) and
after 4e199e0 (cross_entropy's helpers check class indices on the device under capture)
and after the reuse of a dead buffer became two statements (ruff E702), and after the
conv, pool and cross-entropy ops gained their own GPU kernels (only the LeNet modules
changed: their NumPy helpers' source, and the CuPy modules' calls), and after softmax and
cross-entropy gained theirs (the NumPy softmax helpers' empty-axis case, the CuPy
modules' kernel helpers: helper source only, no emitted statement changed), and after
the CuPy optimizer update became one multi-tensor kernel (only the two CuPy modules with
a fused update changed).
Exit status 1 and the differing cases are printed when any hash differs.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, HERE]

import graphnn as gn  # noqa: E402
from graphnn.codegen import emit, numpy_backend  # noqa: E402

DEFAULT = os.path.join(HERE, "emit_identical.json")

NUMPY_CONFIGS: dict[str, dict[str, Any]] = {
    f"numpy-{ip}-{'fuse' if fu is None else 'nofuse'}": {"inplace": ip, "fuse_elementwise": fu}
    for ip in ("auto", True, False) for fu in (None, False)}
NUMPY_CONFIGS["numpy-noopt"] = {"optimize": False}
CUPY_CONFIGS = {"cupy-fuse": {"backend": "cupy"},
                "cupy-nofuse": {"backend": "cupy", "fuse_elementwise": False}}
ALL_CONFIGS = {**NUMPY_CONFIGS, **CUPY_CONFIGS}


@contextlib.contextmanager
def patched(module: Any, **values: Any) -> Iterator[None]:
    old = {k: getattr(module, k) for k in values}
    for k, v in values.items():
        setattr(module, k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(module, k, v)


def digest(f: Any) -> str:
    h = hashlib.sha256(f.source.encode("utf-8", "surrogatepass"))
    if f.kernels or f.update_kernels:  # CuPy: the kernel specs
        h.update(repr((f.kernels, f.update_kernels)).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def chain(n: int, shape: tuple[int, ...]) -> tuple[gn.Graph, list[Any], list[Any]]:
    with gn.Graph("chain") as g:
        x = gn.input("x", shape=shape)
        w = gn.param("w", np.full(shape[-1], 0.5))
        h = x * w
        while len(g.nodes) < n:
            h = gn.tanh(h * 0.5)
        loss = gn.sum(h).named("loss")
    return g, [loss], [w]


def cases() -> Iterator[tuple[str, Callable[[], Any]]]:
    """(name, thunk returning a CompiledGraph) for every case of the corpus."""
    import codegen_models as cm

    from tests import test_codegen as tc
    from tests import test_hostile_names as th

    examples = {**tc.EXAMPLES, "lenet": tc.lenet}
    for ex, make in sorted(examples.items()):
        for cname, cfg in ALL_CONFIGS.items():
            def run(make: Any = make, cfg: dict[str, Any] = cfg) -> Any:
                g, _, outs, wrt = make()
                return gn.compile(g, outputs=outs, wrt=wrt, **cfg)
            yield f"example-{ex}-{cname}", run
    for k in range(30):
        for cname, cfg in ALL_CONFIGS.items():
            def run(k: int = k, cfg: dict[str, Any] = cfg) -> Any:
                g, _, loss, wrt = tc.random_graph(k)
                return gn.compile(g, outputs=[loss], wrt=wrt, **cfg)
            yield f"random{k}-{cname}", run

        def blocked(k: int = k) -> Any:
            g, _, loss, wrt = tc.random_graph(k)
            with patched(numpy_backend, CHUNK=4):
                return gn.compile(g, outputs=[loss], wrt=wrt, inplace=True)
        yield f"random{k}-blocked", blocked

        def parts(k: int = k) -> Any:
            g, _, loss, wrt = tc.random_graph(k)
            with patched(emit, CHUNK_MIN=1, PART_SIZE=1):
                return gn.compile(g, outputs=[loss], wrt=wrt, inplace=True)
        yield f"random{k}-parts", parts

    def large(**kw: Any) -> Any:
        g, loss, out, a, x = tc.large_chain(np.random.default_rng(0))
        return gn.compile(g, outputs=[loss, out], wrt=[a, x], loss=loss, **kw)
    yield "large-auto", large
    yield "large-inplace", lambda: large(inplace=True)
    yield "large-numexpr", lambda: large(numexpr=True)
    yield "large-cupy", lambda: large(backend="cupy")

    for cname, cfg in {**NUMPY_CONFIGS, **CUPY_CONFIGS}.items():
        if cname.endswith("-fuse") or cname in ("numpy-False-nofuse", "cupy-nofuse"):
            def run20k(cfg: dict[str, Any] = cfg) -> Any:
                g, outs, wrt = chain(20_000, (4,))
                return gn.compile(g, outputs=outs, wrt=wrt, **cfg)
            yield f"chain20k-{cname}", run20k
    for cname, cfg in NUMPY_CONFIGS.items():
        def run3k(cfg: dict[str, Any] = cfg) -> Any:
            g, outs, wrt = chain(3_000, (300, 200))
            return gn.compile(g, outputs=outs, wrt=wrt, **cfg)
        yield f"chain3k-wide-{cname}", run3k

    bench_models = {"lenet64": lambda: cm.lenet_graph(64, np.random.default_rng(0)),
                    "mlp64": lambda: cm.mlp_graph(64, np.random.default_rng(0))}
    for mname, mk in bench_models.items():
        for cname, cfg in ALL_CONFIGS.items():
            def runm(mk: Any = mk, cfg: dict[str, Any] = cfg) -> Any:
                g, loss, ps = mk()
                return gn.compile(g, outputs=[loss], wrt=ps, **cfg)
            yield f"{mname}-{cname}", runm

    def ladder(**kw: Any) -> Any:
        g, out = cm.big_graph(2000, np.random.default_rng(0))
        return gn.compile(g, outputs=[out], wrt=["w"], **kw)
    yield "ladder2k-numpy", ladder
    yield "ladder2k-nofuse", lambda: ladder(fuse_elementwise=False)
    yield "ladder2k-cupy", lambda: ladder(backend="cupy")

    optimizers = {"adam": lambda: gn.optim.Adam(lr=0.01, weight_decay=0.01),
                  "sgdm": lambda: gn.optim.SGD(lr=0.1, momentum=0.9, nesterov=True)}
    for oname, mk_opt in optimizers.items():
        for backend in ("numpy", "cupy"):
            def train(mk_opt: Any = mk_opt, backend: str = backend) -> Any:
                g, loss, ps = cm.mlp_graph(16, np.random.default_rng(1))
                opt = mk_opt()
                opt.add_params(ps)
                return gn.compile(g, [loss], wrt=ps, backend=backend, optimizer=opt)
            yield f"train-{oname}-{backend}", train

    names = th.corpus(Path("/nonexistent/graphnn-sentinel"))
    for i, chunk in enumerate(th.chunks(names)):
        for backend in ("numpy", "cupy"):
            def hostile(chunk: list[str] = chunk, backend: str = backend) -> Any:
                g = th.build(chunk)
                return gn.compile(g, [chunk[4]], wrt=[chunk[1]], backend=backend)
            yield f"hostile{i}-{backend}", hostile

    def awkward() -> Any:
        g, e, d = tc.awkward_names()
        return gn.compile(g, outputs=[e, d], wrt=["xp", "1-y"], loss=e)
    yield "awkward-names", awkward


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--save", metavar="FILE", help="write the hashes to FILE (reference)")
    ap.add_argument("--check", metavar="FILE", default=DEFAULT,
                    help="compare with the hashes in FILE (default: %(default)s)")
    ap.add_argument("--only", default="", help="only cases whose name contains this")
    a = ap.parse_args()
    t0 = time.perf_counter()
    got: dict[str, str] = {}
    for name, thunk in cases():
        if a.only in name:
            got[name] = digest(thunk())
    took = time.perf_counter() - t0
    if a.save:
        Path(a.save).write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        print(f"saved {len(got)} hashes to {a.save} ({took:.0f} s)")
        return
    want = json.loads(Path(a.check).read_text())
    bad = [k for k in got if want.get(k) != got[k]]
    missing = [k for k in want if a.only in k and k not in got]
    for k in bad:
        print(f"DIFFERS: {k}" if k in want else f"NEW (no reference): {k}")
    for k in missing:
        print(f"MISSING: {k}")
    print(f"{len(got) - len(bad)}/{len(got)} identical ({took:.0f} s)")
    sys.exit(1 if bad or missing else 0)


if __name__ == "__main__":
    main()
