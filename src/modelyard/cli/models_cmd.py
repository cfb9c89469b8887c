"""`modelyard models`: list, show, promote, roll back, and read model cards."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from modelyard.cli.options import EnvOption, JsonOption, ProjectOption, VerboseOption

app = typer.Typer(
    help="Registered models: versions, aliases, promotion, cards.", no_args_is_help=True
)

ModelOption = Annotated[
    str | None, typer.Option("--model", "-m", help="Registered model (default: the project's).")
]
ByOption = Annotated[str | None, typer.Option("--by", help="Who makes the change (default: you).")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why; recorded on the version.")]


@app.command("list")
def list_versions(
    model: ModelOption = None,
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """List every version of the model with its aliases, gates and test metric."""
    from rich.table import Table

    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error, print_json, stdout

    with exit_on_error():
        proj = open_project(project, env, verbose)
        name = model or proj.config.model_name
        versions = proj.registry().versions(name)
    if as_json:
        print_json([_version_dict(v) for v in versions])
        return
    table = Table(title=f"{name}: {len(versions)} versions")
    for column in ("version", "aliases", "gates", "onnx", "created", "run"):
        table.add_column(column)
    for info in versions:
        table.add_row(
            str(info.version),
            ", ".join(info.aliases),
            info.tags.get("modelyard.gates", ""),
            info.tags.get("modelyard.onnx", ""),
            info.created.strftime("%Y-%m-%d %H:%M"),
            (info.run_id or "")[:12],
        )
    stdout().print(table)


@app.command("show")
def show(
    version: Annotated[int | None, typer.Argument(help="Version (default: the champion).")] = None,
    model: ModelOption = None,
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Show one version: aliases, tags (gates, ONNX parity, lineage), source."""
    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error, print_json, stdout
    from modelyard.errors import ModelNotFoundError

    with exit_on_error():
        proj = open_project(project, env, verbose)
        name = model or proj.config.model_name
        registry = proj.registry()
        if version is None:
            version = registry.get_alias(name, "champion")
            if version is None:
                raise ModelNotFoundError(name, ref="champion", known=registry.models())
        info = registry.version(name, version)
    data = _version_dict(info)
    if as_json:
        print_json(data)
        return
    console = stdout()
    console.print(
        f"[bold]{name}[/] version {info.version}  aliases: {', '.join(info.aliases) or '-'}"
    )
    for key, value in sorted(info.tags.items()):
        console.print(f"  {key}: {value}", highlight=False, markup=False)


@app.command("promote")
def promote(
    version: Annotated[int, typer.Argument(min=1, help="The version to promote.")],
    alias: Annotated[str, typer.Option(help="Alias to move.")] = "champion",
    force: Annotated[
        bool, typer.Option("--force", help="Skip the gates (recorded); files are still verified.")
    ] = False,
    by: ByOption = None,
    reason: ReasonOption = "manual promotion",
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Point ALIAS at VERSION, after verifying its files and checking its gates on the current
    test data."""
    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error, print_json, stdout
    from modelyard.pipelines.promote import promote as move

    with exit_on_error():
        proj = open_project(project, env, verbose)
        moved = move(
            proj.train_specs(), proj.registry(), version,
            alias=alias, force=force, by=by or getpass.getuser(), reason=reason,
        )  # fmt: skip
    if as_json:
        print_json(moved.to_dict())
        return
    was = f" (was {moved.previous})" if moved.previous else ""
    forced = " [yellow](gates skipped: --force)[/]" if moved.forced else ""
    stdout().print(
        f"[green]✓[/] {moved.model} {moved.alias} → version {moved.version}{was}{forced}"
    )


@app.command("rollback")
def rollback(
    to: Annotated[int | None, typer.Option("--to", min=1, help="Version to go back to.")] = None,
    by: ByOption = None,
    reason: ReasonOption = "rollback",
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Point the champion back at the version it replaced (or --to VERSION), once its files
    verify."""
    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error, print_json, stdout
    from modelyard.pipelines.promote import rollback as move

    with exit_on_error():
        proj = open_project(project, env, verbose)
        moved = move(
            proj.train_specs(), proj.registry(), to=to, by=by or getpass.getuser(), reason=reason
        )
    if as_json:
        print_json(moved.to_dict())
        return
    stdout().print(
        f"[green]✓[/] {moved.model} champion rolled back to version {moved.version} "
        f"(was {moved.previous})"
    )


@app.command("card")
def card(
    version: Annotated[int | None, typer.Argument(help="Version (default: the champion).")] = None,
    html: Annotated[bool, typer.Option("--html", help="Print the HTML card's path.")] = False,
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    verbose: VerboseOption = 0,
) -> None:
    """Print a version's model card (Markdown), or the path of its HTML page."""
    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error
    from modelyard.errors import ModelNotFoundError

    with exit_on_error():
        proj = open_project(project, env, verbose)
        name = proj.config.model_name
        if version is None:
            version = proj.registry().get_alias(name, "champion")
            if version is None:
                raise ModelNotFoundError(name, ref="champion", known=proj.registry().models())
        folder = proj.paths.cards / name / f"v{version}"
        if not folder.is_dir():
            raise ModelNotFoundError(name, ref=f"card of version {version}")
    path = folder / ("model_card.html" if html else "model_card.md")
    typer.echo(str(path) if html else path.read_text(encoding="utf-8"))


def _version_dict(info: object) -> dict[str, object]:
    from dataclasses import asdict

    data = asdict(info)  # type: ignore[call-overload]
    data["created"] = str(data["created"])
    return data  # type: ignore[no-any-return]
