"""Score a fitted model on validation rows, by metric name or with a callable.

A scorer is called as ``scorer(y_true, fitted_model, X)`` and returns one float. The metric
table maps each name to such a scorer and to the direction that makes a score better.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from modelyard.errors import TrainingError, did_you_mean

Direction = Literal["maximize", "minimize"]
"""Whether a higher (``maximize``) or a lower (``minimize``) score is better."""

Scorer = Callable[[Any, Any, Any], float]
"""``scorer(y_true, fitted_model, X) -> score``."""

DIRECTIONS: tuple[str, ...] = get_args(Direction)


@dataclass(frozen=True, slots=True)
class Metric:
    """A named scorer and the direction in which its score improves."""

    name: str
    direction: Direction
    scorer: Scorer


def _probabilities(model: Any, x: Any, metric: str) -> tuple[np.ndarray, np.ndarray]:
    if not hasattr(model, "predict_proba"):
        raise TrainingError(
            f"Metric {metric!r} needs predicted probabilities, and {type(model).__name__!r} has "
            "no predict_proba. Pick 'accuracy' or 'f1_macro', or a probabilistic classifier."
        )
    return np.asarray(model.predict_proba(x)), np.asarray(model.classes_)


def _roc_auc(y_true: Any, model: Any, x: Any) -> float:
    from sklearn.metrics import roc_auc_score

    proba, classes = _probabilities(model, x, "roc_auc")
    if len(classes) == 2:
        return float(roc_auc_score(y_true, proba[:, 1]))
    return float(roc_auc_score(y_true, proba, multi_class="ovr", labels=classes))


def _pr_auc(y_true: Any, model: Any, x: Any) -> float:
    from sklearn.metrics import average_precision_score
    from sklearn.preprocessing import label_binarize

    proba, classes = _probabilities(model, x, "pr_auc")
    if len(classes) == 2:
        return float(average_precision_score(y_true, proba[:, 1], pos_label=classes[1]))
    return float(average_precision_score(label_binarize(y_true, classes=classes), proba))


def _log_loss(y_true: Any, model: Any, x: Any) -> float:
    from sklearn.metrics import log_loss

    proba, classes = _probabilities(model, x, "log_loss")
    return float(log_loss(y_true, proba, labels=classes))


def _accuracy(y_true: Any, model: Any, x: Any) -> float:
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(y_true, model.predict(x)))


def _f1_macro(y_true: Any, model: Any, x: Any) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, model.predict(x), average="macro", zero_division=0.0))


def _rmse(y_true: Any, model: Any, x: Any) -> float:
    from sklearn.metrics import root_mean_squared_error

    return float(root_mean_squared_error(y_true, model.predict(x)))


def _mae(y_true: Any, model: Any, x: Any) -> float:
    from sklearn.metrics import mean_absolute_error

    return float(mean_absolute_error(y_true, model.predict(x)))


def _r2(y_true: Any, model: Any, x: Any) -> float:
    from sklearn.metrics import r2_score

    return float(r2_score(y_true, model.predict(x)))


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("roc_auc", "maximize", _roc_auc),
        Metric("pr_auc", "maximize", _pr_auc),
        Metric("log_loss", "minimize", _log_loss),
        Metric("accuracy", "maximize", _accuracy),
        Metric("f1_macro", "maximize", _f1_macro),
        Metric("rmse", "minimize", _rmse),
        Metric("mae", "minimize", _mae),
        Metric("r2", "maximize", _r2),
    )
}
"""The metrics known by name, in the order they are listed to users."""


def get_metric(name: str) -> Metric:
    """Return the metric called ``name``.

    Raises:
        TrainingError: No metric has that name.
    """
    try:
        return METRICS[name]
    except KeyError:
        raise TrainingError(
            f"Unknown metric {name!r}.{did_you_mean(name, METRICS)} "
            f"Use one of: {', '.join(METRICS)}, or pass a scorer function."
        ) from None


def resolve_scorer(scorer: str | Scorer, direction: str | None = None) -> tuple[Scorer, Direction]:
    """Return the scorer function and its direction, from a metric name or a callable.

    Args:
        scorer: A metric name from ``METRICS``, or ``scorer(y_true, fitted_model, X)``.
        direction: ``maximize`` or ``minimize``. Required with a callable; with a metric name,
            ``None`` takes the metric's own direction.

    Raises:
        TrainingError: The metric is unknown, the direction is missing or not a direction, or
            it contradicts the metric's direction.
    """
    if direction is not None and direction not in DIRECTIONS:
        raise TrainingError(
            f"Unknown direction {direction!r}.{did_you_mean(direction, DIRECTIONS)} "
            "Use 'maximize' or 'minimize'."
        )
    if isinstance(scorer, str):
        metric = get_metric(scorer)
        if direction is not None and direction != metric.direction:
            raise TrainingError(
                f"Metric {metric.name!r} is one to {metric.direction}, but "
                f"direction={direction!r} was given. Drop the direction, or set it to "
                f"{metric.direction!r}."
            )
        return metric.scorer, metric.direction
    if direction is None:
        raise TrainingError(
            f"A scorer function ({getattr(scorer, '__name__', repr(scorer))}) needs a direction. "
            "Pass direction='maximize' or direction='minimize'."
        )
    return scorer, "maximize" if direction == "maximize" else "minimize"
