"""The check functions a data contract compiles to, one factory per rule.

A value has a type when it can be read as that type: ``"1400.0"`` is a float and ``"2013-01-01"``
a datetime (text sources hold numbers as text), ``"far"`` is neither, and a float column read
with nulls is an int column while its values are whole. Strings must be text, bools ``True``,
``False`` or their names.

Each column check returns a boolean Series, False where a value fails. Value checks (min, max,
allowed) look only at values of the right type, read as that type: the type check already flags
the others, and a string in a float column must be reported, not crash a comparison.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api import types as ptypes

SeriesCheck = Callable[[pd.Series], pd.Series]
FrameCheck = Callable[[pd.DataFrame], bool]
Mask = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Objects = npt.NDArray[np.object_]


def has_type(kind: str) -> SeriesCheck:
    """Return a check that passes nulls and values readable as ``kind``."""

    def check(series: pd.Series) -> pd.Series:
        return pd.Series(_typed(series, kind) | series.isna().to_numpy(), index=series.index)

    return check


def at_least(kind: str, bound: float) -> SeriesCheck:
    """Return a check that fails numbers of ``kind`` below ``bound``; other values pass."""
    return _numeric(kind, lambda numbers: numbers >= bound)


def at_most(kind: str, bound: float) -> SeriesCheck:
    """Return a check that fails numbers of ``kind`` above ``bound``; other values pass."""
    return _numeric(kind, lambda numbers: numbers <= bound)


def one_of(kind: str, allowed: Collection[object]) -> SeriesCheck:
    """Return a check that fails values of ``kind`` not in ``allowed``."""
    choices = list(allowed)

    def check(series: pd.Series) -> pd.Series:
        typed = _typed(series, kind)
        if kind in {"int", "float"}:
            values: object = _numbers(series)
        elif kind == "bool":
            values = _map(_to_bool, series)
        else:
            values = series.to_numpy()
        member: Mask = pd.Series(values).isin(choices).to_numpy()
        return pd.Series(~typed | member, index=series.index)

    return check


def row_count(low: int | None, high: int | None) -> FrameCheck:
    """Return a check that the frame has between ``low`` and ``high`` rows."""

    def check(df: pd.DataFrame) -> bool:
        return (low is None or len(df) >= low) and (high is None or len(df) <= high)

    return check


def fresh(column: str, max_age: timedelta, now: datetime) -> FrameCheck:
    """Return a check that the newest timestamp in ``column`` is at most ``max_age`` before now.

    A missing column passes (its ``present`` check reports it); a column with no timestamps
    fails. Naive timestamps, and a naive ``now``, are taken as UTC.
    """
    reference = _utc(pd.Timestamp(now))

    def check(df: pd.DataFrame) -> bool:
        if column not in df.columns:
            return True
        latest = newest(df[column])
        return latest is not None and reference - latest <= max_age

    return check


def newest(series: pd.Series) -> pd.Timestamp | None:
    """Return the latest timestamp in ``series``, in UTC, ignoring values that are not one."""
    if ptypes.is_datetime64_any_dtype(series.dtype):
        latest = series.max()
        return None if pd.isna(latest) else _utc(latest)
    stamps = [_utc(stamp) for stamp in _map(_to_timestamp, series) if stamp is not None]
    return max(stamps, default=None)


def _numeric(kind: str, test: Callable[[Floats], Mask]) -> SeriesCheck:
    def check(series: pd.Series) -> pd.Series:
        numbers = _numbers(series)
        with np.errstate(invalid="ignore"):
            passed: Mask = ~_fits_kind(numbers, kind, series.dtype) | test(numbers)
        return pd.Series(passed, index=series.index)

    return check


def _typed(series: pd.Series, kind: str) -> Mask:
    """Return a mask, True where a value is not null and can be read as ``kind``."""
    dtype = series.dtype
    if kind in {"int", "float"}:
        return _fits_kind(_numbers(series), kind, dtype)
    if (
        (kind == "bool" and ptypes.is_bool_dtype(dtype))
        or (kind == "datetime" and ptypes.is_datetime64_any_dtype(dtype))
        or (kind in {"string", "category"} and isinstance(dtype, pd.StringDtype))
    ):
        present: Mask = series.notna().to_numpy()
        return present
    if kind == "bool":
        return _where(lambda value: _to_bool(value) is not None, series)
    if kind == "datetime":
        return _where(lambda value: _to_timestamp(value) is not None, series)
    return _where(lambda value: isinstance(value, str), series)


def _fits_kind(numbers: Floats, kind: str, dtype: object) -> Mask:
    if kind == "float" or ptypes.is_integer_dtype(dtype):
        return ~np.isnan(numbers)
    with np.errstate(invalid="ignore"):
        whole: Mask = np.mod(numbers, 1) == 0
    return whole


def _numbers(series: pd.Series) -> Floats:
    """Return the values as floats, NaN where a value is null or not a number."""
    if ptypes.is_numeric_dtype(series.dtype) and not ptypes.is_bool_dtype(series.dtype):
        numbers: Floats = series.to_numpy(dtype=float, na_value=np.nan)
        return numbers
    return _map(_to_float, series).astype(float)


def _where(predicate: Callable[[object], bool], series: pd.Series) -> Mask:
    values = series.to_numpy(dtype=object)
    return np.fromiter(map(predicate, values), dtype=bool, count=len(values))


def _map(convert: Callable[[object], object], series: pd.Series) -> Objects:
    values = series.to_numpy(dtype=object)
    return np.fromiter(map(convert, values), dtype=object, count=len(values))


def _to_float(value: object) -> float:
    if isinstance(value, bool | np.bool_):
        return math.nan
    if isinstance(value, int | float | str | np.integer | np.floating):
        try:
            return float(value)
        except (ValueError, OverflowError):
            return math.nan
    return math.nan


def _to_bool(value: object) -> bool | None:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return None


def _to_timestamp(value: object) -> pd.Timestamp | None:
    try:
        if isinstance(value, str):
            return pd.Timestamp(datetime.fromisoformat(value.strip()))
        if isinstance(value, datetime | np.datetime64) and not pd.isna(value):
            return pd.Timestamp(value)
    except (ValueError, OverflowError):
        pass
    return None


def _utc(stamp: pd.Timestamp) -> pd.Timestamp:
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
