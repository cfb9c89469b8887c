"""Summarise each column of a dataset: counts, nulls, distinct values, range and spread.

Every value in a ``ColumnProfile`` is a plain Python value that ``json.dumps`` accepts without
``allow_nan``: numpy scalars become ``int``/``float``/``bool``, times become ISO 8601 strings,
NaN becomes ``None``, an infinite min or max the string ``"inf"`` or ``"-inf"``, and an infinite
mean or std ``None``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from rich.table import Table

JsonScalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """The summary of one column.

    Attributes:
        name: Column name.
        dtype: The pandas dtype, as text.
        count: Non-null values.
        nulls: Null values.
        null_pct: Nulls as a percentage of rows (0 for an empty frame).
        distinct: Distinct non-null values.
        min: Smallest value, for columns that can be ordered; else ``None``.
        max: Largest value, for columns that can be ordered; else ``None``.
        mean: Mean, for numeric and boolean columns; else ``None``.
        std: Sample standard deviation, for numeric and boolean columns; else ``None``.
        top: The most frequent non-null value (the first in sorted order among ties).
    """

    name: str
    dtype: str
    count: int
    nulls: int
    null_pct: float
    distinct: int
    min: JsonScalar
    max: JsonScalar
    mean: float | None
    std: float | None
    top: JsonScalar

    def to_dict(self) -> dict[str, JsonScalar]:
        """Return the profile as a JSON-safe dict."""
        return dataclasses.asdict(self)


def profile_frame(df: pd.DataFrame) -> list[ColumnProfile]:
    """Profile every column of ``df``, in column order."""
    return [_profile_column(str(df.columns[i]), df.iloc[:, i]) for i in range(df.shape[1])]


def render_profile(profiles: Sequence[ColumnProfile], *, title: str = "Profile") -> Table:
    """Return a rich table of ``profiles``, one row per column."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title)
    for header in ("column", "dtype", "count", "nulls", "distinct", "min", "max", "mean", "std"):
        numeric = header in ("count", "nulls", "distinct", "mean", "std")
        table.add_column(header, justify="right" if numeric else "left")
    table.add_column("top")
    for p in profiles:
        cells = (
            p.name,
            p.dtype,
            f"{p.count:,}",
            f"{p.nulls:,} ({p.null_pct:.1f}%)",
            f"{p.distinct:,}",
            *(_format(value) for value in (p.min, p.max, p.mean, p.std, p.top)),
        )
        table.add_row(*(Text(cell) for cell in cells))  # Text: "[us]" is data, not markup
    return table


def _profile_column(name: str, column: pd.Series) -> ColumnProfile:
    rows = len(column)
    values = column.dropna()
    nulls = rows - len(values)
    low, high = _range(values)
    mean, std = _moments(values) if pd.api.types.is_numeric_dtype(column.dtype) else (None, None)
    return ColumnProfile(
        name=name,
        dtype=str(column.dtype),
        count=len(values),
        nulls=nulls,
        null_pct=round(100.0 * nulls / rows, 4) if rows else 0.0,
        distinct=_distinct(values),
        min=low,
        max=high,
        mean=mean,
        std=std,
        top=_top(values),
    )


def _moments(values: pd.Series) -> tuple[float | None, float | None]:
    numbers = values.to_numpy(dtype="float64")
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is NaN, reported as None
        mean = _float(numbers.mean()) if len(numbers) else None
        std = _float(numbers.std(ddof=1)) if len(numbers) > 1 else None
    return mean, std


def _distinct(values: pd.Series) -> int:
    try:
        return int(values.nunique())
    except TypeError:  # unhashable values, such as lists from JSON
        return int(values.astype(str).nunique())


def _range(values: pd.Series) -> tuple[JsonScalar, JsonScalar]:
    if values.empty:
        return None, None
    try:
        return _json_safe(values.min()), _json_safe(values.max())
    except (TypeError, ValueError):  # values that cannot be ordered: mixed types, dicts
        return None, None


def _top(values: pd.Series) -> JsonScalar:
    try:
        counts = values.value_counts(sort=False)
    except TypeError:
        counts = values.astype(str).value_counts(sort=False)
    counts = counts[counts > 0]  # a categorical counts its unused categories too
    if counts.empty:
        return None
    best = counts[counts == counts.max()].index
    try:
        return _json_safe(min(best))
    except TypeError:
        return _json_safe(best[0])


def _float(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _json_safe(value: Any) -> JsonScalar:
    """Turn a pandas or numpy scalar into a plain value that ``json.dumps`` writes as-is."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _format(value: JsonScalar) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
