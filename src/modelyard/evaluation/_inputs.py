"""Validate and normalise the arrays every evaluation function takes.

Classification labels are reduced to what the metrics need: for a binary task, 0/1 indicators
of the positive class and its probability; for a multiclass task, the labels in the column order
of the probability matrix (the estimator's ``classes_``).
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from modelyard.errors import TrainingError, describe, did_you_mean

TASKS = ("binary_classification", "multiclass_classification", "regression")
# predict_proba rows sum to one up to float error; anything further off is not a probability
PROBABILITY_TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class ClassifierOutputs:
    """Checked classifier outputs on one dataset.

    Attributes:
        y_true: True labels; for a binary task, 1 for the positive class and 0 otherwise.
        y_pred: Predicted labels, encoded like ``y_true``.
        proba: Positive-class probabilities (binary), the probability matrix (multiclass), or
            None when no scores were given.
        labels: The class labels, in the column order of the probability matrix.
    """

    y_true: NDArray[Any]
    y_pred: NDArray[Any]
    proba: NDArray[np.float64] | None
    labels: tuple[Any, ...]


def check_task(task: str) -> str:
    """Return ``task`` if modelyard knows it, else raise with the closest known task."""
    if task not in TASKS:
        raise TrainingError(
            f"Unknown task {task!r}.{did_you_mean(task, TASKS)} Use one of: {', '.join(TASKS)}."
        )
    return task


def as_vector(name: str, values: ArrayLike) -> NDArray[Any]:
    """Return ``values`` as a non-empty 1-D array; a single column is flattened."""
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise TrainingError(
            f"{name} must be one value per row, got an array of shape {array.shape}. "
            "Pass a 1-D array or a single column."
        )
    if array.size == 0:
        raise TrainingError(f"{name} is empty: there are no rows to evaluate.")
    return array


def check_same_length(**arrays: Sized | None) -> int:
    """Return the common number of rows of ``arrays`` (None ones ignored), or raise."""
    lengths = {name: len(array) for name, array in arrays.items() if array is not None}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise TrainingError(
            f"Inputs differ in length ({shown}). Pass one value (or score row) per row."
        )
    return next(iter(lengths.values()))


def check_no_missing(name: str, array: NDArray[Any]) -> None:
    """Raise when ``array`` holds None, NaN or infinities."""
    if array.dtype.kind in "fc":
        bad = int(np.count_nonzero(~np.isfinite(array)))
    elif array.dtype.kind == "O":
        bad = sum(1 for value in array if _is_missing(value))
    else:
        bad = 0
    if bad:
        raise TrainingError(
            f"{name} holds {bad} missing or infinite values. Drop those rows (or fill them) "
            "before evaluating."
        )


def prepare_regression(
    y_true: ArrayLike, y_pred: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return ``y_true`` and ``y_pred`` as equal-length finite float arrays."""
    true = _as_float_vector("y_true", y_true)
    pred = _as_float_vector("y_pred", y_pred)
    check_same_length(y_true=true, y_pred=pred)
    return true, pred


def resolve_labels(
    task: str,
    y_true: ArrayLike,
    y_pred: ArrayLike,
    y_score: ArrayLike | None = None,
    labels: Sequence[Any] | None = None,
) -> tuple[Any, ...] | None:
    """Return the class labels in score-column order; None for regression.

    Args:
        task: The task name.
        y_true: True labels.
        y_pred: Predicted labels.
        y_score: Scores, used only to check the number of columns.
        labels: The estimator's ``classes_``; when None, ``(0, 1)`` for binary 0/1 (or bool)
            labels, otherwise the sorted distinct labels of ``y_true`` and ``y_pred``.
    """
    if check_task(task) == "regression":
        return None
    if labels is not None:
        return tuple(label.item() if isinstance(label, np.generic) else label for label in labels)
    true, pred = as_vector("y_true", y_true), as_vector("y_pred", y_pred)
    check_no_missing("y_true", true)
    check_no_missing("y_pred", pred)
    seen = _distinct(np.concatenate([true, pred]))
    if task == "binary_classification":
        if set(seen) <= {0, 1}:
            return (0, 1)
        if len(seen) == 2:
            return seen
        raise TrainingError(
            f"Cannot tell the positive class of a binary task from labels {describe(seen)}. "
            "Pass labels=estimator.classes_ (the positive class second)."
        )
    score = None if y_score is None else np.asarray(y_score)
    if score is not None and score.ndim == 2 and score.shape[1] != len(seen):
        raise TrainingError(
            f"y_score has {score.shape[1]} columns but the data shows {len(seen)} classes "
            f"{describe(seen)}. Pass labels=estimator.classes_ to name the score columns."
        )
    return seen


def prepare_classification(
    task: str,
    y_true: ArrayLike,
    *,
    y_pred: ArrayLike,
    y_score: ArrayLike | None,
    labels: Sequence[Any] | None,
) -> ClassifierOutputs:
    """Check classifier outputs and encode them for the metrics (see ``ClassifierOutputs``)."""
    classes = resolve_labels(task, y_true, y_pred, y_score, labels) or ()
    true, pred = as_vector("y_true", y_true), as_vector("y_pred", y_pred)
    known = set(classes)
    for name, array in (("y_true", true), ("y_pred", pred)):
        check_no_missing(name, array)
        unknown = [value for value in _distinct(array) if value not in known]
        if unknown:
            raise TrainingError(
                f"{name} holds labels {describe(unknown)} that are not among the classes "
                f"{describe(classes)}. Pass labels=estimator.classes_."
            )
    proba = None if y_score is None else _as_proba(task, y_score, len(classes))
    check_same_length(y_true=true, y_pred=pred, y_score=proba)
    if task == "binary_classification":
        if len(classes) != 2:
            raise TrainingError(
                f"A binary task needs exactly two labels, got {describe(classes)}. "
                "Pass labels=(negative, positive)."
            )
        true = (true == classes[1]).astype(np.int64)
        pred = (pred == classes[1]).astype(np.int64)
    return ClassifierOutputs(y_true=true, y_pred=pred, proba=proba, labels=classes)


def _as_proba(task: str, y_score: ArrayLike, n_classes: int) -> NDArray[np.float64]:
    score = np.asarray(y_score, dtype=np.float64)
    if task == "binary_classification" and score.ndim == 2 and score.shape[1] in (1, 2):
        score = score[:, -1]  # predict_proba output: the positive class is the last column
    expected = "1-D" if task == "binary_classification" else f"(rows, {n_classes})"
    actual_ok = score.ndim == 1 if task == "binary_classification" else score.ndim == 2
    if not actual_ok or (score.ndim == 2 and score.shape[1] != n_classes):
        raise TrainingError(
            f"y_score has shape {score.shape}, expected {expected} probabilities. "
            "Pass estimator.predict_proba(X) (for binary, its positive-class column)."
        )
    check_no_missing("y_score", score)
    if score.min() < 0.0 or score.max() > 1.0:
        raise TrainingError(
            f"y_score holds values outside [0, 1] (min {score.min():.4g}, max "
            f"{score.max():.4g}). Pass probabilities (predict_proba), not decision scores."
        )
    if score.ndim == 2:
        sums = score.sum(axis=1)
        if not np.allclose(sums, 1.0, atol=PROBABILITY_TOLERANCE):
            raise TrainingError(
                f"y_score rows must sum to 1, one sums to {sums[np.argmax(abs(sums - 1))]:.6g}. "
                "Pass estimator.predict_proba(X)."
            )
        score = score / sums[:, None]  # drop float error so sklearn does not warn
    return score


def _as_float_vector(name: str, values: ArrayLike) -> NDArray[np.float64]:
    array = as_vector(name, values)
    try:
        floats = array.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise TrainingError(
            f"{name} must be numbers for a regression task, got {describe(array[:5].tolist())}."
            " Check the task in modelyard.yaml."
        ) from exc
    check_no_missing(name, floats)
    return floats


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN and NaT are not equal to themselves
    except TypeError:  # pandas.NA refuses to be a bool
        return True


def _distinct(array: NDArray[Any]) -> tuple[Any, ...]:
    try:
        return tuple(np.unique(array).tolist())
    except TypeError:  # mixed types cannot be sorted; keep first-seen order
        return tuple(dict.fromkeys(array.tolist()))
