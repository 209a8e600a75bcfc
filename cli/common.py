"""Shared pieces of the ``graphnn`` command line: errors, colour, atomic output files,
``--feed`` parsing and the options every graph command takes.

Only click and the standard library are imported here: graphnn (and numpy with it) is
imported inside the functions that need it, so ``graphnn --help`` stays fast.

>>> parse_feed_text("[1, 2.5]")
[1.0, 2.5]
>>> parse_feed_text("-3")
-3.0
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click


class CliError(click.ClickException):
    """A model or runtime problem: printed as ``error: ...`` on stderr, exit status 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        err(self.format_message())


class PositiveFloat(click.ParamType):
    """A finite float > 0 (``--eps``, ``--tol``): nan, inf, 0 and negatives are usage
    errors (exit 2)."""

    name = "float"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        try:
            v = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not (0.0 < v < float("inf")):
            self.fail(f"{value!r} must be a finite number > 0", param, ctx)
        return v


POSITIVE_FLOAT = PositiveFloat()


def worst_error(errors: Any) -> float:
    """The largest of ``errors``, NaN when any is NaN (``max`` would skip a NaN)."""
    worst = 0.0
    for e in errors:
        e = float(e)
        if e != e:
            return float("nan")
        worst = max(worst, e)
    return worst


def passes_tol(e: float, tol: float) -> bool:
    """``e <= tol``, False for NaN."""
    return bool(e <= tol)


# -- colour and output ---------------------------------------------------------------
def use_color(stream: Any = None) -> bool:
    """Colour only on a terminal, never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream if stream is not None else sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def style(text: str, stream: Any = None, **kw: Any) -> str:
    """``click.style`` when colour is allowed on ``stream``, else the plain text."""
    return click.style(text, **kw) if use_color(stream) else text


def echo(msg: str = "", nl: bool = True) -> None:
    click.echo(msg, nl=nl, color=use_color())


def err(msg: str) -> None:
    """An error on stderr in at most two lines, ``error:`` in red on a terminal."""
    head, _, rest = msg.partition("\n")
    rest = "; ".join(ln.strip() for ln in rest.splitlines() if ln.strip())
    prefix = style("error:", sys.stderr, fg="red", bold=True)
    click.echo(f"{prefix} {head}", err=True, color=use_color(sys.stderr))
    if rest:
        click.echo("  " + rest, err=True, color=use_color(sys.stderr))


def note(msg: str) -> None:
    """An informational line on stderr (so stdout stays clean for pipes)."""
    click.echo(style("note:", sys.stderr, fg="cyan") + " " + msg, err=True,
               color=use_color(sys.stderr))


def short_error(exc: BaseException) -> str:
    """At most two lines: the message's first line, then its details joined by '; '."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    if not lines:
        return type(exc).__name__
    if len(lines) == 1:
        return lines[0]
    return lines[0] + "\n" + "; ".join(lines[1:])


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def update(self, n: int) -> None:
        return None


def progress(length: int, label: str) -> Any:
    """A click progress bar on stderr when it is a terminal; silent otherwise."""
    if not _isatty(sys.stderr):
        return _NoBar()
    return click.progressbar(length=length, label=label, file=sys.stderr)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# -- atomic output files ---------------------------------------------------------------
@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); move it into place on success.

    On an error or Ctrl-C the temporary file is removed and ``path`` is left untouched:
    nothing is ever half-written.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("hi")
    >>> (d / "a.txt").read_text(), sorted(p.name for p in d.iterdir())
    ('hi', ['a.txt'])

    ``-`` is standard output; a symlink is followed; an existing device or FIFO (say
    ``/dev/stdout``) is written through, never replaced.
    """
    from graphnn.core.fileio import atomic_path as _atomic_path

    if str(path) == "-":
        with _to_stdout() as tmp:
            yield tmp
        return
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise CliError(f"cannot write {target}: folder {folder} does not exist")
    try:
        with _atomic_path(target) as tmp:
            yield tmp
    except OSError as e:
        raise CliError(f"cannot write {target}: {e.strerror or e}") from None


@contextmanager
def _to_stdout() -> Iterator[Path]:
    """``-o -``: the writer fills a private temporary file, then its bytes go to stdout."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="graphnn-") as d:
        tmp = Path(d) / "out"
        tmp.touch()
        yield tmp
        out = click.get_binary_stream("stdout")
        out.write(tmp.read_bytes())
        out.flush()


def wrote(path: Any, msg: str) -> None:
    """The "wrote ..." line: on stderr when the output went to stdout (``-o -``) or to a
    device or pipe (``-o /dev/stdout``)."""
    p = str(path)
    click.echo(msg, err=p == "-" or (os.path.exists(p) and not os.path.isfile(p)))


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


# -- feeds ----------------------------------------------------------------------------
def parse_feed_text(text: str) -> Any:
    """A ``--feed`` value: a number, a JSON-like (nested) list, or a ``.npy`` file."""
    text = text.strip()
    if text.endswith(".npy") or text.startswith("@"):
        import numpy as np

        path = Path(text.lstrip("@"))
        if not path.is_file():
            raise ValueError(f"no such .npy file: {path}")
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise ValueError(f"cannot read {path}: {e}") from None
        if not hasattr(arr, "dtype") or arr.dtype.kind not in "biuf":
            what = getattr(arr, "dtype", type(arr).__name__)
            raise ValueError(f"{path} holds {what} values; expected real numbers")
        return arr
    if text.lower() in ("nan", "inf", "-inf", "+inf"):
        return float(text)
    if _depth(text) > MAX_FEED_DEPTH:
        raise ValueError(f"lists nested more than {MAX_FEED_DEPTH} deep")
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError(f"{text!r} is not a number, a list like [1, 2, 3] or a .npy "
                         "file") from None
    if not _numeric(value):
        raise ValueError(f"{text!r} is not a number, a list like [1, 2, 3] or a .npy file")
    _rectangular(value)
    return _floats(value)


MAX_FEED_DEPTH = 32  # numpy arrays have at most 64 dimensions; feeds far fewer


def _depth(text: str) -> int:
    """How deep ``[`` brackets nest in ``text`` (checked before any recursive parsing)."""
    depth = best = 0
    for ch in text:
        if ch == "[":
            depth += 1
            best = max(best, depth)
        elif ch == "]":
            depth -= 1
    return best


def _rectangular(value: Any) -> None:
    """ValueError unless the nested lists form an array (no ragged rows, say [1, [2]])."""
    import numpy as np

    try:
        arr = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError) as e:
        raise ValueError(f"the lists do not form an array ({str(e).splitlines()[0]})") from None
    if arr.ndim > MAX_FEED_DEPTH:  # pragma: no cover - _depth already refused it
        raise ValueError("too many dimensions")


def _numeric(v: Any) -> bool:
    if isinstance(v, list):
        return all(_numeric(x) for x in v)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _floats(v: Any) -> Any:
    return [_floats(x) for x in v] if isinstance(v, list) else float(v)


def parse_feeds(items: tuple[str, ...]) -> dict[str, Any]:
    """``("x=1", "w=[1,2]")`` -> ``{"x": 1.0, "w": [1.0, 2.0]}``; usage errors exit 2.

    Names the graph does not have and values of the wrong shape are checked once the graph
    is loaded (:func:`graphnn_cli.loader.load`, exit 1)."""
    out: dict[str, Any] = {}
    for item in items:
        name, eq, text = item.partition("=")
        name = name.strip()
        if not eq or not name or not text.strip():
            raise click.BadParameter(f"{item!r}: expected NAME=VALUE, e.g. --feed x=1",
                                     param_hint="--feed")
        try:
            out[name] = parse_feed_text(text)
        except ValueError as e:
            raise click.BadParameter(f"{name}: {e}", param_hint="--feed") from None
    return out


def split_names(items: tuple[str, ...]) -> list[str]:
    """``--wrt x,y --wrt z`` -> ``["x", "y", "z"]``."""
    return [s.strip() for it in items for s in it.split(",") if s.strip()]


# -- shared options -----------------------------------------------------------------------
def model_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """MODEL argument, --expr, --feed, --wrt and --seed (in that order on ``--help``)."""
    opts = [
        click.argument("model", required=False, type=click.Path(dir_okay=False)),
        click.option("--expr", "-e", metavar="EXPR",
                     help='Build the graph from an expression, e.g. "(x + y) * z".'),
        click.option("--feed", "-f", "feeds", multiple=True, metavar="NAME=VALUE",
                     help="Input value: a number, a list like [1,2,3], or a .npy file. "
                          "Repeat for several inputs."),
        click.option("--wrt", "wrt", multiple=True, metavar="NAMES",
                     help="Differentiate with respect to these nodes (comma separated; "
                          "default: every input and param)."),
        click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
                     help="Random seed for inputs given no value."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def output_options(default_help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """-o/--output and --format (the format defaults to the output file's suffix)."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = click.option("--format", "fmt", metavar="FMT",
                          help="Output format (default: from the file suffix).")(fn)
        return click.option("-o", "--output", type=click.Path(dir_okay=False),
                            help=default_help)(fn)

    return deco
