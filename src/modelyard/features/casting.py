"""Cast raw values to their feature kind, one value or one column at a time.

Column casts serve DataFrames; value casts serve records, without pandas' per-call cost. They
apply the same rules, so a record and the same row of a frame give the same model input:

- numbers: float64; text is parsed as Python's ``float`` does; missing values become NaN;
- categories: text, whole numbers without a decimal point (``3`` and ``3.0`` read ``"3"``);
- datetimes: naive ``pd.Timestamp`` in wall-clock time (a time zone is dropped, its local
  time kept); numbers are refused, since their unit is unknown.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from modelyard.errors import FeatureError


def is_missing(value: Any) -> bool:
    """Return whether a single value is missing: None, NaN, ``pd.NA`` or ``pd.NaT``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def cast_numbers(column: pd.Series, name: str) -> pd.Series:
    """Return ``column`` as float64, missing values NaN."""
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(column.dtype):
        numbers = column.to_numpy(dtype=np.float64, na_value=np.nan)
        return pd.Series(numbers, index=column.index, name=column.name)
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        raise FeatureError(
            f"Numeric feature {name!r} holds datetimes ({column.dtype}). List it under "
            "datetime in the features section of the config."
        )
    numbers = np.fromiter((to_number(v, name) for v in column), dtype=np.float64, count=len(column))
    return pd.Series(numbers, index=column.index, name=column.name)


def to_number(value: Any, name: str) -> float:
    """Return a feature value as a float, NaN when missing; text is parsed as Python does."""
    if is_missing(value):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise FeatureError(
            f"Numeric feature {name!r} holds a value that is not a number: {value!r}. Clean "
            "the column, or list it under categorical."
        ) from exc


# object columns whose equal values always read the same: ``category_text`` runs once per
# distinct value (``True == 1`` and ``Decimal("1.0") == 1`` read differently, so not those)
_UNIFORM_OBJECTS = frozenset(
    {"string", "integer", "floating", "mixed-integer-float", "boolean", "empty"}
)


def cast_text(column: pd.Series) -> pd.Series:
    """Return ``column`` as text (the ``str`` dtype), each value read by ``category_text``."""
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.na_value is np.nan:
        return column.copy()
    if column.dtype != object or pd.api.types.infer_dtype(column, skipna=True) in _UNIFORM_OBJECTS:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        # code -1 (missing) picks the trailing NaN
        texts = np.array([*(category_text(value) for value in uniques), np.nan], dtype=object)
        return pd.Series(texts[codes], index=column.index, name=column.name).astype("str")
    return column.map(category_text, na_action="ignore").astype("str")


def category_text(value: Any) -> str:
    """Return how a category value reads as text: whole numbers without a decimal point."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if (
        isinstance(value, float | np.floating)
        and math.isfinite(value)
        and float(value).is_integer()
    ):
        return str(int(value))
    return str(value)


def cast_datetimes(column: pd.Series, name: str) -> pd.Series:
    """Return ``column`` as naive datetimes in wall-clock time."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            return column.dt.tz_localize(None)
        return column.copy()
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        raise FeatureError(
            f"Datetime feature {name!r} holds numbers ({column.dtype}), whose unit is unknown. "
            "Convert them first, e.g. pd.to_datetime(values, unit='s'), or list it under numeric."
        )
    # value by value, as onnx_feed reads records: each keeps its own wall-clock time
    stamps = pd.DatetimeIndex([to_timestamp(value, name) for value in column])
    return pd.Series(stamps, index=column.index, name=column.name)


def to_timestamp(value: Any, name: str) -> Any:
    """Return a feature value as a naive wall-clock ``pd.Timestamp``, or ``pd.NaT``."""
    if is_missing(value):
        return pd.NaT
    if isinstance(value, bool | int | float | np.number):
        raise FeatureError(
            f"Datetime feature {name!r} holds a number, {value!r}, whose unit is unknown. Send "
            "ISO 8601 text (2024-05-01T13:45:00), or list the column under numeric."
        )
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise FeatureError(
            f"Datetime feature {name!r} holds a value that is not a datetime: {value!r}. Send "
            "ISO 8601 text (2024-05-01T13:45:00) or datetime values."
        ) from exc
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


_EPOCH = pd.Timestamp(0)
_SECOND = pd.Timedelta(seconds=1)


def to_seconds(stamp: Any) -> float:
    """Return seconds since 1970-01-01 of a naive timestamp, NaN for ``pd.NaT``."""
    return math.nan if stamp is pd.NaT else float((stamp - _EPOCH) / _SECOND)
