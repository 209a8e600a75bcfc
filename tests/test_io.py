"""Save/load: exact round trips, clear errors on bad files, atomic writes."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import graphnn as gn
from graphnn.io import format as io


def _model(dtype: str = "float64") -> gn.Graph:
    rng = np.random.default_rng(0)
    with gn.Graph("mlp") as g:
        x = gn.input("x", shape=(4, 3), dtype=dtype)
        w = gn.param("w", rng.normal(size=(3, 5)).astype(dtype))
        b = gn.param("b", rng.normal(size=5).astype(dtype))
        with g.scope("layer1"):
            h = gn.leaky_relu(x @ w + b, 0.1)
        y = gn.log_softmax(gn.transpose(h, (1, 0)), axis=0)
        s = gn.sum(y * y, axis=(0,), keepdims=True) / 3
        loss = gn.mean(gn.maximum(s, -np.inf)).named("loss")
    dw, db = gn.grad(loss, [w, b])
    g.mark_output(loss, dw)
    return g


def _sig(g: gn.Graph) -> list[tuple]:
    return [(n.op.name, n.name, tuple(i.id for i in n.inputs), n.shape, str(n.dtype), n.role,
             n.group, n.loc, {k: repr(v) for k, v in n.params.items()}) for n in g.nodes]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("storage", ["embed", "npz"])
def test_round_trip_is_exact(tmp_path, dtype, storage):
    g = _model(dtype)
    path = tmp_path / "g.json"
    g.save(path, params=storage)
    h = gn.load(path)
    assert h.name == g.name and _sig(h) == _sig(g)
    assert [o.name for o in h.outputs] == [o.name for o in g.outputs]
    for p in g.params:
        a, b = g.value_of(p), h.value_of(p.name)
        assert a.dtype == b.dtype and np.array_equal(a, b)
    x = np.random.default_rng(1).normal(size=(4, 3))
    r1, r2 = gn.run(g, {"x": x}, wrt=["w"], loss="loss"), gn.run(h, {"x": x}, wrt=["w"],
                                                                   loss="loss")
    for n in g.nodes:
        if r1.has_value(n):
            assert np.array_equal(r1.value(n), r2.value(n.name)), n.name
    assert np.array_equal(r1.grad("w"), r2.grad("w"))
    # saving the loaded graph gives the same document
    assert io.to_dict(h) == io.to_dict(g)
    files = sorted(os.listdir(tmp_path))
    if storage == "npz":
        assert len(files) == 2 and files[0] == "g.json" and files[1].startswith("g.json.")
        assert files[1].endswith(".npz")
    else:
        assert files == ["g.json"]


def test_loaded_graph_extends_and_differentiates(tmp_path):
    g = _model()
    g.save(tmp_path / "g.json")
    h = gn.load(tmp_path / "g.json")
    d = gn.grad(h["loss"], [h["x"]])[0]
    assert d.shape == (4, 3) and d.role == "grad"
    report = gn.testing.check_grads(h, {"x": np.ones((4, 3))}, wrt=["w"], loss="loss")
    assert report.ok, str(report)


def test_const_int_and_special_floats(tmp_path):
    with gn.Graph("c") as g:
        x = gn.input("x", shape=(3,))
        k = gn.const(np.array([1, 2, 3], dtype=np.int64), name="k")
        y = gn.minimum(x * k, np.inf).named("y")
    g.save(tmp_path / "c.json")
    h = gn.load(tmp_path / "c.json")
    assert h["k"].dtype == np.int64 and np.array_equal(h.value_of("k"), [1, 2, 3])
    assert np.array_equal(gn.run(h, {"x": [1.0, 2, 3]}).value("y"),
                          gn.run(g, {"x": [1.0, 2, 3]}).value(y))


def _doc(g: gn.Graph | None = None) -> dict:
    return io.to_dict(g or _model())


def _write(tmp_path, doc, checksum: bool = False) -> str:
    if not checksum:
        doc.pop("checksum", None)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc))
    return str(p)


def _node(doc, name):
    return next(n for n in doc["graph"]["nodes"] if n["name"] == name)


def _idx(doc, name):
    return next(i for i, n in enumerate(doc["graph"]["nodes"]) if n["name"] == name)


CORRUPTIONS = {
    "wrong version": (lambda d: d.update(version=2), "unsupported format version 2"),
    "version string": (lambda d: d.update(version="1"), "version must be an integer"),
    "not graphnn": (lambda d: d.pop("format"), "not a graphnn graph file"),
    "unknown op": (lambda d: _node(d, "loss").update(op="frobnicate"), "unknown op 'frobnicate'"),
    "forward edge": (lambda d: _node(d, "loss").update(inputs=[len(d["graph"]["nodes"])]),
                     "inputs must be indices of earlier nodes"),
    "inconsistent shape": (lambda d: _node(d, "loss").update(shape=[2]),
                           "inconsistent node: the file says shape (2,)"),
    "invalid shapes": (lambda d: _node(d, "x").update(shape=[4, 7]), "matmul"),
    "bad param tag": (lambda d: _node(d, "loss").update(params={"axis": {"$pickle": "x"}}),
                      "cannot decode parameter value"),
    "raw list param": (lambda d: _node(d, "loss").update(params={"axis": [0]}),
                       "cannot decode parameter value"),
    "bad dtype": (lambda d: _node(d, "w").update(dtype="object"), "dtype 'object'"),
    "truncated array": (lambda d: _node(d, "w")["value"].update(data="AAAA"),
                        "truncated or tampered"),
    "bad base64": (lambda d: _node(d, "w")["value"].update(data="!!!"), "not valid base64"),
    "value shape": (lambda d: _node(d, "b")["value"].update(shape=[1, 5]),
                    "param value has shape (1, 5)"),
    "duplicate name": (lambda d: _node(d, "b").update(name="w"), "duplicate node name 'w'"),
    "bad role": (lambda d: _node(d, "loss").update(role="root"), "role 'root'"),
    "extra field": (lambda d: _node(d, "loss").update(code="import os"),
                    "unknown node field(s) ['code']"),
    "bad output": (lambda d: d["graph"].update(outputs=[999]), "outputs must be a list"),
    "negative dim": (lambda d: _node(d, "x").update(shape=[-1, 3]), "non-negative ints"),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_malformed_files_raise_format_error(tmp_path, case):
    mutate, expect = CORRUPTIONS[case]
    doc = _doc()
    mutate(doc)
    path = _write(tmp_path, doc)
    with pytest.raises(gn.FormatError) as e:
        gn.load(path)
    msg = str(e.value)
    assert msg.startswith(path) and expect in msg, msg


def test_error_names_the_node(tmp_path):
    doc = _doc()
    _node(doc, "loss").update(op="frobnicate")
    path = _write(tmp_path, doc)
    at = rf"bad.json: node {_idx(doc, 'loss')} 'loss': unknown op"
    with pytest.raises(gn.FormatError, match=at):
        gn.load(path)


def test_tampered_file_fails_checksum(tmp_path):
    doc = _doc()
    _node(doc, "w")["value"]["data"] = _node(doc, "b")["value"]["data"] * 3
    path = _write(tmp_path, doc, checksum=True)
    with pytest.raises(gn.FormatError, match="checksum mismatch"):
        gn.load(path)


@pytest.mark.parametrize("cut", [1, 10, 100, 1000])
def test_truncated_file(tmp_path, cut):
    g = _model()
    g.save(tmp_path / "g.json")
    raw = (tmp_path / "g.json").read_bytes()
    (tmp_path / "g.json").write_bytes(raw[:-cut])
    with pytest.raises(gn.FormatError, match="not valid JSON.*truncated"):
        gn.load(tmp_path / "g.json")


def test_nan_literal_and_garbage_rejected(tmp_path):
    (tmp_path / "n.json").write_text('{"format": "graphnn", "version": NaN}')
    with pytest.raises(gn.FormatError, match="not valid JSON"):
        gn.load(tmp_path / "n.json")
    (tmp_path / "b.json").write_bytes(b"\x80\x04\x95pickle")
    with pytest.raises(gn.FormatError, match="not valid JSON"):
        gn.load(tmp_path / "b.json")
    with pytest.raises(gn.FormatError, match="cannot read"):
        gn.load(tmp_path / "missing.json")


def test_npz_tampered_or_missing(tmp_path):
    g = _model()
    g.save(tmp_path / "g.json", params="npz")
    npz = next(tmp_path.glob("g.json.*.npz"))
    with open(npz, "wb") as f:
        np.savez(f, n1=np.zeros((3, 5)))
    with pytest.raises(gn.FormatError, match="does not match the sha256"):
        gn.load(tmp_path / "g.json")
    npz.unlink()
    with pytest.raises(gn.FormatError, match="cannot read parameter file"):
        gn.load(tmp_path / "g.json")


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    g = _model()
    path = tmp_path / "g.json"
    g.save(path)
    before = path.read_bytes()

    def boom(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(io.os, "fsync", boom)
    g.set_value("w", np.zeros((3, 5)))
    with pytest.raises(OSError, match="No space"):
        g.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["g.json"]  # no temp file left behind
    assert not np.array_equal(gn.load(path).value_of("w"), np.zeros((3, 5)))


def test_unsavable_param_leaves_disk_untouched(tmp_path):
    g = _model()
    path = tmp_path / "g.json"
    g.save(path)
    before = path.read_bytes()
    with gn.Graph("odd") as h:
        x = gn.input("x")
        gn.bind(gn.REGISTRY["neg"], x, junk=object())
    with pytest.raises(gn.GraphError, match="has no JSON encoding"):
        h.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["g.json"]


def test_interrupted_write_keeps_previous_file(tmp_path, monkeypatch):
    g = _model()
    path = tmp_path / "g.json"
    g.save(path)
    before = path.read_bytes()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(io.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        g.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["g.json"]


def test_load_values_into_a_graph(tmp_path):
    g = _model()
    g.save(tmp_path / "g.json")
    h = _model()
    for p in h.params:
        h.set_value(p, np.zeros(p.shape))
    assert gn.load(tmp_path / "g.json", h) is None
    for p in g.params:
        assert np.array_equal(h.value_of(p.name), g.value_of(p))
    np.savez(tmp_path / "v.npz", **g.param_values())
    h.set_value("w", np.zeros((3, 5)))
    gn.load(tmp_path / "v.npz", h)  # unchanged values on a shape error: checked first
    assert np.array_equal(h.value_of("w"), g.value_of("w"))
    with gn.Graph("other") as bad:
        gn.param("w", np.zeros((2, 2)))
        gn.param("b", np.zeros(5))
        gn.param("a", np.zeros(1))
    with pytest.raises(gn.FormatError, match=r"no values for params \['a'\]"):
        gn.load(tmp_path / "v.npz", bad)
    with gn.Graph("other2") as bad2:
        gn.param("w", np.zeros((2, 2)))
        gn.param("b", np.ones(5))
    with pytest.raises(gn.FeedError, match=r"'w' has shape \(3, 5\)"):
        gn.load(tmp_path / "v.npz", bad2)
    assert np.array_equal(bad2.value_of("b"), np.ones(5))  # nothing half-assigned


def test_npz_pair_is_replaced_atomically(tmp_path, monkeypatch):
    g = _model()
    path = tmp_path / "g.json"
    g.save(path, params="npz")
    first = sorted(os.listdir(tmp_path))
    g.set_value("w", np.full((3, 5), 7.0))
    real = io.atomic_write

    def fail_on_json(p, data):
        if str(p).endswith(".json"):
            raise OSError("disk full")
        real(p, data)

    monkeypatch.setattr(io, "atomic_write", fail_on_json)
    with pytest.raises(OSError, match="disk full"):
        g.save(path, params="npz")
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == first  # new values removed, old pair intact
    assert not np.array_equal(gn.load(path).value_of("w"), np.full((3, 5), 7.0))
    g.save(path, params="npz")  # a successful save replaces the pair and drops the old values
    files = sorted(os.listdir(tmp_path))
    assert len(files) == 2 and files != first
    assert np.array_equal(gn.load(path).value_of("w"), np.full((3, 5), 7.0))


def test_save_takes_target_then_path_and_picks_the_format_by_suffix(tmp_path):
    with gn.Graph() as g:
        w = gn.param("w", [1.0, 2.0])
        (w * 2.0).named("y")
    assert gn.save(g, tmp_path / "g.json") == str(tmp_path / "g.json")
    assert [n.name for n in gn.load(tmp_path / "g.json").nodes] == [n.name for n in g.nodes]
    p = gn.save(g, tmp_path / "w.npz")
    g.set_value(w, [0.0, 0.0])
    gn.load(p, g)
    assert g.value_of(w).tolist() == [1.0, 2.0]
    with pytest.warns(FutureWarning, match="gn.save\\(target, path\\)"):
        assert gn.save(tmp_path / "old.npz", g) == str(tmp_path / "old.npz")
    with pytest.raises(gn.GraphError, match="whole Graph"):
        gn.save(gn.nn.Linear(2, 1), tmp_path / "m.json")
