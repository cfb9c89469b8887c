"""Metrics per task, and which direction is better for each.

``compute_metrics`` returns only the metrics that are defined on the data it gets; a metric that
is undefined is left out of the result rather than set to NaN, so every value is a finite float
that ``json.dumps`` and MLflow take as is. The rules:

- ``roc_auc`` and ``pr_auc`` need both classes in ``y_true``; ``roc_auc_ovr`` needs every class
  of the score matrix in ``y_true``. Otherwise they are left out.
- ``log_loss``, ``brier``, ``pr_auc``, ``roc_auc`` and ``roc_auc_ovr`` need ``y_score``
  (probabilities); without it they are left out.
- ``precision``, ``recall`` and ``f1`` count 0 where their denominator is 0 (no predicted or no
  true positives), as scikit-learn's ``zero_division=0``.
- ``r2`` needs at least two distinct values in ``y_true``; ``mape`` needs no zero in ``y_true``.
  ``mape`` is a fraction (0.1 is 10 %), as in scikit-learn.

No function here emits a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from modelyard.errors import TrainingError, did_you_mean
from modelyard.evaluation._inputs import (
    ClassifierOutputs,
    check_task,
    prepare_classification,
    prepare_regression,
)

HIGHER_IS_BETTER: dict[str, bool] = {
    "roc_auc": True,
    "pr_auc": True,
    "log_loss": False,
    "brier": False,
    "accuracy": True,
    "f1": True,
    "precision": True,
    "recall": True,
    "f1_macro": True,
    "roc_auc_ovr": True,
    "rmse": False,
    "mae": False,
    "r2": True,
    "mape": False,
}
"""Every metric ``compute_metrics`` can return -> whether a larger value is better."""

TASK_METRICS: dict[str, tuple[str, ...]] = {
    "binary_classification": (
        "roc_auc",
        "pr_auc",
        "log_loss",
        "brier",
        "accuracy",
        "f1",
        "precision",
        "recall",
    ),
    "multiclass_classification": ("accuracy", "f1_macro", "log_loss", "roc_auc_ovr"),
    "regression": ("rmse", "mae", "r2", "mape"),
}
"""Task -> the metrics it may report, in report order."""

PRIMARY_METRIC: dict[str, str] = {
    "binary_classification": "roc_auc",
    "multiclass_classification": "f1_macro",
    "regression": "r2",
}
"""Task -> the metric to rank models and compare slices by, unless the project names one."""


def is_higher_better(metric: str) -> bool:
    """Return whether a larger value of ``metric`` is better.

    Raises:
        TrainingError: ``metric`` is not a metric modelyard computes.
    """
    try:
        return HIGHER_IS_BETTER[metric]
    except KeyError:
        raise TrainingError(
            f"Unknown metric {metric!r}.{did_you_mean(metric, HIGHER_IS_BETTER)} "
            f"Known metrics: {', '.join(sorted(HIGHER_IS_BETTER))}."
        ) from None


def compute_metrics(
    task: str,
    y_true: ArrayLike,
    *,
    y_pred: ArrayLike,
    y_score: ArrayLike | None = None,
    labels: Sequence[Any] | None = None,
) -> dict[str, float]:
    """Compute the metrics of ``task`` that are defined on this data (see the module rules).

    Args:
        task: ``binary_classification``, ``multiclass_classification`` or ``regression``.
        y_true: True labels or values.
        y_pred: Predicted labels or values.
        y_score: Binary: the positive-class probability (a two-column ``predict_proba`` output
            also works). Multiclass: the probability matrix. Ignored for regression.
        labels: The estimator's ``classes_``, in score-column order. Needed only when the
            labels cannot be inferred: binary labels other than 0/1 that do not both occur, or a
            multiclass test set missing a class.

    Returns:
        Metric name -> value, in ``TASK_METRICS`` order.

    Raises:
        TrainingError: An unknown task, or inputs of the wrong shape, length or range.
    """
    if check_task(task) == "regression":
        return _regression_metrics(*prepare_regression(y_true, y_pred))
    outputs = prepare_classification(task, y_true, y_pred=y_pred, y_score=y_score, labels=labels)
    if task == "binary_classification":
        return _binary_metrics(outputs)
    return _multiclass_metrics(outputs)


def _binary_metrics(outputs: ClassifierOutputs) -> dict[str, float]:
    from sklearn import metrics as skm  # imported here: gates need only the directions

    true, pred, proba = outputs.y_true, outputs.y_pred, outputs.proba
    has_both_classes = np.unique(true).size == 2
    found: dict[str, float] = {}
    if proba is not None:
        if has_both_classes:
            found["roc_auc"] = skm.roc_auc_score(true, proba)
            found["pr_auc"] = skm.average_precision_score(true, proba)
        found["log_loss"] = skm.log_loss(true, proba, labels=[0, 1])
        found["brier"] = skm.brier_score_loss(true, proba, pos_label=1)
    found.update(_label_metrics(true, pred))
    return _ordered("binary_classification", found)


def _label_metrics(true: np.ndarray[Any, Any], pred: np.ndarray[Any, Any]) -> dict[str, float]:
    """Accuracy, f1, precision and recall of 0/1 labels from one count of each cell.

    The same divisions as scikit-learn's (``zero_division=0``), on exact integer counts, so the
    same floats; without its input checks, which cost more than the counting when slices call
    this dozens of times.
    """
    true_positive, predicted_positive = true == 1, pred == 1
    tp = int(np.count_nonzero(true_positive & predicted_positive))
    positives, predicted = (
        int(np.count_nonzero(true_positive)),
        int(np.count_nonzero(predicted_positive)),
    )
    return {
        "accuracy": np.count_nonzero(true == pred) / true.size,
        "f1": 2.0 * tp / (positives + predicted) if positives + predicted else 0.0,
        "precision": tp / predicted if predicted else 0.0,
        "recall": tp / positives if positives else 0.0,
    }


def _multiclass_metrics(outputs: ClassifierOutputs) -> dict[str, float]:
    from sklearn import metrics as skm  # imported here: gates need only the directions

    true, pred, proba, labels = outputs.y_true, outputs.y_pred, outputs.proba, outputs.labels
    found: dict[str, float] = {
        "accuracy": skm.accuracy_score(true, pred),
        "f1_macro": skm.f1_score(true, pred, average="macro", zero_division=0.0),
    }
    if proba is not None:
        found["log_loss"] = skm.log_loss(true, proba, labels=list(labels))
        if len({*true.tolist()}) == len(labels) == 2:  # sklearn wants 1-D scores then
            found["roc_auc_ovr"] = skm.roc_auc_score(true == labels[1], proba[:, 1])
        elif len({*true.tolist()}) == len(labels):
            found["roc_auc_ovr"] = skm.roc_auc_score(
                true, proba, multi_class="ovr", labels=list(labels)
            )
    return _ordered("multiclass_classification", found)


def _regression_metrics(true: np.ndarray[Any, Any], pred: np.ndarray[Any, Any]) -> dict[str, float]:
    from sklearn import metrics as skm

    found: dict[str, float] = {
        "rmse": skm.root_mean_squared_error(true, pred),
        "mae": skm.mean_absolute_error(true, pred),
    }
    if np.unique(true).size >= 2:
        found["r2"] = skm.r2_score(true, pred)
    if not np.any(true == 0.0):
        found["mape"] = skm.mean_absolute_percentage_error(true, pred)
    return _ordered("regression", found)


def _ordered(task: str, found: dict[str, float]) -> dict[str, float]:
    return {name: float(found[name]) for name in TASK_METRICS[task] if name in found}
