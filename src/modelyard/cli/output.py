"""How commands talk to the user: errors, JSON, tables, progress, logging."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

from modelyard.errors import ModelyardError

if TYPE_CHECKING:
    from rich.console import Console


def stdout() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def fail(error: ModelyardError) -> typer.Exit:
    """Print ``error`` on stderr (no traceback) and return the exit to raise."""
    stderr().print(f"[bold red]Error:[/] {error}", markup=True, soft_wrap=True)
    return typer.Exit(code=1)


@contextmanager
def exit_on_error() -> Iterator[None]:
    """Turn a ``ModelyardError`` into a message on stderr and exit code 1."""
    try:
        yield
    except ModelyardError as error:
        raise fail(error) from None


def print_json(data: Any) -> None:
    """Write ``data`` as JSON on stdout, for machines."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@contextmanager
def progress(title: str, *, enabled: bool = True) -> Iterator[Callable[[str], None]]:
    """Show a spinner with the current stage and its elapsed time; yield the stage setter."""
    if not enabled:
        yield lambda _stage: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[title]}[/] {task.description}"),
        TimeElapsedColumn(),
        console=stderr(),
        transient=True,
    ) as bar:
        task = bar.add_task("", title=title, total=None)
        yield lambda stage: bar.update(task, description=stage)


def configure_logging(verbose: int, secrets: Iterable[str] = ()) -> None:
    """Send modelyard's logs to stderr with every known secret masked."""
    from modelyard.config.secrets import RedactingFilter

    logger = logging.getLogger("modelyard")
    logger.setLevel(logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    handler = next((h for h in logger.handlers if getattr(h, "_modelyard", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._modelyard = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    handler.filters = [RedactingFilter(secrets)]
