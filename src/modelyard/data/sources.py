"""Read a dataset into a DataFrame from files, fsspec URIs, DuckDB or a SQL database.

A source is one of:

- ``uri``: a path, glob or fsspec URI (``memory://``, ``file://``, ``s3://``...) of CSV, Parquet
  or JSON Lines files. Relative local paths are relative to the project folder; a glob or a folder
  reads every file it matches, concatenated in sorted path order.
- ``uri`` of ``http://`` or ``https://``: one file, downloaded through the egress client
  (``modelyard.net``), which refuses loopback, private and metadata addresses unless
  ``egress.allow_hosts`` lists them. fsspec's own http filesystem is never used, not even
  inside a chained URL (``simplecache::https://...``) or through ``storage_options``.
- ``uri`` of a ``.duckdb`` file + ``query``: the query runs on that database, read-only.
- ``query`` alone: the query runs in an in-memory DuckDB, where relative file paths
  (``select * from 'data/*.parquet'``) are relative to the project folder.
- ``url`` + ``query``: a SQLAlchemy URL and the query to run on that database.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import urlsplit

import fsspec
import pandas as pd
import pyarrow as pa

from modelyard.data._databases import describe_problem, read_duckdb, read_sql
from modelyard.data.source_spec import SourceSpec
from modelyard.errors import EgressFailedError, SourceNotFoundError, SourceReadError
from modelyard.net import EgressPolicy

FORMATS: Mapping[str, str] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".duckdb": "duckdb",
}
"""The format read from each file extension."""

_FILE_FORMATS = ("csv", "parquet", "jsonl")
_GLOB_CHARS = frozenset("*?[")
_READ_ERRORS = (ValueError, TypeError, OSError, pa.ArrowException)
_FORMAT_FIX = (
    "Give data.source.format (csv, parquet or jsonl), or use a .csv, .parquet or .jsonl file."
)
_HTTP = ("http", "https")
_WHAT = "data.source.uri"


def read_source(spec: SourceSpec, *, base_dir: Path) -> pd.DataFrame:
    """Read the whole dataset that ``spec`` names.

    Args:
        spec: The source to read.
        base_dir: The folder that relative local paths are relative to (the project folder).

    Returns:
        The dataset, with a fresh ``RangeIndex``.

    Raises:
        SourceNotFoundError: No file matches the path or glob.
        SourceReadError: A file, query or URL cannot be read, or a driver is not installed.
        SourceConnectionError: The database refuses the connection.
    """
    if spec.format not in (None, *_FILE_FORMATS, "duckdb"):
        where = spec.uri or "data.source"
        raise SourceReadError(where, f"unknown format {spec.format!r}", fix=_FORMAT_FIX)
    fmt = spec.format or (_format_of(spec.uri) if spec.uri else None)
    if spec.url:
        return read_sql(spec.url, spec.query, spec.options)
    if spec.uri and fmt == "duckdb":
        return _read_duckdb_file(spec.uri, spec.query, spec.options, base_dir)
    if spec.uri and spec.query:
        raise SourceReadError(
            spec.uri,
            f"a query runs on a .duckdb database, and this is {fmt or 'not one'}",
            fix="Drop uri and name the files in the query: select * from 'data/*.parquet'.",
        )
    if spec.uri and _is_http(spec.uri):
        return _read_url(spec.uri, spec.format, spec.options, spec.egress)
    if spec.uri:
        return _read_files(spec.uri, spec.format, spec.options, base_dir)
    if spec.query:
        return read_duckdb(spec.query, spec.options, base_dir=base_dir)
    raise SourceReadError(
        "data.source",
        "it names no uri, url or query",
        fix="Give uri (a file, glob or URI), url + query (a SQL database), or a DuckDB query.",
    )


def write_parquet_atomic(df: pd.DataFrame, path: Path | str) -> Path:
    """Write ``df`` to ``path`` as Parquet so that readers see the old file or the new one.

    The frame goes to a temporary file in the same folder, is flushed to disk, and then
    replaces ``path`` in one step; a crash midway leaves ``path`` as it was. The index is not
    written (``reset_index()`` first to keep it).

    Returns:
        The path written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            df.to_parquet(handle, index=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    _fsync_folder(target.parent)
    return target


# --- files -----------------------------------------------------------------------------------


def _read_files(
    uri: str, fmt: str | None, options: Mapping[str, Any], base_dir: Path
) -> pd.DataFrame:
    reader_options = dict(options)
    storage_options = reader_options.pop("storage_options", None) or {}
    fs, root = _filesystem(uri, base_dir, storage_options)
    paths = _expand(fs, root)
    if not paths:
        raise SourceNotFoundError(_display(fs, root))
    frames = [_read_file(fs, path, fmt, reader_options) for path in paths]
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


def _filesystem(
    uri: str, base_dir: Path, storage_options: Mapping[str, Any]
) -> tuple[fsspec.AbstractFileSystem, str]:
    if "://" not in uri and "::" not in uri:
        uri = str(_local_path(uri, base_dir))
    if any(_is_http(part) for part in uri.split("::")):
        raise SourceReadError(
            uri,
            "an http(s) URL inside a chained fsspec URI would bypass modelyard's egress checks",
            fix="Give the http(s) URL alone as data.source.uri; it is downloaded once.",
        )
    _disable_fsspec_http()
    try:
        fs, path = fsspec.core.url_to_fs(uri, **storage_options)
    except ImportError as exc:
        raise SourceReadError(uri, "no filesystem is installed for it", fix=f"{exc}.") from exc
    except ValueError as exc:
        raise SourceReadError(
            uri, f"unknown protocol ({exc})", fix="Use a path or a URI fsspec knows (s3://...)."
        ) from exc
    return fs, str(path)


def _local_path(uri: str, base_dir: Path) -> Path:
    path = Path(uri.removeprefix("file://")).expanduser()
    return path if path.is_absolute() else base_dir / path


def _expand(fs: fsspec.AbstractFileSystem, root: str) -> list[str]:
    if _GLOB_CHARS & set(root):
        entries = fs.glob(root, detail=True)
        return sorted(name for name, info in entries.items() if info.get("type") == "file")
    if fs.isdir(root):
        return sorted(p for p in fs.find(root) if not PurePosixPath(p).name.startswith((".", "_")))
    return [root] if fs.exists(root) else []


def _read_file(
    fs: fsspec.AbstractFileSystem, path: str, fmt: str | None, options: Mapping[str, Any]
) -> pd.DataFrame:
    shown = _display(fs, path)
    fmt = _checked_format(fmt, path, shown)
    try:
        with fs.open(path, "rb") as handle:
            return _parse(handle, fmt, options, shown)
    except SourceReadError:
        raise
    except _READ_ERRORS as exc:
        raise SourceReadError(shown, f"not valid {fmt}: {describe_problem(exc)}") from exc


def _checked_format(fmt: str | None, path: str, shown: str) -> str:
    fmt = fmt or _format_of(path)
    if fmt not in _FILE_FORMATS:
        suffix = PurePosixPath(path).suffix
        raise SourceReadError(shown, f"unknown format of extension {suffix!r}", fix=_FORMAT_FIX)
    return fmt


def _parse(handle: IO[bytes], fmt: str, options: Mapping[str, Any], shown: str) -> pd.DataFrame:
    try:
        if fmt == "csv":
            return pd.read_csv(handle, **options)
        if fmt == "jsonl":
            return pd.read_json(handle, **{"lines": True, **options})
        frame = pd.read_parquet(handle, **options)
    except _READ_ERRORS as exc:
        raise SourceReadError(shown, f"not valid {fmt}: {describe_problem(exc)}") from exc
    # A stored pandas index is data too: make it columns, so globs concatenate without loss.
    return frame if isinstance(frame.index, pd.RangeIndex) else frame.reset_index()


def _format_of(path: str) -> str | None:
    return FORMATS.get(PurePosixPath(path).suffix.lower())


def _display(fs: fsspec.AbstractFileSystem, path: str) -> str:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return path if protocol in ("file", "local") else str(fs.unstrip_protocol(path))


# --- http(s): through the egress client ----------------------------------------------------------


def _is_http(uri: str) -> bool:
    return uri.split("://", 1)[0].lower() in _HTTP if "://" in uri else False


def _read_url(
    uri: str, fmt: str | None, options: Mapping[str, Any], egress: EgressPolicy
) -> pd.DataFrame:
    from modelyard.net import request

    parts = urlsplit(uri)
    shown = uri.split("?", 1)[0].split("#", 1)[0]  # a query may hold a signature: never shown
    reader_options = dict(options)
    storage_options = dict(reader_options.pop("storage_options", None) or {})
    headers = storage_options.pop("headers", None) or {}
    if storage_options or not isinstance(headers, Mapping):
        raise SourceReadError(
            shown,
            f"storage_options {sorted(storage_options) or ['headers']} do not apply to an "
            "http(s) URL",
            fix="Give only storage_options: {headers: {Authorization: ...}} for an http(s) uri.",
        )
    fmt = _checked_format(fmt, parts.path, shown)
    with tempfile.TemporaryFile(prefix="modelyard-download-") as sink:
        try:
            answer = request(
                uri, egress, headers={str(k): str(v) for k, v in headers.items()},
                sink=sink, what=_WHAT, show_path=True,
            )  # fmt: skip
        except EgressFailedError as exc:
            raise SourceReadError(
                shown,
                f"no answer ({exc.detail})",
                fix="Check the URL and that its server is up; egress.timeout_s bounds the "
                "download.",
            ) from exc
        if answer.status in (404, 410):
            raise SourceNotFoundError(
                shown, fix="Check data.source.uri: the server has no file there."
            )
        if not answer.ok:
            raise SourceReadError(
                shown,
                f"the server answered HTTP {answer.status} {answer.reason}".rstrip(),
                fix="Check the URL, and its credentials (data.source.options.storage_options."
                "headers).",
            )
        if answer.truncated:
            raise SourceReadError(
                shown,
                f"it is larger than egress.max_bytes ({egress.max_bytes:,} bytes)",
                fix="Raise egress.max_bytes in modelyard.yaml, or read a smaller file.",
            )
        sink.seek(0)
        return _parse(sink, fmt, reader_options, shown)


class _RefusedHTTPFileSystem(fsspec.AbstractFileSystem):  # type: ignore[misc]
    """Stands in for fsspec's http filesystem, so no chain or option can reach it."""

    protocol = _HTTP

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise SourceReadError(
            "data.source",
            "fsspec's http filesystem is disabled in modelyard (it would bypass the egress "
            "checks), and this URI or its storage_options reach it",
            fix="Give the http(s) URL alone as data.source.uri; it is downloaded once.",
        )


def _disable_fsspec_http() -> None:
    """Point fsspec's ``http``/``https`` at a filesystem that refuses (idempotent).

    The registration is process-wide, and done when a source is read, never at import time;
    modelyard itself fetches http(s) only through ``modelyard.net``.
    """
    for protocol in _HTTP:
        current = fsspec.registry.get(protocol) if protocol in fsspec.registry else None
        if current is not _RefusedHTTPFileSystem:
            fsspec.register_implementation(protocol, _RefusedHTTPFileSystem, clobber=True)


# --- DuckDB files and folder sync --------------------------------------------------------------


def _read_duckdb_file(
    uri: str, query: str | None, options: Mapping[str, Any], base_dir: Path
) -> pd.DataFrame:
    if not query:
        raise SourceReadError(
            uri, "a DuckDB database needs a query", fix="Add data.source.query: select * from t."
        )
    if "://" in uri and not uri.startswith("file://"):
        raise SourceReadError(uri, "a DuckDB database must be local", fix="Copy it locally.")
    path = _local_path(uri, base_dir)
    if not path.is_file():
        raise SourceNotFoundError(str(path))
    return read_duckdb(query, options, base_dir=base_dir, database=path)


def _fsync_folder(folder: Path) -> None:
    """Persist a rename on POSIX; folders cannot be opened for fsync on Windows."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
