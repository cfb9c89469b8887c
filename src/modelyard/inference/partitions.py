"""The output folder of a batch job: partitions written atomically, and the run's two markers.

Layout::

    OUTPUT/
      _RUN.json            written first: model, chunk size and input files of the run
      part-00000.parquet   one per input chunk, numbered as the chunks are
      part-00001.parquet
      _SUCCESS.json        written last: each partition's rows and SHA-256, model, inputs

A partition is written to ``.part-NNNNN.parquet.tmp``, fsynced, renamed into place, and the
folder fsynced, so a partition that exists is complete; a rerun deletes leftover temp files.
Writer settings are fixed (zstd level 3, one row group, no key-value metadata besides the Arrow
schema), so the same chunk scored by the same model gives the same bytes on every run (with the
same pyarrow version, which the Parquet footer names). The folder is locked (``flock``) while a
job writes to it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq

from modelyard.errors import DataError

RUN_FILE: Final = "_RUN.json"
SUCCESS_FILE: Final = "_SUCCESS.json"
FORMAT: Final = "modelyard-batch/1"

_PARTITION = re.compile(r"part-\d{5,}\.parquet")
_TEMPORARY = re.compile(r"\.(?:part-\d{5,}\.parquet|_RUN\.json|_SUCCESS\.json)\.tmp")
_WRITE_OPTIONS: Final[dict[str, Any]] = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
    "store_schema": True,
    "write_page_index": False,
}
_HASH_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class Partition:
    """One complete partition file."""

    index: int
    name: str
    rows: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rows": self.rows, "sha256": self.sha256}


def partition_name(index: int) -> str:
    """Return the file name of partition ``index``: ``part-00000.parquet`` and on."""
    return f"part-{index:05d}.parquet"


def is_owned(name: str) -> bool:
    """Tell whether a batch job writes files called ``name`` (partitions, markers, temps)."""
    return name in (RUN_FILE, SUCCESS_FILE) or bool(
        _PARTITION.fullmatch(name) or _TEMPORARY.fullmatch(name)
    )


class OutputFolder:
    """A locked output folder for one run; use it as a context manager.

    Entering creates the folder, takes its lock, checks an earlier run's ``_RUN.json``
    against ``run`` (refusing a mismatch unless ``restart``), deletes temp files and writes
    ``_RUN.json``.

    Args:
        path: The folder.
        run: What identifies the run (model, chunk size, inputs): JSON-safe data.
        restart: Delete an earlier run's files instead of refusing when ``run`` differs.
    """

    def __init__(self, path: Path, run: Mapping[str, Any], *, restart: bool = False) -> None:
        self.path = Path(path)
        self.run = {"format": FORMAT, **run}
        self.restart = restart
        self._fd: int | None = None

    def __enter__(self) -> OutputFolder:
        if self.path.exists() and not self.path.is_dir():
            raise DataError(
                f"Output {str(self.path)!r} is a file; batch scoring writes a folder of "
                "partitions. Give a folder path."
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._prepare()
        except BlockingIOError as exc:
            self._close()
            raise DataError(
                f"Another modelyard predict is writing to {str(self.path)!r} (its lock is "
                "held). Wait for it to finish, or write to another folder."
            ) from exc
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._close()

    def completed(self, index: int, rows: int, columns: Sequence[str]) -> Partition | None:
        """Return partition ``index`` when it exists with ``rows`` rows and these ``columns``.

        A partition that does not match (or whose footer does not read) is deleted.
        """
        path = self.path / partition_name(index)
        if not path.is_file():
            return None
        try:
            with contextlib.closing(pq.ParquetFile(path)) as parquet:
                matches = parquet.metadata.num_rows == rows and parquet.schema_arrow.names == list(
                    columns
                )
        except (pa.ArrowException, OSError):
            matches = False
        if not matches:
            path.unlink()
            return None
        return Partition(index, path.name, rows, _sha256(path))

    def write(self, index: int, table: pa.Table) -> Partition:
        """Write ``table`` as partition ``index``: temp file, fsync, rename, fsync the folder."""
        name = partition_name(index)
        temporary = self.path / f".{name}.tmp"
        table = table.replace_schema_metadata(None).combine_chunks()
        pq.write_table(table, temporary, row_group_size=max(table.num_rows, 1), **_WRITE_OPTIONS)
        digest = _sha256(temporary, sync=True)
        os.replace(temporary, self.path / name)
        self._sync()
        return Partition(index, name, table.num_rows, digest)

    def finish(self, partitions: Sequence[Partition], manifest: Mapping[str, Any]) -> Path:
        """Delete partitions not in ``partitions`` and write ``_SUCCESS.json``."""
        kept = {partition.name for partition in partitions}
        for entry in self.path.iterdir():
            if _PARTITION.fullmatch(entry.name) and entry.name not in kept:
                entry.unlink()
        success = {**self.run, **manifest, "partitions": [p.to_dict() for p in partitions]}
        return self._write_json(SUCCESS_FILE, success)

    def _prepare(self) -> None:
        names = sorted(entry.name for entry in self.path.iterdir())
        foreign = [name for name in names if not is_owned(name)]
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise DataError(
                f"Output folder {str(self.path)!r} holds files that batch scoring did not write "
                f"({shown}). Write to a new or empty folder."
            )
        previous = self._read_run()
        finished = [name for name in names if not _TEMPORARY.fullmatch(name)]
        if finished and not self.restart:
            problem = _mismatch(previous, self.run) if previous else "it has no _RUN.json marker"
            if problem:
                raise DataError(
                    f"Output folder {str(self.path)!r} holds another run's output: {problem}. "
                    "Rerun with that run's settings to resume it, or pass --restart to delete "
                    "its partitions and start over."
                )
        for name in names:
            if self.restart or _TEMPORARY.fullmatch(name):
                (self.path / name).unlink()
        if self.restart or previous is None:
            self._write_json(RUN_FILE, self.run)
        self._sync()

    def _read_run(self) -> dict[str, Any] | None:
        path = self.path / RUN_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_json(self, name: str, data: Mapping[str, Any]) -> Path:
        temporary = self.path / f".{name}.tmp"
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        _sha256(temporary, sync=True)
        os.replace(temporary, self.path / name)
        self._sync()
        return self.path / name

    def _sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the lock
            self._fd = None


def _mismatch(previous: Mapping[str, Any], current: Mapping[str, Any]) -> str:
    """Say how an earlier run's settings differ from this run's ("" when they do not)."""
    problems = []
    if previous.get("format") != current["format"]:
        problems.append(f"its _RUN.json is not a {FORMAT} marker")
    if previous.get("chunk_rows") != current["chunk_rows"]:
        problems.append(f"chunk rows {previous.get('chunk_rows')} (now {current['chunk_rows']})")
    before, now = previous.get("model") or {}, current["model"]
    if before != now:
        was = f"{before.get('name')!r} version {before.get('version')}"
        same = (before.get("name"), before.get("version")) == (now["name"], now["version"])
        detail = "with other files" if same else f"{now['name']!r} version {now['version']}"
        problems.append(f"model {was} (now {detail})")
    if previous.get("inputs") != current["inputs"]:
        problems.append(_inputs_change(previous.get("inputs") or [], current["inputs"]))
    return "; ".join(problems)


def _inputs_change(before: Sequence[Mapping[str, Any]], now: Sequence[Mapping[str, Any]]) -> str:
    paths_before = [str(item.get("path")) for item in before]
    paths_now = [str(item["path"]) for item in now]
    if paths_before != paths_now:
        gone = sorted(set(paths_before) - set(paths_now))
        new = sorted(set(paths_now) - set(paths_before))
        return f"input files differ (no longer: {gone or 'none'}; new: {new or 'none'})"
    changed = [str(b.get("path")) for b, n in zip(before, now, strict=True) if b != n]
    return f"input file(s) {changed!r} changed since (size or modification time)"


def _sha256(path: Path, *, sync: bool = False) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
        if sync:
            os.fsync(handle.fileno())
    return digest.hexdigest()
