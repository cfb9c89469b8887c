"""Renderings shared by several commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelyard.data.report import ValidationReport


def render_report(report: ValidationReport, *, as_json: bool) -> None:
    """Print a validation report: JSON on stdout, or a verdict and a table of failures."""
    from modelyard.cli.output import print_json, stderr, stdout

    if as_json:
        print_json(report.to_dict())
        return
    if report.passed:
        stdout().print(
            f"[green]✓[/] {report.source}: {report.rows:,} rows x {report.columns} columns "
            f"pass every check of {report.contract}"
        )
        return
    console = stderr()
    console.print(
        f"[bold red]✗[/] {report.source}: {len(report.failures)} failing checks "
        f"against {report.contract} ({report.rows:,} rows)"
    )
    console.print(report.render_table())
