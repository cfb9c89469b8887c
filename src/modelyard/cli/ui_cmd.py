"""`modelyard ui`: the MLflow UI on this project's tracking store, on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from modelyard.cli.options import EnvOption, ProjectOption, VerboseOption


def ui(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1.")] = 5000,
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    verbose: VerboseOption = 0,
) -> None:
    """Open the MLflow UI for this project's runs and registry (127.0.0.1 only)."""
    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error, stderr

    with exit_on_error():
        proj = open_project(project, env, verbose)
        uri = proj.tracking_uri
        proj.tracker().experiment_id  # noqa: B018 - creates the store and experiment if missing
    stderr().print(
        f"MLflow UI for {proj.config.model_name} on http://127.0.0.1:{port} (Ctrl-C stops)"
    )
    argv = [
        sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri,
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    raise typer.Exit(run_until_stopped(argv))


def run_until_stopped(argv: list[str]) -> int:
    """Run ``argv`` until it exits; SIGTERM or Ctrl-C stop it and its workers."""
    child = subprocess.Popen(argv, start_new_session=True)

    def stop(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return child.wait()
    except KeyboardInterrupt:
        stop(signal.SIGINT, None)
        child.wait(timeout=30)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
