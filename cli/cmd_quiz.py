"""``graphnn quiz``: questions on the forward and backward pass, answered on stdin.

>>> from click.testing import CliRunner
>>> r = CliRunner().invoke(quiz, ["--questions", "1", "--kind", "value"], input="-8\\n")
>>> print(r.output.splitlines()[-1])
score: 1/1
"""

from __future__ import annotations

from typing import Any

import click

from graphnn_cli.common import echo, model_options, parse_feeds, split_names, style


@click.command(epilog="""\b
Examples:
  graphnn quiz                          # three questions on the lecture graph
  graphnn quiz --kind local --questions 5 --seed 7
  graphnn quiz --expr "sigmoid(w * x + b)" --feed x=2 --feed w=0.5 --feed b=-1
""")
@model_options
@click.option("--of", "of", metavar="NODE", help="Output node to differentiate.")
@click.option("--questions", "-n", type=click.IntRange(min=1), default=3, show_default=True,
              help="How many questions to ask.")
@click.option("--kind", type=click.Choice(["value", "local", "grad", "any"]), default="any",
              show_default=True, help="What to hide: a forward value, a local derivative, "
              "a gradient, or any of them.")
def quiz(model: str | None, expr: str | None, feeds: tuple[str, ...], wrt: tuple[str, ...],
         seed: int, of: str | None, questions: int, kind: str) -> None:
    """Ask QUESTIONS questions about MODEL's trace and keep the score.

    Each question hides one number of `graphnn trace` (a value, a local derivative or a
    gradient); type the number (or a list like [1, 2]) and press Enter. A wrong answer
    shows the step-by-step computation. --seed makes the questions repeatable.
    """
    import graphnn as gn
    from graphnn_cli.cmd_trace import make_trace
    from graphnn_cli.loader import load

    m = load(model, expr, parse_feeds(feeds))
    q = gn.quiz(make_trace(m, seed, split_names(wrt), of), kind=kind, seed=seed)
    for k in range(questions):
        if k:
            q.next()
        if not ask(q, k + 1, questions):
            break
    right, asked = q.score
    echo(f"score: {right}/{asked}")


def ask(q: Any, k: int, n: int) -> bool:
    """Ask the current question on the terminal; False when the input ended."""
    echo(style(f"question {k} of {n}", None, bold=True) + f"  {q.question.prompt}")
    try:
        answer = click.prompt("answer", prompt_suffix="> ", show_default=False)
    except click.Abort:
        echo("")
        return False
    res = q.check(answer)
    echo(style("correct", None, fg="green") if res.correct else
         style(f"not quite: the answer is {res.expected}", None, fg="red"))
    if not res.correct:
        echo("\n".join("  " + ln for ln in res.explanation.splitlines()))
    return True
