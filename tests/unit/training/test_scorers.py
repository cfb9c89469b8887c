"""The metric table: each name scores like scikit-learn and knows its direction."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn import metrics
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import LinearSVC

from modelyard.errors import TrainingError
from modelyard.training.scoring import METRICS, get_metric, resolve_scorer


@pytest.fixture
def classification(seed: int) -> tuple[LogisticRegression, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(80, 2))
    y = np.where(x[:, 0] + rng.normal(scale=0.8, size=80) > 0, "yes", "no")
    return LogisticRegression().fit(x, y), x, y


@pytest.fixture
def multiclass(seed: int) -> tuple[LogisticRegression, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(90, 2))
    y = np.digitize(x[:, 0] + rng.normal(scale=0.5, size=90), [-0.5, 0.5])
    return LogisticRegression().fit(x, y), x, y


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("roc_auc", lambda m, x, y: metrics.roc_auc_score(y == "yes", m.predict_proba(x)[:, 1]), id="roc_auc"),
        pytest.param("pr_auc", lambda m, x, y: metrics.average_precision_score(y == "yes", m.predict_proba(x)[:, 1]), id="pr_auc"),
        pytest.param("log_loss", lambda m, x, y: metrics.log_loss(y, m.predict_proba(x)), id="log_loss"),
        pytest.param("accuracy", lambda m, x, y: metrics.accuracy_score(y, m.predict(x)), id="accuracy"),
        pytest.param("f1_macro", lambda m, x, y: metrics.f1_score(y, m.predict(x), average="macro"), id="f1_macro"),
    ],
)  # fmt: skip
def test_classification_metrics_match_scikit_learn(
    name: str, expected: Any, classification: tuple[Any, np.ndarray, np.ndarray]
) -> None:
    model, x, y = classification

    assert get_metric(name).scorer(y, model, x) == pytest.approx(expected(model, x, y))


@pytest.mark.parametrize("name", ["roc_auc", "pr_auc", "log_loss", "accuracy", "f1_macro"])
def test_classification_metrics_score_three_classes(
    name: str, multiclass: tuple[Any, np.ndarray, np.ndarray]
) -> None:
    model, x, y = multiclass

    score = get_metric(name).scorer(y, model, x)

    assert np.isfinite(score)
    if get_metric(name).direction == "maximize":
        assert 0.5 < score <= 1.0


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("rmse", metrics.root_mean_squared_error, id="rmse"),
        pytest.param("mae", metrics.mean_absolute_error, id="mae"),
        pytest.param("r2", metrics.r2_score, id="r2"),
    ],
)
def test_regression_metrics_match_scikit_learn(name: str, expected: Any, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(50, 2))
    y = 3 * x[:, 0] + rng.normal(size=50)
    model = LinearRegression().fit(x, y)

    assert get_metric(name).scorer(y, model, x) == pytest.approx(expected(y, model.predict(x)))


def test_each_metric_has_its_direction() -> None:
    minimized = {name for name, metric in METRICS.items() if metric.direction == "minimize"}

    assert minimized == {"log_loss", "rmse", "mae"}
    assert set(METRICS) == {
        "roc_auc", "pr_auc", "log_loss", "accuracy", "f1_macro", "rmse", "mae", "r2",
    }  # fmt: skip


def test_probability_metric_needs_predict_proba(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(40, 2)), np.tile([0, 1], 20)
    model = LinearSVC().fit(x, y)

    with pytest.raises(TrainingError, match=r"'LinearSVC' has no predict_proba\. Pick 'accuracy'"):
        get_metric("roc_auc").scorer(y, model, x)


def test_resolve_scorer_takes_the_metric_direction() -> None:
    scorer, direction = resolve_scorer("rmse")

    assert scorer is METRICS["rmse"].scorer
    assert direction == "minimize"


def test_resolve_scorer_takes_a_function_with_a_direction() -> None:
    def score(y_true: Any, model: Any, features: Any) -> float:
        return 0.0

    assert resolve_scorer(score, "minimize") == (score, "minimize")


@pytest.mark.parametrize(
    ("scorer", "direction", "match"),
    [
        pytest.param("roc-auc", None, r"Unknown metric 'roc-auc'\. Did you mean 'roc_auc'\?", id="unknown-metric"),
        pytest.param("log_loss", "maximize", r"'log_loss' is one to minimize, but direction='maximize'", id="contradiction"),
        pytest.param("r2", "max", r"Unknown direction 'max'.*Use 'maximize' or 'minimize'", id="bad-direction"),
        pytest.param(len, None, r"A scorer function \(len\) needs a direction", id="function-without-direction"),
    ],
)  # fmt: skip
def test_resolve_scorer_rejects_what_it_cannot_use(
    scorer: Any, direction: str | None, match: str
) -> None:
    with pytest.raises(TrainingError, match=match):
        resolve_scorer(scorer, direction)
