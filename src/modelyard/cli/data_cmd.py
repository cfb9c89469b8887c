"""`modelyard data`: ingest, validate, profile and split the project's data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelyard.cli.options import EnvOption, JsonOption, ProjectOption, VerboseOption

app = typer.Typer(help="Ingest, validate, profile and split data.", no_args_is_help=True)

PathArgument = Annotated[
    Path | None,
    typer.Argument(
        help="A data file or glob; defaults to the configured source.", show_default=False
    ),
]


@app.command("ingest")
def ingest(
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Read the source, check it against the contract, and store it with its snapshot."""
    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error, print_json, progress, stdout
    from modelyard.cli.render import render_report
    from modelyard.errors import ContractViolationError

    with exit_on_error():
        proj = open_project(project, env, verbose)
        try:
            with progress("ingest", enabled=not as_json) as stage:
                result = proj.ingest(on_stage=stage)
        except ContractViolationError as error:
            render_report(error.report, as_json=as_json)
            raise
    snapshot = result.snapshot
    if as_json:
        print_json({"path": str(result.path), "snapshot": snapshot.to_dict()})
        return
    stdout().print(
        f"[green]✓[/] ingested {snapshot.rows:,} rows x {snapshot.columns} columns "
        f"into {result.path.relative_to(proj.root)}\n  digest {snapshot.digest}"
    )


@app.command("validate")
def validate(
    path: PathArgument = None,
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Check data (PATH, or the configured source) against the data contract."""
    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error, progress
    from modelyard.cli.render import render_report

    with exit_on_error():
        proj = open_project(project, env, verbose)
        with progress("validate", enabled=not as_json) as stage:
            report = proj.validate(path, on_stage=stage)
    render_report(report, as_json=as_json)
    if not report.passed:
        raise typer.Exit(code=1)


@app.command("profile")
def profile(
    path: PathArgument = None,
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Summarise every column: type, missing values, distinct values, range."""
    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error, print_json, progress, stdout
    from modelyard.data.profile import profile_frame, render_profile

    with exit_on_error():
        proj = open_project(project, env, verbose)
        with progress("profile", enabled=not as_json) as stage:
            if path is None and proj.paths.dataset.is_file():
                path = proj.paths.dataset
            df, name = proj.read(path, on_stage=stage)
            stage(f"profiling {len(df):,} rows")
            profiles = profile_frame(df)
    if as_json:
        print_json({"source": name, "rows": len(df), "columns": [p.to_dict() for p in profiles]})
        return
    console = stdout()
    console.print(f"{name}: {len(df):,} rows x {len(df.columns)} columns")
    console.print(render_profile(profiles))


@app.command("split")
def split(
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Split the ingested dataset into train, valid and test as data.split says."""
    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error, print_json, progress, stdout

    with exit_on_error():
        proj = open_project(project, env, verbose)
        with progress("split", enabled=not as_json) as stage:
            result = proj.split(on_stage=stage)
    if as_json:
        print_json(result.to_dict())
        return
    total = sum(result.rows.values())
    console = stdout()
    console.print(f"[green]✓[/] {result.strategy} split (seed {result.seed}) of {total:,} rows:")
    for name, path in result.paths.items():
        share = result.rows[name] / total if total else 0.0
        console.print(
            f"  {name:<6} {result.rows[name]:>9,} rows ({share:6.1%})  "
            f"{path.relative_to(proj.root)}  {result.digests[name][:12]}"
        )
