"""Entry point of the ``graphnn`` command.

Subcommands live in their own modules and are imported only when run, so
``graphnn --help`` does not pay for numpy, sympy or graphviz.

>>> from click.testing import CliRunner
>>> CliRunner().invoke(cli, ["--version"]).output.startswith("graphnn")
True
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from graphnn_cli.common import CliError, err, short_error

# name -> (module, function, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "render": ("graphnn_cli.cmd_render", "render",
               "Draw the graph with values and gradients (svg, png, pdf, dot)."),
    "trace": ("graphnn_cli.cmd_trace", "trace",
              "Step through the forward and backward pass (n, p, q)."),
    "quiz": ("graphnn_cli.cmd_quiz", "quiz",
             "Quiz: hidden values, local derivatives and gradients to work out."),
    "jacobian": ("graphnn_cli.cmd_jacobian", "jacobian",
                 "Print or save a Jacobian; compare forward and reverse mode."),
    "compile": ("graphnn_cli.cmd_compile", "compile_",
                "Write the generated NumPy or CuPy source of a graph."),
    "grad-check": ("graphnn_cli.cmd_gradcheck", "grad_check",
                   "Check gradients against finite differences, node by node."),
    "ops": ("graphnn_cli.cmd_ops", "ops",
            "List the ops with their forward and derivative formulas."),
    "summary": ("graphnn_cli.cmd_summary", "summary",
                "Layer table: output shapes and parameter counts."),
    "train": ("graphnn_cli.cmd_train", "train",
              "Train a model file with a progress bar and checkpoints."),
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module on first use and turns errors into
    one or two lines on stderr (exit 1), unless ``--debug`` asks for the traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        mod, attr, _ = COMMANDS[name]  # command modules import only click at the top
        return getattr(importlib.import_module(mod), attr)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            err("interrupted")
            sys.exit(130)
        except BrokenPipeError:  # `graphnn ops | head`: the reader left; stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)
        except Exception as e:
            if ctx.meta.get("graphnn.debug") or os.environ.get("GRAPHNN_DEBUG"):
                raise
            raise CliError(_describe(e)) from None


def _describe(e: Exception) -> str:
    from graphnn.core.errors import GraphError

    if isinstance(e, GraphError):
        return short_error(e)
    first = short_error(e).splitlines()[0]
    return f"{type(e).__name__}: {first}\n(run `graphnn --debug ...` for the full traceback)"


_NO_ARGS = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


class _Group(LazyGroup):
    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        """click's main, with usage errors as two lines: ``error: ...`` and a --help hint."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except _NO_ARGS as e:  # bare `graphnn`: the help text
            e.show()
            sys.exit(e.exit_code)
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx is not None else "graphnn"
            err(f"{e.format_message()}\n(see `{where} --help`)")
            sys.exit(e.exit_code)
        except click.ClickException as e:
            e.show()
            sys.exit(e.exit_code)
        except click.exceptions.Abort:
            err("aborted")
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


EPILOG = """\b
Examples:
  graphnn render                       # the lecture graph (x + y) * z -> lecture.svg
  graphnn trace --all                  # every forward and backward step
  graphnn render examples/models/neuron.py -o neuron.png
  graphnn grad-check --expr "sigmoid(w * x)" --feed x=[1,2] --feed w=[0.5,-1]
  graphnn ops
"""


@click.group(cls=_Group, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(None, "-V", "--version", package_name="graphnn", prog_name="graphnn")
@click.option("--debug", is_flag=True, help="Show the full Python traceback on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """graphnn: build, trace, render and compile computational graphs.

    Most commands take a MODEL: a Python file defining build() that returns a gn.Graph
    (or a module-level Graph named `graph`, and optionally feeds() returning input
    values), a saved graph (.json), or --expr "(x + y) * z". Without one they use the
    lecture example f = (x + y) * z at x=1, y=-3, z=4.
    """
    ctx.meta["graphnn.debug"] = debug


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM: unwind like Ctrl-C, so temporary output files are removed."""
    raise SystemExit(128 + signum)


def main() -> None:
    """Console-script entry point."""
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    cli(prog_name="graphnn")


if __name__ == "__main__":  # pragma: no cover
    main()
