"""Options shared by many commands, and the project loader they use."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from modelyard.project import Project

ProjectOption = Annotated[
    Path,
    typer.Option(
        "--project", "-C", help="Project folder (holding modelyard.yaml).", show_default=False
    ),
]
EnvOption = Annotated[
    str | None,
    typer.Option("--env", "-e", help="Environment overlay (configs/env/ENV.yaml); $MODELYARD_ENV."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
VerboseOption = Annotated[
    int, typer.Option("--verbose", "-v", count=True, help="More log output (repeat for debug).")
]


def open_project(project: Path, env: str | None, verbose: int = 0) -> Project:
    """Load the project and set up logging that masks its secrets."""
    from modelyard.cli.output import configure_logging
    from modelyard.project import load_project

    loaded = load_project(project, env=env)
    configure_logging(verbose, loaded.loaded.secrets())
    log = logging.getLogger("modelyard.cli")
    log.info("project %s (env: %s)", loaded.root, loaded.loaded.env or "none")
    log.debug("tracking store %s", loaded.config.stores.tracking_uri)
    log.debug("resolved config %s", loaded.loaded.to_dict(masked=True))
    return loaded
