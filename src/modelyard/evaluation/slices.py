"""Metrics per slice: per distinct value of each chosen column.

A slice with fewer than ``min_rows`` rows is not evaluated (its metrics would be noise); it is
still listed, with ``is_skipped`` set and no metrics, so reports can say what was left out.
Missing values (None, NaN, NaT) form a slice of their own, with value None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from modelyard.errors import FeatureError, TrainingError, did_you_mean
from modelyard.evaluation._inputs import as_vector, check_same_length, resolve_labels
from modelyard.evaluation.metrics import compute_metrics, is_higher_better

SliceValue = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class SliceMetrics:
    """The metrics of the rows where ``column == value``.

    Attributes:
        column: The slice column.
        value: The column's value on these rows, as a JSON-safe scalar (None for missing).
        rows: How many rows the slice has.
        metrics: Metric name -> value; empty when the slice was skipped.
        is_skipped: Whether the slice had too few rows to be evaluated.
    """

    column: str
    value: SliceValue
    rows: int
    metrics: Mapping[str, float]
    is_skipped: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the slice as a JSON-serialisable mapping."""
        return {
            "column": self.column,
            "value": self.value,
            "rows": self.rows,
            "metrics": dict(self.metrics),
            "is_skipped": self.is_skipped,
        }


def slice_metrics(
    task: str,
    frame: pd.DataFrame,
    y_true: ArrayLike,
    *,
    y_pred: ArrayLike,
    y_score: ArrayLike | None,
    columns: Sequence[str],
    min_rows: int = 30,
    labels: Sequence[Any] | None = None,
) -> list[SliceMetrics]:
    """Compute ``compute_metrics`` on each slice of each column in ``columns``.

    Args:
        task: The task name, as for ``compute_metrics``.
        frame: The slice columns, one row per prediction, in the order of ``y_true``
            (rows are matched by position, not by index).
        y_true: True labels or values.
        y_pred: Predictions.
        y_score: Probabilities as for ``compute_metrics``, or None.
        columns: The columns of ``frame`` to slice by.
        min_rows: Slices with fewer rows are listed as skipped, without metrics.
        labels: The estimator's ``classes_``; resolved once on all rows when None, so every
            slice reads the score columns the same way.

    Returns:
        Column by column in the given order; within a column, the largest slices first.

    Raises:
        FeatureError: A column is not in ``frame``.
        TrainingError: Inputs of different lengths, or ``min_rows`` below 1.
    """
    if min_rows < 1:
        raise TrainingError(f"min_rows must be at least 1, got {min_rows!r}.")
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        hint = did_you_mean(missing[0], map(str, frame.columns))
        raise FeatureError(
            f"Slice column {missing[0]!r} is not in the data.{hint} "
            "Fix evaluation.slices in modelyard.yaml."
        )
    true, pred = as_vector("y_true", y_true), as_vector("y_pred", y_pred)
    score = None if y_score is None else np.asarray(y_score)
    check_same_length(frame=frame, y_true=true, y_pred=pred, y_score=score)
    classes = resolve_labels(task, true, pred, score, labels)
    found: list[SliceMetrics] = []
    for column in columns:
        for value, rows in _slice_positions(frame[column]):
            if rows.size < min_rows:
                found.append(SliceMetrics(column, value, int(rows.size), {}, is_skipped=True))
                continue
            metrics = compute_metrics(
                task,
                true[rows],
                y_pred=pred[rows],
                y_score=None if score is None else score[rows],
                labels=classes,
            )
            found.append(SliceMetrics(column, value, int(rows.size), metrics))
    return found


def count_skipped_slices(slices: Sequence[SliceMetrics]) -> dict[str, int]:
    """Return column -> number of its slices that were too small to evaluate (none: absent)."""
    counts: dict[str, int] = {}
    for found in slices:
        if found.is_skipped:
            counts[found.column] = counts.get(found.column, 0) + 1
    return counts


def find_underperforming_slices(
    slices: Sequence[SliceMetrics],
    overall: Mapping[str, float],
    *,
    metric: str,
    tolerance: float = 0.05,
) -> list[tuple[SliceMetrics, float]]:
    """Return the slices whose ``metric`` is worse than ``overall`` by more than ``tolerance``.

    Args:
        slices: Slice metrics from ``slice_metrics``.
        overall: Metrics on all rows.
        metric: The metric to compare; its direction comes from ``HIGHER_IS_BETTER``.
        tolerance: The largest shortfall still accepted, in the metric's units.

    Returns:
        ``(slice, shortfall)`` pairs, the worst first; the shortfall is positive.
    """
    sign = 1.0 if is_higher_better(metric) else -1.0
    if metric not in overall:
        return []
    worse: list[tuple[SliceMetrics, float]] = []
    for found in slices:
        if metric in found.metrics:
            shortfall = sign * (overall[metric] - found.metrics[metric])
            if shortfall > tolerance:
                worse.append((found, shortfall))
    return sorted(worse, key=lambda pair: -pair[1])


def _slice_positions(column: pd.Series) -> list[tuple[SliceValue, np.ndarray[Any, Any]]]:
    codes, uniques = column.factorize(use_na_sentinel=False)
    codes = np.asarray(codes)
    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=len(uniques)))[:-1]
    groups = [
        (_json_scalar(uniques[code]), rows)
        for code, rows in enumerate(np.split(order, bounds))
        if rows.size
    ]
    return sorted(groups, key=lambda group: (-group[1].size, str(group[0])))


def _json_scalar(value: Any) -> SliceValue:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or pd.isna(value):
        return None
    if isinstance(value, str | bool | int | float):
        return value
    return str(value)
