"""Inferring a project from a table: the task, IDs, dates, categories, ranges, nullability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelyard.errors import DataError
from modelyard.scaffold.column_types import contract_type, normalise_frame, numeric_range
from modelyard.scaffold.inference import (
    ColumnProfile,
    infer_project,
    infer_task,
    profile_column,
)

ROWS = 200


def frame(seed: int, **columns: object) -> pd.DataFrame:
    """A table of ROWS rows with a learnable binary target, plus ``columns``."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {"x": rng.normal(size=ROWS), "y": rng.integers(0, 2, ROWS)}
    return pd.DataFrame({**data, **columns})


def profile(values: object, name: str = "c") -> ColumnProfile:
    return profile_column(normalise_frame(pd.DataFrame({name: values}))[name])


@pytest.mark.parametrize(
    ("values", "task"),
    [
        pytest.param([0, 1] * 20, "binary_classification", id="ints-0-1"),
        pytest.param(["yes", "no"] * 20, "binary_classification", id="text-yes-no"),
        pytest.param([True, False] * 20, "binary_classification", id="booleans"),
        pytest.param([0.0, 1.0] * 20, "binary_classification", id="floats-0-1"),
        pytest.param(list(range(5)) * 8, "multiclass_classification", id="five-ints"),
        pytest.param(["a", "b", "c"] * 14, "multiclass_classification", id="three-labels"),
        pytest.param([f"l{i}" for i in range(40)], "multiclass_classification", id="many-labels"),
        pytest.param(list(range(40)), "regression", id="forty-ints"),
        pytest.param(np.linspace(0, 1, 40), "regression", id="fractions"),
        pytest.param([0.5, 1.5, 2.5] * 14, "regression", id="three-fractions"),
    ],
)
def test_task_follows_the_target_values(values: list[object], task: str) -> None:
    assert infer_task(pd.Series(values), "t") == task


@pytest.mark.parametrize(
    ("values", "match"),
    [
        pytest.param([1] * 40, "has 1 distinct value", id="constant"),
        pytest.param([None] * 40, "has 0 distinct value", id="empty"),
        pytest.param([0] * 38 + [1] * 2, "2 row\\(s\\) of class 1", id="rare-class"),
    ],
)
def test_unlearnable_target_is_refused(values: list[object], match: str) -> None:
    with pytest.raises(DataError, match=match):
        infer_task(pd.Series(values, dtype=object), "t")


def test_missing_target_names_the_closest_column() -> None:
    with pytest.raises(DataError, match=r"No column 'yy' .* Did you mean 'y'\?.*Columns: x, y"):
        infer_project(frame(1), "yy")


def test_rows_without_a_target_are_left_out() -> None:
    data = frame(2)
    data["y"] = data["y"].astype("float64")
    data.loc[:9, "y"] = np.nan
    inferred, prepared = infer_project(data, "y")
    assert (inferred.rows, inferred.dropped, len(prepared)) == (ROWS - 10, 10, ROWS - 10)
    assert prepared["y"].notna().all()


def test_too_few_rows_is_refused() -> None:
    with pytest.raises(DataError, match="at least 30"):
        infer_project(frame(3).head(20), "y")


def test_table_without_usable_features_is_refused() -> None:
    data = pd.DataFrame({"id": [f"u{i}" for i in range(ROWS)], "y": [0, 1] * (ROWS // 2)})
    with pytest.raises(DataError, match="No column besides the target 'y' can be a feature"):
        infer_project(data, "y")


@pytest.mark.parametrize(
    ("name", "values"),
    [
        pytest.param("ref", [f"r-{i}" for i in range(ROWS)], id="unique-text"),
        pytest.param("row", np.random.default_rng(0).permutation(ROWS) + 1000, id="sequence"),
        pytest.param("customerID", np.arange(ROWS) * 97, id="camel-case-id-name"),
        pytest.param("order_id", np.arange(ROWS) * 13, id="snake-case-id-name"),
    ],
)
def test_unique_ids_are_left_out_and_marked_unique(name: str, values: object) -> None:
    column = profile(values, name)
    assert (column.role, column.unique) == ("id", True)


@pytest.mark.parametrize(
    ("name", "values", "role"),
    [
        pytest.param("paid", np.arange(ROWS) * 13, "numeric", id="spread-ints-no-id-word"),
        pytest.param("ratio", np.linspace(0, 1, ROWS), "numeric", id="unique-floats"),
        pytest.param("store_id", [1, 2, 3, 4] * (ROWS // 4), "categorical", id="shared-id"),
    ],
)
def test_unique_or_id_named_columns_that_are_not_ids(name: str, values: object, role: str) -> None:
    assert profile(values, name).role == role


def test_iso_date_text_becomes_a_datetime_feature() -> None:
    text = pd.date_range("2024-01-01", periods=ROWS, freq="D").strftime("%Y-%m-%d")
    prepared = normalise_frame(pd.DataFrame({"day": text}))
    assert pd.api.types.is_datetime64_any_dtype(prepared["day"])
    column = profile(text, "day")
    assert (column.role, column.type) == ("datetime", "datetime")


def test_zoned_timestamps_become_utc_wall_clock() -> None:
    text = ["2024-03-01T12:00:00+02:00", "2024-03-01T12:00:00Z", None]
    prepared = normalise_frame(pd.DataFrame({"at": text}))["at"]
    assert list(prepared.dropna()) == [
        pd.Timestamp("2024-03-01 10:00"),
        pd.Timestamp("2024-03-01 12:00"),
    ]


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(["01/02/2024", "03/04/2024"] * 20, id="slashes"),
        pytest.param(["2024-01-01", "soon"] * 20, id="one-not-a-date"),
    ],
)
def test_text_that_is_not_all_iso_dates_stays_text(values: list[str]) -> None:
    assert contract_type(normalise_frame(pd.DataFrame({"d": values}))["d"]) == "string"


def test_first_complete_datetime_column_is_the_timestamp() -> None:
    days = pd.date_range("2024-01-01", periods=ROWS, freq="D")
    gappy = pd.Series(days).where(np.arange(ROWS) % 10 != 0)
    data = frame(4, opened=gappy, signed=days.strftime("%Y-%m-%d"))
    inferred, _ = infer_project(data, "y")
    assert (inferred.timestamp, inferred.split) == ("signed", "time")
    assert inferred.names("datetime") == ["opened", "signed"]


def test_without_a_timestamp_classes_are_stratified_and_numbers_random() -> None:
    assert infer_project(frame(5), "y")[0].split == "stratified"
    regression, _ = infer_project(frame(5), "x")
    assert (regression.task, regression.split) == ("regression", "random")


def test_few_text_values_are_categories_with_an_allowed_list() -> None:
    values = ["b", "a", "c"] * 66 + ["rare", None]
    column = profile(values)
    assert (column.role, column.type, column.nullable) == ("categorical", "string", True)
    assert column.allowed == ("a", "b", "c", "rare")


def test_many_repeated_text_values_are_categories_without_allowed_list() -> None:
    column = profile([f"city{i % 60}" for i in range(ROWS)])
    assert (column.role, column.allowed, column.distinct) == ("categorical", None, 60)


def test_near_unique_text_is_left_out_as_free_text() -> None:
    column = profile([f"note {i}" for i in range(ROWS - 1)] + [None])
    assert column.role == "excluded"
    assert "free text" in column.note


@pytest.mark.parametrize(
    ("values", "note"),
    [
        pytest.param([7] * ROWS, "constant", id="constant"),
        pytest.param([None] * ROWS, "empty", id="empty"),
    ],
)
def test_columns_with_nothing_to_learn_are_left_out(values: list[object], note: str) -> None:
    column = profile(pd.Series(values, dtype="float64"))
    assert column.role == "excluded"
    assert note in column.note


def test_booleans_with_gaps_are_nullable_bool_categories() -> None:
    column = profile([True, False, None] * 10)
    assert (column.role, column.type, column.nullable) == ("categorical", "bool", True)


def test_whole_floats_with_gaps_are_int_and_nullable() -> None:
    column = profile([1.0, 2.0, np.nan, 40.0] * 10)
    assert (column.role, column.type, column.nullable, column.missing) == (
        "numeric", "int", True, 10,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("values", "is_int", "bounds"),
    [
        pytest.param([0, 10, 40], True, (0.0, 60.0), id="non-negative-floor-0"),
        pytest.param([-10, 30], True, (-30.0, 50.0), id="negative-widened"),
        pytest.param([18.25, 118.75], False, (0.0, 170.0), id="floats-rounded-out"),
        pytest.param([0.001, 0.004], False, (0.0, 0.0055), id="small-floats"),
        pytest.param([5, 5], True, (0.0, 8.0), id="one-value"),
        pytest.param([1.0, np.inf], False, (None, None), id="infinity-open"),
    ],
)
def test_numeric_range_widens_by_half_the_span(
    values: list[float], is_int: bool, bounds: tuple[float | None, float | None]
) -> None:
    assert numeric_range(pd.Series(values), is_int=is_int) == pytest.approx(bounds)


def test_classification_target_lists_its_classes() -> None:
    inferred, _ = infer_project(frame(6), "y")
    target = next(c for c in inferred.columns if c.role == "target")
    assert (target.type, target.allowed, target.nullable) == ("int", (0, 1), False)


def test_mixed_text_and_numbers_are_read_as_text() -> None:
    prepared = normalise_frame(pd.DataFrame({"m": pd.Series([1, "a", None], dtype=object)}))
    assert list(prepared["m"].dropna()) == ["1", "a"]
