"""Metric values match hand computation and scikit-learn; undefined metrics are left out."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from modelyard.errors import TrainingError
from modelyard.evaluation.metrics import (
    HIGHER_IS_BETTER,
    PRIMARY_METRIC,
    TASK_METRICS,
    compute_metrics,
    is_higher_better,
)

from .conftest import Predictions


def test_binary_metrics_match_hand_computation() -> None:
    y_true = [0, 0, 1, 1]
    y_score = [0.1, 0.4, 0.35, 0.8]
    found = compute_metrics("binary_classification", y_true, y_pred=[0, 0, 0, 1], y_score=y_score)

    expected_log_loss = -(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4
    assert found == pytest.approx(
        {
            "roc_auc": 0.75,  # 3 of the 4 positive-negative pairs are ordered right
            "pr_auc": 0.5 * 1.0 + 0.5 * 2 / 3,
            "log_loss": expected_log_loss,
            "brier": (0.01 + 0.16 + 0.4225 + 0.04) / 4,
            "accuracy": 0.75,
            "f1": 2 / 3,
            "precision": 1.0,
            "recall": 0.5,
        }
    )
    assert list(found) == list(TASK_METRICS["binary_classification"])


def test_binary_metrics_match_sklearn(binary: Predictions) -> None:
    found = compute_metrics(
        "binary_classification", binary.y_true, y_pred=binary.y_pred, y_score=binary.y_score
    )

    assert binary.y_score is not None
    assert found["roc_auc"] == pytest.approx(skm.roc_auc_score(binary.y_true, binary.y_score))
    assert found["pr_auc"] == pytest.approx(
        skm.average_precision_score(binary.y_true, binary.y_score)
    )
    assert found["f1"] == pytest.approx(skm.f1_score(binary.y_true, binary.y_pred))


def test_binary_accepts_predict_proba_columns_and_named_labels(binary: Predictions) -> None:
    assert binary.y_score is not None
    names = np.array(["on_time", "late"])
    as_numbers = compute_metrics(
        "binary_classification", binary.y_true, y_pred=binary.y_pred, y_score=binary.y_score
    )

    as_names = compute_metrics(
        "binary_classification",
        names[binary.y_true],
        y_pred=names[binary.y_pred],
        y_score=np.column_stack([1 - binary.y_score, binary.y_score]),
        labels=["on_time", "late"],
    )

    assert as_names == pytest.approx(as_numbers)


def test_multiclass_metrics_match_sklearn(multiclass: Predictions) -> None:
    found = compute_metrics(
        "multiclass_classification",
        multiclass.y_true,
        y_pred=multiclass.y_pred,
        y_score=multiclass.y_score,
    )

    assert found == pytest.approx(
        {
            "accuracy": skm.accuracy_score(multiclass.y_true, multiclass.y_pred),
            "f1_macro": skm.f1_score(multiclass.y_true, multiclass.y_pred, average="macro"),
            "log_loss": skm.log_loss(multiclass.y_true, multiclass.y_score),
            "roc_auc_ovr": skm.roc_auc_score(
                multiclass.y_true, multiclass.y_score, multi_class="ovr"
            ),
        }
    )


def test_multiclass_without_scores_has_label_metrics_only(multiclass: Predictions) -> None:
    found = compute_metrics(
        "multiclass_classification", multiclass.y_true, y_pred=multiclass.y_pred
    )

    assert list(found) == ["accuracy", "f1_macro"]


def test_regression_metrics_match_hand_computation() -> None:
    found = compute_metrics("regression", [1.0, 2.0, 3.0, 4.0], y_pred=[1.0, 2.0, 3.0, 5.0])

    assert found == pytest.approx({"rmse": 0.5, "mae": 0.25, "r2": 0.8, "mape": 0.0625})


@pytest.mark.parametrize(
    ("task", "y_true", "y_pred", "y_score", "labels", "absent"),
    [
        pytest.param(
            "binary_classification",
            [0, 0, 0],
            [0, 1, 0],
            [0.1, 0.7, 0.2],
            None,
            {"roc_auc", "pr_auc"},
            id="binary-only-negatives",
        ),
        pytest.param(
            "binary_classification",
            [1, 1, 1],
            [1, 1, 1],
            [0.9, 0.8, 0.7],
            None,
            {"roc_auc", "pr_auc"},
            id="binary-only-positives",
        ),
        pytest.param(
            "binary_classification",
            [0, 1, 1],
            [0, 1, 1],
            None,
            None,
            {"roc_auc", "pr_auc", "log_loss", "brier"},
            id="binary-no-scores",
        ),
        pytest.param(
            "multiclass_classification",
            ["a", "b", "a"],
            ["a", "b", "b"],
            [[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.4, 0.5, 0.1]],
            ["a", "b", "c"],
            {"roc_auc_ovr"},
            id="multiclass-class-missing-from-test",
        ),
        pytest.param(
            "regression", [3.0, 3.0, 3.0], [2.0, 3.0, 4.0], None, None, {"r2"}, id="constant-target"
        ),
        pytest.param(
            "regression", [0.0, 1.0, 2.0], [0.5, 1.0, 2.0], None, None, {"mape"}, id="zero-target"
        ),
        pytest.param("regression", [5.0], [4.0], None, None, {"r2"}, id="single-row"),
    ],
)
def test_undefined_metrics_are_left_out_without_warning(
    task: str,
    y_true: list[Any],
    y_pred: list[Any],
    y_score: list[Any] | None,
    labels: list[str] | None,
    absent: set[str],
) -> None:
    found = compute_metrics(task, y_true, y_pred=y_pred, y_score=y_score, labels=labels)

    assert set(found) == set(TASK_METRICS[task]) - absent
    assert all(math.isfinite(value) for value in found.values())


def test_zero_division_counts_zero() -> None:
    found = compute_metrics("binary_classification", [0, 0, 0, 0], y_pred=[0, 0, 0, 0])

    assert found == {"accuracy": 1.0, "f1": 0.0, "precision": 0.0, "recall": 0.0}


@pytest.mark.parametrize("positive_share", [0.0, 0.02, 0.5, 1.0])
@pytest.mark.parametrize("predicted_share", [0.0, 0.03, 0.5, 1.0])
def test_label_metrics_are_sklearns_to_the_last_bit(
    positive_share: float, predicted_share: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    y_true = (rng.random(997) < positive_share).astype(int)
    y_pred = (rng.random(997) < predicted_share).astype(int)

    found = compute_metrics("binary_classification", y_true, y_pred=y_pred)

    assert found == {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "f1": skm.f1_score(y_true, y_pred, zero_division=0.0),
        "precision": skm.precision_score(y_true, y_pred, zero_division=0.0),
        "recall": skm.recall_score(y_true, y_pred, zero_division=0.0),
    }


def test_direction_table_covers_every_metric_of_every_task() -> None:
    every_metric = {name for names in TASK_METRICS.values() for name in names}

    assert set(HIGHER_IS_BETTER) == every_metric
    assert set(PRIMARY_METRIC.values()) <= every_metric


@pytest.mark.parametrize(
    ("metric", "higher"),
    [
        pytest.param("roc_auc", True, id="roc_auc"),
        pytest.param("log_loss", False, id="log_loss"),
        pytest.param("brier", False, id="brier"),
        pytest.param("r2", True, id="r2"),
        pytest.param("rmse", False, id="rmse"),
        pytest.param("mape", False, id="mape"),
    ],
)
def test_is_higher_better(metric: str, higher: bool) -> None:
    assert is_higher_better(metric) is higher


def test_unknown_metric_suggests_the_closest() -> None:
    with pytest.raises(TrainingError, match=r"Unknown metric 'roc_acu'\. Did you mean 'roc_auc'\?"):
        is_higher_better("roc_acu")


@pytest.mark.parametrize(
    ("task", "y_true", "y_pred", "y_score", "pattern"),
    [
        pytest.param(
            "regresion",
            [1.0],
            [1.0],
            None,
            r"Unknown task 'regresion'\. Did you mean 'regression'\?",
            id="unknown-task",
        ),
        pytest.param(
            "regression",
            [1.0, 2.0],
            [1.0],
            None,
            r"differ in length \(y_true=2, y_pred=1\)",
            id="length-mismatch",
        ),
        pytest.param("regression", [], [], None, r"y_true is empty: there are no rows", id="empty"),
        pytest.param(
            "regression",
            [1.0, float("nan")],
            [1.0, 2.0],
            None,
            r"y_true holds 1 missing or infinite values",
            id="nan-target",
        ),
        pytest.param(
            "binary_classification",
            ["no", "no"],
            ["no", "no"],
            None,
            r"Cannot tell the positive class .* Pass labels=estimator\.classes_",
            id="positive-class-unknown",
        ),
        pytest.param(
            "binary_classification",
            [0, 1],
            [0, 1],
            [-1.2, 3.4],
            r"outside \[0, 1\] .* not decision scores",
            id="decision-scores",
        ),
        pytest.param(
            "multiclass_classification",
            ["a", "b"],
            ["a", "b"],
            [[0.5, 0.3, 0.2], [0.1, 0.8, 0.1]],
            r"y_score has 3 columns but the data shows 2 classes",
            id="score-columns-unnamed",
        ),
        pytest.param(
            "multiclass_classification",
            ["a", "b"],
            ["a", "b"],
            [[0.5, 0.3], [0.1, 0.8]],
            r"rows must sum to 1",
            id="not-probabilities",
        ),
    ],
)
def test_bad_inputs_say_what_and_how_to_fix(
    task: str,
    y_true: list[Any],
    y_pred: list[Any],
    y_score: list[Any] | None,
    pattern: str,
) -> None:
    with pytest.raises(TrainingError, match=pattern):
        compute_metrics(task, y_true, y_pred=y_pred, y_score=y_score)


def test_labels_outside_the_classes_are_named() -> None:
    with pytest.raises(TrainingError, match=r"y_pred holds labels \['d'\] that are not among"):
        compute_metrics(
            "multiclass_classification", ["a", "b"], y_pred=["a", "d"], labels=["a", "b", "c"]
        )
