"""Read what a column holds: its contract type, its contract range, and dates kept as text.

``normalise_frame`` prepares data for storage and inference: text column names, ISO 8601 date
text parsed into datetimes, booleans with gaps as nullable booleans, and mixed columns as text.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

ISO_DATE = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
"""A date, optionally with a time and a zone, as ISO 8601 writes it."""


def contract_type(series: pd.Series) -> str:
    """Return the contract type of a column (after ``normalise_frame``)."""
    import pandas as pd
    from pandas.api import types as ptypes

    dtype = series.dtype
    if ptypes.is_bool_dtype(dtype):
        return "bool"
    if ptypes.is_datetime64_any_dtype(dtype):
        return "datetime"
    if ptypes.is_integer_dtype(dtype):
        return "int"
    if ptypes.is_float_dtype(dtype):
        present = series.dropna()
        # whole numbers with gaps: an int column that pandas read as float for its NaNs
        is_int = len(present) < len(series) and bool((present % 1 == 0).all())
        return "int" if is_int else "float"
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    return "string"


def numeric_range(values: pd.Series, *, is_int: bool) -> tuple[float | None, float | None]:
    """Return the contract bounds of numbers: the observed range widened by half its span.

    Columns without negative values keep a floor of 0. Bounds are rounded outwards (to whole
    numbers for ints, else to a tenth of the span's order of magnitude). A column holding an
    infinity gets no bounds.
    """
    import numpy as np

    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    if not np.isfinite(numbers).all():
        return None, None
    low, high = float(numbers.min()), float(numbers.max())
    span = high - low or max(abs(high), 1.0)
    lower, upper = (0.0 if low >= 0 else low - span / 2), high + span / 2
    if is_int:
        return float(math.floor(lower)), float(math.ceil(upper))
    exponent = math.floor(math.log10(span)) - 1
    step, digits = 10.0**exponent, max(0, -exponent)
    return (
        round(math.floor(lower / step) * step, digits),
        round(math.ceil(upper / step) * step, digits),
    )


def normalise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with text column names, ISO date text parsed, and mixed columns as text."""
    import numpy as np
    import pandas as pd
    from pandas.api import types as ptypes

    frame = df.copy()
    frame.columns = [str(column) for column in frame.columns]
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype) or not (
            ptypes.is_object_dtype(column.dtype) or ptypes.is_string_dtype(column.dtype)
        ):
            continue
        present = column.dropna()
        is_flags = ptypes.is_object_dtype(column.dtype) and len(present) > 0
        if is_flags and present.map(lambda v: isinstance(v, bool | np.bool_)).all():
            frame[name] = column.astype("boolean" if len(present) < len(column) else "bool")
            continue
        text = column.map(str, na_action="ignore").astype("str")
        frame[name] = _parse_dates(text) if _is_iso_dates(text) else text
    return frame


def _is_iso_dates(text: pd.Series) -> bool:
    present = text.dropna()
    return bool(len(present)) and bool(present.str.fullmatch(ISO_DATE).all())


def _parse_dates(text: pd.Series) -> pd.Series:
    import pandas as pd

    has_zone = bool(text.dropna().str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$").any())
    stamps = pd.to_datetime(text, format="ISO8601", utc=has_zone)
    # zoned values become their UTC wall-clock time, which is what the features read
    return stamps.dt.tz_localize(None) if has_zone else stamps
