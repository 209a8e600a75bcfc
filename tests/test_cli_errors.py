"""Every error path of the command line: one or two lines on stderr, the right exit
status (2 for usage errors, 1 for model and runtime errors), no traceback unless --debug."""

from __future__ import annotations

import pytest

from tests.cli_util import MODELS, invoke


def assert_short_error(result, code: int) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr)
    err = result.stderr
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert 1 <= len(lines) <= 2, err
    return err


@pytest.mark.parametrize("cmd", ["grad-check", "trace", "jacobian", "summary"])
def test_missing_model_file(cmd: str, tmp_path) -> None:
    err = assert_short_error(invoke(cmd, tmp_path / "nope.py"), 1)
    assert "no such model file" in err and "nope.py" in err


def test_file_without_build() -> None:
    err = assert_short_error(invoke("grad-check", MODELS / "no_build.py"), 1)
    assert "no_build.py" in err and "build()" in err


def test_build_returning_non_graph() -> None:
    err = assert_short_error(invoke("grad-check", MODELS / "wrong_build.py"), 1)
    assert "wrong_build.py" in err and "returned int" in err


def test_syntax_error_names_file_and_line(tmp_path) -> None:
    # written here, not kept in tests/models, so linters never see the broken file
    bad = tmp_path / "syntax_error.py"
    bad.write_text('"""Broken on line 4."""\n\ndef build():\n    return (1 +\n')
    err = assert_short_error(invoke("trace", "--all", bad), 1)
    assert "syntax_error.py:4" in err and "syntax error" in err


def test_exception_in_build_names_file_and_line() -> None:
    err = assert_short_error(invoke("grad-check", MODELS / "raises.py"), 1)
    assert "raises.py:6" in err and "KeyError" in err


def test_shape_mismatch_names_shapes_and_location() -> None:
    err = assert_short_error(invoke("grad-check", MODELS / "shape_mismatch.py"), 1)
    assert "(3,)" in err and "(4,)" in err and "shape_mismatch.py:10" in err


def test_shape_mismatch_in_expr_feeds() -> None:
    err = assert_short_error(invoke("grad-check", "--expr", "sum(a * b)", "--feed", "a=[1,2,3]",
                                    "--feed", "b=[1,2]"), 1)
    assert "(3,)" in err and "(2,)" in err


def test_unknown_op_in_expr() -> None:
    err = assert_short_error(invoke("grad-check", "--expr", "frobnicate(x) * 2"), 1)
    assert "unknown op 'frobnicate'" in err and "sigmoid" in err


def test_disallowed_syntax_in_expr() -> None:
    err = assert_short_error(invoke("trace", "--all", "--expr", "__import__('os')"), 1)
    assert "unknown op '__import__'" in err
    err = assert_short_error(invoke("trace", "--all", "--expr", "x.real"), 1)
    assert "attribute access '.real'" in err


def test_expr_syntax_error() -> None:
    err = assert_short_error(invoke("grad-check", "--expr", "(x + "), 1)
    assert "syntax error" in err


@pytest.mark.parametrize("feed", ["x", "x=", "x=abc", "x=[1,", "x=[true]", "x=missing.npy"])
def test_bad_feed_is_a_usage_error(feed: str) -> None:
    err = assert_short_error(invoke("grad-check", "--feed", feed), 2)
    assert "--feed" in err


def test_feed_for_unknown_input() -> None:
    err = assert_short_error(invoke("grad-check", "--feed", "w=3"), 1)
    assert "unexpected feed 'w'" in err


def test_feed_with_wrong_shape() -> None:
    err = assert_short_error(invoke("grad-check", "--feed", "x=[1,2]"), 1)
    assert "'x'" in err and "(2,)" in err


def test_unknown_wrt_node() -> None:
    err = assert_short_error(invoke("grad-check", "--wrt", "q"), 1)
    assert "no node named 'q'" in err


def test_model_and_expr_together_is_usage_error() -> None:
    assert_short_error(invoke("grad-check", MODELS / "graph_var.py", "--expr", "x"), 2)


def test_unknown_option_and_command_exit_2() -> None:
    assert invoke("render", "--bogus").exit_code == 2
    assert invoke("frobnicate").exit_code == 2


def test_debug_shows_the_traceback() -> None:
    from click.testing import CliRunner

    from graphnn_cli.main import cli

    r = CliRunner().invoke(cli, ["--debug", "grad-check", str(MODELS / "shape_mismatch.py")])
    assert r.exit_code == 1
    assert r.exception is not None and "ShapeError" in type(r.exception).__name__


def test_no_color_env_and_non_tty_have_no_escape_codes() -> None:
    r = invoke("grad-check", "--expr", "nope(x)", env={"NO_COLOR": "1"})
    assert "\x1b[" not in r.stderr
    r = invoke("ops", "add")
    assert "\x1b[" not in r.stdout


def test_color_helpers_respect_no_color(monkeypatch) -> None:
    from graphnn_cli import common

    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert common.use_color(Tty())
    assert "\x1b[" in common.style("x", Tty(), fg="red")
    monkeypatch.setenv("NO_COLOR", "1")
    assert not common.use_color(Tty())
    assert common.style("x", Tty(), fg="red") == "x"


def test_script_that_exits_while_loading() -> None:
    err = assert_short_error(invoke("grad-check", MODELS / "script_exit.py"), 1)
    assert "script_exit.py" in err and "exited while loading" in err


def test_feeds_must_be_a_dict(tmp_path) -> None:
    bad = tmp_path / "bad_feeds.py"
    bad.write_text("import graphnn as gn\n\ndef build():\n    with gn.Graph() as g:\n"
                   "        gn.exp(gn.input('x'))\n    return g\n\ndef feeds():\n    return 3\n")
    err = assert_short_error(invoke("grad-check", bad), 1)
    assert "feeds() returned int" in err


def test_non_python_model_file(tmp_path) -> None:
    f = tmp_path / "model.txt"
    f.write_text("x")
    err = assert_short_error(invoke("summary", f), 1)
    assert "expected a Python model file" in err


def test_player_exports_need_the_right_suffix(tmp_path) -> None:
    assert_short_error(invoke("trace", "--html", tmp_path / "a.gif"), 2)
    assert_short_error(invoke("trace", "--gif", tmp_path / "a.html"), 2)


def test_expression_parser_only_raises_graph_errors() -> None:
    """Arbitrary text never escapes as a non-graphnn exception (or runs anything)."""
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    import graphnn as gn
    from graphnn_cli.loader import graph_from_expr

    alphabet = st.sampled_from(list("xyz() +-*/@.,=_01239[]'\"") + ["**", "exp", "sum",
                                                                  "axis", "lambda", "import"])

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(st.lists(alphabet, max_size=12).map("".join))
    def check(text: str) -> None:
        try:
            g = graph_from_expr(text, {})
        except gn.GraphError:
            return
        assert isinstance(g, gn.Graph)

    check()


@pytest.mark.parametrize("text", ["1e", "[1, [2]]", "{}", "true", "'1'", "[]x"])
def test_feed_values_that_are_not_arrays(text: str) -> None:
    r = invoke("trace", "--all", "--expr", "sum(x)", "--feed", f"x={text}")
    assert r.exit_code in (1, 2) and "Traceback" not in r.stderr


def test_input_shape_only_for_nn_models() -> None:
    assert_short_error(invoke("summary", MODELS / "graph_var.py", "--input-shape", "3"), 2)
    assert_short_error(invoke("summary", "--input-shape", "3"), 2)
