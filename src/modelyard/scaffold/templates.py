"""Render the standard project layout from the template files under ``scaffold/templates``.

Every template file ends in ``.tmpl`` (so no tool mistakes a template for the package's own
code), a leading ``dot-`` in a file or folder name stands for ``.`` (``dot-gitignore`` is
``.gitignore``), and a folder named ``PACKAGE`` takes the project's package name. In the text,
``@@key@@`` is replaced by the value of ``key``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelyard.scaffold.naming import ProjectNames

SUFFIX = ".tmpl"
DOT_PREFIX = "dot-"
PACKAGE_DIR = "PACKAGE"
KEEP_DIRS = (
    "data/raw",
    "data/processed",
    "data/features",
    "data/external",
    "notebooks/exploration",
    "notebooks/experimentation",
    "notebooks/analysis",
    "docs/data_dictionaries",
)
"""Folders written empty but for a ``.gitkeep``, so git keeps them."""

_PLACEHOLDER = re.compile(r"@@([a-z_]+)@@")


def template_files() -> Iterator[tuple[PurePosixPath, resources.abc.Traversable]]:
    """Yield each template's path (relative, as a template) and the file itself."""
    root = resources.files("modelyard.scaffold") / "templates" / "project"
    stack: list[tuple[PurePosixPath, resources.abc.Traversable]] = [(PurePosixPath(), root)]
    while stack:
        relative, folder = stack.pop()
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.is_dir():
                stack.append((relative / entry.name, entry))
            elif entry.name.endswith(SUFFIX):
                yield relative / entry.name, entry


def target_path(template: PurePosixPath, package: str) -> PurePosixPath:
    """Return where ``template`` goes in the project."""
    parts = []
    for part in template.parts:
        part = part.removesuffix(SUFFIX)
        if part.startswith(DOT_PREFIX):
            part = "." + part.removeprefix(DOT_PREFIX)
        parts.append(package if part == PACKAGE_DIR else part)
    return PurePosixPath(*parts)


def fill(text: str, values: Mapping[str, str]) -> str:
    """Replace each ``@@key@@`` in ``text`` by ``values[key]``.

    Raises:
        KeyError: A placeholder has no value (a bug in the caller or the template).
    """
    return _PLACEHOLDER.sub(lambda match: values[match[1]], text)


def template_values(names: ProjectNames, **values: str) -> dict[str, str]:
    """Return the placeholders' values: the names, and ``values`` (summary, about, data_file).

    ``description`` (for pyproject.toml) is the summary without quotes or backquotes.
    """
    description = re.sub(r"[`\"\\]", "", values["summary"])
    return {"name": names.name, "package": names.package, "description": description, **values}


def write_templates(dest: Path, values: Mapping[str, str]) -> list[Path]:
    """Write every template into ``dest`` with ``values`` filled in; return the files written.

    ``values`` must hold ``package``, the package name, besides the placeholders' values.
    """
    written = []
    for template, entry in template_files():
        target = dest / target_path(template, values["package"])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(fill(entry.read_text(encoding="utf-8"), values), encoding="utf-8")
        written.append(target)
    for folder in KEEP_DIRS:
        keep = dest / folder / ".gitkeep"
        keep.parent.mkdir(parents=True, exist_ok=True)
        keep.touch()
        written.append(keep)
    return written
