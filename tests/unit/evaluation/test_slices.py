"""Metrics per slice: one entry per distinct value, small slices listed as skipped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelyard.errors import FeatureError, TrainingError
from modelyard.evaluation.metrics import compute_metrics
from modelyard.evaluation.slices import (
    SliceMetrics,
    count_skipped_slices,
    find_underperforming_slices,
    slice_metrics,
)

from .conftest import Predictions


@pytest.fixture
def carriers(seed: int) -> pd.DataFrame:
    """A slice column for 400 rows: two big carriers, one mid-sized, two tiny ones."""
    rng = np.random.default_rng(seed)
    sizes = {"AA": 200, "UA": 150, "B6": 35, "HA": 10, "OO": 5}
    values = np.repeat(list(sizes), list(sizes.values()))
    return pd.DataFrame({"carrier": rng.permutation(values), "hour": rng.integers(5, 7, 400)})


def test_one_entry_per_value_largest_first(carriers: pd.DataFrame, binary: Predictions) -> None:
    found = slice_metrics(
        "binary_classification",
        carriers,
        binary.y_true,
        y_pred=binary.y_pred,
        y_score=binary.y_score,
        columns=["carrier", "hour"],
    )

    assert [(s.column, s.value, s.rows, s.is_skipped) for s in found[:5]] == [
        ("carrier", "AA", 200, False),
        ("carrier", "UA", 150, False),
        ("carrier", "B6", 35, False),
        ("carrier", "HA", 10, True),
        ("carrier", "OO", 5, True),
    ]
    assert {s.value for s in found if s.column == "hour"} == {5, 6}
    assert sum(s.rows for s in found if s.column == "hour") == 400


def test_slice_metrics_equal_metrics_on_the_subset(
    carriers: pd.DataFrame, binary: Predictions
) -> None:
    assert binary.y_score is not None
    found = slice_metrics(
        "binary_classification",
        carriers,
        binary.y_true,
        y_pred=binary.y_pred,
        y_score=binary.y_score,
        columns=["carrier"],
    )

    rows = (carriers["carrier"] == "B6").to_numpy()
    expected = compute_metrics(
        "binary_classification",
        binary.y_true[rows],
        y_pred=binary.y_pred[rows],
        y_score=binary.y_score[rows],
    )
    assert next(s for s in found if s.value == "B6").metrics == pytest.approx(expected)


def test_small_slices_are_skipped_and_counted(carriers: pd.DataFrame, binary: Predictions) -> None:
    found = slice_metrics(
        "binary_classification",
        carriers,
        binary.y_true,
        y_pred=binary.y_pred,
        y_score=binary.y_score,
        columns=["carrier"],
        min_rows=40,
    )

    skipped = [s for s in found if s.is_skipped]
    assert [s.value for s in skipped] == ["B6", "HA", "OO"]
    assert all(s.metrics == {} for s in skipped)
    assert count_skipped_slices(found) == {"carrier": 3}


def test_missing_values_form_their_own_slice(regression: Predictions) -> None:
    frame = pd.DataFrame({"region": ["north", None] * 150})

    found = slice_metrics(
        "regression",
        frame,
        regression.y_true,
        y_pred=regression.y_pred,
        y_score=None,
        columns=["region"],
    )

    assert sorted((s.value or "", s.rows) for s in found) == [("", 150), ("north", 150)]
    assert all(set(s.metrics) == {"rmse", "mae", "r2", "mape"} for s in found)


def test_multiclass_slices_read_scores_by_the_overall_labels(multiclass: Predictions) -> None:
    # the first 40 rows may lack a class; labels come from all rows, so the columns still match
    frame = pd.DataFrame({"part": ["head"] * 40 + ["tail"] * 260})

    found = slice_metrics(
        "multiclass_classification",
        frame,
        multiclass.y_true,
        y_pred=multiclass.y_pred,
        y_score=multiclass.y_score,
        columns=["part"],
    )

    assert {s.value: s.rows for s in found} == {"head": 40, "tail": 260}
    assert all("log_loss" in s.metrics for s in found)


def test_unknown_slice_column_suggests_the_closest(
    carriers: pd.DataFrame, binary: Predictions
) -> None:
    with pytest.raises(FeatureError, match=r"'carier' is not in the data\. Did you mean 'carrier'"):
        slice_metrics(
            "binary_classification",
            carriers,
            binary.y_true,
            y_pred=binary.y_pred,
            y_score=None,
            columns=["carier"],
        )


def test_frame_of_another_length_is_refused(binary: Predictions) -> None:
    with pytest.raises(TrainingError, match=r"differ in length \(frame=3, y_true=400"):
        slice_metrics(
            "binary_classification",
            pd.DataFrame({"c": [1, 2, 3]}),
            binary.y_true,
            y_pred=binary.y_pred,
            y_score=None,
            columns=["c"],
        )


@pytest.mark.parametrize(
    ("metric", "overall", "values", "expected"),
    [
        pytest.param("roc_auc", 0.80, [0.70, 0.78, 0.60], [("c", 0.20), ("a", 0.10)], id="higher"),
        pytest.param("log_loss", 0.40, [0.50, 0.44, 0.30], [("a", 0.10)], id="lower"),
    ],
)
def test_underperforming_slices_follow_the_metric_direction(
    metric: str, overall: float, values: list[float], expected: list[tuple[str, float]]
) -> None:
    slices = [
        SliceMetrics("k", name, 100, {metric: value})
        for name, value in zip("abc", values, strict=True)
    ] + [SliceMetrics("k", "tiny", 3, {}, is_skipped=True)]

    worse = find_underperforming_slices(slices, {metric: overall}, metric=metric)

    assert [s.value for s, _ in worse] == [name for name, _ in expected]
    assert [gap for _, gap in worse] == pytest.approx([gap for _, gap in expected])
