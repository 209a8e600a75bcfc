"""gn.quiz and `graphnn quiz` (issue 16.6): hidden values, local derivatives and gradients."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import graphnn as gn
from graphnn_cli.main import cli

FEEDS = {"x": 1, "y": -3, "z": 4}


def lecture() -> gn.Graph:
    with gn.Graph("lecture") as g:
        x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
        d = (x + y).named("d")
        (d * z).named("f")
    return g


def test_every_kind_hides_a_number_of_the_trace() -> None:
    g = lecture()
    pool = gn.quiz(g, FEEDS, seed=0).pool
    by_kind = {k: [(q.step.number, q.input, float(q.expected)) for q in pool if q.kind == k]
               for k in ("value", "local", "grad")}
    assert by_kind["value"] == [(4, None, -2.0), (5, None, -8.0)]  # d, f (inputs are given)
    assert by_kind["local"] == [(6, 0, 4.0), (6, 1, -2.0), (7, 0, 1.0), (7, 1, 1.0)]
    assert by_kind["grad"] == [(6, 0, 4.0), (6, 1, -2.0), (7, 0, 4.0), (7, 1, 4.0)]
    for kind in ("value", "local", "grad"):
        assert {q.kind for q in gn.quiz(g, FEEDS, kind=kind).pool} == {kind}


def test_check_grades_with_tolerance_and_explains() -> None:
    q = gn.quiz(lecture(), FEEDS, kind="local", seed=3)
    q.question = next(x for x in q.pool if x.step.node.name == "f" and x.input == 0)
    assert "What is local ∂f/∂d?" in q.question.prompt and "d = -2, z = 4" in q.question.prompt
    res = q.check("4.0001")
    assert res.correct and bool(res) and res.expected == "4"
    assert res.explanation == "local ∂f/∂d = z = 4"
    wrong = q.check(5)
    assert not wrong.correct and "the answer is 4" in str(wrong)
    assert not q.check("four").correct  # unreadable text is a wrong answer, not a crash
    assert q.score == (1, 3)


def test_grad_question_explains_the_chain_rule_step() -> None:
    q = gn.quiz(lecture(), FEEDS, kind="grad", seed=0)
    q.question = next(x for x in q.pool if x.step.node.name == "f" and x.input == 1)
    assert q.question.prompt.endswith("upstream ∂f/∂f = 1, local ∂f/∂z = d. What is ∂f/∂z?")
    res = q.check(-2)
    assert res.correct and res.explanation.splitlines() == [
        "seed ∂f/∂f = 1   (L = f: the output being differentiated)",
        "local ∂f/∂z = d = -2", "∂f/∂z = ∂f/∂f · local ∂f/∂z = 1 · (-2) = -2"]


def test_seeded_draws_repeat_and_cover_the_pool() -> None:
    def draw(seed: int) -> list[str]:
        q = gn.quiz(lecture(), FEEDS, seed=seed)
        out = []
        for _ in range(len(q.pool)):
            out.append(q.question.prompt)
            q.check(0)
            q.next()
        return out

    assert draw(5) == draw(5)
    assert len(set(draw(5))) == len(gn.quiz(lecture(), FEEDS).pool)  # no repeats


def test_vector_answers_and_errors() -> None:
    with gn.Graph() as g:
        x = gn.input("x", shape=(2,))
        gn.sum(gn.tanh(x) * x).named("s")
    q = gn.quiz(g, {"x": [0.5, -1.0]}, kind="grad", seed=0)
    q.question = next(x for x in q.pool if x.expected.shape == (2,))
    exp = q.question.expected
    assert q.check(str(exp.tolist())).correct
    assert not q.check("[1, 2, 3]").correct
    with pytest.raises(gn.GraphError, match="kind must be one of"):
        gn.quiz(g, {"x": [0.5, -1.0]}, kind="hessian")
    with pytest.raises(gn.GraphError, match="no .*question"):
        gn.quiz(g, {"x": [0.5, -1.0]}, wrt=[], kind="grad")
    t = gn.trace(g, {"x": [0.5, -1.0]})
    assert gn.quiz(t, kind="value").trace is t
    assert gn.quiz(t, kind="value", seed=1).question.step.kind == "eval"


def test_cli_quiz_reads_answers_and_scores() -> None:
    runner = CliRunner()
    a = runner.invoke(cli, ["quiz", "--seed", "1", "--questions", "3"], input="4\n-8\n0\n")
    b = runner.invoke(cli, ["quiz", "--seed", "1", "--questions", "3"], input="4\n-8\n0\n")
    assert a.exit_code == 0, a.output
    assert a.output == b.output  # deterministic with --seed
    assert a.output.count("question ") == 3 and a.output.rstrip().endswith("score: 2/3")
    assert "question 1 of 3  step 6 of 7" in a.output
    assert "not quite: the answer is 1" in a.output and "local ∂d/∂x = 1" in a.output


def test_cli_quiz_stops_at_end_of_input_and_takes_an_expression() -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["quiz", "--questions", "4", "--kind", "value"], input="-8\n")
    assert r.exit_code == 0 and r.output.rstrip().endswith("score: 1/1")
    r = runner.invoke(cli, ["quiz", "--expr", "x * y", "--feed", "x=2", "--feed", "y=5",
                            "--kind", "grad", "--questions", "1", "--seed", "0"], input="5\n")
    assert r.exit_code == 0 and ("score: 1/1" in r.output or "score: 0/1" in r.output)
    assert runner.invoke(cli, ["quiz", "--kind", "nope"]).exit_code == 2
