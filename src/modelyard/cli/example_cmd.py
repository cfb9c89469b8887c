"""`modelyard example`: write a bundled example project, data included."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def example(
    name: Annotated[str, typer.Argument(help="Which example (flights).")],
    dest: Annotated[
        Path | None, typer.Argument(help="Folder to write; defaults to ./NAME.", show_default=False)
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Write into a folder that is not empty.")
    ] = False,
) -> None:
    """Write example project NAME (config, contract, overlays) and its data into DEST."""
    from modelyard.cli.output import exit_on_error, progress, stdout
    from modelyard.scaffold.example import write_example

    target = dest or Path(name)
    with exit_on_error(), progress("example") as stage:
        stage(f"writing {name} into {target}")
        written = write_example(name, target, force=force)
    stdout().print(
        f"[green]✓[/] example {written.name!r} written to {written.root}: "
        f"{written.rows:,} flights in data/raw/flights.parquet "
        f"({written.excluded:,} cancelled or diverted flights excluded)\n"
        f"  next: cd {written.root} && modelyard data ingest"
    )
