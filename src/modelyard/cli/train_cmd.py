"""`modelyard train`: from raw data to a registered, gated, documented model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modelyard.cli.options import EnvOption, JsonOption, ProjectOption, VerboseOption

if TYPE_CHECKING:
    from rich.console import Console

    from modelyard.pipelines.train import TrainResult


def train(
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Rerun every step, even unchanged ones.")
    ] = False,
    search: Annotated[
        bool | None,
        typer.Option(
            "--search/--no-search", help="Search hyper-parameters (default: model.search.enabled)."
        ),
    ] = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Train, evaluate, register and gate a model; write its model card."""
    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error, print_json, stderr, stdout
    from modelyard.cli.render import render_report
    from modelyard.cli.steps import StepProgress
    from modelyard.errors import ContractViolationError

    with exit_on_error():
        proj = open_project(project, env, verbose)
        try:
            with StepProgress(stderr(), enabled=not as_json) as observer:
                result = proj.train(search=search, use_cache=not no_cache, observer=observer)
        except ContractViolationError as error:
            render_report(error.report, as_json=as_json)
            raise
    if as_json:
        print_json(result.to_dict())
        return
    render_result(stdout(), result, proj.root)


def render_result(console: Console, result: TrainResult, root: Path) -> None:
    """Say what was registered, which gates passed or failed, and where the card is."""
    metric_line = ", ".join(
        f"{name} {value:.4f}" for name, value in list(result.metrics.get("test", {}).items())[:4]
    )
    cached = sum(step.cached for step in result.steps)
    console.print(
        f"[bold]{result.model}[/] version {result.version} "
        f"({cached}/{len(result.steps)} steps from cache, {result.seconds:.1f}s)"
    )
    console.print(f"  test: {metric_line}")
    onnx = result.onnx
    if onnx.get("reason") is None and onnx.get("parity") is not None:
        console.print(f"  ONNX export: parity {onnx['parity']:.1e} on {onnx.get('rows', 0):,} rows")
    else:
        console.print(f"  ONNX export: none ({onnx.get('reason')}); serving uses the native model")
    for gate in result.gates.results:
        mark = "[green]✓[/]" if gate.passed else "[red]✗[/]"
        console.print(f"  {mark} {gate.message}", highlight=False)
    if result.promoted:
        previous = result.previous_champion
        was = f" (was version {previous})" if previous else ""
        console.print(f"[green]→ version {result.version} is the new champion{was}[/]")
    elif result.champion == result.version:
        console.print(f"→ version {result.version} is the champion")
    else:
        failed = "; ".join(g.message for g in result.gates.failures) or "not promoted"
        console.print(
            f"[yellow]→ version {result.version} registered as challenger, not promoted:[/] "
            f"{failed}. Champion stays version {result.champion}."
        )
    card = result.card[1]
    shown = card.relative_to(root) if card.is_relative_to(root) else card
    console.print(f"  model card: {shown}")
    if result.reused:
        console.print(
            f"  all from cache: the registry is as run {result.run_id} left it (no new run)"
        )
