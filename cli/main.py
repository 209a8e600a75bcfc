"""Entry point of the ``graphnn`` command.

>>> from click.testing import CliRunner
>>> CliRunner().invoke(cli, ["--version"]).output.startswith("graphnn")
True
"""

from __future__ import annotations

import click

import graphnn as gn


def lecture_graph() -> tuple[gn.Graph, dict[str, float]]:
    """The lecture example f = (x + y) * z at x = 1, y = -3, z = 4."""
    with gn.Graph("lecture") as g:
        x, y, z = gn.input("x"), gn.input("y"), gn.input("z")
        d = (x + y).named("d")
        (d * z).named("f")
    return g, {"x": 1.0, "y": -3.0, "z": 4.0}


@click.group()
@click.version_option(gn.__version__, prog_name="graphnn")
def cli() -> None:
    """graphnn: build, trace, render and compile computational graphs."""


@cli.command()
def trace() -> None:
    """Print every forward and backward step of the lecture graph (x + y) * z.

    Example: graphnn trace
    """
    g, feeds = lecture_graph()

    def fwd(node: gn.Node, value: object, ins: list) -> None:
        args = ", ".join(f"{i.name}={float(v):g}" for i, v in zip(node.inputs, ins))
        click.echo(f"forward  {node.name:>2} = {node.op.display:<5} ({args}) = {float(value):g}"
                   if ins else f"forward  {node.name:>2} = {float(value):g}")

    def bwd(node: gn.Node, g_: object, contribs: list) -> None:
        for i, c in zip(node.inputs, contribs):
            if c is not None:
                click.echo(f"backward d{g.outputs[0].name if g.outputs else 'f'}/d{i.name} "
                           f"+= {float(c):g}   (via {node.name}, upstream {float(g_):g})")

    r = gn.run(g, feeds, wrt=g.inputs, on_forward=fwd, on_backward=bwd)
    click.echo("gradients: " + ", ".join(f"df/d{n.name} = {float(r.grad(n)):g}"
                                        for n in g.inputs))


def main() -> None:
    cli()
