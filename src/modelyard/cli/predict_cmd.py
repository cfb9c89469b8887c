"""`modelyard predict`: score Parquet or CSV files in chunks into a folder of Parquet partitions."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modelyard.cli.options import EnvOption, JsonOption, ProjectOption, VerboseOption

if TYPE_CHECKING:
    from modelyard.inference.batch import BatchResult, ChunkReport


def predict(
    input_: Annotated[
        str,
        typer.Argument(
            metavar="INPUT",
            help="A Parquet or CSV file, a folder of them, or a glob (quote it).",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Argument(
            metavar="OUTPUT", help="Folder for the Parquet partitions.", show_default=False
        ),
    ],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="NAME@ALIAS or NAME/VERSION (default: the project's model @ champion).",
        ),
    ] = None,
    chunk_rows: Annotated[
        int | None,
        typer.Option(
            "--chunk-rows", min=1, help="Rows per chunk and partition (default: 100,000)."
        ),
    ] = None,
    restart: Annotated[
        bool,
        typer.Option(
            "--restart", help="Delete an earlier run's partitions in OUTPUT and start over."
        ),
    ] = False,
    project: ProjectOption = Path("."),
    env: EnvOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = 0,
) -> None:
    """Score INPUT with a registered model into OUTPUT; a rerun resumes an interrupted job."""
    from modelyard.cli.options import open_project
    from modelyard.cli.output import exit_on_error, print_json
    from modelyard.inference.batch import DEFAULT_CHUNK_ROWS, predict_batch
    from modelyard.inference.inputs import resolve_inputs, total_rows
    from modelyard.inference.model import BatchModel

    with exit_on_error():
        proj = open_project(project, env, verbose)
        files = resolve_inputs(input_)
        with tempfile.TemporaryDirectory(prefix="modelyard-predict-") as temporary:
            name, version, folder = proj.download_model(model, Path(temporary) / "model")
            scorer = BatchModel(folder, name=name, version=version)
        with _progress(total_rows(files), enabled=not as_json) as on_chunk:
            result = predict_batch(
                scorer, files, output,
                chunk_rows=chunk_rows or DEFAULT_CHUNK_ROWS, restart=restart, on_chunk=on_chunk,
            )  # fmt: skip
    if as_json:
        print_json(result.to_dict())
        return
    _render(result)


@contextmanager
def _progress(total: int | None, *, enabled: bool) -> Iterator[Callable[[ChunkReport], None]]:
    """Show a bar of rows done, with rows/s; yield the per-chunk callback."""
    if not enabled:
        yield lambda _report: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from modelyard.cli.output import stderr

    with Progress(
        TextColumn("[bold]predict[/]"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} rows"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=stderr(),
        transient=True,
    ) as bar:
        task = bar.add_task("predict", total=total, rate="")

        def on_chunk(report: ChunkReport) -> None:
            bar.advance(task, report.rows)
            speed = bar.tasks[task].speed
            bar.update(task, rate=f"{speed:,.0f} rows/s" if speed else "")

        yield on_chunk


def _render(result: BatchResult) -> None:
    from modelyard.cli.output import stdout

    console = stdout()
    skipped = len(result.skipped)
    resumed = f" ({skipped} were complete already)" if skipped else ""
    console.print(
        f"[green]✓[/] {result.rows:,} rows in {result.partitions} partitions{resumed} → "
        f"{result.output}"
    )
    console.print(
        f"  {result.model} version {result.version} ({result.engine}): "
        f"{result.seconds:.1f}s, {result.rows_per_s:,.0f} rows/s"
    )
