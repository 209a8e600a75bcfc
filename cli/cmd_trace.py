"""``graphnn trace``: step through the forward and backward pass in the terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from graphnn_cli.common import (
    atomic_path,
    echo,
    model_options,
    note,
    parse_feeds,
    split_names,
    style,
    wrote,
)

KEYS = "Enter/n: next   p: back   q: quit"


def play(frames: Sequence[str], getkey: Callable[[], str], out: Callable[[str], None],
         title: str = "", screen: Callable[[int], str] | None = None) -> int:
    """Show one frame at a time, driven by keys; returns the number of the last frame shown.

    ``screen(i)``, when given, draws the whole screen for frame ``i`` instead of
    printing the frames one after another.

    >>> keys = iter("nnpq")
    >>> shown = []
    >>> play(["a", "b", "c"], lambda: next(keys), shown.append)
    2
    >>> [s.splitlines()[0] for s in shown if s.startswith("step")]
    ['step 1 of 3  a', 'step 2 of 3  b', 'step 3 of 3  c', 'step 2 of 3  b']
    """
    if not frames:
        out("(nothing to show)")
        return 0
    i = 0

    def show(i: int) -> None:
        out(screen(i) if screen is not None else _frame(frames, i))

    if title and screen is None:
        out(title)
    show(i)
    while True:
        out(style(f"[{KEYS}]", None, dim=True))
        try:
            key = getkey()
        except (EOFError, KeyboardInterrupt):
            break
        if key in ("q", "Q", "\x1b", "\x03", "\x04"):
            break
        if key in ("n", "N", "\r", "\n", " ", "j", "l", "\x1b[C", "\x1b[B"):
            if i + 1 >= len(frames):
                out("(last step: p goes back, q quits)")
                continue
            i += 1
        elif key in ("p", "P", "b", "k", "h", "\x1b[D", "\x1b[A"):
            if i == 0:
                out("(first step)")
                continue
            i -= 1
        else:
            continue
        show(i)
    return i + 1


def _frame(frames: Sequence[str], i: int) -> str:
    return f"step {i + 1} of {len(frames)}  {frames[i]}"


def screen_for(title: str, frames: Sequence[str], lines: Sequence[str],
               height: int) -> Callable[[int], str]:
    """A full-screen view: the title, the earlier steps as one line each (as many as fit),
    then the current step in full. Starts by clearing the terminal."""

    def draw(i: int) -> str:
        current = _frame(frames, i).splitlines()
        room = max(0, height - len(current) - 4)
        earlier = [style(ln, None, dim=True) for ln in lines[:i]][-room:] if room else []
        return "\x1b[H\x1b[2J" + "\n".join([title, *earlier, *current])

    return draw


def step_texts(tr: Any) -> list[str]:
    """One text per step of a ``gn.trace`` result: what happens, then what is known."""
    frames = []
    for i, s in enumerate(tr.steps):
        head = style(f"{s.phase} · {s.kind} · {s.node.name}", None, bold=True)
        lines = [head, *("  " + ln for ln in str(s.text).splitlines())]
        values, grads = tr.state_at(i)
        known = _known(tr, grads)
        if known and s.phase == "backward":
            lines.append(style("  gradients so far: " + known, None, dim=True))
        frames.append("\n".join(lines))
    return frames


def _one_line(step: Any) -> str:
    return " ; ".join(ln.strip() for ln in str(step.text).splitlines())


def _known(tr: Any, table: dict[int, Any]) -> str:
    """``∂f/∂d = 4, ∂f/∂x = [1, 2]``: the gradients known so far (small tensors in full)."""
    from graphnn.teach.numfmt import fmt_value

    L = tr.loss.name if getattr(tr, "loss", None) is not None else "L"
    nodes = tr.graph.nodes
    return ", ".join(f"∂{L}/∂{nodes[nid].name} = {fmt_value(v)}" for nid, v in table.items())


def gradient_line(tr: Any) -> str:
    """``∂f/∂x = 4, ∂f/∂y = 4, ...`` for the traced run (empty without gradients)."""
    from graphnn.teach.numfmt import fmt_value

    r = tr.run
    if not r.wrt or r.loss is None:
        return ""
    parts = [f"∂{r.loss.name}/∂{w.name} = {fmt_value(r.grad(w))}" for w in r.wrt]
    return "gradients: " + ", ".join(parts)


@click.command(epilog="""\b
Examples:
  graphnn trace                       # the lecture graph, step by step (n, p, q)
  graphnn trace --all                 # print every step and the value/gradient table
  graphnn trace examples/models/neuron.py --html neuron.html
  graphnn trace --expr "(x + y) * z" --feed x=1 --feed y=-3 --feed z=4 --gif lecture.gif
""")
@model_options
@click.option("--of", "of", metavar="NODE", help="Output node to differentiate.")
@click.option("--all", "show_all", is_flag=True, help="Print every step, no key presses.")
@click.option("--table", is_flag=True, help="Print the steps as one table (--markdown, "
              "--latex for notes and slides).")
@click.option("--markdown", is_flag=True, help="Print the steps as a Markdown table.")
@click.option("--latex", is_flag=True, help="Print the steps as a LaTeX tabular.")
@click.option("--html", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the step player as a self-contained HTML page.")
@click.option("--gif", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the steps as an animated GIF.")
@click.option("--quiz", type=click.Choice(["value", "grad", "local", "any"]), metavar="KIND",
              help="With --html: the player asks for each step's KIND (value, grad, local "
              "or any) before showing it, checks the answer and keeps a score.")
@click.option("--rankdir", type=click.Choice(["LR", "TB"], case_sensitive=False),
              help="Layout direction of the --html / --gif pictures (default: the one that "
              "fits the player's pane better).")
@click.option("--collapse", is_flag=True,
              help="Draw each layer group of the --html / --gif pictures as one box (the "
              "player opens a box on click).")
@click.option("--full", type=click.IntRange(min=1), default=4, show_default=True,
              metavar="N", help="Print vectors up to N numbers and matrices up to NxN in full.")
def trace(model: str | None, expr: str | None, feeds: tuple[str, ...], wrt: tuple[str, ...],
          seed: int, of: str | None, show_all: bool, table: bool, markdown: bool, latex: bool,
          html: str | None, gif: str | None, quiz: str | None, rankdir: str | None,
          collapse: bool, full: int) -> None:
    """Step through the forward and backward pass of MODEL.

    On a terminal, Enter or n shows the next step, p goes back and q quits; when
    the output is not a terminal (or with --all) every step is printed. --html and
    --gif export the same steps as a player page or an animation.
    """
    from graphnn.teach.numfmt import full_size

    if quiz and not html:
        raise click.BadParameter("the quiz is part of the HTML player: give --html FILE too",
                                 param_hint="--quiz")
    options: dict[str, Any] = {}
    if rankdir:
        options["rankdir"] = rankdir.upper()
    if collapse:
        options["collapse"] = True
    with full_size(full):
        _trace(model, expr, feeds, wrt, seed, of, show_all, (table, markdown, latex), html, gif,
               options, quiz)


def _trace(model: str | None, expr: str | None, feeds: tuple[str, ...], wrt: tuple[str, ...],
           seed: int, of: str | None, show_all: bool, tables: tuple[bool, bool, bool],
           html: str | None, gif: str | None, options: dict[str, Any],
           quiz: str | None) -> None:
    from graphnn_cli.loader import load

    table, markdown, latex = tables
    for path, suffix, opt in ((html, ".html", "--html"), (gif, ".gif", "--gif")):
        if path is not None and not path.lower().endswith(suffix):
            raise click.BadParameter(f"{path!r}: the file name must end in {suffix}",
                                     param_hint=opt)
    m = load(model, expr, parse_feeds(feeds))
    tr = make_trace(m, seed, split_names(wrt), of)
    saved = False
    for path in (html, gif):
        if path:
            if sys.stderr.isatty():
                note(f"rendering {len(tr.steps)} steps into {path} ...")
            extra = {"quiz": quiz} if quiz and path == html else {}
            with atomic_path(path) as tmp:
                tr.save(str(tmp), **options, **extra)
            wrote(path, f"wrote {path}")
            saved = True
    if table or markdown or latex:
        echo(tr.to_markdown() if markdown else tr.to_latex() if latex else tr.to_table())
        return
    if saved and not show_all:
        return
    frames = step_texts(tr)
    interactive = not show_all and sys.stdin.isatty() and sys.stdout.isatty()
    if not interactive:
        for i, _ in enumerate(frames):
            echo(_frame(frames, i))
        if gradient_line(tr):
            echo(gradient_line(tr))
        return
    import shutil

    title = style(f"{m.source}: {len(frames)} steps", None, bold=True)
    lines = [f"step {k + 1:>{len(str(len(frames)))}}  {s.phase:<8}  {_one_line(s)}"
             for k, s in enumerate(tr.steps)]
    height = shutil.get_terminal_size((100, 30)).lines
    with key_reader() as getkey:  # style() already dropped colours if NO_COLOR is set
        play(frames, getkey, lambda t: click.echo(t, color=True), title,
             screen_for(title, frames, lines, height))
    if gradient_line(tr):
        echo(gradient_line(tr))


def make_trace(m: Any, seed: int, wrt_names: list[str], of: str | None) -> Any:
    """``gn.trace`` of a loaded model (random values for inputs given none)."""
    import numpy as np

    import graphnn as gn
    from graphnn_cli.loader import complete_feeds, output_node, wrt_nodes

    feeds = complete_feeds(m, seed)
    out = output_node(m, of)
    wrt = wrt_nodes(m, wrt_names)
    graph = m.graph
    kw: dict[str, Any] = {"wrt": wrt or None}
    if out.shape != () and wrt:
        kw["seed"] = np.ones(out.shape, dtype=out.dtype)
    if graph.default_outputs() != [out]:
        kw["outputs"] = [out]
    return gn.trace(graph, feeds, **kw)


@contextmanager
def key_reader() -> Iterator[Callable[[], str]]:
    """Single key presses from the terminal: cbreak mode (no echo, no Enter needed) for
    the whole session, so no key typed between two prompts is lost; restored on exit."""
    try:
        import termios
        import tty
    except ImportError:  # pragma: no cover - Windows: click reads single keys there
        yield click.getchar
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    pending: list[str] = []

    def getkey() -> str:
        if not pending:
            pending.extend(split_keys(_read(fd)))
        return pending.pop(0)

    try:
        yield getkey
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def split_keys(text: str) -> list[str]:
    r"""Split what one read returned into keys (arrow keys are 3-character sequences).

    >>> split_keys("nn\x1b[Dq")
    ['n', 'n', '\x1b[D', 'q']
    """
    keys, i = [], 0
    while i < len(text):
        if text.startswith("\x1b[", i) and i + 2 < len(text):
            keys.append(text[i:i + 3])
            i += 3
        else:
            keys.append(text[i])
            i += 1
    return keys


def _read(fd: int) -> str:
    import os

    data = os.read(fd, 64)
    if not data:
        raise EOFError
    return data.decode("utf-8", "replace")
