"""detect_drift refuses what it cannot compare, naming the problem and the fix."""

from __future__ import annotations

import pandas as pd
import pytest

from modelyard.errors import ConfigValueError, DataError, FeatureError
from modelyard.monitoring.drift import detect_drift


@pytest.mark.parametrize(
    ("reference", "current", "match"),
    [
        pytest.param(
            pd.DataFrame({"x": [1.0]}),
            pd.DataFrame({"x": []}),
            "current window is empty",
            id="empty-current",
        ),
        pytest.param(
            pd.DataFrame({"x": []}),
            pd.DataFrame({"x": [1.0]}),
            "reference window is empty",
            id="empty-reference",
        ),
        pytest.param(
            [1.0], pd.DataFrame({"x": [1.0]}), "must be a pandas DataFrame", id="not-a-frame"
        ),
    ],
)
def test_unusable_windows_are_refused(reference: object, current: object, match: str) -> None:
    with pytest.raises(DataError, match=match):
        detect_drift(reference, current)  # type: ignore[arg-type]


def test_an_unknown_method_suggests_the_closest() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})

    with pytest.raises(
        ConfigValueError,
        match=r"unknown drift method 'wasserstien' for column 'x'\. Did you mean 'wasserstein'\?",
    ):
        detect_drift(frame, frame, methods={"x": "wasserstien"})


def test_a_method_of_the_wrong_kind_is_refused() -> None:
    frame = pd.DataFrame({"c": ["a", "b"]})

    with pytest.raises(
        ConfigValueError, match="'ks' for column 'c' does not take categorical columns"
    ):
        detect_drift(frame, frame, methods={"c": "ks"})


def test_unknown_override_keys_suggest_the_closest() -> None:
    frame = pd.DataFrame({"price": [1.0, 2.0]})

    with pytest.raises(
        ConfigValueError,
        match=r"thresholds key 'prise' names nothing known\. Did you mean 'price'\?",
    ):
        detect_drift(frame, frame, thresholds={"prise": 0.2})


def test_an_unknown_column_suggests_the_closest() -> None:
    frame = pd.DataFrame({"price": [1.0, 2.0]})

    with pytest.raises(
        FeatureError,
        match=r"Column 'prices' is not in the reference window\. Did you mean 'price'\?",
    ):
        detect_drift(frame, frame, columns=["prices"])


def test_unsupported_dtypes_and_wrong_kinds_are_refused() -> None:
    frame = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=3), "c": list("abc")})

    with pytest.raises(FeatureError, match="'when' has dtype datetime64"):
        detect_drift(frame, frame)
    with pytest.raises(FeatureError, match="'c' is declared numeric but its reference dtype"):
        detect_drift(frame, frame, columns={"c": "numeric"})
    with pytest.raises(ConfigValueError, match="use 'numeric' or 'categorical'"):
        detect_drift(frame, frame, columns={"c": "text"})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        pytest.param({"drift_share": 0.0}, "drift_share=0.0 must be in", id="drift-share"),
        pytest.param({"alpha": 1.5}, "alpha=1.5 must be in", id="alpha"),
        pytest.param({"n_bins": 1}, "n_bins=1 must be at least 2", id="bins"),
    ],
)
def test_out_of_range_settings_are_refused(arguments: dict[str, float], match: str) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})

    with pytest.raises(ConfigValueError, match=match):
        detect_drift(frame, frame, **arguments)  # type: ignore[arg-type]
