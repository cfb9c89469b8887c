"""Find a batch job's input files and stream them in chunks of exactly ``chunk_rows`` rows.

Nothing reads a whole file: Parquet is read with ``ParquetFile.iter_batches`` and CSV with
Arrow's streaming reader; the batches are cut and joined into chunks of ``chunk_rows`` rows (the
last chunk of a file may be shorter; a chunk never spans two files). Chunks are numbered from 0
across the files in sorted path order, so the same files and chunk size always give the same
chunks.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from modelyard.errors import FeatureError, SourceNotFoundError, SourceReadError, did_you_mean

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
"""The input format read from each file extension."""

_GLOB_CHARS = frozenset("*?[")
_READ_ERRORS = (pa.ArrowException, OSError, ValueError)
_CSV_BLOCK_BYTES = 4 << 20  # types are inferred from the first block: make it a big one


@dataclass(frozen=True, slots=True)
class InputFile:
    """One input file, as found before scoring.

    Attributes:
        path: The absolute path.
        format: ``parquet`` or ``csv``.
        size: Size in bytes.
        mtime_ns: Last modification time, in nanoseconds.
        columns: Column names, in file order.
        rows: Number of rows, known up front for Parquet only.
        has_rows: Whether the file holds at least one row.
    """

    path: Path
    format: str
    size: int
    mtime_ns: int
    columns: tuple[str, ...]
    rows: int | None
    has_rows: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the path and size, as the ``_SUCCESS.json`` manifest lists them."""
        return {"path": str(self.path), "size": self.size}


@dataclass(frozen=True, slots=True)
class Chunk:
    """Rows ``start`` to ``start + table.num_rows`` of ``file``, chunk ``index`` of the job."""

    index: int
    file: InputFile
    start: int
    table: pa.Table


def resolve_inputs(pattern: str, *, base_dir: Path | None = None) -> list[InputFile]:
    """Return the Parquet and CSV files that ``pattern`` (a file, folder or glob) names.

    A folder stands for the Parquet and CSV files directly inside it. Relative paths are
    relative to ``base_dir`` (default: the working directory).

    Raises:
        SourceNotFoundError: Nothing matches.
        SourceReadError: A match is not Parquet or CSV, or its header or footer is unreadable.
    """
    base = Path.cwd() if base_dir is None else base_dir
    expanded = os.path.expanduser(pattern)
    full = expanded if os.path.isabs(expanded) else str(base / expanded)
    if _GLOB_CHARS & set(pattern):
        paths = [Path(p) for p in glob.glob(full, recursive=True) if os.path.isfile(p)]
    elif os.path.isdir(full):
        paths = [p for p in Path(full).iterdir() if p.is_file() and p.suffix.lower() in FORMATS]
    else:
        paths = [Path(full)] if os.path.isfile(full) else []
    if not paths:
        raise SourceNotFoundError(
            pattern,
            fix="Give a Parquet or CSV file, a folder of them, or a glob such as "
            "'data/*.parquet' (quote a glob so the shell leaves it alone).",
        )
    return [_describe(path.resolve()) for path in sorted(paths)]


def check_columns(
    files: Sequence[InputFile], required: Sequence[str], *, reserved: Sequence[str] = ()
) -> None:
    """Check that every file has the ``required`` columns and none of the ``reserved`` ones.

    Raises:
        FeatureError: A file lacks a required column (named, with a close match) or already
            has a column the output would add.
    """
    for file in files:
        absent = [column for column in required if column not in file.columns]
        if absent:
            shown = ", ".join(file.columns[:20]) + (", ..." if len(file.columns) > 20 else "")
            raise FeatureError(
                f"Input {str(file.path)!r} has no column(s) {absent!r}, which the model "
                f"reads.{did_you_mean(absent[0], file.columns)} Columns present: {shown}. "
                "Rename the column in the input, or score with a model trained on these columns."
            )
        clashing = [column for column in reserved if column in file.columns]
        if clashing:
            raise FeatureError(
                f"Input {str(file.path)!r} already has column(s) {clashing!r}, which the "
                "predictions would add. Rename or drop them before scoring (e.g. when scoring "
                "an earlier output again)."
            )


def iter_chunks(files: Iterable[InputFile], chunk_rows: int) -> Iterator[Chunk]:
    """Yield the rows of ``files`` in chunks of ``chunk_rows`` rows, numbered from 0.

    Raises:
        SourceReadError: A file cannot be read part way through (corrupt, or CSV values that
            do not fit the column types inferred from its start).
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows!r}")
    index = 0
    for file in files:
        start = 0
        for table in _rechunk(_batches(file, chunk_rows), chunk_rows):
            yield Chunk(index=index, file=file, start=start, table=table)
            index += 1
            start += table.num_rows


def total_rows(files: Iterable[InputFile]) -> int | None:
    """Return the number of input rows, or None when a file's count is only known by reading."""
    counts = [file.rows for file in files]
    return None if any(count is None for count in counts) else sum(c or 0 for c in counts)


def _describe(path: Path) -> InputFile:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SourceReadError(
            str(path),
            f"unsupported file type {path.suffix or '(no extension)'!r}",
            fix="Batch scoring reads .parquet and .csv files; narrow the glob to those.",
        )
    stat = path.stat()
    try:
        if fmt == "parquet":
            with closing(pq.ParquetFile(path)) as parquet:
                rows = parquet.metadata.num_rows
                columns = tuple(parquet.schema_arrow.names)
            has_rows = rows > 0
        else:
            rows = None
            if stat.st_size == 0:
                columns, has_rows = (), False
            else:
                with closing(_open_csv(path)) as reader:
                    columns = tuple(reader.schema.names)
                    has_rows = any(batch.num_rows for batch in _first_batches(reader))
    except _READ_ERRORS as exc:
        raise SourceReadError(str(path), _problem(exc)) from exc
    return InputFile(
        path=path,
        format=fmt,
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        columns=columns,
        rows=rows,
        has_rows=has_rows,
    )


def _first_batches(reader: pacsv.CSVStreamingReader) -> Iterator[pa.RecordBatch]:
    """Yield batches until one has rows (a header-only CSV yields none)."""
    for batch in reader:
        yield batch
        if batch.num_rows:
            return


def _batches(file: InputFile, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    if not file.has_rows:
        return
    try:
        if file.format == "parquet":
            with closing(pq.ParquetFile(file.path)) as parquet:
                yield from parquet.iter_batches(batch_size=chunk_rows)
        else:
            with closing(_open_csv(file.path)) as reader:
                yield from reader
    except _READ_ERRORS as exc:
        raise SourceReadError(str(file.path), _problem(exc)) from exc


def _rechunk(batches: Iterator[pa.RecordBatch], chunk_rows: int) -> Iterator[pa.Table]:
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        rows += batch.num_rows
        while rows >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, chunk_rows)
            rest = table.slice(chunk_rows)
            pending = rest.to_batches()
            rows = rest.num_rows
    if rows:
        yield pa.Table.from_batches(pending)


def _open_csv(path: Path) -> pacsv.CSVStreamingReader:
    return pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=_CSV_BLOCK_BYTES))


def _problem(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "straddling" in text or "CSV parse error" in text or "conversion error" in text.lower():
        text += " (CSV column types are inferred from the file's first 4 MiB)"
    return text
