from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from modelyard.config import load_config
from modelyard.config.durations import parse_duration
from modelyard.errors import ConfigValueError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        (" 1.5d ", timedelta(hours=36)),
    ],
)
def test_durations_read_as_written(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["7", "d", "7x", "-1d", "0d", "7 days", ""])
def test_what_is_not_a_duration_is_refused_with_the_form(text: str) -> None:
    with pytest.raises(ValueError, match="write a positive number and a unit"):
        parse_duration(text)


def test_a_bad_window_in_the_config_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "modelyard.yaml").write_text(
        "name: p\ndata: {source: {uri: d.csv}, target: {column: y}}\n"
        "monitoring: {window: 7x, retrain: {window: 30d}}\n"
    )
    with pytest.raises(ConfigValueError, match=r"monitoring\.window.*'7x' is not a duration"):
        load_config(tmp_path)
