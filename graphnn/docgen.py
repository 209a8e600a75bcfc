"""Generate docs/ops.md, the op reference, from the op registry (``gn.REGISTRY``).

Run from the repository root: ``python -m graphnn.docgen`` (rewrite docs/ops.md) or
``python -m graphnn.docgen --check`` (exit 1 when the file is out of date). Examples
come from the op test table (tests/op_cases.py) when it is importable, so every op's
example is one the test suite checks.

>>> import graphnn as gn
>>> text = generate(cases={})
>>> all(f"### `{name}`" in text for name in gn.REGISTRY)
True
"""

from __future__ import annotations

import argparse
import inspect
import sys
from typing import Any

import numpy as np

from graphnn.core.op import TraceText, supported
from graphnn.ops.support import CAPABILITIES, capabilities, cell, internal

HEADER = """# Op reference

Generated from `gn.REGISTRY` by `python -m graphnn.docgen` — do not edit by hand
(`python -m graphnn.docgen --check` and tests/test_docs.py verify it is up to date).

Every op is one keyword-only record holding all of its rules (graphnn/core/op.py): the
forward implementation, the shape rule, one derivative (`deriv=`, elementwise ops) or vjp
and jvp rules, the sympy formula, trace text, NumPy / in-place / numexpr / CUDA code, the
ONNX mapping, rewrite rules and doc line. Forward formulas and derivatives below are derived
from those records. Examples list input
shapes, static parameters and the output shape the shape rule gives.

"""


def _public_fn(name: str) -> Any:
    import graphnn as gn

    fn = getattr(gn, name, None)
    return fn if callable(fn) else None


def _formula(op: Any) -> tuple[str, str]:
    """(forward, derivative) as plain text."""
    import graphnn as gn

    fwd, der = "", op.trace.text if isinstance(op.trace, TraceText) else ""
    if not op.leaf:
        try:
            f = gn.formula(op)
            text = str(f.text)
            if op.elementwise and callable(op.sympy):
                parts = text.split("; ", 1)
                fwd, der = parts[0], (parts[1] if len(parts) > 1 else der)
            else:
                fwd = f.forward
                der = der or f.derivative
        except Exception:  # a formula that sympy cannot build: fall back to the record
            pass
    if not fwd and op.elementwise and op.formula is not None:
        import sympy as sp

        syms = sp.symbols("a b c")[: len(inspect.signature(op.sympy).parameters) - 1]
        fwd = f"y = {sp.sstr(op.sympy(sp, *syms))}"
    return fwd, der


def _shape_rule(op: Any) -> str:
    if op.leaf:
        return "the declared shape (inputs) or the value's shape (params, constants)"
    if op.elementwise:
        return "NumPy broadcasting of the input shapes"
    if internal(op):
        return "the shape of the tensor whose gradient it computes"
    doc = inspect.getdoc(op.shape)
    if doc:
        return doc.splitlines()[0]
    fn = _public_fn(op.name)
    fdoc = inspect.getdoc(fn) if fn is not None else None
    for line in (fdoc or "").splitlines():
        if "size" in line.lower() or "shape" in line.lower():
            return line.strip()
    return f"computed by `{op.shape.__module__}.{op.shape.__qualname__}`"


def _fmt_params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


def _example(name: str, op: Any, cases: dict[str, Any]) -> str:
    import graphnn as gn

    if op.leaf:
        return {"input": '`gn.input("x", shape=(2, 3))` -> (2, 3)',
                "param": '`gn.param("w", np.zeros((4, 3)))` -> (4, 3)',
                "const": "`gn.const([1.0, 2.0])` -> (2,)"}.get(name, "")
    case = (cases.get(name) or [None])[0]
    if case is None:
        return ""
    with gn.Graph("example") as g:
        ins = [g.input(f"x{i}", np.shape(v), np.asarray(v).dtype)
               for i, v in enumerate(case.inputs)]
        out = gn.bind(op, *ins, **case.params)
    args = ", ".join(f"{tuple(i.shape)}" + ("" if i.dtype.kind == "f" else f" {i.dtype}")
                     for i in ins)
    ps = _fmt_params(case.params)
    return f"`{name}({args}{', ' if ps and args else ''}{ps})` -> {tuple(out.shape)}"


def _module_of(op: Any) -> str:
    fn = _public_fn(op.name)
    mod = getattr(fn, "__module__", None) or op.forward.__module__
    return str(mod)


def _matrix(registry: Any) -> list[str]:
    """The support matrix (graphnn/ops/support.py) and the reasons behind each "no"."""
    lines = ["## Support matrix", "",
             "yes: the record's own rule; yes*: derived from another rule of the record "
             "(see below); no: the record says why. tests/test_support_matrix.py exercises "
             "every yes numerically and fails on a gap.", "",
             "| op | " + " | ".join(CAPABILITIES) + " |",
             "|---|" + "---|" * len(CAPABILITIES)]
    notes: list[str] = []
    for name in sorted(registry):
        caps = capabilities(registry[name])
        cells = [cell(caps[c]) for c in CAPABILITIES]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
        for c in CAPABILITIES:
            s = caps[c]
            if isinstance(s, str) and s.startswith("derived"):
                notes.append(f"- `{name}` {c}: {s}")
            elif s is not None and not isinstance(s, str):
                notes.append(f"- `{name}` {c}: no ({s.reason})")
    return lines + ["", "<details><summary>How each cell is provided</summary>", "",
                    *notes, "", "</details>", ""]


def generate(cases: dict[str, Any] | None = None) -> str:
    """The full text of docs/ops.md for the current registry."""
    import graphnn as gn

    if cases is None:
        cases = _load_cases()
    lines = [HEADER, "| op | label | kind | module |", "|---|---|---|---|"]
    names = sorted(gn.REGISTRY)
    for name in names:
        op = gn.REGISTRY[name]
        kind = "leaf" if op.leaf else ("elementwise" if op.elementwise else "structured")
        label = op.display.replace("|", "\\|")
        lines.append(f"| [`{name}`](#{name}) | {label} | {kind} | "
                     f"`{_module_of(op)}` |")
    lines.append("")
    lines += _matrix(gn.REGISTRY)
    for name in names:
        op = gn.REGISTRY[name]
        fn = _public_fn(name)
        lines.append(f"### `{name}`")
        lines.append("")
        if fn is not None and not op.leaf:
            sig = str(inspect.signature(fn)).replace("'", "")
            doc = (inspect.getdoc(fn) or "").split("\n\n")[0].replace("\n", " ")
            lines.append(f"`gn.{name}{sig}`")
            lines.append("")
            if doc:
                lines.append(doc)
                lines.append("")
        fwd, der = _formula(op)
        if fwd:
            lines.append(f"- forward: `{fwd}`")
        if der:
            lines.append(f"- derivative: `{der}`")
        elif not op.leaf:
            lines.append("- derivative: none (no gradient flows through this op)"
                         if not supported(op.vjp) else "- derivative: see the vjp rule")
        lines.append(f"- shape rule: {_shape_rule(op)}")
        rules = [r for r, ok in [("deriv", op.deriv), ("vjp", op.vjp), ("jvp", op.jvp),
                                 ("sympy", op.sympy), ("numpy", op.numpy), ("cost", op.cost)]
                 if supported(ok)]
        if op.nondiff:
            rules.append(f"no gradient for inputs {list(op.nondiff)}")
        if not op.leaf:
            lines.append(f"- rules: {', '.join(rules) or 'forward only'}")
        ex = _example(name, op, cases)
        if ex:
            lines.append(f"- example: {ex}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _load_cases() -> dict[str, Any]:
    try:
        from tests.op_cases import CASES
    except ImportError:
        return {}
    return CASES


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Generate docs/ops.md from the op registry.")
    p.add_argument("--out", default="docs/ops.md")
    p.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    a = p.parse_args(argv)
    text = generate()
    if a.check:
        try:
            with open(a.out, encoding="utf-8") as f:
                same = f.read() == text
        except FileNotFoundError:
            same = False
        print(f"{a.out} is {'up to date' if same else 'OUT OF DATE: run python -m graphnn.docgen'}")
        return 0 if same else 1
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {a.out} ({text.count('### ')} ops)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
