"""From two pandas frames to what the statistics need: column kinds, float rows, counts.

Column kinds, when not given, follow Evidently's inference so that default verdicts agree:
float columns are numeric; integer columns are numeric unless the reference has at most 10
distinct values (then categorical); bool, string, object and category columns are
categorical. Other dtypes (datetimes, timedeltas, ...) are refused with a fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from modelyard.errors import ConfigValueError, DataError, FeatureError, did_you_mean
from modelyard.monitoring.methods import KINDS, Kind

if TYPE_CHECKING:
    import pandas as pd

INTEGER_CATEGORY_LIMIT = 10
"""An integer column with at most this many distinct reference values is categorical."""

ColumnSpec = Mapping[str, Kind] | Sequence[str] | None


def check_windows(
    reference: pd.DataFrame, current: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Refuse windows that are not frames or have no rows; name every column by a string.

    Returns:
        Both windows, their column labels as strings (``pd.DataFrame(array)`` has integers).

    Raises:
        DataError: A window is not a DataFrame, or is empty.
    """
    import pandas as pd

    for name, frame in (("reference", reference), ("current", current)):
        if not isinstance(frame, pd.DataFrame):
            raise DataError(
                f"The {name} window must be a pandas DataFrame, not {type(frame).__name__}. "
                "Wrap arrays with pandas.DataFrame(...), or use prediction_drift for one array."
            )
        if len(frame) == 0:
            raise DataError(
                f"The {name} window is empty (0 rows, columns {list(frame.columns)[:5]!r}...); "
                "drift needs at least one row on each side. Widen the window, or skip the "
                "check while no data has arrived."
            )
    return _string_labels(reference), _string_labels(current)


def _string_labels(frame: pd.DataFrame) -> pd.DataFrame:
    if all(isinstance(label, str) for label in frame.columns):
        return frame
    return frame.rename(columns=str)


def resolve_kinds(
    reference: pd.DataFrame, current: pd.DataFrame, columns: ColumnSpec
) -> dict[str, Kind]:
    """Return the kind of each column to compare, in order.

    Args:
        reference: The reference window.
        current: The current window.
        columns: Kinds by column name; or column names, kinds inferred; or ``None`` for every
            reference column, kinds inferred.

    Raises:
        FeatureError: A column is missing from a window, or its dtype cannot be compared.
        ConfigValueError: A kind is neither ``"numeric"`` nor ``"categorical"``.
    """
    if columns is None:
        wanted: dict[str, Kind | None] = dict.fromkeys(map(str, reference.columns))
    elif isinstance(columns, Mapping):
        wanted = dict(columns)
    elif isinstance(columns, str):
        wanted = {columns: None}
    else:
        wanted = dict.fromkeys(columns)
    if not wanted:
        raise FeatureError("No columns to compare: pass a non-empty `columns`.")
    for name, frame in (("reference", reference), ("current", current)):
        present = list(map(str, frame.columns))
        for column in wanted:
            if column not in present:
                hint = did_you_mean(column, present) or f" Its columns: {present[:10]!r}."
                raise FeatureError(f"Column {column!r} is not in the {name} window.{hint}")
    kinds: dict[str, Kind] = {}
    for column, kind in wanted.items():
        if kind is None:
            kinds[column] = infer_kind(reference[column], column)
        elif kind not in KINDS:
            raise ConfigValueError(
                [f"column {column!r} has kind {kind!r}; use 'numeric' or 'categorical'."]
            )
        else:
            if kind == "numeric":
                _require_numeric(reference[column], current[column], column)
            kinds[column] = kind
    return kinds


def infer_kind(series: pd.Series, column: str) -> Kind:
    """Return the kind Evidently would infer for a reference column.

    Raises:
        FeatureError: The dtype is neither numeric, boolean nor categorical.
    """
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_float_dtype(dtype):
        return "numeric"
    if pd.api.types.is_integer_dtype(dtype):
        return "categorical" if series.nunique() <= INTEGER_CATEGORY_LIMIT else "numeric"
    if (
        pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    ):
        return "categorical"
    raise FeatureError(
        f"Column {column!r} has dtype {dtype!s}, which drift cannot compare. Leave it out with "
        "columns=[...], or convert it (e.g. a datetime to an hour or weekday) first."
    )


def numeric_rows(frame: pd.DataFrame, columns: Sequence[str]) -> npt.NDArray[np.float64]:
    """Return ``columns`` as rows of a C-ordered float array; missing values become NaN."""
    out = np.empty((len(columns), len(frame)), dtype=np.float64)
    for i, column in enumerate(columns):
        out[i] = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def category_counts(series: pd.Series) -> dict[str, int]:
    """Return how often each non-missing value occurs, keyed by its string form."""
    counts: dict[str, int] = {}
    for value, count in series.value_counts(dropna=True, sort=False).items():
        label = _label(value)
        counts[label] = counts.get(label, 0) + int(count)
    return counts


def missing_count(series: pd.Series) -> int:
    """Return the missing values of a categorical column (None, NaN, NA, NaT)."""
    return int(series.isna().sum())


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 1.0 from an int column that held NaN is the category "1"
    return str(value)


def _require_numeric(reference: pd.Series, current: pd.Series, column: str) -> None:
    import pandas as pd

    for name, series in (("reference", reference), ("current", current)):
        dtype = series.dtype
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            raise FeatureError(
                f"Column {column!r} is declared numeric but its {name} dtype is {dtype!s}. "
                "Declare it 'categorical', or convert it to numbers first."
            )
