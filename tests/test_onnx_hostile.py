"""gn.from_onnx raises only OnnxError for hostile models (issue 14)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

import graphnn as gn

onnx = pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def model():
    with gn.Graph("tiny") as g:
        x = gn.input("x", shape=(2,))
        w = gn.param("w", np.ones(2))
        gn.relu(x * w).named("y")
    return gn.to_onnx(g)


def mutated(model, fn):
    m = copy.deepcopy(model)
    fn(m)
    return m


CASES = {
    "init elem_type 0": (lambda m: setattr(m.graph.initializer[0], "data_type", 0), "type 0"),
    "init elem_type 999": (lambda m: setattr(m.graph.initializer[0], "data_type", 999), "999"),
    "input elem_type 0": (lambda m: setattr(m.graph.input[0].type.tensor_type, "elem_type", 0),
                          "type 0"),
    "dims vs raw_data": (lambda m: m.graph.initializer[0].dims.__setitem__(slice(None), [3]),
                         "raw_data"),
    "huge dims": (lambda m: m.graph.initializer[0].dims.__setitem__(slice(None), [10**6] * 2),
                  "limit"),
    "bad utf-8 attribute": (lambda m: m.graph.node[0].attribute.append(
        onnx.helper.make_attribute("foo", b"\xff\xfe")), "UTF-8"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_model(model, case: str) -> None:
    fn, msg = CASES[case]
    with pytest.raises(gn.OnnxError, match=msg):
        gn.from_onnx(mutated(model, fn))


@pytest.mark.parametrize("path", ["a\x00b.onnx", "/dev/zero", "."])
def test_bad_paths(path: str) -> None:
    with pytest.raises(gn.OnnxError):
        gn.from_onnx(path)


def test_not_a_model() -> None:
    with pytest.raises(gn.OnnxError, match="ModelProto"):
        gn.from_onnx(3)  # type: ignore[arg-type]


def test_garbage_file(tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(b"\x08\xff\xff\xff\xff\xff\xff")
    with pytest.raises(gn.OnnxError):
        gn.from_onnx(tmp_path / "m.onnx")
