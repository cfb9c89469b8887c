"""Say which columns a model reads, cast them one way everywhere, and build the preprocessor.

Training reads a DataFrame (``prepare_frame``), serving JSON records (``records_to_frame``,
or ``onnx_feed`` straight into an exported ONNX model); both cast by the rules of
``modelyard.features.casting``: numbers to float64, categories to text with missing values
kept missing, datetimes to wall-clock time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from modelyard.errors import FeatureError, did_you_mean
from modelyard.features.casting import (
    cast_datetimes,
    cast_numbers,
    cast_text,
    category_text,
    is_missing,
    to_number,
    to_seconds,
    to_timestamp,
)
from modelyard.features.categories import RareCategoryGrouper
from modelyard.features.datetimes import DatetimeParts
from modelyard.features.spec import FeatureSpec
from modelyard.models.onnx import MISSING_CATEGORY, frame_feed

Records = Sequence[Mapping[str, Any]]


def prepare_frame(df: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """Return the spec's columns of ``df``, in spec order, each cast to its kind.

    Raises:
        FeatureError: A column is missing, or holds values its kind cannot read.
    """
    absent = [column for column in spec.columns if column not in df.columns]
    if absent:
        present = [str(column) for column in df.columns]
        shown = ", ".join(present[:20]) + (", ..." if len(present) > 20 else "")
        raise FeatureError(
            f"Feature column(s) {absent!r} not in the data.{did_you_mean(absent[0], present)} "
            f"Columns present: {shown}. Fix the features section of the config."
        )
    columns: dict[str, pd.Series] = {}
    for column in spec.numeric:
        columns[column] = cast_numbers(df[column], column)
    for column in spec.categorical + spec.ordinal:
        columns[column] = cast_text(df[column])
    for column in spec.datetime:
        columns[column] = cast_datetimes(df[column], column)
    return pd.DataFrame({column: columns[column] for column in spec.columns}, index=df.index)


def records_to_frame(records: Records, spec: FeatureSpec) -> pd.DataFrame:
    """Return JSON-like records as a prepared frame (see ``prepare_frame``).

    Every record needs every feature field; ``None`` marks a missing value.

    Raises:
        FeatureError: A record lacks a field, or holds values its kind cannot read.
    """
    _check_fields(records, spec)
    # object columns: values reach the casts as they were sent, not as pandas guesses them
    raw = {
        column: pd.Series([record[column] for record in records], dtype=object)
        for column in spec.columns
    }
    return prepare_frame(pd.DataFrame(raw, columns=list(spec.columns)), spec)


def onnx_feed(data: pd.DataFrame | Records, spec: FeatureSpec) -> dict[str, npt.NDArray[Any]]:
    """Return the ONNX Runtime input for a DataFrame or records: one ``[n, 1]`` array a column.

    Numbers and datetimes become float64 (datetimes as seconds since 1970), categories
    strings with ``MISSING_CATEGORY`` for missing ones; see ``modelyard.models.onnx``.
    Records skip the DataFrame (a few microseconds a record instead of milliseconds a call)
    but are cast by the same rules as ``records_to_frame``.

    Raises:
        FeatureError: A column or field is missing, or holds values its kind cannot read.
    """
    if isinstance(data, pd.DataFrame):
        return frame_feed(prepare_frame(data, spec))
    _check_fields(data, spec)
    feed: dict[str, npt.NDArray[Any]] = {}
    for column in spec.numeric:
        numbers = [to_number(record[column], column) for record in data]
        feed[column] = np.asarray(numbers, dtype=np.float64).reshape(-1, 1)
    for column in spec.categorical + spec.ordinal:
        texts = [
            MISSING_CATEGORY if is_missing(value) else category_text(value)
            for value in (record[column] for record in data)
        ]
        feed[column] = np.asarray(texts, dtype=object).reshape(-1, 1)
    for column in spec.datetime:
        seconds = [to_seconds(to_timestamp(record[column], column)) for record in data]
        feed[column] = np.asarray(seconds, dtype=np.float64).reshape(-1, 1)
    return feed


def build_preprocessor(spec: FeatureSpec) -> ColumnTransformer:
    """Return the unfitted preprocessor of ``spec``'s columns; fit it on training rows only.

    Raises:
        FeatureError: The spec names no columns.
    """
    if not spec.columns:
        raise FeatureError(
            "The feature spec names no columns. List at least one under numeric, "
            "categorical, ordinal or datetime in the features section of the config."
        )
    transformers: list[tuple[str, Pipeline, list[str]]] = []
    if spec.numeric:
        numeric: list[tuple[str, Any]] = [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True))
        ]
        if spec.scale_numeric:
            numeric.append(("scale", StandardScaler()))
        transformers.append(("numeric", Pipeline(numeric), list(spec.numeric)))
    if spec.categorical:
        categorical = [
            ("group", RareCategoryGrouper(min_frequency=spec.rare_min_frequency)),
            ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
        transformers.append(("categorical", Pipeline(categorical), list(spec.categorical)))
    if spec.ordinal:
        ordinal = [
            ("group", RareCategoryGrouper()),
            ("encode", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)),
        ]
        transformers.append(("ordinal", Pipeline(ordinal), list(spec.ordinal)))
    if spec.datetime:
        parts = [
            ("parts", DatetimeParts()),
            ("impute", SimpleImputer(strategy="most_frequent", keep_empty_features=True)),
        ]
        transformers.append(("datetime", Pipeline(parts), list(spec.datetime)))
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)


def _check_fields(records: Records, spec: FeatureSpec) -> None:
    for index, record in enumerate(records):
        absent = [column for column in spec.columns if column not in record]
        if absent:
            raise FeatureError(
                f"Record {index} has no field(s) {absent!r}."
                f"{did_you_mean(absent[0], [str(key) for key in record])} Every record needs "
                "every feature field; send null for a missing value."
            )
