"""`modelyard serve`: the model the registry calls champion (or any version), over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelyard.cli.options import EnvOption, ProjectOption, VerboseOption


def serve(
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="NAME@ALIAS (followed: new targets are swapped in) or NAME/VERSION "
            "(default: serving.model, else the project's model @champion).",
        ),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind (default: 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535, help="Port to bind.")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes.")] = None,
    admin_port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="Port for /health/* and /metrics apart from the API (serving.admin_port).",
        ),
    ] = None,
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    verbose: VerboseOption = 0,
) -> None:
    """Serve a registered model over HTTP until SIGTERM or Ctrl-C (API docs at /docs)."""
    import logging

    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error, stderr

    with exit_on_error():
        proj = open_project(project, env, verbose)
        settings = proj.serve_settings(model=model, host=host, port=port, workers=workers)
        settings = settings.with_overrides(admin_port=admin_port)
        logging.getLogger("modelyard.serving").setLevel(
            logging.DEBUG if verbose > 1 else logging.INFO
        )
        # an access line per request: skip the thread and process lookups that no formatter
        # here prints (they are half of what a log record costs)
        logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
        from modelyard.serving.server import serve as run_server

        run_server(
            settings, announce=lambda line: stderr().print(line, highlight=False, markup=False)
        )
