"""The bad-input corpus: every file or table entry here is something a student or an
engineer will eventually feed graphnn. Each must give a GraphError-family error (or a CLI
one-liner) whose message names what is wrong and where, and leave nothing half-written.

Data: ops.json (bad shapes / static params), feeds.json (bad feeds), expressions.json
(unsafe strings), graphs/ (malformed saved graphs), models/ (malformed ONNX files),
cli/ (malformed model files). ``make_corpus.py`` regenerates graphs/ and models/.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings

import numpy as np
import pytest

import graphnn as gn

HERE = os.path.dirname(os.path.abspath(__file__))
LOC = "test_bad_inputs.py:"


def _table(name: str) -> dict:
    with open(os.path.join(HERE, name)) as f:
        return {k: v for k, v in json.load(f).items() if not k.startswith("_")}


def _tuples(v):
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def _check(msg: str, fragments: list[str]) -> None:
    for frag in fragments:
        assert frag.replace("{loc}", LOC) in msg, f"{frag!r} not in:\n{msg}"
    assert "Traceback" not in msg


OPS = _table("ops.json")


@pytest.mark.parametrize("case", sorted(OPS))
def test_bad_op_calls(case):
    spec = OPS[case]
    fn = getattr(gn, spec["op"])
    with gn.Graph("corpus"):
        ins = [gn.input(n, shape=tuple(s)) for n, s in zip("abc", spec["shapes"])]
        params = {k: _tuples(v) for k, v in spec["params"].items()}
        with pytest.raises(getattr(gn, spec["error"])) as e:
            fn(*ins, **params)
    _check(str(e.value), spec["expect"])


FEEDS = _table("feeds.json")


@pytest.mark.parametrize("case", sorted(FEEDS))
def test_bad_feeds(case):
    spec = FEEDS[case]
    with gn.Graph("corpus") as g:
        x = gn.input("x", shape=tuple(spec["shape"]), dtype=spec.get("dtype", "float64"))
        gn.sum(x)
    with pytest.raises(gn.FeedError) as e:
        gn.run(g, {spec.get("feed_name", "x"): spec["feed"]})
    _check(str(e.value), spec["expect"])


def _one_input(shape=(3,)):
    with gn.Graph("corpus") as g:
        x = gn.input("x", shape=shape)
        w = gn.param("w", np.ones(shape[-1:] + (2,)) if shape else 1.0)
        y = gn.sum(gn.tanh(x @ w if shape else x * w)).named("y")
    return g, x, w, y


def test_object_array_feed():
    g, *_ = _one_input()
    with pytest.raises(gn.FeedError, match=r"feed for input 'x'.*dtype object"):
        gn.run(g, {"x": np.array([object(), 1, 2], dtype=object)})


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_feeds_in_anomaly_mode(bad):
    g, x, w, y = _one_input()
    feed = np.array([1.0, bad, 2.0])
    gn.run(g, {"x": feed})  # no error without anomaly mode (tanh may even hide an Inf)
    with pytest.raises(gn.AnomalyError) as e:
        gn.run(g, {"x": feed}, wrt=[w], anomaly=True)
    _check(str(e.value), ["the value of 'x' (input, shape (3,), float64)",
                          "NaN" if np.isnan(bad) else "Inf", LOC])
    assert e.value.node is x


def test_integer_feeds_are_converted_exactly():
    g, x, w, y = _one_input()
    r = gn.run(g, {"x": np.array([1, 2, 3], dtype=np.int32)}, wrt=[w])
    assert r.value(x).dtype == np.float64
    assert r.value(y) == gn.run(g, {"x": [1.0, 2.0, 3.0]}).value(y)


def test_zero_size_batch_runs_and_differentiates():
    with gn.Graph("batch") as g:
        x = gn.input("x", shape=(0, 3))
        w = gn.param("w", np.ones((3, 2)))
        s = gn.sum(gn.relu(x @ w)).named("s")
        m = gn.mean(x @ w).named("m")
    r = gn.run(g, {"x": np.zeros((0, 3))}, wrt=[w], loss=s, outputs=[s])
    assert r.value(s) == 0.0 and np.array_equal(r.grad(w), np.zeros((3, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy: "Mean of empty slice"
        r = gn.run(g, {"x": np.zeros((0, 3))}, wrt=[w], loss=m, outputs=[m])
        assert np.isnan(r.value(m)) and r.grad(w).shape == (3, 2)
        with pytest.raises(gn.AnomalyError, match=r"the value of 'm' \(mean"):
            gn.run(g, {"x": np.zeros((0, 3))}, outputs=[m], anomaly=True)


EXPRS = _table("expressions.json")


@pytest.mark.parametrize("case", sorted(EXPRS))
def test_unsafe_expression_strings(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = EXPRS[case]
    with pytest.raises(gn.ParseError) as e:
        gn.from_sympy(text)
    assert repr(text)[1:-1][:20] in str(e.value) or text[:20] in str(e.value)
    assert os.listdir(tmp_path) == []  # nothing was executed


def _listing(folder: str) -> list[tuple[str, int, float]]:
    return sorted((f, os.path.getsize(os.path.join(folder, f)),
                   os.path.getmtime(os.path.join(folder, f))) for f in os.listdir(folder))


with open(os.path.join(HERE, "graphs", "expected.json")) as _f:
    GRAPHS = json.load(_f)


@pytest.mark.parametrize("fname", sorted(GRAPHS))
def test_malformed_saved_graphs(fname, tmp_path):
    src = os.path.join(HERE, "graphs", fname)
    path = tmp_path / fname
    shutil.copy(src, path)
    before = _listing(str(tmp_path))
    with pytest.raises(gn.FormatError) as e:
        gn.load(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: "), msg
    _check(msg, GRAPHS[fname])
    assert _listing(str(tmp_path)) == before  # loading never writes


def test_saving_over_a_corpus_file_is_atomic(tmp_path, monkeypatch):
    from graphnn.io import format as io

    path = tmp_path / "g.json"
    shutil.copy(os.path.join(HERE, "graphs", "truncated.json"), path)
    before = path.read_bytes()
    g, *_ = _one_input()
    monkeypatch.setattr(io.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk")))
    with pytest.raises(OSError):
        g.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["g.json"]


with open(os.path.join(HERE, "models", "expected.json")) as _f:
    MODELS = json.load(_f)


@pytest.mark.parametrize("fname", sorted(MODELS))
def test_malformed_onnx_models(fname):
    pytest.importorskip("onnx", reason="ONNX support is the optional extra graphnn[onnx]")
    with pytest.raises(gn.OnnxError) as e:
        gn.from_onnx(os.path.join(HERE, "models", fname))
    _check(str(e.value), MODELS[fname])


CLI_CASES = {
    "syntax_error.py.txt": ["syntax_error.py"],
    "no_build.py.txt": ["no_build.py"],
    "shape_error.py.txt": ["shape_error.py", "matmul", "(2, 3)", "(1, 2)"],
    "plain.txt": ["plain.txt"],
    "../graphs/truncated.json": ["truncated.json", "not valid JSON"],
    "../graphs/unknown_op.json": ["unknown_op.json", "unknown op 'eval'"],
}


@pytest.mark.parametrize("fname", sorted(CLI_CASES))
def test_cli_one_liners_for_bad_model_files(fname, tmp_path):
    from click.testing import CliRunner

    from graphnn_cli.main import cli

    target = tmp_path / os.path.basename(fname).removesuffix(".txt") if fname.endswith(
        ".py.txt") else tmp_path / os.path.basename(fname)
    shutil.copy(os.path.join(HERE, "cli", fname), target)
    result = CliRunner().invoke(cli, ["summary", str(target)])
    out = result.output + (getattr(result, "stderr", "") or "")
    assert result.exit_code != 0, out
    assert "Traceback" not in out
    for frag in CLI_CASES[fname]:
        assert frag in out, f"{frag!r} not in:\n{out}"
