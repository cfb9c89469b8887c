"""Write a bundled example project (config, contract, env overlays and data) to a folder."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from modelyard.errors import ExampleError

EXAMPLES = ("flights",)
DATA_DIRS = ("data/raw", "data/processed", "data/features", "data/external")


@dataclass(frozen=True, slots=True)
class WrittenExample:
    """Where an example was written and what its data holds."""

    name: str
    root: Path
    files: tuple[Path, ...]
    rows: int
    excluded: int


def write_example(name: str, dest: Path, *, force: bool = False) -> WrittenExample:
    """Copy example ``name`` into ``dest`` and materialise its data under ``data/raw``.

    Raises:
        ExampleError: ``name`` is not an example, or ``dest`` holds files and ``force`` is off.
    """
    if name not in EXAMPLES:
        raise ExampleError(
            f"No example named {name!r}. Examples: {', '.join(EXAMPLES)}.",
            known=EXAMPLES,
            value=name,
        )
    if dest.exists() and not dest.is_dir():
        raise ExampleError(f"{str(dest)!r} is a file. Choose a folder name that is free.")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise ExampleError(
            f"{str(dest)!r} is not empty. Choose a new folder, or pass --force to write "
            "the example into it (files with the same names are replaced)."
        )
    files = _copy_tree(resources.files("modelyard.scaffold") / name, dest)
    for folder in DATA_DIRS:
        (dest / folder).mkdir(parents=True, exist_ok=True)
    gitignore = dest / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("data/\n.modelyard/\n", encoding="utf-8")

    from modelyard.scaffold.flights_data import write_flights_data

    data = write_flights_data(dest / "data" / "raw")
    return WrittenExample(
        name=name,
        root=dest,
        files=(*files, data.flights, data.weather),
        rows=data.rows,
        excluded=data.excluded,
    )


def _copy_tree(source: resources.abc.Traversable, dest: Path) -> list[Path]:
    written: list[Path] = []
    dest.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if entry.name.startswith(("__", ".")):
            continue
        target = dest / entry.name
        if entry.is_dir():
            written.extend(_copy_tree(entry, target))
        else:
            with entry.open("rb") as src, target.open("wb") as out:
                shutil.copyfileobj(src, out)
            written.append(target)
    return written
