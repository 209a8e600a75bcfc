"""GPU check of the CuPy backend: every example graph, random graph and registered op
(tests/op_cases.py) compiled with backend="cupy", run on the GPU and compared with the
interpreter; the examples interpreted on the GPU (``gn.run(device="cuda")``, values and
gradients); then timings of a fused elementwise chain and an MLP training step (also
through ``fn(feeds)`` with the data on the device: params resident, CuPy feeds), and of
whole training steps with Adam (MLP 784-256-128-10 at batch 64 and 16384, LeNet-5 at 64
and 1024, float32): the update after the step (gn.optim), the update compiled into the
step (``optimizer=``), and that step replayed as a CUDA graph (``cuda_graph=True``); the
"cuda-graph" checks compare replayed training steps with host steps (one-hot and
class-index targets, which must be captured). The same Adam steps in PyTorch eager and
as one jax.jit program (when installed, on the GPU) give issue 13's target ratios. The
report is written to bench/results_gpu.md (``--out``; a copy in ``$OUT`` when that
names a folder), and rewritten after each stage: the timings run first, then the
correctness sweep until ``--budget`` seconds have passed (the cases left are reported
as not run), so a run cut short still leaves what it measured. Every training step is
also timed with TF32 GEMMs (``gn.set_float32_matmul_precision("high")``), and each peer
at its default and at float32 and TF32: jax.jit's default is TF32 on such GPUs, and
PyTorch's is float32 matmul with TF32 cuDNN convolutions.

    PYTHONPATH=. python3 bench/gpu_check.py            # on a machine with CuPy and a GPU
    PYTHONPATH=. python3 bench/gpu_check.py --standin  # dry run on the CPU (tests' stand-in
                                                       # cupy, kernels through g++)

Needs numpy, sympy, networkx, click and cupy (not pytest: a no-op stand-in is used for
the decorators of the test modules the graphs come from). Exit status 1 if any case fails.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import traceback
import types
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _pytest_stub() -> None:
    """The test modules decorate with pytest; where pytest is absent, no-op decorators."""
    try:
        import pytest  # noqa: F401
    except ImportError:
        ident = lambda *a, **k: (a[0] if a and callable(a[0]) and not k else (lambda f: f))  # noqa: E731
        mark = types.SimpleNamespace(parametrize=ident, skipif=ident, slow=ident)

        class Skipped(Exception):  # noqa: N818 - pytest's name
            pass

        def skip(reason: str = "") -> None:
            raise Skipped(reason)

        class raises:  # noqa: N801 - pytest's name: the exception must come, and match
            def __init__(self, exc: type[BaseException], match: str | None = None) -> None:
                self.exc, self.match, self.value = exc, match, None

            def __enter__(self) -> Any:
                return self

            def __exit__(self, et: Any, ev: Any, tb: Any) -> bool:
                import re

                if et is None:
                    raise AssertionError(f"DID NOT RAISE {self.exc.__name__}")
                if not issubclass(et, self.exc):
                    return False
                if self.match and not re.search(self.match, str(ev)):
                    raise AssertionError(f"{str(ev)!r} does not match {self.match!r}")
                self.value = ev
                return True

        sys.modules["pytest"] = types.SimpleNamespace(  # type: ignore[assignment]
            mark=mark, fixture=ident, skip=skip, raises=raises)


def cases() -> Iterator[tuple[str, str, Callable[[], tuple[Any, ...]]]]:
    """(group, name, builder of (graph, feeds, outputs, wrt, loss, rtol)) for every check."""
    import graphnn as gn
    from tests.op_cases import CASES
    from tests.test_codegen import EXAMPLES, lenet, mlp, random_graph

    def std(make: Callable[[], Any], rtol: float = 1e-10,
            atol: float = 1e-13) -> Callable[[], Any]:
        def build() -> Any:
            g, feeds, outs, wrt = make()
            return g, feeds, outs if isinstance(outs, list) else [outs], wrt, None, rtol, atol
        return build

    for name, make in sorted(EXAMPLES.items()):
        yield "examples", name, std(make)
    yield "examples", "lenet", std(lenet)
    yield "examples", "mlp-float32", std(lambda: mlp("float32", batch=16), 2e-5, 1e-6)
    for seed in range(12):
        yield "random", f"random{seed}", std(lambda s=seed: random_graph(s))
    for name in sorted(n for n, op in gn.REGISTRY.items() if not op.leaf):
        for k, case in enumerate(CASES[name]):
            for fused in (False, True):
                yield "ops", f"{name}[{k}]{'+fused' if fused else ''}", (
                    lambda n=name, c=case, f=fused: op_case(n, c, f))


def op_case(name: str, case: Any, fused: bool) -> tuple[Any, ...]:
    """One op alone with gradients, or fused with a multiply after it (no gradient)."""
    import graphnn as gn

    op = gn.REGISTRY[name]
    with gn.Graph(f"gpu_{name}") as g:  # ops without inputs (zeros, arange) need it
        ins = [g.input(f"x{i}", v.shape, v.dtype) for i, v in enumerate(case.inputs)]
        out = gn.bind(op, *ins, **case.params).named("out")
        if fused and out.dtype.kind == "f":
            out = (out * 1.5).named("out2")
        wrt = [x for i, x in enumerate(ins) if not fused and i not in op.nondiff
               and case.inputs[i].dtype.kind == "f" and not case.nondiff
               and (case.diff_inputs is None or i in case.diff_inputs)]
        loss = (gn.sum(out) * 1.0).named("loss") if wrt and out.dtype.kind == "f" else None
    feeds = {f"x{i}": v for i, v in enumerate(case.inputs)}
    outs = [out, loss] if loss is not None else [out]
    return g, feeds, outs, wrt if loss is not None else [], loss, 1e-9, 1e-12


def check_one(cp: Any, build: Callable[[], tuple[Any, ...]],
              device_run: bool = False) -> tuple[str, float, str]:
    """Run one case on the device (the compiled CuPy module, or ``gn.run(device="cuda")``
    node by node when ``device_run``) and compare with the NumPy ``gn.run``: (status,
    worst error as a fraction of the tolerance, note)."""
    import graphnn as gn

    g, feeds, outs, wrt, loss, rtol, atol = build()
    try:
        kw = {"outputs": outs, "wrt": wrt or None, "loss": loss}
        if device_run:
            r = gn.run(g, feeds, **kw, device="cuda")
        else:
            r = gn.compile(g, backend="cupy", **kw)(feeds)
        ref = gn.run(g, feeds, **kw)
        pairs = [(r.value(o), ref.value(o)) for o in outs]
        pairs += [(r.grad(w), ref.grad(w)) for w in wrt]
    except Exception as e:  # noqa: BLE001 - every failure is a row of the report
        return "ERROR", float("nan"), f"{type(e).__name__}: {str(e).splitlines()[0][:150]}"
    return compare(cp, pairs, rtol, atol)


def compare(cp: Any, pairs: list[tuple[Any, Any]], rtol: float,
            atol: float) -> tuple[str, float, str]:
    """(got on the device, want on the host) pairs -> (status, worst error / tolerance, note)."""
    worst, note = 0.0, ""
    for got, want in pairs:
        if not isinstance(got, cp.ndarray):
            return "FAIL", float("nan"), f"a result is a {type(got).__name__}, not on the GPU"
        h, want = cp.asnumpy(got), np.asarray(want)
        if h.shape != want.shape or h.dtype != want.dtype:
            return "FAIL", float("nan"), f"{h.shape} {h.dtype} != {want.shape} {want.dtype}"
        err = np.abs(h.astype(float) - want) / (atol + rtol * np.abs(want))
        worst = max(worst, float(np.nanmax(err, initial=0.0)))
        if not np.allclose(h, want, rtol=rtol, atol=atol, equal_nan=True):
            note = "values differ"
    return ("FAIL" if note else "ok"), worst, note


def run_device_cases() -> Iterator[tuple[str, str, Callable[[], tuple[Any, ...]]]]:
    """The examples again, for ``gn.run(device="cuda")``."""
    for group, name, build in cases():
        if group == "examples":
            yield "run-device", name, build


def kernel_checks(cp: Any, only: str | None,
                  deadline: float = float("inf")) -> list[tuple[str, str, str, float, str]]:
    """The ops' own GPU kernels (pooling, im2col / col2im, cross-entropy, softmax)
    against the NumPy code on edge cases: ties, NaN, infinities, padding, ceil_mode,
    dilation, groups, ignored targets, weights, label smoothing, float16, integers, empty
    batches (the cases of tests/test_gpu_kernels.py, run on the device; pooling, the conv
    input gradient and the class mask must match bit for bit)."""
    from tests import test_gpu_kernels as T

    calls: list[tuple[str, Callable[..., None], tuple[Any, ...]]] = []
    for seed in range(24):
        calls.append((f"max_pool[{seed}]", T.test_max_pool_kernels_match_numpy_bit_for_bit,
                      (seed,)))
        calls.append((f"avg_pool[{seed}]", T.test_avg_pool_kernels_match_numpy_bit_for_bit,
                      (seed,)))
    calls += [(f"conv[{seed}]", T.test_conv_kernels_match_numpy, (seed,)) for seed in range(18)]
    calls += [(f"cross_entropy[{seed}]", T.test_cross_entropy_kernels_match_numpy, (seed,))
              for seed in range(24)]
    calls += [(f"cross_entropy-probabilities[{seed}]",
               T.test_cross_entropy_with_probabilities_matches_numpy, (seed,))
              for seed in range(12)]
    calls += [(f"softmax[{seed}]", T.test_softmax_kernels_match_numpy, (seed,))
              for seed in range(12)]
    calls += [("class-index-errors", T.test_class_index_errors_match_numpy, ()),
              ("pool-integers", T.test_pool_kernels_take_integers, ()),
              ("max-pool-nan", T.test_max_pool_nan_rule_is_pytorchs, ()),
              ("conv-empty", T.test_empty_and_degenerate_convs, ())]
    rows = []
    for name, fn, args in calls:
        if only and only not in name:
            continue
        if time.perf_counter() > deadline:
            rows.append(("kernels", name, "not run", float("nan"), "time budget"))
            continue
        try:
            fn(cp, *args)
        except BaseException as e:  # noqa: BLE001 - pytest.skip raises a BaseException
            if type(e).__name__ == "Skipped":
                continue
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            first = (str(e).strip().splitlines() or [""])[0][:150]
            note = f"{type(e).__name__}: {first}"
            rows.append(("kernels", name, "FAIL", float("nan"), note))
            print(f"  FAIL  kernels/{name}: {note}", flush=True)
            continue
        rows.append(("kernels", name, "ok", 0.0, ""))
    return rows


def run_checks(cp: Any, only: str | None,
               deadline: float = float("inf")) -> list[tuple[str, str, str, float, str]]:
    """Every check; past ``deadline`` (a ``time.perf_counter()`` value) the cases left
    are rows with status "not run"."""
    rows = kernel_checks(cp, only, deadline)
    todo = [(g, n, b, False) for g, n, b in cases()]
    todo += [(g, n, b, True) for g, n, b in run_device_cases()]
    for group, name, build, device_run in todo:
        if only and only not in name:
            continue
        if time.perf_counter() > deadline:
            rows.append((group, name, "not run", float("nan"), "time budget"))
            continue
        status, err, note = check_one(cp, build, device_run)
        rows.append((group, name, status, err, note))
        if status != "ok":
            print(f"  {status:5} {group}/{name}: {note}", flush=True)
    return rows


def summary(rows: list[tuple[str, str, str, float, str]]) -> str:
    groups = sorted({r[0] for r in rows})
    lines = ["| group | cases | ok | failed | not run (time budget) | worst error / tolerance |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for gr in groups:
        rs = [r for r in rows if r[0] == gr]
        ok = [r for r in rs if r[2] == "ok"]
        skipped = sum(r[2] == "not run" for r in rs)
        worst = max((r[3] for r in ok), default=0.0)
        lines.append(f"| {gr} | {len(rs)} | {len(ok)} | {len(rs) - len(ok) - skipped} | "
                     f"{skipped} | {worst:.2e} |")
    return "\n".join(lines)


def timed(cp: Any, fn: Callable[[], Any], repeat: int) -> float:
    """Median seconds of ``fn`` (synchronised with the device), after two warm-ups."""
    dev = cp.cuda.Device()
    fn()
    fn()
    dev.synchronize()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        dev.synchronize()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def chain_timing(cp: Any, n: int, repeat: int) -> list[str]:
    """sigmoid(1.3x - 0.2) * tanh(x) + exp(-x*x) over n float32: one fused kernel vs a copy."""
    import graphnn as gn

    with gn.Graph("chain") as g:
        x = gn.input("x", shape=(n,), dtype="float32")
        y = (gn.sigmoid(1.3 * x - 0.2) * gn.tanh(x) + gn.exp(-x * x)).named("y")
    f = gn.compile(g, outputs=[y], backend="cupy")
    xd = cp.asarray(np.random.default_rng(0).standard_normal(n, dtype=np.float32))
    got = cp.asnumpy(f.function(xd)[0][:1000])
    want = gn.run(g, {"x": cp.asnumpy(xd)}).value("y")[:1000] if n <= 1 << 22 else got
    assert np.allclose(got, want, rtol=1e-5, atol=1e-6), "the chain's values differ"
    t_k, t_c = timed(cp, lambda: f.function(xd), repeat), timed(cp, lambda: xd.copy(), repeat)
    gbs = lambda t: 2 * n * 4 / t / 1e9  # noqa: E731 - read + write
    return [f"| chain, {len(f.kernels)} fused kernel(s), {n:,} float32 | {t_k * 1e3:.3f} ms | "
            f"{gbs(t_k):.0f} GB/s |", f"| plain copy, {n:,} float32 | {t_c * 1e3:.3f} ms | "
            f"{gbs(t_c):.0f} GB/s |"]


def mlp_timing(cp: Any, batch: int, repeat: int) -> list[str]:
    """One training step (forward, gradients, SGD update) of an MLP 784-256-128-10."""
    import graphnn as gn

    rng = np.random.default_rng(1)
    sizes = [784, 256, 128, 10]
    with gn.Graph("mlp_step") as g:
        x = gn.input("x", shape=(batch, 784), dtype="float32")
        t = gn.input("t", shape=(batch, 10), dtype="float32")
        h, ps = x, []
        for k, (a, b) in enumerate(zip(sizes, sizes[1:])):
            W = gn.param(f"W{k}", (rng.standard_normal((a, b)) / np.sqrt(a)).astype("float32"))
            bias = gn.param(f"b{k}", np.zeros(b, "float32"))
            ps += [W, bias]
            h = h @ W + bias
            h = gn.relu(h) if k < 2 else h
        loss = (-gn.mean(gn.sum(t * gn.log_softmax(h, axis=1), axis=1))).named("loss")
    f = gn.compile(g, outputs=[loss], wrt=ps, backend="cupy")
    vals = {"x": rng.standard_normal((batch, 784)).astype("float32"),
            "t": np.eye(10, dtype="float32")[rng.integers(0, 10, batch)]}
    vals.update({p.name: g.value_of(p) for p in ps})
    dev = {k: cp.asarray(v) for k, v in vals.items()}
    args = [dev[a] for a in f.arg_names]
    lr = np.float32(0.01)

    def step() -> None:
        res = f.function(*args)
        for p, gr in zip(ps, res[1:]):
            dev[p.name] -= lr * gr

    nbytes = sum(v.nbytes for v in dev.values())
    t_s = timed(cp, step, repeat)
    t_c = timed(cp, lambda: [v.copy() for v in dev.values()], repeat)
    t_r, t_h = resident_step_timing(cp, f, ps, vals, lr, repeat)
    return [f"| MLP 784-256-128-10 step, batch {batch} | {t_s * 1e3:.3f} ms | |",
            f"| same step through fn(feeds): params resident, CuPy feeds | "
            f"{t_r * 1e3:.3f} ms | |",
            f"| same step through fn(feeds): params resident, NumPy feeds (uploaded) | "
            f"{t_h * 1e3:.3f} ms | |",
            f"| plain copy of its {len(dev)} arrays ({nbytes / 1e6:.1f} MB) | "
            f"{t_c * 1e3:.3f} ms | |"]


def resident_step_timing(cp: Any, f: Any, ps: list[Any], vals: dict[str, Any], lr: Any,
                         repeat: int) -> tuple[float, float]:
    """The MLP step through ``CompiledGraph.__call__`` with the data on the device: the
    params' resident copies (``f.device_params``) updated in place on the GPU, the feeds
    CuPy arrays (first number) or NumPy arrays uploaded by each call (second)."""
    host_feeds = {k: vals[k] for k in ("x", "t")}
    dev_feeds = {k: cp.asarray(v) for k, v in host_feeds.items()}
    resident = [f.device_params.get(cp, p) for p in ps]

    def step(feeds: dict[str, Any]) -> None:
        r = f(feeds)
        for p, w in zip(ps, resident):
            w -= lr * r.grad(p.name)

    f(dev_feeds)
    assert all(f.device_params.get(cp, p) is w for p, w in zip(ps, resident)), \
        "params were uploaded again"
    return timed(cp, lambda: step(dev_feeds), repeat), timed(cp, lambda: step(host_feeds),
                                                             repeat)


def train_step_graph(model: str, batch: int, index_targets: bool = False,
                     ) -> tuple[Any, list[Any], dict[str, np.ndarray]]:
    """(graph, params, host feeds) of one float32 training step: ``"mlp"`` 784-256-128-10
    or ``"lenet"`` (LeNet-5 on 1x28x28: conv 6@5x5 pad 2, max pool, conv 16@5x5, max pool,
    120, 84, 10); soft-max cross-entropy against one-hot targets, or (``index_targets``)
    ``gn.cross_entropy`` of int64 class indices."""
    import graphnn as gn

    rng = np.random.default_rng(2)
    f32 = "float32"

    def param(name: str, shape: tuple[int, ...], fan_in: int) -> Any:
        return gn.param(name, (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(f32))

    xshape = (batch, 784) if model == "mlp" else (batch, 1, 28, 28)
    with gn.Graph(f"{model}_train") as g:
        x = gn.input("x", shape=xshape, dtype=f32)
        t = gn.input("t", shape=(batch,) if index_targets else (batch, 10),
                     dtype="int64" if index_targets else f32)
        if model == "mlp":
            h, sizes = x, [784, 256, 128, 10]
        else:
            h = gn.max_pool2d(gn.relu(gn.conv2d(x, param("c1", (6, 1, 5, 5), 25),
                                                gn.param("cb1", np.zeros(6, f32)), padding=2)), 2)
            h = gn.max_pool2d(gn.relu(gn.conv2d(h, param("c2", (16, 6, 5, 5), 150),
                                                gn.param("cb2", np.zeros(16, f32)))), 2)
            h, sizes = gn.flatten(h, 1), [400, 120, 84, 10]
        for k, (a, b) in enumerate(zip(sizes, sizes[1:])):
            h = h @ param(f"W{k}", (a, b), a) + gn.param(f"b{k}", np.zeros(b, f32))
            h = gn.relu(h) if k < len(sizes) - 2 else h
        if index_targets:
            gn.cross_entropy(h, t).named("loss")
        else:
            (-gn.mean(gn.sum(t * gn.log_softmax(h, axis=1), axis=1))).named("loss")
    labels = rng.integers(0, 10, batch)
    feeds = {"x": rng.standard_normal(xshape).astype(f32),
             "t": labels if index_targets else np.eye(10, dtype=f32)[labels]}
    return g, list(g.params), feeds


def cuda_graph_checks(cp: Any) -> list[tuple[str, str, str, float, str]]:
    """Training steps replayed as CUDA graphs (fused SGD) against the same steps on the
    host (compiled NumPy step, then gn.optim), 4 steps on changing batches: the params
    after them, the status ("captured" is required: one-hot targets and, checked on the
    device, class indices); then a class index out of range in a replay: NaN loss and
    no update."""
    import graphnn as gn

    rows = []
    for model, batch, index in (("mlp", 16, False), ("mlp", 16, True), ("lenet", 8, True)):
        name = f"{model} batch {batch}, {'class indices' if index else 'one-hot'}"
        try:
            (g1, p1, feeds), (g2, p2, _) = (train_step_graph(model, batch, index)
                                             for _ in range(2))
            # SGD with momentum: linear in the gradients, so float32 rounding differences
            # stay rounding differences (Adam's m / sqrt(v) turns a gradient of 1e-12
            # against 0 into a whole lr step)
            o1, o2 = (gn.optim.SGD(ps, lr=0.05, momentum=0.9) for ps in (p1, p2))
            host = gn.compile(g1, ["loss"], wrt=p1)
            dev = gn.compile(g2, ["loss"], wrt=p2, backend="cupy", optimizer=o2,
                             cuda_graph=True)
            rng = np.random.default_rng(9)
            for _ in range(4):
                b = {"x": rng.standard_normal(feeds["x"].shape).astype("float32"),
                     "t": feeds["t"][rng.permutation(batch)]}
                o1.step(host(b))
                dev({k: cp.asarray(v) for k, v in b.items()})
            status = dev.cuda_graph.status  # type: ignore[union-attr]
            pairs = [(cp.asarray(g2.value_of(q)), g1.value_of(p)) for p, q in zip(p1, p2)]
            st, err, note = compare(cp, pairs, 2e-4, 1e-6)
            if status != "captured":
                st, note = "FAIL", f"cuda graph status: {status}"
            elif index and st == "ok":
                before = [np.array(cp.asnumpy(cp.asarray(g2.value_of(q)))) for q in p2]
                t = np.array(b["t"])
                t[0] = 10
                r = dev({"x": cp.asarray(b["x"]), "t": cp.asarray(t)}, host=True)
                after = [np.array(cp.asnumpy(cp.asarray(g2.value_of(q)))) for q in p2]
                if not np.isnan(float(r["loss"])) or any(
                        not np.array_equal(a, c) for a, c in zip(before, after)):
                    st, note = "FAIL", "a bad class index in a replay: loss not NaN or updated"
        except Exception as e:  # noqa: BLE001 - every failure is a row of the report
            st, err, note = "ERROR", float("nan"), f"{type(e).__name__}: {str(e)[:150]}"
        rows.append(("cuda-graph", name, st, err, note))
        if st != "ok":
            print(f"  {st:5} cuda-graph/{name}: {note}", flush=True)
    return rows


def train_step_timing(cp: Any, model: str, batch: int, repeat: int,
                      index_targets: bool = False) -> list[str]:
    """One Adam training step three ways, params resident on the device and CuPy feeds:
    compiled step then ``opt.step`` (unfused), the update compiled into the step
    (fused), and the fused step replayed as a CUDA graph; each against the same start."""
    import graphnn as gn
    from graphnn.run.device import params_on_device

    g, ps, host = train_step_graph(model, batch, index_targets)
    feeds = {k: cp.asarray(v) for k, v in host.items()}
    label = (("MLP 784-256-128-10" if model == "mlp" else "LeNet-5") + f" + Adam, batch {batch}"
             + (", class-index targets" if index_targets else ""))
    start = {p: g.value_of(p).copy() for p in ps}
    rows = []
    hows = ("unfused", "fused", "cuda graph") + (() if index_targets else (TF32,))
    for how in hows:
        for p in ps:
            g.set_value(p, start[p].copy())
        opt = gn.optim.Adam(ps, lr=1e-3)
        gn.set_float32_matmul_precision("high" if how == TF32 else "highest")
        try:
            with params_on_device(cp, g, ps):
                f = gn.compile(g, ["loss"], wrt=ps, backend="cupy",
                               optimizer=None if how == "unfused" else opt,
                               cuda_graph=how in ("cuda graph", TF32))

                def step(f: Any = f, opt: Any = opt, how: str = how) -> None:
                    r = f(feeds)
                    if how == "unfused":
                        opt.step(r)

                t_s = timed(cp, step, repeat)
                TIMES[(model, batch, index_targets, how)] = t_s
                status = f.cuda_graph.status if f.cuda_graph is not None else ""
                nodes = graph_nodes(f.cuda_graph) if f.cuda_graph is not None else ""
        finally:
            gn.set_float32_matmul_precision("highest")
        note = {"unfused": "compiled step, then gn.optim",
                "fused": "update compiled into the step",
                "cuda graph": f"fused step as a CUDA graph ({status})",
                TF32: f"the same with TF32 GEMMs, precision 'high' ({status})"}[how]
        rows.append(f"| {label}: {note} | {t_s * 1e3:.3f} ms | {nodes} |")
    return rows


def graph_nodes(step: Any) -> str:
    """What the captured CUDA graph of a step holds, from CuPy's ``Graph.debug_dot_str``
    (the driver's DOT dump, one node per kernel launch, memset or copy): "N kernels, M
    memsets/copies", or "" where that is not available (the stand-in, older CuPy)."""
    import re

    kinds: list[str] = []
    for flags in (0, 1):  # 1: cudaGraphDebugDotFlagsVerbose
        try:
            dot = step._graph.debug_dot_str(flags)
        except Exception:  # noqa: BLE001 - a report column, never a failure
            return ""
        kinds = []
        for line in str(dot).splitlines():  # one node definition per line: its first kind
            line = line.replace("\\n", " ")  # the labels' escaped line breaks
            m = re.search(r"\b(KERNEL|MEMSET|MEMCPY|MEM_ALLOC|MEM_FREE|HOST)\b", line)
            if m and "label" in line:
                kinds.append(m.group(1))
        if kinds:
            break
    if not kinds:
        return ""
    other = len(kinds) - kinds.count("KERNEL")
    return f"{kinds.count('KERNEL')} kernels, {other} other nodes"


#: (model, batch, class-index targets, how) -> median seconds of one Adam training step
TIMES: dict[tuple[str, int, bool, str], float] = {}
TF32 = "cuda graph, TF32"  # graphnn's CUDA-graph step under set_float32_matmul_precision("high")

#: the peers' variants: name -> (peer, what its float32 GEMMs and convolutions use). Each
#: peer at its default (as a user has it), and at graphnn's two precisions. On a GPU with
#: TF32 (compute capability 8.0+), PyTorch's default is float32 matmul but TF32 cuDNN
#: convolutions; jax.jit's default is TF32 for both.
PEERS = {"torch": ("torch", "default: matmul float32, conv TF32"),
         "torch fp32": ("torch", "float32 (allow_tf32 off for matmul and cuDNN)"),
         "torch tf32": ("torch", "TF32 (allow_tf32 on for matmul and cuDNN)"),
         "jax": ("jax", "default: TF32"),
         "jax fp32": ("jax", "float32 (jax.default_matmul_precision('float32'))")}


@contextlib.contextmanager
def peer_precision(variant: str) -> Iterator[None]:
    """The variant's GEMM precision, set for the block (PyTorch's flags, JAX's config)."""
    if variant.startswith("torch") and variant != "torch":
        import torch

        saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        on = variant.endswith("tf32")
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = on
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
    elif variant == "jax fp32":
        import jax

        with jax.default_matmul_precision("float32"):
            yield
    else:
        yield


def _peer_forward(F: Any, model: str, P: list[Any], x: Any, t: Any, index: bool,
                  conv: Any, pool: Any, log_softmax: Any, cross_entropy: Any) -> Any:
    """The loss of train_step_graph's network, written once for PyTorch and JAX (``F``
    gives relu; ``conv(x, w, b, pad)``, ``pool(h)``...): the same params, same order."""
    if model == "mlp":
        h, lin = x, P
    else:
        h = pool(F.relu(conv(x, P[0], P[1], 2)))
        h = pool(F.relu(conv(h, P[2], P[3], 0)))
        h, lin = h.reshape(h.shape[0], -1), P[4:]
    for k in range(0, len(lin), 2):
        h = h @ lin[k] + lin[k + 1]
        h = F.relu(h) if k < len(lin) - 2 else h
    if index:
        return cross_entropy(h, t)
    return -(t * log_softmax(h)).sum(1).mean()


def torch_step(model: str, batch: int, index: bool, device: str) -> tuple[Any, Any]:
    """(step, first loss) of the same training step in PyTorch eager with torch.optim.Adam
    on ``device``, from train_step_graph's initial params and batch."""
    import torch
    import torch.nn.functional as F

    g, ps, host = train_step_graph(model, batch, index)
    dev = torch.device(device)
    P = [torch.tensor(np.array(g.value_of(p)), device=dev, requires_grad=True) for p in ps]
    x = torch.tensor(host["x"], device=dev)
    t = torch.tensor(host["t"], device=dev)
    opt = torch.optim.Adam(P, lr=1e-3)

    def loss() -> Any:
        return _peer_forward(
            F, model, P, x, t, index,
            conv=lambda h, w, b, pad: F.conv2d(h, w, b, padding=pad),
            pool=lambda h: F.max_pool2d(h, 2),
            log_softmax=lambda h: F.log_softmax(h, dim=1),
            cross_entropy=F.cross_entropy)

    first = float(loss())

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss().backward()
        opt.step()

    return step, first


def jax_step(model: str, batch: int, index: bool) -> tuple[Any, Any]:
    """(step, first loss) of the same training step as one jax.jit program (loss, grads
    and an Adam update written out), from train_step_graph's initial params and batch."""
    import jax
    import jax.numpy as jnp

    g, ps, host = train_step_graph(model, batch, index)
    P = [jnp.asarray(np.array(g.value_of(p))) for p in ps]
    x, t = jnp.asarray(host["x"]), jnp.asarray(host["t"])

    def conv(h: Any, w: Any, b: Any, pad: int) -> Any:
        y = jax.lax.conv_general_dilated(h, w, (1, 1), ((pad, pad), (pad, pad)),
                                         dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return y + b.reshape(1, -1, 1, 1)

    def pool(h: Any) -> Any:
        return jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2),
                                     "VALID")

    def cross_entropy(h: Any, tt: Any) -> Any:
        lsm = jax.nn.log_softmax(h, axis=1)
        return -jnp.take_along_axis(lsm, tt[:, None], axis=1).mean()

    def loss(P: Any) -> Any:
        return _peer_forward(jax.nn, model, P, x, t, index, conv=conv, pool=pool,
                             log_softmax=lambda h: jax.nn.log_softmax(h, axis=1),
                             cross_entropy=cross_entropy)

    b1, b2, lr, eps = 0.9, 0.999, 1e-3, 1e-8

    @jax.jit
    def update(P: Any, M: Any, V: Any, k: Any) -> Any:
        grads = jax.grad(loss)(P)
        M = [b1 * m + (1 - b1) * gr for m, gr in zip(M, grads)]
        V = [b2 * v + (1 - b2) * gr * gr for v, gr in zip(V, grads)]
        c1, c2 = 1 - b1 ** k, 1 - b2 ** k
        P = [p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps) for p, m, v in zip(P, M, V)]
        return P, M, V

    state = {"P": P, "M": [jnp.zeros_like(p) for p in P], "V": [jnp.zeros_like(p) for p in P],
             "k": 0}
    first = float(jax.jit(loss)(P))

    def step() -> None:
        state["k"] += 1
        state["P"], state["M"], state["V"] = update(state["P"], state["M"], state["V"],
                                                    jnp.float32(state["k"]))
        state["P"][0].block_until_ready()

    return step, first


def peer_timing(cp: Any, model: str, batch: int, repeat: int, index_targets: bool = False,
                standin: bool = False, peers: tuple[str, ...] = ("torch", "jax")) -> list[str]:
    """The same Adam training step in PyTorch eager and as a jax.jit program on the GPU
    (``peers``: variants of :data:`PEERS`, when installed); the first loss of each beside
    graphnn's. A dry run (``standin``) runs the peers on the CPU, to check this code, and
    times nothing."""
    import graphnn as gn

    g, ps, host = train_step_graph(model, batch, index_targets)
    want = float(gn.run(g, host, outputs=["loss"]).value("loss"))
    label = (("MLP 784-256-128-10" if model == "mlp" else "LeNet-5") + f" + Adam, batch {batch}"
             + (", class-index targets" if index_targets else ""))
    rows = []
    for variant in peers:
        peer, precision = PEERS[variant]
        name = ("PyTorch eager" if peer == "torch" else "jax.jit") + f", {precision}"
        try:
            with peer_precision(variant):
                if peer == "torch":
                    import torch

                    device = "cuda" if torch.cuda.is_available() else "cpu"
                    if device == "cpu" and not standin:
                        raise RuntimeError("torch sees no CUDA GPU")
                    step, first = torch_step(model, batch, index_targets, device)
                else:
                    import jax

                    if jax.devices()[0].platform != "gpu" and not standin:
                        raise RuntimeError(f"jax runs on {jax.devices()[0].platform}")
                    step, first = jax_step(model, batch, index_targets)
                if standin:
                    step()
                    t_s = float("nan")
                else:
                    t_s = timed(cp, step, repeat)
                    TIMES[(model, batch, index_targets, variant)] = t_s
            # TF32 rounds the inputs of every product: the first loss moves by ~1e-3
            tol = 1e-4 if "tf32" not in variant and variant != "jax" else 5e-3
            ok = "same first loss" if abs(first - want) <= tol * max(1.0, abs(want)) else (
                f"FIRST LOSS DIFFERS: {first:.6g} vs graphnn {want:.6g}")
            rows.append(f"| {label}: {name} | {t_s * 1e3:.3f} ms | {ok} |")
        except Exception as e:  # noqa: BLE001 - a missing peer is a row, not a failure
            rows.append(f"| {label}: {name} | n/a | {type(e).__name__}: {str(e)[:100]} |")
    return rows


def targets() -> list[str]:
    """Issue 13's speed targets, from the times measured in this run: as the issue states
    them (graphnn's default float32 step against each peer at its own default, which is
    TF32 for jax.jit and for PyTorch's convolutions), then at equal precision (graphnn
    float32 / the peer's float32 variant; graphnn with TF32 / the peer's TF32 variant)."""
    goals = [(("mlp", 64, False), "jax", 2.0), (("mlp", 16384, False), "jax", 1.2),
             (("lenet", 64, False), "torch", 1.0), (("lenet", 1024, False), "torch", 1.0),
             (("lenet", 64, True), "torch", 1.0), (("lenet", 1024, True), "torch", 1.0)]
    lines = ["| target (CUDA-graph step / peer) | precisions (graphnn / peer) | measured | "
             "goal | met |", "| --- | --- | ---: | ---: | --- |"]
    for key, peer, goal in goals:
        name = f"{key[0]} batch {key[1]}{', class indices' if key[2] else ''} vs {peer}"
        same32 = "torch" if peer == "torch" and key[0] == "mlp" else f"{peer} fp32"
        for ours, theirs, what in (("cuda graph", peer, "as stated: float32 / peer default"),
                                   ("cuda graph", same32, "float32 / float32"),
                                   (TF32, f"{peer} tf32" if peer == "torch" else "jax",
                                    "TF32 / TF32")):
            a, b = TIMES.get((*key, ours)), TIMES.get((*key, theirs))
            r = None if a is None or b is None else a / b
            lines.append(f"| {name} | {what} | {'n/a' if r is None else f'{r:.2f}x'} | "
                         f"<= {goal}x | {'n/a' if r is None else ('yes' if r <= goal else 'no')} |")
    return lines


def fit_timing(rows: int, batch: int) -> list[str]:
    """``gn.fit`` of an MLP 784-256-128-10 (float64, Adam, one epoch) with
    ``device="cuda"`` against the same fit on the host, in this process; the trained
    params must agree."""
    import graphnn as gn

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((rows, 784)), rng.integers(0, 10, rows)
    out = {}
    for device in ("cpu", "cuda"):
        model = gn.nn.MLP([784, 256, 128, 10], activation="relu", seed=0)
        t0 = time.perf_counter()
        gn.fit(model, X, y, epochs=1, batch_size=batch, optimizer="adam", lr=1e-3,
               device=device, progress=False)
        out[device] = (time.perf_counter() - t0, model.state_dict())
    worst = max(float(np.max(np.abs(out["cuda"][1][k] - v))) for k, v in out["cpu"][1].items())
    steps = rows // batch
    return [f"| gn.fit MLP 784-256-128-10 float64, batch {batch}, {steps} steps: cuda | "
            f"{out['cuda'][0] / steps * 1e3:.3f} ms/step | params max diff {worst:.1e} |",
            f"| same fit on the host (NumPy, compiled) | "
            f"{out['cpu'][0] / steps * 1e3:.3f} ms/step | |"]


@contextlib.contextmanager
def cupy_module(standin: bool) -> Iterator[Any]:
    if not standin:
        import cupy

        yield cupy
        return
    from tests.cupy_standin import installed

    with installed() as cp:
        yield cp


def write_report(path: str, cp: Any, rows: list[Any], lines: list[str], goals: list[str],
                 seconds: float, stage: str) -> None:
    """bench/results_gpu.md: the machine, the correctness summary, the timings and the
    targets of this run (rewritten after each stage, so a run cut short leaves what it
    measured; a copy goes to ``$OUT`` when that names a folder)."""
    import datetime
    import platform

    try:
        gpu = cp.cuda.runtime.getDeviceProperties(0)["name"]
        gpu = gpu.decode() if isinstance(gpu, bytes) else str(gpu)
    except Exception:  # noqa: BLE001 - the stand-in has no device properties
        gpu = "stand-in (no GPU)"
    peers = []
    for mod in ("torch", "jax"):
        try:
            peers.append(f"{mod} {__import__(mod).__version__}")
        except Exception:  # noqa: BLE001
            peers.append(f"{mod} not installed")
    text = "\n".join([
        "# GPU check (bench/gpu_check.py)", "",
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; {gpu}; CuPy "
        f"{getattr(cp, '__version__', 'stand-in')}; NumPy {np.__version__}; "
        f"{', '.join(peers)}; host {platform.processor() or platform.machine()}; "
        f"{seconds:.0f} s in all; {stage}.", "",
        "Command: `PYTHONPATH=. python3 bench/gpu_check.py`. Times are medians of one step "
        "each, synchronised with the device; PyTorch eager and jax.jit run the same "
        "network, batch and initial params (their first loss is checked against graphnn's).",
        "", "## Correctness", "", summary(rows) if rows else "(not run yet)", "",
        "## Timings", "", *lines, "", "## Targets (issue 13)", "", *goals, ""])
    dests = [path]
    out = os.environ.get("OUT")
    if out and os.path.isdir(out):
        dests.append(os.path.join(out, os.path.basename(path)))
    for dest in dests:
        with open(dest, "w") as fh:
            fh.write(text)
    print(f"wrote {', '.join(dests)} ({stage})", flush=True)


def timings(cp: Any, a: Any, save: Callable[[list[str], str], None]) -> list[str]:
    """Every timing row; the report is saved after each block. A block that raises is a
    row saying so (the rest still run)."""
    n = a.size or (1 << 20 if a.standin else 64 << 20)
    rep = 3 if a.standin else 20
    lines = ["| timing | median | bandwidth, or what a CUDA graph holds |",
             "| --- | ---: | ---: |"]
    blocks: list[tuple[str, Callable[[], list[str]]]] = [
        ("chain", lambda: chain_timing(cp, n, rep))]
    blocks += [(f"mlp {b}", lambda b=b: mlp_timing(cp, b, rep)) for b in (64, 1024)]
    blocks += [(f"fit {b}", lambda b=b: fit_timing(1024 if a.standin else 16384, b))
               for b in (64, 1024)]
    steps = [("mlp", 64, False), ("mlp", 16384, False), ("lenet", 64, False),
             ("lenet", 1024, False), ("lenet", 64, True), ("lenet", 1024, True)]
    blocks += [(f"{m} step {b}", lambda m=m, b=b, i=i: train_step_timing(cp, m, b, rep, i))
               for m, b, i in steps]
    # every PyTorch step before any JAX one: JAX takes most of the GPU's memory for
    # itself on first use (its default), so it goes last
    for variant in PEERS:
        for m, b, i in steps:
            if variant == "torch fp32" and m == "mlp":
                continue  # PyTorch's default is float32 for an MLP already
            if variant in ("torch tf32", "jax fp32") and i:
                continue  # the TF32 / float32 comparisons use the one-hot steps
            blocks.append((f"{variant} {m} {b}", lambda v=variant, m=m, b=b, i=i: peer_timing(
                cp, m, 8 if a.standin else b, rep, i, a.standin, (v,))))
    for name, block in blocks:
        try:
            lines += block()
        except Exception as e:  # noqa: BLE001 - one failed block is a row of the report
            lines.append(f"| {name} | error | {type(e).__name__}: {str(e)[:120]} |")
            print(f"  timing {name}: {type(e).__name__}: {e}", flush=True)
        save(lines, f"timing: {name} done")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--standin", action="store_true", help="CPU dry run with the tests' stand-in")
    ap.add_argument("--size", type=int, default=None, help="chain length (default 64M; 1M standin)")
    ap.add_argument("--only", default=None, help="only checks whose name contains this")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--budget", type=float, default=480.0,
                    help="seconds after which the correctness sweep stops (the cases left "
                         "are reported as not run); the timings run first")
    ap.add_argument("--out", default=None,
                    help="write the report (Markdown) here; default bench/results_gpu.md on "
                         "a GPU, nothing in a --standin dry run")
    a = ap.parse_args(argv)
    if a.out is None and not a.standin:
        a.out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results_gpu.md")
    _pytest_stub()
    with cupy_module(a.standin) as cp:
        print(f"cupy: {getattr(cp, '__version__', 'stand-in')}, numpy {np.__version__}")
        t0 = time.perf_counter()
        rows: list[tuple[str, str, str, float, str]] = []
        lines: list[str] = []
        goals: list[str] = []

        def save(timing_lines: list[str], stage: str) -> None:
            if a.out:
                write_report(a.out, cp, rows, timing_lines, targets(),
                             time.perf_counter() - t0, stage)

        if not a.no_timing:
            lines = timings(cp, a, save)
            goals = targets()
            print("\n".join(lines))
            print("\n" + "\n".join(goals), flush=True)
        rows += run_checks(cp, a.only, t0 + a.budget)
        if (not a.only or a.only in "cuda-graph") and time.perf_counter() < t0 + a.budget:
            rows += cuda_graph_checks(cp)
        print(f"\n{summary(rows)}\n\n({time.perf_counter() - t0:.1f} s)\n")
        save(lines, "complete")
    return 1 if any(r[2] not in ("ok", "not run") for r in rows) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # noqa: BLE001 - show the whole trace to whoever runs it
        traceback.print_exc()
        sys.exit(2)
