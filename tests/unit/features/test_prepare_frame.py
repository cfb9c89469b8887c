"""Frames and records are cast one way: what training reads is what serving sends."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelyard.errors import FeatureError
from modelyard.features.transform import (
    FeatureSpec,
    onnx_feed,
    prepare_frame,
    records_to_frame,
)
from modelyard.models.onnx import MISSING_CATEGORY, frame_feed


def test_columns_are_in_kind_order() -> None:
    spec = FeatureSpec(numeric=("b", "a"), categorical=("c",), ordinal=("o",), datetime=("t",))

    assert spec.columns == ("b", "a", "c", "o", "t")


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        pytest.param(
            {"numeric": ("a",), "categorical": ("a",)},
            r"'a' is listed as numeric and as categorical",
            id="column-in-two-kinds",
        ),
        pytest.param(
            {"numeric": "amount"},
            r"FeatureSpec\.numeric must be a list of column names, got the string 'amount'",
            id="string-not-tuple",
        ),
        pytest.param(
            {"rare_min_frequency": 1.5},
            r"rare_min_frequency must be a share of rows from 0 to 1 .*got 1\.5",
            id="frequency-above-one",
        ),
    ],
)
def test_invalid_specs_are_refused(kwargs: dict[str, Any], pattern: str) -> None:
    with pytest.raises(FeatureError, match=pattern):
        FeatureSpec(**kwargs)


def test_lists_become_tuples() -> None:
    spec = FeatureSpec(numeric=["a", "b"])  # type: ignore[arg-type]

    assert spec.numeric == ("a", "b")


def test_prepare_frame_selects_spec_columns_in_order(raw: pd.DataFrame, spec: FeatureSpec) -> None:
    prepared = prepare_frame(raw[list(reversed(raw.columns))], spec)

    assert list(prepared.columns) == list(spec.columns)
    assert prepared.index.equals(raw.index)


def test_prepare_frame_casts_each_kind(raw: pd.DataFrame, spec: FeatureSpec) -> None:
    prepared = prepare_frame(raw, spec)

    assert prepared["amount"].dtype == np.float64
    assert prepared["count"].dtype == np.float64
    assert prepared["code"].tolist()[:3] == [str(v) for v in raw["code"][:3]]
    assert pd.api.types.is_string_dtype(prepared["colour"].dtype)
    assert prepared["colour"].isna().sum() == raw["colour"].isna().sum()
    assert pd.api.types.is_datetime64_dtype(prepared["when"].dtype)


def test_missing_column_names_a_close_match(raw: pd.DataFrame, spec: FeatureSpec) -> None:
    with pytest.raises(
        FeatureError, match=r"\['colour'\] not in the data\. Did you mean 'color'\?"
    ):
        prepare_frame(raw.rename(columns={"colour": "color"}), spec)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([1, 2], [1.0, 2.0], id="ints"),
        pytest.param([True, False], [1.0, 0.0], id="bools"),
        pytest.param(pd.array([1, None], dtype="Int64"), [1.0, np.nan], id="nullable-ints"),
        pytest.param(["1.5", None], [1.5, np.nan], id="numeric-text"),
    ],
)
def test_numeric_columns_become_float64(values: Any, expected: list[float]) -> None:
    prepared = prepare_frame(pd.DataFrame({"x": values}), FeatureSpec(numeric=("x",)))

    np.testing.assert_array_equal(prepared["x"].to_numpy(), np.array(expected))


def test_text_in_a_numeric_column_is_refused() -> None:
    with pytest.raises(FeatureError, match=r"Numeric feature 'x' .* not a number: 'abc'"):
        prepare_frame(pd.DataFrame({"x": ["1", "abc"]}), FeatureSpec(numeric=("x",)))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param([3, 4], ["3", "4"], id="ints"),
        pytest.param([3.0, None], ["3", None], id="whole-floats-with-missing"),
        pytest.param([2.5, True], ["2.5", "True"], id="mixed-objects"),
        pytest.param(["a", None], ["a", None], id="text-with-missing"),
        pytest.param([True, 1, 1.0], ["True", "1", "1"], id="equal-bool-and-numbers"),
        pytest.param([Decimal("1.0"), 1], ["1.0", "1"], id="equal-decimal-and-int"),
        pytest.param(pd.array([7, None, 7], dtype="Int64"), ["7", None, "7"], id="nullable-ints"),
        pytest.param(pd.Categorical([2.0, None, 3.5]), ["2", None, "3.5"], id="category"),
    ],
)
def test_categorical_columns_become_text(values: Any, expected: list[Any]) -> None:
    prepared = prepare_frame(pd.DataFrame({"x": values}), FeatureSpec(categorical=("x",)))

    assert [None if pd.isna(v) else v for v in prepared["x"]] == expected


def test_time_zones_keep_wall_clock_time() -> None:
    when = pd.Series(pd.to_datetime(["2024-05-01T13:45:00+02:00"]))

    prepared = prepare_frame(pd.DataFrame({"t": when}), FeatureSpec(datetime=("t",)))

    assert prepared["t"].iloc[0] == pd.Timestamp("2024-05-01T13:45:00")


def test_numbers_in_a_datetime_column_are_refused() -> None:
    with pytest.raises(FeatureError, match=r"Datetime feature 't' holds numbers \(int64\)"):
        prepare_frame(pd.DataFrame({"t": [1, 2]}), FeatureSpec(datetime=("t",)))


def test_records_become_the_same_frame(raw: pd.DataFrame, spec: FeatureSpec) -> None:
    rows = raw.head(50)
    records = rows.astype(object).where(rows.notna(), None).to_dict(orient="records")

    from_records = records_to_frame(records, spec)

    expected = prepare_frame(rows, spec).reset_index(drop=True)
    pd.testing.assert_frame_equal(from_records, expected, check_dtype=False)


def test_record_without_a_field_names_a_close_match(spec: FeatureSpec) -> None:
    record = {"amount": 1.0, "count": 2, "color": "red", "code": 1, "size": "S", "when": None}

    with pytest.raises(FeatureError, match=r"Record 0 has no field\(s\) \['colour'\]\. Did you"):
        records_to_frame([record], spec)


TRICKY = [
    {"amount": None, "count": "7", "colour": None, "code": 2.0, "size": "XL", "when": None},
    {"amount": 1.5, "count": True, "colour": "red", "code": 3, "size": "S",
     "when": "2024-02-29T23:59:59.5+05:00"},
    {"amount": float("nan"), "count": 0, "colour": "", "code": "3", "size": None,
     "when": "1969-12-31T23:00:00"},
]  # fmt: skip


def test_records_feed_matches_the_frame_feed(spec: FeatureSpec) -> None:
    direct = onnx_feed(TRICKY, spec)

    via_frame = frame_feed(records_to_frame(TRICKY, spec))

    assert direct.keys() == via_frame.keys()
    for name, values in direct.items():
        assert values.shape == (len(TRICKY), 1), name
        assert values.dtype == via_frame[name].dtype, name
        np.testing.assert_array_equal(values, via_frame[name], err_msg=name)


def test_feed_types_and_missing_categories(spec: FeatureSpec) -> None:
    feed = onnx_feed(TRICKY, spec)

    assert feed["amount"].dtype == np.float64
    assert feed["colour"].dtype == object
    assert feed["colour"][:, 0].tolist() == [MISSING_CATEGORY, "red", ""]
    assert feed["code"][:, 0].tolist() == ["2", "3", "3"]
    assert feed["when"][2, 0] == -3600.0
