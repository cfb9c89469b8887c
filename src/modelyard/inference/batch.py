"""Score input files chunk by chunk into a folder of Parquet partitions, resumably.

The job is checkpointed by input chunk: chunk ``i`` becomes ``part-<i>.parquet``, written
atomically (see ``modelyard.inference.partitions``). A rerun of the same job (same model files,
chunk size and unchanged inputs, as ``_RUN.json`` records them) skips every partition that is
already complete and writes the others, so an interrupted job, even one killed with SIGKILL,
ends with the same bytes as an uninterrupted one. Memory stays bounded by a few chunks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from modelyard.errors import DataError, FeatureError
from modelyard.inference.inputs import Chunk, InputFile, check_columns, iter_chunks
from modelyard.inference.model import BatchModel
from modelyard.inference.partitions import OutputFolder, Partition

DEFAULT_CHUNK_ROWS = 100_000
"""Rows per chunk (and partition) unless told otherwise."""


@dataclass(frozen=True, slots=True)
class ChunkReport:
    """One chunk done: written now, or skipped because it was complete already."""

    index: int
    rows: int
    is_skipped: bool


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one batch job did.

    Attributes:
        model: The registered model.
        version: Its version.
        engine: ``onnx`` or ``native``.
        output: The output folder.
        rows: Rows in the output (every input row, once).
        scored_rows: Rows scored by this run (the others were in skipped partitions).
        partitions: Number of partitions in the output.
        skipped: Indexes of the partitions an earlier run had completed.
        seconds: Wall time of the job, reading to the last write.
    """

    model: str
    version: int
    engine: str
    output: Path
    rows: int
    scored_rows: int
    partitions: int
    skipped: tuple[int, ...]
    seconds: float

    @property
    def rows_per_s(self) -> float:
        """Output rows per second of wall time."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "engine": self.engine,
            "output": str(self.output),
            "rows": self.rows,
            "scored_rows": self.scored_rows,
            "partitions": self.partitions,
            "skipped_partitions": list(self.skipped),
            "seconds": round(self.seconds, 3),
            "rows_per_s": round(self.rows_per_s, 1),
        }


def predict_batch(
    model: BatchModel,
    inputs: Sequence[InputFile],
    output: Path,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    restart: bool = False,
    on_chunk: Callable[[ChunkReport], None] | None = None,
) -> BatchResult:
    """Score ``inputs`` with ``model`` into ``output``, one Parquet partition per chunk.

    Each partition holds the chunk's input columns, unchanged, then the prediction columns
    (see ``modelyard.inference.model``). ``_SUCCESS.json`` appears when every partition is
    written.

    Args:
        model: The loaded version.
        inputs: The input files, from ``resolve_inputs``.
        output: The output folder; created when missing.
        chunk_rows: Rows per chunk and partition.
        restart: Delete an earlier run's output in ``output`` instead of refusing it when its
            model, chunk size or inputs differ.
        on_chunk: Called after each chunk, for progress.

    Returns:
        The summary.

    Raises:
        DataError: ``chunk_rows`` is below 1, the inputs hold no rows, or ``output`` holds
            another run's output (and not ``restart``), other files, or is in use.
        FeatureError: An input lacks a model column, or a value cannot be read as its kind.
        SourceReadError: An input is corrupt.
    """
    if chunk_rows < 1:
        raise DataError(f"Chunk size must be at least 1 row, got {chunk_rows!r}.")
    files = list(inputs)
    check_columns(files, model.spec.columns, reserved=model.output_names)
    if not any(file.has_rows for file in files):
        shown = ", ".join(repr(str(file.path)) for file in files[:3])
        raise DataError(
            f"The input holds no rows ({len(files)} file(s): {shown}), so there is nothing to "
            "score. Check that the file or glob names the data you meant."
        )
    run = {
        "model": model.to_dict(),
        "chunk_rows": chunk_rows,
        "inputs": [{**file.to_dict(), "mtime_ns": file.mtime_ns} for file in files],
    }
    start = time.perf_counter()
    partitions: list[Partition] = []
    skipped: list[int] = []
    scored = 0
    with OutputFolder(output, run, restart=restart) as folder:
        for chunk in iter_chunks(files, chunk_rows):
            rows = chunk.table.num_rows
            columns = [*chunk.table.column_names, *model.output_names]
            partition = folder.completed(chunk.index, rows, columns)
            is_skipped = partition is not None
            if partition is None:
                partition = folder.write(chunk.index, _score(model, chunk))
                scored += rows
            else:
                skipped.append(chunk.index)
            partitions.append(partition)
            if on_chunk is not None:
                on_chunk(ChunkReport(chunk.index, rows, is_skipped=is_skipped))
        total = sum(partition.rows for partition in partitions)
        folder.finish(partitions, {"rows": total})
    return BatchResult(
        model=model.name,
        version=model.version,
        engine=model.engine,
        output=Path(output),
        rows=total,
        scored_rows=scored,
        partitions=len(partitions),
        skipped=tuple(skipped),
        seconds=time.perf_counter() - start,
    )


def _score(model: BatchModel, chunk: Chunk) -> pa.Table:
    try:
        return model.score(chunk.table)
    except FeatureError as exc:
        last = chunk.start + chunk.table.num_rows - 1
        raise FeatureError(
            f"Cannot score rows {chunk.start}-{last} of {str(chunk.file.path)!r}: {exc}"
        ) from exc
