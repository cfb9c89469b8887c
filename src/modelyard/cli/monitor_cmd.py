"""`modelyard monitor`: does the served model still see the data it was trained on?"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modelyard.cli.options import EnvOption, JsonOption, ProjectOption, VerboseOption
from modelyard.monitoring.result import RetrainAction

if TYPE_CHECKING:
    from rich.console import Console

    from modelyard.monitoring.result import MonitorResult

EXIT_BREACH = 3
"""Exit status with ``--fail-on-breach`` when drift or degraded quality was found (for CI)."""


def monitor(
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="NAME@ALIAS or NAME/VERSION (default: the champion)."),
    ] = None,
    window: Annotated[
        str | None,
        typer.Option("--window", "-w", help="The prediction log's latest window, e.g. 7d, 12h."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Window start (ISO date/time, UTC).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Window end, excluded (ISO date/time, UTC).")
    ] = None,
    current: Annotated[
        Path | None,
        typer.Option("--current", help="Check this dataset instead of the prediction log."),
    ] = None,
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference", help="Compare with this dataset instead of the training sample."
        ),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="A file of request_id,label joined to the log."),
    ] = None,
    retrain: Annotated[
        bool | None,
        typer.Option(
            "--retrain/--no-retrain",
            help="Retrain on a breach (default: monitoring.retrain.on_drift / on_quality).",
        ),
    ] = None,
    alert: Annotated[
        bool, typer.Option("--alert/--no-alert", help="Send the webhook alert on a breach.")
    ] = True,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also copy the HTML report here.")
    ] = None,
    fail_on_breach: Annotated[
        bool,
        typer.Option("--fail-on-breach", help=f"Exit {EXIT_BREACH} when drift or decay is found."),
    ] = False,
    serve_metrics: Annotated[
        int | None,
        typer.Option(
            "--serve-metrics",
            help="Then serve the results as Prometheus gauges on 127.0.0.1:PORT, "
            "re-checking every --every seconds, until interrupted.",
        ),
    ] = None,
    every: Annotated[
        float, typer.Option("--every", help="Seconds between checks with --serve-metrics.")
    ] = 300.0,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Check drift and quality of the served model; report, alert and retrain on a breach."""
    import shutil

    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error, print_json, progress, stdout

    with exit_on_error():
        proj = open_project(project, env, verbose)

        def look() -> MonitorResult:
            with progress("monitor", enabled=not as_json) as stage:
                stage("comparing the current window with the reference")
                return proj.monitor(
                    model=model, window=window, since=since, until=until, current=current,
                    reference=reference, labels=labels, retrain=retrain, alert=alert,
                )  # fmt: skip

        result = look()
        if html is not None and result.html_path is not None:
            shutil.copyfile(result.html_path, html)
        if as_json:
            print_json(result.to_dict())
        else:
            render(stdout(), result, proj.root)
        if serve_metrics is not None:
            _serve_gauges(look, result, serve_metrics, every)
    if fail_on_breach and (result.drifted or result.degraded):
        raise typer.Exit(code=EXIT_BREACH)


def _serve_gauges(
    look: Callable[[], MonitorResult], first: MonitorResult, port: int, every: float
) -> None:
    import time

    from modelyard.cli.output import stderr
    from modelyard.monitoring.gauges import GaugeServer

    server = GaugeServer(first, port=port)
    stderr().print(f"serving monitoring gauges on http://127.0.0.1:{server.port}/metrics")
    try:
        while True:
            time.sleep(every)
            server.update(look())
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def render(console: Console, result: MonitorResult, root: Path) -> None:
    """The verdict first, then drifted features, quality, actions and where the report is."""
    model, verdict = result.model, result.verdict
    colour = "green" if verdict.status == "ok" else "red" if verdict.is_breach else "yellow"
    console.print(
        f"[bold]{model.name}[/] version {model.version}: [bold {colour}]{verdict.status}[/]"
    )
    reference, current = result.reference, result.current
    console.print(f"  reference: {reference.description} ({reference.rows:,} rows)")
    console.print(f"  current:   {current.description} ({current.rows:,} rows)")
    for reason in verdict.reasons:
        console.print(f"  • {reason}")
    if result.drift.columns:
        from rich.table import Table

        table = Table(show_edge=False, pad_edge=False, box=None)
        for name in ("feature", "method", "statistic", "threshold", "drifted"):
            table.add_column(
                name, justify="right" if name in {"statistic", "threshold"} else "left"
            )
        columns = sorted(result.drift.columns, key=lambda c: (not c.drifted, c.column))
        for column in columns:
            table.add_row(
                column.column,
                column.method,
                _number(column.statistic),
                _number(column.threshold),
                "[red]yes[/]" if column.drifted else "no",
            )
        console.print(table)
    quality = result.quality
    if quality is None:
        console.print("  quality: no labels yet (POST /v1/feedback, or --labels FILE)")
    else:
        console.print(
            f"  quality on {quality.labelled_rows:,} labelled rows "
            f"({quality.unlabelled_rows:,} without a label yet):"
        )
        for item in quality.comparisons:
            mark = "[red]✗[/]" if item.degraded else "[green]✓[/]"
            console.print(
                f"    {mark} {item.metric} {_number(item.observed)} "
                f"(card: {_number(item.promised)})"
            )
    for action in result.actions:
        if isinstance(action, RetrainAction):
            console.print(f"  [bold]retrained:[/] {action.detail}")
        else:
            state = "sent" if action.ok else f"failed ({action.detail})"
            console.print(f"  alert to {action.target}: {state}")
    if result.html_path is not None:
        shown = result.html_path
        shown = shown.relative_to(root) if shown.is_relative_to(root) else shown
        console.print(f"  report: {shown}")


def _number(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.4g}"
