from __future__ import annotations

import pandas as pd
import pytest

from modelyard.errors import ConfigValueError
from modelyard.pipelines.data import latest_window


def frame() -> pd.DataFrame:
    stamps = pd.date_range("2013-01-01", periods=10, freq="D")
    return pd.DataFrame({"t": stamps[::-1], "x": range(10)})  # unsorted on purpose


def test_keeps_the_rows_after_the_newest_minus_the_window() -> None:
    kept = latest_window(frame(), "3d", "t")
    assert sorted(kept["t"].dt.day) == [8, 9, 10]  # newest is Jan 10; Jan 7 is excluded


def test_the_window_is_relative_to_the_data_not_the_clock() -> None:
    assert len(latest_window(frame(), "3650d", "t")) == 10


@pytest.mark.parametrize(
    ("timestamp", "message"),
    [(None, "data.timestamp is not set"), ("when", "'when' is not a column")],
)
def test_a_window_needs_the_time_column(timestamp: str | None, message: str) -> None:
    with pytest.raises(ConfigValueError, match=message):
        latest_window(frame(), "3d", timestamp)
