"""Regenerate the malformed saved graphs and ONNX models of this corpus.

Run from the repository root: ``python tests/bad_inputs/make_corpus.py``. Each file is a
valid artifact with one defect; ``expected.json`` beside them lists the error class and
the message fragments the loader must produce.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from typing import Any

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _graph_doc() -> dict[str, Any]:
    import graphnn as gn
    from graphnn.io import format as io

    with gn.Graph("corpus") as g:
        x = gn.input("x", shape=(2, 3))
        w = gn.param("w", np.arange(6.0).reshape(3, 2))
        h = gn.relu(x @ w).named("hidden")
        gn.sum(h).named("loss")
    g.mark_output(g["loss"])
    return io.to_dict(g)


def _node(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(n for n in doc["graph"]["nodes"] if n["name"] == name)


def _unsigned(doc: dict[str, Any]) -> dict[str, Any]:
    doc.pop("checksum", None)
    return doc


GRAPH_DEFECTS: dict[str, tuple[Callable[[dict[str, Any]], Any], list[str]]] = {
    "version_99.json": (lambda d: d.update(version=99),
                        ["unsupported format version 99", "newer graphnn"]),
    "tampered_value.json": (lambda d: _node(d, "w")["value"].update(
        data=_node(d, "w")["value"]["data"][::-1]), ["checksum mismatch", "tampered"]),
    "unknown_op.json": (lambda d: _unsigned(d) and _node(d, "hidden").update(op="eval"),
                        ["node 3 'hidden': unknown op 'eval'", "known ops: abs"]),
    "inconsistent_shape.json": (lambda d: _unsigned(d) and _node(d, "hidden").update(
        shape=[3, 3]), ["node 3 'hidden' (relu): inconsistent node", "shape (3, 3)",
                        "gives shape (2, 2)"]),
    "matmul_mismatch.json": (lambda d: _unsigned(d) and _node(d, "x").update(shape=[2, 4]),
                             ["node 2 'matmul_1' (matmul): invalid node: matmul", "(2, 4)",
                              "(3, 2)"]),
    "cycle.json": (lambda d: _unsigned(d) and _node(d, "hidden").update(inputs=[4]),
                   ["node 3 'hidden' (relu): inputs must be indices of earlier nodes"]),
    "pickle_param.json": (lambda d: _unsigned(d) and _node(d, "loss").update(
        params={"axis": {"$pickle": "gASVAAAAAAAAAACMBXBvc2l4lIwGc3lzdGVtlJOUjAJsc5SFlFKULg=="}}),
        ["node 4 'loss' (sum): cannot decode parameter value", "$pickle"]),
    "object_dtype.json": (lambda d: _unsigned(d) and _node(d, "w")["value"].update(
        dtype="object"), ["node 1 'w' (param): array dtype 'object'"]),
    "short_array.json": (lambda d: _unsigned(d) and _node(d, "w")["value"].update(
        data="AAAAAAAAAAA="), ["array data has 8 bytes", "needs 48", "truncated or tampered"]),
}


def make_graphs() -> None:
    base = _graph_doc()
    expected = {}
    folder = os.path.join(HERE, "graphs")
    for fname, (mutate, frags) in GRAPH_DEFECTS.items():
        doc = copy.deepcopy(base)
        mutate(doc)
        with open(os.path.join(folder, fname), "w") as f:
            json.dump(doc, f, indent=1)
        expected[fname] = frags
    text = json.dumps(base, indent=1)
    with open(os.path.join(folder, "truncated.json"), "w") as f:
        f.write(text[: len(text) // 2])
    expected["truncated.json"] = ["not valid JSON", "truncated"]
    with open(os.path.join(folder, "not_json.json"), "wb") as f:
        f.write(b"\x80\x04\x95\x15\x00\x00\x00\x00\x00\x00\x00\x8c\x02os")  # a pickle header
    expected["not_json.json"] = ["not valid JSON"]
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)


def make_models() -> None:
    import onnx
    from onnx import TensorProto, helper

    folder = os.path.join(HERE, "models")
    vi = helper.make_tensor_value_info
    m = helper.make_model(helper.make_graph(
        [helper.make_node("LpNormalization", ["x"], ["a"], name="lpnorm"),
         helper.make_node("Relu", ["a"], ["b"], name="relu"),
         helper.make_node("Hardmax", ["b"], ["y"], name="hardmax")],
        "unsupported", [vi("x", TensorProto.FLOAT, [4])], [vi("y", TensorProto.FLOAT, [4])]),
        opset_imports=[helper.make_opsetid("", 18)])
    onnx.save(m, os.path.join(folder, "unsupported_ops.onnx"))
    raw = m.SerializeToString()
    with open(os.path.join(folder, "truncated.onnx"), "wb") as f:
        f.write(raw[: len(raw) // 2])
    with open(os.path.join(folder, "garbage.onnx"), "wb") as f:
        f.write(b"this is not a protobuf \xff\xfe" * 4)
    sym = helper.make_model(helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="r")], "symbolic",
        [vi("x", TensorProto.FLOAT, ["batch", 3])], [vi("y", TensorProto.FLOAT, ["batch", 3])]),
        opset_imports=[helper.make_opsetid("", 18)])
    onnx.save(sym, os.path.join(folder, "symbolic_batch.onnx"))
    expected = {
        "unsupported_ops.onnx": ["2 unsupported node(s)", "LpNormalization (node 'lpnorm')",
                                 "Hardmax (node 'hardmax')"],
        "truncated.onnx": ["truncated.onnx: not a readable ONNX model"],
        "garbage.onnx": ["garbage.onnx: not a readable ONNX model"],
        "symbolic_batch.onnx": ["input 'x' has symbolic or unknown dimensions",
                                "['batch', '?']", "input_shapes"],
    }
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    make_graphs()
    make_models()
