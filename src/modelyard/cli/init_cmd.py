"""`modelyard init`: a new project in the standard MLOps layout, working on day one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from modelyard.scaffold.new_project import NewProject


def init(
    name: Annotated[
        Path, typer.Argument(help="The project folder; its name names the project and package.")
    ],
    example: Annotated[
        str | None, typer.Option("--example", help="Lay out a bundled example (flights).")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="A CSV, Parquet or JSON Lines file to infer the project from."),
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="The column of --data to predict.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Write into a folder that is not empty.")
    ] = False,
) -> None:
    """Write a new project into NAME: config, contract, data, tests, docs, deploy and CI.

    Without --data or --example, the project trains on a small synthetic churn dataset.
    """
    from modelyard.cli.output import exit_on_error, progress, stdout
    from modelyard.scaffold.new_project import create_project

    if example is not None and (data is not None or target is not None):
        raise typer.BadParameter(
            "give either --example, or --data with --target", param_hint="--example"
        )
    if (data is None) != (target is None):
        missing = "--target" if target is None else "--data"
        raise typer.BadParameter(
            "--data and --target go together (e.g. --data customers.csv --target churned)",
            param_hint=missing,
        )
    with exit_on_error(), progress("init") as stage:
        stage(f"writing {name}")
        project = create_project(name, example=example, data=data, target=target, force=force)
    render_project(stdout(), project)


def render_project(console: Console, project: NewProject) -> None:
    """Say what was written, what was inferred, and what to run next."""
    task = project.task.replace("_", " ")
    shown = project.data_file.relative_to(project.root).as_posix()
    console.print(
        f"[green]✓[/] project {project.names.name!r} written to {project.root}: {task} of "
        f"{project.target!r}, {project.rows:,} rows in {shown}"
    )
    inferred = project.inferred
    if inferred is not None:
        kinds = [
            f"{len(columns)} {kind}"
            for kind in ("numeric", "categorical", "datetime")
            if (columns := inferred.names(kind))
        ]
        console.print(f"  features: {', '.join(kinds)}")
        left_out = [c for c in inferred.columns if c.role in {"id", "excluded"}]
        for column in left_out:
            console.print(f"  not a feature: {column.name} ({column.note})")
        split = f"by time on {inferred.timestamp}" if inferred.timestamp else inferred.split
        console.print(f"  split: {split}")
        if inferred.dropped:
            console.print(f"  left out {inferred.dropped:,} rows without a {inferred.target!r}")
    console.print(f"  package: src/{project.names.package}/")
    console.print(f"  next: cd {project.root} && make test && make train")
