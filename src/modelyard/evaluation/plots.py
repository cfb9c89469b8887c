"""Evaluation plots as PNG files, and feature importances of a fitted pipeline.

Plots use matplotlib's object-oriented API (``Figure`` rendered by Agg), never pyplot, so they
work without a display and leave the global backend alone. A plot that is undefined on the data
is not written: ROC, PR and calibration need scores and both classes in ``y_true``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn import metrics as skm

from modelyard.evaluation._inputs import (
    ClassifierOutputs,
    check_task,
    prepare_classification,
    prepare_regression,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

TOP_IMPORTANCES = 20
MAX_POINTS = 5_000  # scatter plots subsample beyond this, with a fixed seed
LABEL_CHARS = 40

Draw = Callable[["Axes"], None]
_UNIT_AXES = frozenset({"roc", "pr", "calibration"})  # both axes 0-1: labels of known size


def write_plots(
    task: str,
    out_dir: Path,
    y_true: ArrayLike,
    *,
    y_pred: ArrayLike,
    y_score: ArrayLike | None = None,
    importances: Mapping[str, float] | None = None,
    labels: Sequence[Any] | None = None,
) -> list[Path]:
    """Write the evaluation plots of ``task`` into ``out_dir`` (created if missing).

    Classification: ``roc.png``, ``pr.png``, ``calibration.png`` (when ``y_score`` is given
    and ``y_true`` has every class) and ``confusion.png``. Regression: ``residuals.png`` and
    ``predicted_vs_actual.png``. Both: ``importance.png`` (the top 20 by absolute value) when
    ``importances`` is non-empty.

    Args:
        task: The task name, as for ``compute_metrics``.
        out_dir: The folder to write into; existing files of the same names are replaced.
        y_true: True labels or values.
        y_pred: Predictions.
        y_score: Probabilities as for ``compute_metrics``, or None.
        importances: Feature name -> importance, as from ``feature_importances``.
        labels: The estimator's ``classes_``, as for ``compute_metrics``.

    Returns:
        The paths written, in the order above.
    """
    plots: dict[str, tuple[str, Draw]] = {}
    if check_task(task) == "regression":
        true, pred = prepare_regression(y_true, y_pred)
        plots["residuals"] = ("Residuals", lambda ax: _residuals(ax, true, pred))
        plots["predicted_vs_actual"] = (
            "Predicted vs actual",
            lambda ax: _predicted_vs_actual(ax, true, pred),
        )
    else:
        outputs = prepare_classification(
            task, y_true, y_pred=y_pred, y_score=y_score, labels=labels
        )
        plots.update(_classification_plots(outputs, is_binary=task == "binary_classification"))
    if importances:
        top = sorted(importances.items(), key=lambda item: -abs(item[1]))[:TOP_IMPORTANCES]
        title = f"Feature importance (top {len(top)})"
        plots["importance"] = (title, lambda ax: _importance(ax, top))
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        _save(out_dir / f"{name}.png", title, draw, fit_labels=name not in _UNIT_AXES)
        for name, (title, draw) in plots.items()
    ]


def feature_importances(pipeline: Any, feature_names: Sequence[str]) -> dict[str, float]:
    """Return feature name -> importance of a fitted pipeline's final estimator.

    Reads ``feature_importances_`` or, for linear models, ``coef_`` (signed for one output,
    the mean absolute value over classes for several). A wrapped estimator with ``regressor_``
    (``TransformedTargetRegressor``) is unwrapped.

    Args:
        pipeline: A fitted scikit-learn ``Pipeline``, or a bare fitted estimator.
        feature_names: The input column names, used to name the transformed features via
            ``pipeline[:-1].get_feature_names_out``. When the steps cannot name their
            outputs, these names are used if the counts match, else ``x0``, ``x1``, ...

    Returns:
        Importances in feature order; empty when the estimator has neither attribute.
    """
    steps = getattr(pipeline, "steps", None)
    final = steps[-1][1] if steps else pipeline
    final = getattr(final, "regressor_", final)
    raw = getattr(final, "feature_importances_", None)
    if raw is None:
        raw = getattr(final, "coef_", None)
        if raw is None:
            return {}
        raw = np.asarray(raw, dtype=np.float64)
        if raw.ndim == 2:
            raw = raw[0] if raw.shape[0] == 1 else np.abs(raw).mean(axis=0)
    values = np.asarray(raw, dtype=np.float64).ravel()
    names = _output_names(pipeline, list(feature_names), steps)
    if len(names) != values.size:
        names = [f"x{index}" for index in range(values.size)]
    return {name: float(value) for name, value in zip(names, values, strict=True)}


def _output_names(pipeline: Any, names: list[str], steps: Any) -> list[str]:
    if not steps or len(steps) < 2:
        return names
    head = pipeline[:-1]
    # with the caller's names first: steps fitted on arrays would otherwise say x0, x1...
    for arguments in ((names,), ()):
        try:
            return [str(name) for name in head.get_feature_names_out(*arguments)]
        except (AttributeError, ValueError, TypeError):
            continue
    return names


def _classification_plots(
    outputs: ClassifierOutputs, *, is_binary: bool
) -> dict[str, tuple[str, Draw]]:
    plots: dict[str, tuple[str, Draw]] = {}
    true, proba, labels = outputs.y_true, outputs.proba, outputs.labels
    if proba is not None and len(set(true.tolist())) == len(labels):
        if proba.ndim == 1:
            curves = [("", true, proba)]
        else:
            curves = [(str(label), true == label, proba[:, i]) for i, label in enumerate(labels)]
        plots["roc"] = ("ROC curve", lambda ax: _roc(ax, curves))
        plots["pr"] = ("Precision-recall curve", lambda ax: _pr(ax, curves))
        confidence = proba if proba.ndim == 1 else proba.max(axis=1)
        hit = true if proba.ndim == 1 else outputs.y_pred == true
        plots["calibration"] = ("Calibration", lambda ax: _calibration(ax, hit, confidence))
    # binary outputs are 0/1 indicators of the positive class; multiclass keep their labels
    codes = [0, 1] if is_binary else list(labels)
    matrix = skm.confusion_matrix(true, outputs.y_pred, labels=codes)
    plots["confusion"] = ("Confusion matrix", lambda ax: _confusion(ax, matrix, labels))
    return plots


Curve = tuple[str, NDArray[Any], NDArray[np.float64]]


def _roc(ax: Axes, curves: list[Curve]) -> None:
    for name, true, score in curves:
        fpr, tpr, _ = skm.roc_curve(true, score)
        auc = skm.auc(fpr, tpr)
        ax.plot(fpr, tpr, label=f"{name} AUC {auc:.3f}".strip())
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.set(xlabel="False positive rate", ylabel="True positive rate")
    ax.legend(loc="lower right", fontsize="small")


def _pr(ax: Axes, curves: list[Curve]) -> None:
    for name, true, score in curves:
        precision, recall, _ = skm.precision_recall_curve(true, score)
        ap = skm.average_precision_score(true, score)
        ax.step(recall, precision, where="post", label=f"{name} AP {ap:.3f}".strip())
    ax.set(xlabel="Recall", ylabel="Precision", ylim=(0.0, 1.05))
    ax.legend(loc="lower left", fontsize="small")


def _calibration(ax: Axes, hit: NDArray[Any], confidence: NDArray[np.float64]) -> None:
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(hit, confidence, n_bins=10, strategy="quantile")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect")
    ax.plot(predicted, observed, marker="o", label="model")
    ax.set(xlabel="Predicted probability", ylabel="Observed frequency", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left", fontsize="small")


def _confusion(ax: Axes, matrix: NDArray[np.int64], shown: Sequence[Any]) -> None:
    ax.imshow(matrix, cmap="Blues")
    names = [_short(str(label)) for label in shown]
    ticks = np.arange(len(names))
    ax.set_xticks(ticks, labels=names, rotation=45, ha="right", parse_math=False)
    ax.set_yticks(ticks, labels=names, parse_math=False)
    ax.set(xlabel="Predicted", ylabel="Actual")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, col), count in np.ndenumerate(matrix):
        colour = "white" if count > threshold else "black"
        ax.text(col, row, str(count), ha="center", va="center", color=colour, fontsize="small")


def _residuals(ax: Axes, true: NDArray[np.float64], pred: NDArray[np.float64]) -> None:
    keep = _sample(true.size)
    ax.scatter(pred[keep], (true - pred)[keep], s=6, alpha=0.4)
    ax.axhline(0.0, color="grey", linestyle="--", linewidth=1)
    ax.set(xlabel="Predicted", ylabel="Actual - predicted")


def _predicted_vs_actual(ax: Axes, true: NDArray[np.float64], pred: NDArray[np.float64]) -> None:
    keep = _sample(true.size)
    ax.scatter(true[keep], pred[keep], s=6, alpha=0.4)
    low, high = float(min(true.min(), pred.min())), float(max(true.max(), pred.max()))
    ax.plot([low, high], [low, high], color="grey", linestyle="--", linewidth=1)
    ax.set(xlabel="Actual", ylabel="Predicted")


def _importance(ax: Axes, top: list[tuple[str, float]]) -> None:
    names = [_short(name) for name, _ in reversed(top)]
    values = [value for _, value in reversed(top)]
    colours = ["tab:blue" if value >= 0 else "tab:red" for value in values]
    ax.barh(np.arange(len(values)), values, color=colours)
    ax.set_yticks(np.arange(len(values)), labels=names, fontsize="small", parse_math=False)
    ax.set(xlabel="Importance")


def _save(path: Path, title: str, draw: Draw, *, fit_labels: bool) -> Path:
    from matplotlib.figure import Figure

    # the layout engine measures every label (a second draw pass); plots on 0-1 axes have
    # labels of known size and skip it, the others' labels are names or data-sized numbers
    figure = Figure(figsize=(6.4, 4.8), dpi=100, layout="constrained" if fit_labels else None)
    if not fit_labels:
        figure.subplots_adjust(left=0.13, right=0.97, bottom=0.1, top=0.93)
    axes = figure.subplots()
    with warnings.catch_warnings():
        # a feature name with characters the default font lacks only loses those glyphs
        warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
        draw(axes)
        axes.set_title(title)
        figure.savefig(path, format="png")
    return path


def _sample(size: int) -> NDArray[np.int64]:
    if size <= MAX_POINTS:
        return np.arange(size)
    return np.sort(np.random.default_rng(0).choice(size, MAX_POINTS, replace=False))


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"
