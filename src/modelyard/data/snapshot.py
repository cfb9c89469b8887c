"""Fingerprint a dataset, so a run can say exactly which data it saw.

The digest is a SHA-256 over the schema (column names and dtypes, in order) and the values,
hashed column by column with pandas' keyed row hash. It depends on neither the index, nor how
the data was chunked or stored, nor the process (``PYTHONHASHSEED``) or machine; it changes when
a value, a column name, the column order or a dtype changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from modelyard.errors import NotIngestedError, SourceReadError

DIGEST_VERSION = "modelyard-snapshot-v1"
"""Hashed first; bump it whenever the digest of the same data would change."""

_HASH_KEY = "modelyard-digest"  # 16 bytes, as pandas' hash requires; fixed so digests are stable


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The fingerprint of a dataset at one moment.

    Attributes:
        digest: The hex SHA-256 of schema and values (64 characters).
        rows: Number of rows.
        columns: Number of columns.
        schema: ``(name, dtype)`` of each column, in order.
        created_at: When the snapshot was taken, ISO 8601 in UTC.
    """

    digest: str
    rows: int
    columns: int
    schema: tuple[tuple[str, str], ...]
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict; ``from_dict`` reads it back."""
        return {
            "digest": self.digest,
            "rows": self.rows,
            "columns": self.columns,
            "schema": [[name, dtype] for name, dtype in self.schema],
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        """Build a snapshot from ``to_dict``'s output.

        Raises:
            KeyError: A field is missing.
            ValueError: A field has the wrong type.
        """
        schema = tuple((str(name), str(dtype)) for name, dtype in data["schema"])
        snapshot = cls(
            digest=str(data["digest"]),
            rows=int(data["rows"]),
            columns=int(data["columns"]),
            schema=schema,
            created_at=str(data["created_at"]),
        )
        if snapshot.columns != len(schema):
            raise ValueError(f"columns={snapshot.columns} but the schema has {len(schema)}")
        return snapshot


def take_snapshot(df: pd.DataFrame) -> Snapshot:
    """Fingerprint ``df``: its digest, shape and schema."""
    digest = hashlib.sha256(DIGEST_VERSION.encode())
    schema: list[tuple[str, str]] = []
    columns: list[npt.NDArray[np.uint64]] = []
    for position in range(df.shape[1]):
        dtype, hashes = _hash_column(df.iloc[:, position])
        schema.append((str(df.columns[position]), dtype))
        columns.append(hashes)
    digest.update(json.dumps({"rows": len(df), "schema": schema}).encode())
    for hashes in columns:
        digest.update(hashes.tobytes())
    return Snapshot(
        digest=digest.hexdigest(),
        rows=len(df),
        columns=df.shape[1],
        schema=tuple(schema),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def save_snapshot(snapshot: Snapshot, path: Path | str) -> Path:
    """Write ``snapshot`` as JSON to ``path``, atomically; return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(snapshot.to_dict(), indent=2) + "\n"
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def load_snapshot(path: Path | str) -> Snapshot:
    """Read a snapshot that ``save_snapshot`` wrote.

    Raises:
        NotIngestedError: There is no file at ``path``.
        SourceReadError: The file is not a snapshot.
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise NotIngestedError(source) from exc
    try:
        return Snapshot.from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise SourceReadError(
            str(source),
            f"not a snapshot ({type(exc).__name__}: {exc})",
            fix="Run `modelyard data ingest` again to rewrite it.",
        ) from exc


def _hash_column(column: pd.Series) -> tuple[str, npt.NDArray[np.uint64]]:
    """Return the canonical dtype name and the little-endian 64-bit hash of each value."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "mM":
        # Same instants, same digest, whichever unit pandas picked when it parsed them.
        name = "timedelta64" if dtype.kind == "m" else "datetime64"
        column = _as_nanoseconds(column)
    elif isinstance(dtype, pd.DatetimeTZDtype):
        name = f"datetime64[{dtype.tz}]"
        column = _as_nanoseconds(column)
    else:
        name = str(dtype)
        if isinstance(dtype, np.dtype) and dtype.kind == "f":
            column = _canonical_floats(column)
    hashes = pd.util.hash_pandas_object(column, index=False, hash_key=_HASH_KEY)
    return name, hashes.to_numpy(dtype="<u8")


def _canonical_floats(column: pd.Series) -> pd.Series:
    # One bit pattern per value: -0.0 hashes as 0.0, and every NaN as the same NaN.
    values = column.to_numpy()
    values = np.where(np.isnan(values), np.nan, values + 0.0).astype(values.dtype)
    return pd.Series(values, dtype=column.dtype)


def _as_nanoseconds(column: pd.Series) -> pd.Series:
    try:
        return column.dt.as_unit("ns")
    except (OverflowError, ValueError):  # out of the nanosecond range: keep the original unit
        return column
