"""ONNX backend node-test conformance of ``gn.from_onnx`` + ``gn.run``.

Builds the onnx package's own backend node test cases
(``onnx.backend.test.case.node.collect_testcases``), keeps those whose nodes all use the
op types graphnn imports (single-node cases count under their op; multi-node "expanded"
cases count under "(composite)"), imports each model, runs it and compares with the
expected outputs using the case's rtol/atol. The op list is every ONNX type the importer
has a converter for (read from graphnn, so a new op record counts at once). Integer and
bool inputs are fed at run time; where the importer needs one at import time (a shape,
axes, pads) the case is imported again with the integer inputs as static values. String
and complex tensors are skipped; attributes graphnn does not support are skipped with
the importer's reason.

Usage: python bench/onnx_conformance.py [--markdown] [--verbose]
"""

from __future__ import annotations

import argparse
import collections
import warnings
from typing import Any

import numpy as np

RANDOM = {"RandomUniform", "RandomUniformLike", "RandomNormal", "RandomNormalLike",
          "Bernoulli", "Multinomial", "Dropout_train"}


def ops() -> list[str]:
    """Every ONNX op type graphnn imports (the records' converters and the composites)."""
    from graphnn.io.onnx_import import converters

    return sorted(converters())


def _numeric(arrays: list[Any]) -> bool:
    return all(np.asarray(a).dtype.kind in "fiub" for a in arrays)


def run_case(case: Any) -> tuple[str, str]:
    """('pass' | 'skip' | 'fail', reason) for one backend test case."""
    import graphnn as gn
    from graphnn.io.onnx_common import Unsupported

    model = case.model
    names = [i.name for i in model.graph.input]
    init = {i.name for i in model.graph.initializer}
    names = [n for n in names if n not in init]
    random = {n.op_type for n in model.graph.node} & RANDOM
    if random:
        return "skip", f"random outputs ({', '.join(sorted(random))}): values cannot match"
    for inputs, expected in case.data_sets:
        feeds = {k: np.asarray(v) for k, v in zip(names, inputs)}
        if not _numeric(list(feeds.values())) or not _numeric(list(expected)):
            return "skip", "string, complex, sequence or optional tensors"
        ints = {k: v for k, v in feeds.items() if v.dtype.kind in "iub"}
        g = None
        for static in ({}, ints) if ints else ({},):
            runtime = {k: v for k, v in feeds.items() if k not in static}
            try:
                g = gn.from_onnx(model, static=static,
                                 input_shapes={k: v.shape for k, v in runtime.items()})
                break
            except Unsupported as e:
                if static or not ints or "must be a constant" not in str(e):
                    return "skip", str(e).split(": ", 1)[-1]
            except gn.GraphError as e:
                return "fail", f"import: {e}"
        try:
            r = gn.run(g, runtime)
        except gn.GraphError as e:
            return "fail", f"run: {e}"
        for out, want in zip(model.graph.output, expected):
            got, want = r.value(out.name), np.asarray(want)
            if got.shape != want.shape:
                return "fail", f"{out.name}: shape {got.shape} != {want.shape}"
            if got.dtype != want.dtype:
                return "fail", f"{out.name}: dtype {got.dtype} != {want.dtype}"
            if not np.allclose(got, want, rtol=case.rtol, atol=case.atol, equal_nan=True):
                err = float(np.max(np.abs(got - want)))
                return "fail", f"{out.name}: max abs error {err:.3g}"
    return "pass", ""


def collect() -> list[tuple[str, Any]]:
    """(op label, case) for every backend node case built only from the listed ops."""
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = collect_testcases(None)
    known = set(ops())
    out = []
    for c in cases:
        types = {n.op_type for n in c.model.graph.node}
        if not types or not types <= known:
            continue
        label = next(iter(types)) if len(c.model.graph.node) == 1 else "(composite)"
        out.append((label, c))
    return out


def main() -> dict[str, collections.Counter[str]]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    ap.add_argument("--verbose", action="store_true", help="print every skip/fail reason")
    args = ap.parse_args()
    table: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    reasons: dict[str, list[str]] = collections.defaultdict(list)
    for label, case in collect():
        status, why = run_case(case)
        table[label][status] += 1
        if status != "pass":
            reasons[label].append(f"{status} {case.name}: {why}")
    order = [o for o in ops() if o in table] + (["(composite)"] if "(composite)" in table else [])
    total: collections.Counter[str] = collections.Counter()
    if args.markdown:
        print("| op | cases | pass | skip | fail | pass rate (excl. skips) |")
        print("|---|---:|---:|---:|---:|---:|")
    for op in order:
        c = table[op]
        total.update(c)
        n = sum(c.values())
        rate = c["pass"] / max(1, c["pass"] + c["fail"])
        fmt = ("| {} | {} | {} | {} | {} | {:.0%} |" if args.markdown
               else "{:20s} cases {:3d}  pass {:3d}  skip {:3d}  fail {:3d}  rate {:.0%}")
        print(fmt.format(op, n, c["pass"], c["skip"], c["fail"], rate))
    n = sum(total.values())
    rate = total["pass"] / max(1, total["pass"] + total["fail"])
    print(("| **{}** | {} | {} | {} | {} | {:.0%} |" if args.markdown else
           "{:20s} cases {:3d}  pass {:3d}  skip {:3d}  fail {:3d}  rate {:.0%}").format(
        "total", n, total["pass"], total["skip"], total["fail"], rate))
    if args.verbose:
        for op in order:
            for line in reasons[op]:
                print(f"  [{op}] {line}")
    return table


if __name__ == "__main__":
    main()
