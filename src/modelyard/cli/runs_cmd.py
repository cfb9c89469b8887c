"""`modelyard runs`: what each training run recorded, and how two compare."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelyard.cli.options import EnvOption, JsonOption, ProjectOption, VerboseOption

if TYPE_CHECKING:
    from modelyard.tracking.runs import RunRecord

app = typer.Typer(help="Tracked runs: list, show, compare.", no_args_is_help=True)


@app.command("list")
def list_runs(
    status: Annotated[str | None, typer.Option(help="Only runs in this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """List recent runs, newest first."""
    from rich.table import Table

    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error, print_json, stdout

    with exit_on_error():
        runs = (
            open_project(project, env, verbose)
            .tracker()
            .list_runs(status=status, max_results=limit)
        )
    if as_json:
        print_json([_run_dict(run) for run in runs])
        return
    table = Table(title=f"{len(runs)} runs")
    for column in ("run", "name", "status", "started", "version", "test roc_auc / r2"):
        table.add_column(column)
    for run in runs:
        metric = run.metrics.get("test_roc_auc", run.metrics.get("test_r2"))
        table.add_row(
            run.run_id[:12], run.name, run.status,
            run.start.strftime("%Y-%m-%d %H:%M:%S") if run.start else "",
            run.tags.get("modelyard.version", ""),
            "" if metric is None else f"{metric:.4f}",
        )  # fmt: skip
    stdout().print(table)


@app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="Run id (as `runs list` shows it).")],
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Show a run's params, metrics and tags."""
    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error, print_json, stdout

    with exit_on_error():
        run = _find(open_project(project, env, verbose).tracker(), run_id)
    if as_json:
        print_json(_run_dict(run))
        return
    console = stdout()
    console.print(f"[bold]{run.name}[/] {run.run_id} {run.status}")
    for title, values in (("params", run.params), ("metrics", run.metrics), ("tags", run.tags)):
        console.print(f"[bold]{title}[/]")
        for key, value in sorted(values.items()):
            console.print(f"  {key}: {value}", markup=False, highlight=False)


@app.command("compare")
def compare(
    first: Annotated[str, typer.Argument(help="A run id.")],
    second: Annotated[str, typer.Argument(help="Another run id.")],
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Put two runs' params and metrics side by side, differences marked."""
    from rich.table import Table

    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error, print_json, stdout

    with exit_on_error():
        tracker = open_project(project, env, verbose).tracker()
        a, b = _find(tracker, first), _find(tracker, second)
    rows = [
        (kind, key, values_a.get(key), values_b.get(key))
        for kind, values_a, values_b in (
            ("param", a.params, b.params),
            ("metric", a.metrics, b.metrics),
        )
        for key in sorted({*values_a, *values_b})
    ]
    if as_json:
        listed = [{"kind": k, "key": key, "a": x, "b": y, "same": x == y} for k, key, x, y in rows]
        print_json({"runs": [a.run_id, b.run_id], "rows": listed})
        return
    table = Table(title=f"{a.run_id[:12]} vs {b.run_id[:12]}")
    for column in ("", "key", a.run_id[:12], b.run_id[:12]):
        table.add_column(column)
    for kind, key, x, y in rows:
        style = None if x == y else "bold yellow"
        table.add_row(kind, key, _cell(x), _cell(y), style=style)
    stdout().print(table)


def _find(tracker: Any, run_id: str) -> RunRecord:
    """Accept a full run id or a unique prefix of one (as `runs list` shows)."""
    from modelyard.errors import TrackingError

    if len(run_id) == 32:
        return tracker.get_run(run_id)  # type: ignore[no-any-return]
    matches = [run for run in tracker.list_runs(max_results=1000) if run.run_id.startswith(run_id)]
    if len(matches) != 1:
        found = "no run" if not matches else f"{len(matches)} runs"
        raise TrackingError(
            f"Run id {run_id!r} matches {found}. "
            "Give more characters, or see `modelyard runs list`."
        )
    return matches[0]  # type: ignore[no-any-return]


def _cell(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _run_dict(run: RunRecord) -> dict[str, Any]:
    data = asdict(run)
    data["start"] = str(run.start) if run.start else None
    data["end"] = str(run.end) if run.end else None
    return data
