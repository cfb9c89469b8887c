"""Model quality once labels arrive: task metrics over time, against what the model card promised.

Labels arrive late, through ``/v1/feedback`` or a labelled file. ``evaluate_quality`` takes the
prediction log with its labels joined on (one row per predicted record: ``timestamp``,
``prediction``, ``probabilities``, ``label``) and scores the rows that have a label, with the
same metrics as training (``modelyard.evaluation.metrics``): over all of them, per time window,
and against the card's test metrics. ``join_labels`` joins a labelled file by request id.

Labels logged as JSON may not have the type of the model's classes (``"1"`` for the class
``1``, ``1.0`` for ``1``, ``"true"`` for ``True``); a label is matched to the class it reads as.
A label that matches no class (or, for regression, is not a finite number) is not scored: such
rows are counted as unusable, with a few examples, so the report shows them instead of failing.

The tolerance rule, one per metric family:

- metrics on a bounded, unit-free scale (``roc_auc``, ``pr_auc``, ``accuracy``, ``f1``,
  ``precision``, ``recall``, ``f1_macro``, ``roc_auc_ovr``, ``brier``, ``r2``) take
  ``tolerance`` as an absolute change: 0.05 means 0.05 of AUC;
- metrics in the target's units or unbounded (``rmse``, ``mae``, ``mape``, ``log_loss``) take it
  relative to the promised value: 0.05 means 5 % of the card's ``rmse``.

Each comparison reports the tolerance in the metric's own units, and is degraded when the metric
moved the bad way by strictly more than that.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from modelyard.errors import ConfigValueError, DataError, describe, did_you_mean
from modelyard.evaluation.metrics import TASK_METRICS, compute_metrics, is_higher_better

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import NDArray

__all__ = [
    "RELATIVE_TOLERANCE_METRICS",
    "MetricComparison",
    "QualityReport",
    "QualityWindow",
    "evaluate_quality",
    "join_labels",
]

RELATIVE_TOLERANCE_METRICS = frozenset({"rmse", "mae", "mape", "log_loss"})
"""Metrics whose tolerance is a share of the promised value; the others' is absolute."""

MAX_EXAMPLES = 5
MAX_REMEMBERED = 10_000  # distinct logged values whose class is remembered
_ClassKey = tuple[str, Any]


@dataclass(frozen=True, slots=True)
class MetricComparison:
    """One metric observed on labelled predictions against the value the model card promised.

    Attributes:
        metric: The metric name.
        promised: The card's test value.
        observed: The value over all labelled rows.
        change: ``observed - promised``.
        tolerance: The change allowed in the bad direction, in the metric's units.
        higher_is_better: Whether a larger value is better.
        degraded: Whether the metric moved the bad way by more than ``tolerance``.
    """

    metric: str
    promised: float
    observed: float
    change: float
    tolerance: float
    higher_is_better: bool
    degraded: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the comparison as a JSON-serialisable mapping."""
        return {
            "metric": self.metric,
            "promised": _finite(self.promised),
            "observed": _finite(self.observed),
            "change": _finite(self.change),
            "tolerance": _finite(self.tolerance),
            "higher_is_better": self.higher_is_better,
            "degraded": self.degraded,
        }


@dataclass(frozen=True, slots=True)
class QualityWindow:
    """Metrics on the labelled predictions made in ``[start, end)``.

    Attributes:
        start: The window's first instant (UTC).
        end: The instant after its last (UTC).
        rows: Labelled rows scored in the window.
        metrics: Metric name -> value; empty when ``rows`` is under the minimum.
    """

    start: dt.datetime
    end: dt.datetime
    rows: int
    metrics: Mapping[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Return the window as a JSON-serialisable mapping."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rows": self.rows,
            "metrics": {name: _finite(value) for name, value in self.metrics.items()},
        }


@dataclass(frozen=True, slots=True)
class QualityReport:
    """How well a model did on the predictions whose labels have arrived.

    Attributes:
        task: The model's task.
        labelled_rows: Rows scored: a label that matched a class (or a number, for regression).
        unlabelled_rows: Rows with no label yet.
        unusable_rows: Rows with a label that could not be scored (see ``unusable_examples``).
        unusable_examples: Up to five distinct reasons, such as ``label 'maybe' is not a class``.
        metrics: Metric name -> value over all labelled rows.
        promised: The model card's test metrics.
        comparisons: One per metric in both ``metrics`` and ``promised``; none when fewer rows
            than the minimum were labelled.
        degraded: Whether any comparison is degraded.
        windows: One per time window holding at least one prediction, oldest first.
    """

    task: str
    labelled_rows: int
    unlabelled_rows: int
    unusable_rows: int
    unusable_examples: tuple[str, ...]
    metrics: Mapping[str, float]
    promised: Mapping[str, float]
    comparisons: tuple[MetricComparison, ...]
    degraded: bool
    windows: tuple[QualityWindow, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-serialisable mapping (NaN becomes ``None``)."""
        return {
            "task": self.task,
            "labelled_rows": self.labelled_rows,
            "unlabelled_rows": self.unlabelled_rows,
            "unusable_rows": self.unusable_rows,
            "unusable_examples": list(self.unusable_examples),
            "metrics": {name: _finite(value) for name, value in self.metrics.items()},
            "promised": {name: _finite(value) for name, value in self.promised.items()},
            "comparisons": [comparison.to_dict() for comparison in self.comparisons],
            "degraded": self.degraded,
            "windows": [window.to_dict() for window in self.windows],
        }


@dataclass(frozen=True, slots=True)
class _Scored:
    """The labelled rows that can be scored, encoded for ``compute_metrics``."""

    truth: NDArray[Any]  # class indices, or float values for regression
    predicted: NDArray[Any]
    score: NDArray[np.float64] | None  # binary: positive-class column; multiclass: matrix
    positions: NDArray[np.intp]  # row positions in the joined frame
    n_classes: int
    unusable: int
    examples: tuple[str, ...]


def evaluate_quality(
    joined: pd.DataFrame,
    *,
    task: str,
    promised: Mapping[str, float],
    classes: Sequence[Any] | None = None,
    freq: str = "1D",
    tolerance: float = 0.05,
    min_rows: int = 30,
) -> QualityReport | None:
    """Score the labelled predictions of ``joined``, overall and per window, against the card.

    Args:
        joined: One row per predicted record with ``timestamp``, ``prediction``, ``label``
            (None or NaN when not labelled yet) and, for classifiers, ``probabilities`` (a dict
            by class, as logged) — what ``join_feedback`` or ``join_labels`` return.
        task: ``binary_classification``, ``multiclass_classification`` or ``regression``.
        promised: The model card's test metrics; metrics missing on either side are not
            compared.
        classes: The model's classes in score order (binary: the positive class second). When
            None, the keys of the logged probabilities, in logged order (the server writes them
            in the model's order); without probabilities, the distinct predictions and labels.
        freq: The window length, a fixed pandas offset such as ``"1D"``, ``"12h"`` or ``"7D"``.
            Windows start at midnight UTC of the first prediction's day.
        tolerance: The change allowed before a metric counts as degraded: absolute for bounded
            metrics, relative to the promised value for ``RELATIVE_TOLERANCE_METRICS``.
        min_rows: Fewest labelled rows for a window's metrics, and for comparing with the card.

    Returns:
        The report, or None when no row has a label.

    Raises:
        ConfigValueError: An unknown task, a window length that is not fixed, or a negative
            tolerance or minimum.
        DataError: ``joined`` lacks a column, or ``classes`` name one label twice.
    """
    import pandas as pd

    _check_task(task)
    step = _window_length(freq)
    _check_numbers(tolerance=tolerance, min_rows=min_rows)
    _require_columns(joined, ["timestamp", "prediction", "label"])
    has_label = np.fromiter((not _is_missing(v) for v in joined["label"]), bool, len(joined))
    if not has_label.any():
        return None
    scored = _encode(joined, np.flatnonzero(has_label), task, classes)
    metrics = _metrics(task, scored, slice(None)) if scored.positions.size else {}
    kept = {
        name: float(value)
        for name, value in promised.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    comparisons = _compare(metrics, kept, tolerance) if scored.positions.size >= min_rows else ()
    times = pd.to_datetime(joined["timestamp"], utc=True)
    return QualityReport(
        task=task,
        labelled_rows=int(scored.positions.size),
        unlabelled_rows=int(len(joined) - has_label.sum()),
        unusable_rows=scored.unusable,
        unusable_examples=scored.examples,
        metrics=metrics,
        promised=kept,
        comparisons=comparisons,
        degraded=any(comparison.degraded for comparison in comparisons),
        windows=_windows(task, scored, times, step, min_rows),
    )


def join_labels(
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    id_column: str = "request_id",
    label_column: str = "label",
) -> pd.DataFrame:
    """Return ``predictions`` with ``label`` and ``labelled_at`` from a labelled file's rows.

    Joined on (``request_id``, ``row``), as ``join_feedback`` does; a labelled file without a
    ``row`` column labels each request's first record (as feedback without ``row`` does). When
    a record is labelled twice the later line counts. Existing ``label`` and ``labelled_at``
    columns are replaced; ``labelled_at`` is NaT (a file does not say when it was labelled).

    Raises:
        DataError: A frame lacks a join column, or ``row`` holds values that are not integers.
    """
    import pandas as pd

    _require_columns(predictions, ["request_id", "row"], what="The predictions")
    _require_columns(labels, [id_column, label_column], what="The labelled file")
    try:
        rows = pd.to_numeric(labels["row"]) if "row" in labels else 0
        keys = pd.DataFrame(
            {
                "request_id": labels[id_column].astype(str),
                "row": pd.Series(rows, index=labels.index).fillna(0).astype("int64"),
                "label": labels[label_column].astype(object),
            }
        )
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"The labelled file's 'row' column must hold record positions (0, 1, ...): {exc}. "
            "Fix those values, or drop the column to label each request's first record."
        ) from exc
    keys = keys.drop_duplicates(["request_id", "row"], keep="last")
    base = predictions.drop(columns=["label", "labelled_at"], errors="ignore")
    base = base.assign(request_id=base["request_id"].astype(str), row=base["row"].astype("int64"))
    joined = base.merge(keys, on=["request_id", "row"], how="left", validate="many_to_one")
    joined["label"] = joined["label"].astype(object).where(joined["label"].notna(), None)
    joined["labelled_at"] = pd.Series(pd.NaT, index=joined.index, dtype="datetime64[us, UTC]")
    return joined


# --- encoding labels, predictions and probabilities --------------------------------------------


def _encode(
    joined: pd.DataFrame, labelled: NDArray[np.intp], task: str, classes: Sequence[Any] | None
) -> _Scored:
    labels = joined["label"].to_numpy(dtype=object)[labelled]
    predictions = joined["prediction"].to_numpy(dtype=object)[labelled]
    if task == "regression":
        return _encode_values(labels, predictions, labelled)
    probabilities = (
        joined["probabilities"].to_numpy(dtype=object)[labelled]
        if "probabilities" in joined
        else np.full(labelled.size, None, dtype=object)
    )
    known = _resolve_classes(classes, probabilities, predictions, labels)
    index = _ClassFinder(known)
    problems: dict[str, int] = {}
    keep, truth, predicted = [], [], []
    for position, (label, prediction) in enumerate(zip(labels, predictions, strict=True)):
        true_class, predicted_class = index.find(label), index.find(prediction)
        if true_class is None:
            _count(problems, f"label {describe(label)} is not a class of {describe(known)}")
        elif predicted_class is None:
            _count(problems, f"prediction {describe(prediction)} is not a class")
        else:
            keep.append(position)
            truth.append(true_class)
            predicted.append(predicted_class)
    kept = np.asarray(keep, dtype=np.intp)
    score = _scores(probabilities[kept], index, len(known))
    if score is not None and task == "binary_classification":
        score = score[:, 1]  # the positive class is the second
    return _Scored(
        truth=np.asarray(truth, dtype=np.int64),
        predicted=np.asarray(predicted, dtype=np.int64),
        score=score,
        positions=labelled[kept],
        n_classes=len(known),
        unusable=sum(problems.values()),
        examples=tuple(list(problems)[:MAX_EXAMPLES]),
    )


def _encode_values(
    labels: NDArray[Any], predictions: NDArray[Any], labelled: NDArray[np.intp]
) -> _Scored:
    problems: dict[str, int] = {}
    keep, truth, predicted = [], [], []
    for position, (label, prediction) in enumerate(zip(labels, predictions, strict=True)):
        true_value, predicted_value = _number(label), _number(prediction)
        if true_value is None:
            _count(problems, f"label {describe(label)} is not a finite number")
        elif predicted_value is None:
            _count(problems, f"prediction {describe(prediction)} is not a finite number")
        else:
            keep.append(position)
            truth.append(true_value)
            predicted.append(predicted_value)
    return _Scored(
        truth=np.asarray(truth, dtype=np.float64),
        predicted=np.asarray(predicted, dtype=np.float64),
        score=None,
        positions=labelled[np.asarray(keep, dtype=np.intp)],
        n_classes=0,
        unusable=sum(problems.values()),
        examples=tuple(list(problems)[:MAX_EXAMPLES]),
    )


def _resolve_classes(
    classes: Sequence[Any] | None,
    probabilities: NDArray[Any],
    predictions: NDArray[Any],
    labels: NDArray[Any],
) -> tuple[Any, ...]:
    if classes is not None:
        return tuple(classes)
    for logged in probabilities:
        if isinstance(logged, Mapping) and logged:
            return tuple(logged)
    seen: dict[_ClassKey, Any] = {}
    for value in (*predictions, *labels):
        key = _key(value)
        if key is not None:
            seen.setdefault(key, value)
    return tuple(seen[key] for key in sorted(seen, key=repr))


class _ClassFinder:
    """Finds the position of the class a logged value reads as, remembering each answer."""

    def __init__(self, classes: tuple[Any, ...]) -> None:
        self._index: dict[_ClassKey, int] = {}
        for position, value in enumerate(classes):
            key = _key(value)
            if key is None or key in self._index:
                raise DataError(
                    f"The classes {describe(classes)} cannot be told apart once logged as JSON "
                    f"(class {value!r}). Pass classes=estimator.classes_ with distinct labels."
                )
            self._index[key] = position
        self._seen: dict[tuple[type, Any], int | None] = {}

    def find(self, value: Any) -> int | None:
        """Return the position of ``value``'s class, or None when it names none."""
        try:
            return self._seen[(type(value), value)]
        except KeyError:
            pass
        except TypeError:  # unhashable, such as a list: never a class
            return None
        key = _key(value)
        found = None if key is None else self._index.get(key)
        if len(self._seen) < MAX_REMEMBERED:
            self._seen[(type(value), value)] = found
        return found


def _scores(
    probabilities: NDArray[Any], index: _ClassFinder, n_classes: int
) -> NDArray[np.float64] | None:
    """The probability matrix in class order; None unless every row gives every class."""
    if probabilities.size == 0:
        return None
    matrix = np.full((probabilities.size, n_classes), np.nan)
    for row, logged in enumerate(probabilities):
        if not isinstance(logged, Mapping):
            return None
        for name, value in logged.items():
            column = index.find(name)
            if column is None or not isinstance(value, int | float):
                return None
            matrix[row, column] = value
    if not np.isfinite(matrix).all():
        return None
    sums = matrix.sum(axis=1, keepdims=True)
    # logged float32 probabilities sum to 1 only up to their precision
    normalised: NDArray[np.float64] = np.divide(matrix, sums, out=matrix, where=sums > 0)
    return normalised


def _key(value: Any) -> _ClassKey | None:
    """Return what a label reads as, so 1, 1.0 and "1" (or True and "true") are one class."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", float(value)) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("true", "false"):
            return ("bool", text.lower() == "true")
        number = _number(text)
        return ("number", number) if number is not None else ("text", value)
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN and NaT are not equal to themselves
    except (TypeError, ValueError):  # pandas.NA refuses to be a bool; arrays compare per item
        return value is not None and type(value).__name__ == "NAType"


def _count(problems: dict[str, int], problem: str) -> None:
    problems[problem] = problems.get(problem, 0) + 1


# --- metrics, comparisons, windows -------------------------------------------------------------


def _metrics(task: str, scored: _Scored, rows: slice | NDArray[np.bool_]) -> dict[str, float]:
    score = None if scored.score is None else scored.score[rows]
    labels = list(range(scored.n_classes)) if task != "regression" else None
    return compute_metrics(
        task, scored.truth[rows], y_pred=scored.predicted[rows], y_score=score, labels=labels
    )


def _compare(
    observed: Mapping[str, float], promised: Mapping[str, float], tolerance: float
) -> tuple[MetricComparison, ...]:
    comparisons = []
    for metric, value in observed.items():
        target = promised.get(metric)
        if target is None or not math.isfinite(target):
            continue
        allowed = tolerance * abs(target) if metric in RELATIVE_TOLERANCE_METRICS else tolerance
        higher = is_higher_better(metric)
        change = value - target
        comparisons.append(
            MetricComparison(
                metric=metric,
                promised=target,
                observed=value,
                change=change,
                tolerance=allowed,
                higher_is_better=higher,
                degraded=(change < -allowed) if higher else (change > allowed),
            )
        )
    return tuple(comparisons)


def _windows(
    task: str, scored: _Scored, times: pd.Series, step: np.timedelta64, min_rows: int
) -> tuple[QualityWindow, ...]:
    import pandas as pd

    stamps = times.to_numpy(dtype="datetime64[ns]")
    present = ~np.isnat(stamps)
    if not present.any():
        return ()
    origin = stamps[present].min().astype("datetime64[D]").astype("datetime64[ns]")
    step_ns = step.astype("timedelta64[ns]")
    slots = np.full(stamps.size, -1, dtype=np.int64)
    slots[present] = (stamps[present] - origin) // step_ns
    scored_slots = slots[scored.positions]
    windows = []
    for slot in np.unique(slots[present]):
        rows = scored_slots == slot
        count = int(rows.sum())
        start = pd.Timestamp(origin + slot * step_ns, tz="UTC").to_pydatetime()
        windows.append(
            QualityWindow(
                start=start,
                end=start + pd.Timedelta(step_ns).to_pytimedelta(),
                rows=count,
                metrics=_metrics(task, scored, rows) if count >= max(min_rows, 1) else {},
            )
        )
    return tuple(windows)


# --- checks ------------------------------------------------------------------------------------


def _check_task(task: str) -> None:
    if task not in TASK_METRICS:
        known = ", ".join(TASK_METRICS)
        hint = did_you_mean(task, TASK_METRICS)
        raise ConfigValueError([f"task {task!r} is unknown.{hint} Use one of: {known}."])


def _window_length(freq: str) -> np.timedelta64:
    import pandas as pd

    try:
        length = pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    except (TypeError, ValueError) as exc:
        raise ConfigValueError(
            [f"freq={freq!r} is not a fixed window length. Use one such as '1D', '12h' or '7D'."]
        ) from exc
    if length <= pd.Timedelta(0):
        raise ConfigValueError([f"freq={freq!r} must be a positive length, such as '1D'."])
    return np.timedelta64(length.value, "ns")


def _check_numbers(*, tolerance: float, min_rows: int) -> None:
    problems = []
    if not (math.isfinite(tolerance) and tolerance >= 0):
        problems.append(f"tolerance={tolerance!r} must be a number >= 0; 0.05 is usual.")
    if min_rows < 1:
        problems.append(f"min_rows={min_rows!r} must be at least 1; 30 is usual.")
    if problems:
        raise ConfigValueError(problems)


def _require_columns(frame: Any, needed: Sequence[str], *, what: str = "The frame") -> None:
    columns = list(getattr(frame, "columns", ()))
    missing = [name for name in needed if name not in columns]
    if missing:
        raise DataError(
            f"{what} lacks the columns {missing!r} (it has {describe(columns)}). Pass the "
            "predictions joined with their labels (join_feedback or join_labels)."
        )


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
