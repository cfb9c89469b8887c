"""`modelyard init`: write a new project in the standard MLOps layout, working on day one.

Three starts, one layout:

- no data: a synthetic churn dataset (``scaffold.synthetic``), whose config and contract are
  inferred from it as from any data;
- ``data`` + ``target``: the user's file, copied to ``data/raw/`` as Parquet, with a config and
  contract inferred from it (``scaffold.inference``);
- ``example``: a bundled example (config, contract and data) in the same layout.

Everything that can fail on the user's input (the folder, the file, the target) is checked
before the first byte is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modelyard.config import CONFIG_FILE
from modelyard.errors import ExampleError, SourceNotFoundError
from modelyard.scaffold.example import EXAMPLES
from modelyard.scaffold.inference import InferredProject
from modelyard.scaffold.naming import ProjectNames, project_names

if TYPE_CHECKING:
    import pandas as pd

SYNTHETIC_GATE = 0.6
_TASK_WORDS = {
    "binary_classification": "binary classification",
    "multiclass_classification": "multiclass classification",
    "regression": "regression",
}


@dataclass(frozen=True, slots=True)
class NewProject:
    """What ``create_project`` wrote.

    Attributes:
        names: The project's name and package name.
        root: The project folder.
        start: ``synthetic``, ``data`` or ``example``.
        files: Every file written.
        data_file: The training data, inside the project.
        rows: Rows of training data.
        task: The project's task.
        target: The target column.
        inferred: What was inferred from the data (None for an example).
    """

    names: ProjectNames
    root: Path
    start: str
    files: tuple[Path, ...]
    data_file: Path
    rows: int
    task: str
    target: str
    inferred: InferredProject | None = None


def create_project(
    dest: Path,
    *,
    example: str | None = None,
    data: Path | None = None,
    target: str | None = None,
    force: bool = False,
) -> NewProject:
    """Write a new project into ``dest``.

    Args:
        dest: The project folder; its name gives the project's names (``naming``).
        example: A bundled example to lay out (``flights``), instead of inferred data.
        data: A CSV, Parquet or JSON Lines file (or glob) to infer the project from.
        target: The column of ``data`` to predict; required with ``data``.
        force: Write into a folder that is not empty (files with the same names are replaced).

    Raises:
        ExampleError: ``dest`` is a file, or not empty without ``force``; the arguments do not
            fit together; or ``example`` is unknown.
        SourceNotFoundError: ``data`` matches no file.
        SourceReadError: ``data`` cannot be read.
        DataError: ``target`` is not a column of ``data``, or the data cannot train a model.
    """
    if example is not None and (data is not None or target is not None):
        raise ExampleError("Give either --example or --data with --target, not both.")
    if (data is None) != (target is None):
        raise ExampleError(
            "--data and --target go together: --data names the file, --target the column to "
            "predict (e.g. --data customers.csv --target churned)."
        )
    if example is not None and example not in EXAMPLES:
        raise ExampleError(
            f"No example named {example!r}. Examples: {', '.join(EXAMPLES)}.",
            known=EXAMPLES,
            value=example,
        )
    check_destination(dest, force=force)
    names = project_names(dest)
    if example is not None:
        from modelyard.scaffold.example_layout import create_example_project

        root, written, source, rows, task, column = create_example_project(example, dest, names)
        return NewProject(names, root, "example", written, source, rows, task, column)
    if data is not None and target is not None:
        frame, origin, stem = read_user_data(data), f"`{data.name}`", _file_stem(data)
        start = "data"
    else:
        from modelyard.scaffold.synthetic import TARGET, build_customers

        frame, target = build_customers(), TARGET
        origin, stem, start = "modelyard's synthetic churn generator", "customers", "synthetic"
    from modelyard.scaffold.inference import infer_project

    inferred, prepared = infer_project(frame, target)
    files, data_file = _write_inferred(
        dest, names, inferred, prepared, origin=origin, stem=stem, start=start
    )
    return NewProject(
        names, dest, start, tuple(files), data_file, inferred.rows, inferred.task, target, inferred
    )


def check_destination(dest: Path, *, force: bool) -> None:
    """Refuse a file, or a folder that holds anything, unless ``force``.

    Raises:
        ExampleError: ``dest`` is a file, or a non-empty folder and ``force`` is off.
    """
    if dest.exists() and not dest.is_dir():
        raise ExampleError(f"{str(dest)!r} is a file. Choose a folder name that is free.")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise ExampleError(
            f"{str(dest)!r} is not empty. Choose a new folder, or pass --force to write the "
            "project into it (files with the same names are replaced, others are kept)."
        )


def read_user_data(path: Path) -> pd.DataFrame:
    """Read the file (or glob) given to ``--data``, relative to the working folder.

    Raises:
        SourceNotFoundError: No file matches.
        SourceReadError: The file cannot be read.
    """
    from modelyard.data.source_spec import SourceSpec
    from modelyard.data.sources import read_source

    fix = "Check the path given to --data (relative to the folder you run modelyard in)."
    if not any(char in str(path) for char in "*?[") and not path.exists():
        raise SourceNotFoundError(str(path), fix=fix)
    return read_source(SourceSpec(uri=str(path)), base_dir=Path.cwd())


def _write_inferred(
    dest: Path,
    names: ProjectNames,
    inferred: InferredProject,
    frame: pd.DataFrame,
    *,
    origin: str,
    stem: str,
    start: str,
) -> tuple[list[Path], Path]:
    from modelyard.data.sources import write_parquet_atomic
    from modelyard.scaffold.dictionary import DictionaryContext, render_dictionary
    from modelyard.scaffold.inferred_files import CONTRACT_PATH, render_config, render_contract
    from modelyard.scaffold.templates import template_values, write_templates

    source = f"data/raw/{stem}.parquet"
    gate = SYNTHETIC_GATE if start == "synthetic" else None
    config = render_config(inferred, name=names.name, source_uri=source, origin=origin, gate=gate)
    check_config_text(config)
    about = _about(inferred, origin=origin, source=source, stem=stem, start=start)
    summary = (
        f"Predicts `{inferred.target}` ({_TASK_WORDS[inferred.task]}) from `{source}`, "
        "with modelyard."
    )
    values = template_values(names, summary=summary, about=about, data_file=source)
    files = write_templates(dest, values)
    data_file = write_parquet_atomic(frame, dest / source)
    context = DictionaryContext(
        title=stem,
        source=source,
        contract=CONTRACT_PATH,
        rows=inferred.rows,
        min_rows=inferred.min_rows,
        task=inferred.task,
        split=inferred.split,
        timestamp=inferred.timestamp,
    )
    texts = {
        CONFIG_FILE: config,
        CONTRACT_PATH: render_contract(inferred, origin=origin),
        f"docs/data_dictionaries/{stem}.md": render_dictionary(context, inferred.columns),
    }
    for relative, text in texts.items():
        path = dest / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        files.append(path)
    return [*files, data_file], data_file


def check_config_text(text: str) -> None:
    """Validate a generated ``modelyard.yaml`` against the schema before it is written.

    Raises:
        ConfigValueError: The text breaks the schema (a bug in the generator).
    """
    import yaml

    from modelyard.config.validate import validate

    validate(yaml.safe_load(text), {}, CONFIG_FILE)


def _about(inferred: InferredProject, *, origin: str, source: str, stem: str, start: str) -> str:
    dictionary = f"`docs/data_dictionaries/{stem}.md`"
    if start == "synthetic":
        return (
            f"`{source}` is synthetic: {inferred.rows:,} made-up customers (seeded, so every "
            "project gets the same ones) with an ID, a signup date, a rare plan and some missing "
            f"charges. Whether a customer churned (`{inferred.target}`) follows a known formula, "
            "so a model has something to learn. The config and the contract were inferred from "
            "it, as they would be from yours; every column's role is in "
            f"{dictionary}.\n\nTo use your own data, start a project from it: `modelyard init "
            "NAME --data FILE --target COLUMN` infers the config and the contract from the file."
        )
    dropped = (
        f"; {inferred.dropped:,} rows without a `{inferred.target}` were left out"
        if inferred.dropped
        else ""
    )
    return (
        f"`{source}` is {origin} as given to `modelyard init`, stored as Parquet "
        f"({inferred.rows:,} rows{dropped}). The config (`modelyard.yaml`) and the contract "
        "(`configs/data_contract.yaml`) were inferred from it: check them. Which role each "
        f"column got, and why, is in {dictionary}."
    )


def _file_stem(path: Path) -> str:
    stem = path.stem if path.is_file() else "data"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "data"
