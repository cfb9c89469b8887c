"""Column profiles: the numbers a user reads first, in values JSON can hold."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from modelyard.data.profile import ColumnProfile, profile_frame, render_profile


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "fare": [10.0, 20.0, 20.0, np.nan],
            "city": ["Oslo", None, "Lima", "Lima"],
            "late": [True, False, True, True],
            "at": pd.to_datetime(["2024-01-02", None, "2024-01-01", "2024-01-03"]),
            "seats": pd.array([1, None, 3, 3], dtype="Int64"),
        }
    )


def by_name(df: pd.DataFrame) -> dict[str, ColumnProfile]:
    return {profile.name: profile for profile in profile_frame(df)}


def test_numeric_column_profile(frame: pd.DataFrame) -> None:
    fare = by_name(frame)["fare"]

    assert dataclasses.replace(fare, mean=None, std=None) == ColumnProfile(
        name="fare",
        dtype="float64",
        count=3,
        nulls=1,
        null_pct=25.0,
        distinct=2,
        min=10.0,
        max=20.0,
        mean=None,
        std=None,
        top=20.0,
    )
    assert fare.mean == pytest.approx(50 / 3)
    assert fare.std == pytest.approx(np.std([10, 20, 20], ddof=1))


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        pytest.param(
            "city",
            {"count": 3, "distinct": 2, "min": "Lima", "max": "Oslo", "mean": None, "top": "Lima"},
            id="text",
        ),
        pytest.param(
            "late", {"count": 4, "min": False, "max": True, "mean": 0.75, "top": True}, id="bool"
        ),
        pytest.param(
            "at",
            {"min": "2024-01-01T00:00:00", "max": "2024-01-03T00:00:00", "mean": None},
            id="datetime",
        ),
        pytest.param(
            "seats", {"nulls": 1, "min": 1, "max": 3, "top": 3, "distinct": 2}, id="nullable-int"
        ),
    ],
)
def test_column_profiles_by_kind(
    frame: pd.DataFrame, column: str, expected: dict[str, object]
) -> None:
    profile = by_name(frame)[column].to_dict()

    assert {key: profile[key] for key in expected} == expected


def test_profiles_are_plain_json(frame: pd.DataFrame) -> None:
    frame["odd"] = [np.inf, -np.inf, 1.0, np.nan]
    frame["mixed"] = [1, "one", None, [1]]

    rows = [profile.to_dict() for profile in profile_frame(frame)]

    assert json.loads(json.dumps(rows, allow_nan=False)) == rows
    odd = by_name(frame)["odd"]
    assert (odd.min, odd.max, odd.mean) == ("-inf", "inf", None)
    assert by_name(frame)["mixed"].min is None


def test_ties_for_top_pick_the_smallest_value() -> None:
    profile = by_name(pd.DataFrame({"x": ["b", "a", "b", "a", "c"]}))["x"]

    assert profile.top == "a"


def test_empty_and_all_null_columns_have_no_statistics() -> None:
    df = pd.DataFrame({"x": [np.nan, np.nan], "tag": pd.Categorical([None, None], ["u", "v"])})

    x, tag = profile_frame(df)

    assert (x.count, x.nulls, x.null_pct, x.min, x.mean, x.std, x.top) == (
        0, 2, 100.0, None, None, None, None
    )  # fmt: skip
    assert tag.top is None
    assert profile_frame(df.iloc[:0])[0].null_pct == 0.0


def test_render_profile_shows_one_row_per_column(frame: pd.DataFrame) -> None:
    console = Console(width=200, record=True, color_system=None)

    console.print(render_profile(profile_frame(frame), title="rides"))
    text = console.export_text()

    assert "rides" in text
    assert "datetime64[us]" in text or "datetime64[ns]" in text  # brackets are not markup
    for name in frame.columns:
        assert f" {name} " in text
    assert "1 (25.0%)" in text
