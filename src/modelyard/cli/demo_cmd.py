"""`modelyard demo`: init, train, serve, replay traffic, monitor, retrain, promote, switch."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modelyard.cli.options import JsonOption

if TYPE_CHECKING:
    from rich.console import Console

    from modelyard.demo import DemoResult


def demo(
    dest: Annotated[
        Path, typer.Argument(help="Folder to run the demo in (created; default ./modelyard-demo).")
    ] = Path("modelyard-demo"),
    force: Annotated[
        bool, typer.Option("--force", help="Use the folder even if it is not empty.")
    ] = False,
    rows: Annotated[
        int, typer.Option("--rows", min=100, max=50_000, help="Flights replayed per month.")
    ] = 1_000,
    trials: Annotated[
        int, typer.Option("--trials", min=1, max=50, help="Search trials for version 1.")
    ] = 4,
    as_json: JsonOption = False,
) -> None:
    """Run the whole loop on the flights example in a few minutes, and summarise it."""
    from modelyard.cli.output import configure_logging, exit_on_error, print_json, stderr, stdout
    from modelyard.cli.steps import StepProgress
    from modelyard.demo import run_demo

    configure_logging(0)
    err = stderr()
    with exit_on_error(), StepProgress(err, enabled=not as_json) as observer:
        result = run_demo(
            dest,
            force=force,
            rows_per_month=rows,
            trials=trials,
            say=(lambda _line: None) if as_json else (lambda line: err.print(line, markup=False)),
            observer=observer,
        )
    if as_json:
        print_json(result.to_dict())
        return
    render(stdout(), result)


def render(console: Console, result: DemoResult) -> None:
    """The summary table, then where to look next."""
    from rich.table import Table

    table = Table(title=f"modelyard demo: the loop in {result.seconds:.0f}s")
    for name in ("version", "trained on", "trigger", "test roc_auc", "promoted"):
        table.add_column(name, no_wrap=name != "trigger")
    for row in result.versions:
        auc = row["test"].get("roc_auc")
        table.add_row(
            f"v{row['version']}",
            row["trained_on"],
            row["trigger"],
            "—" if auc is None else f"{auc:.3f}",
            "[green]yes[/]" if row["promoted"] else "no",
        )
    console.print(table)
    for row in result.versions:
        console.print(f"  v{row['version']}: {row['why']}", highlight=False)
    monitor = result.monitor
    console.print(f"traffic: {result.replayed:,} predictions, {result.feedback:,} labels over HTTP")
    console.print(
        f"monitor: [bold]{monitor.get('status')}[/]; drifted: "
        f"{', '.join(monitor.get('drifted', [])) or 'none'}"
    )
    quality = monitor.get("quality", {})
    shown = ", ".join(
        f"{metric} {values['live']:.3f} (card {values['card']:.3f})"
        for metric, values in list(quality.items())[:4]
    )
    if shown:
        console.print(f"  live quality: {shown}")
    switched = "[green]✓[/]" if result.switch.get("switched") else "[yellow]![/]"
    console.print(f"server: {switched} {result.switch.get('detail')}")
    console.print("\nwhere to look next:")
    for card in result.cards:
        console.print(f"  model card:   {_shown(card, result.root)}")
    if result.report is not None:
        console.print(f"  drift report: {_shown(result.report, result.root)}")
    console.print(f"  runs and registry: cd {result.root} && modelyard ui --env demo")


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
