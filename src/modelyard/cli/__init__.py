"""The `modelyard` command: thin commands that parse, call the library, and render.

Heavy libraries are imported inside the commands, so `modelyard --help` stays fast.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from modelyard.cli import config_cmd, data_cmd, models_cmd, runs_cmd
from modelyard.cli.demo_cmd import demo
from modelyard.cli.example_cmd import example
from modelyard.cli.init_cmd import init
from modelyard.cli.monitor_cmd import monitor
from modelyard.cli.predict_cmd import predict
from modelyard.cli.serve_cmd import serve
from modelyard.cli.train_cmd import train
from modelyard.cli.ui_cmd import ui
from modelyard.errors import ModelyardError

app = typer.Typer(
    name="modelyard",
    help="The machine-learning lifecycle in one tool: data, features, training, registry, "
    "serving, monitoring and retraining.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(data_cmd.app, name="data")
app.command("demo")(demo)
app.command("init")(init)
app.command("example")(example)
app.command("train")(train)
app.command("predict")(predict)
app.add_typer(runs_cmd.app, name="runs")
app.add_typer(models_cmd.app, name="models")
app.command("ui")(ui)
app.command("serve")(serve)
app.command("monitor")(monitor)


def _version(value: bool) -> None:
    if value:
        from modelyard import __version__

        typer.echo(f"modelyard {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """The machine-learning lifecycle in one tool."""


def main() -> None:
    """Run the CLI; an escaped ``ModelyardError`` still exits 1, without a traceback."""
    from modelyard.cli.output import fail

    try:
        app()
    except ModelyardError as error:
        exit_ = fail(error)
        sys.exit(exit_.exit_code)
