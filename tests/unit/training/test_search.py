"""The hyper-parameter search: best params, pruning, failing trials, seeds, time, silence."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import optuna
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from modelyard.errors import SearchSpaceError, TrainingError
from modelyard.training.search import SearchResult, TrialRecord, search
from modelyard.training.validation import Fold, holdout_fold, make_folds

TREE_SPACE = {
    "max_depth": {"int": [1, 8]},
    "min_samples_leaf": {"int": [1, 30], "log": True},
    "criterion": {"categorical": ["gini", "entropy"]},
}


class Echo:
    """A model whose score is its parameter ``x``, so outcomes are known in advance."""

    def __init__(self, params: Mapping[str, Any], *, fit_seconds: float = 0.0) -> None:
        self.params = dict(params)
        self.fit_seconds = fit_seconds

    def fit(self, x: Any, y: Any) -> Echo:
        time.sleep(self.fit_seconds)
        return self


def echo_score(y_true: Any, model: Echo, features: Any) -> float:
    return float(model.params["x"])


def tree(params: Mapping[str, Any]) -> DecisionTreeClassifier:
    return DecisionTreeClassifier(random_state=0, **params)


def logistic(params: Mapping[str, Any]) -> LogisticRegression:
    return LogisticRegression(max_iter=1000, **params)


@pytest.fixture
def data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(150, 4))
    y = (x[:, 0] + x[:, 1] * x[:, 2] + rng.normal(scale=0.5, size=150) > 0).astype(int)
    return x, y


@pytest.fixture
def folds(data: tuple[np.ndarray, np.ndarray], seed: int) -> list[Fold]:
    return make_folds("kfold", len(data[1]), folds=3, seed=seed, stratify=data[1])


def without_durations(result: SearchResult) -> list[TrialRecord]:
    return [replace(trial, duration_s=0.0) for trial in result.trials]


def test_search_returns_the_best_trial_over_base_params(
    data: tuple[np.ndarray, np.ndarray], folds: list[Fold], seed: int
) -> None:
    x, y = data

    result = search(
        tree, {"max_depth": 99, "splitter": "best"}, TREE_SPACE, x, y, folds,
        scorer="roc_auc", trials=8, seed=seed,
    )  # fmt: skip

    values = [trial.value for trial in result.trials if trial.value is not None]
    assert result.direction == "maximize"
    assert result.best_value == max(values)
    assert result.best_trial.value == result.best_value
    assert result.best_params == {"splitter": "best", **result.best_trial.params}
    assert set(result.best_trial.params) == set(TREE_SPACE)
    assert [trial.number for trial in result.trials] == list(range(8))
    complete = [trial for trial in result.trials if trial.state == "complete"]
    assert len(complete) >= 5  # the pruner waits for five finished trials
    for trial in complete:
        assert len(trial.fold_scores) == 3
        assert trial.value == pytest.approx(np.mean(trial.fold_scores))


def test_search_minimizes_when_told(seed: int) -> None:
    result = search(
        Echo, {}, {"x": {"float": [0.0, 1.0]}}, np.zeros((4, 1)), np.zeros(4), [holdout_fold(2, 2)],
        scorer=echo_score, direction="minimize", trials=6, seed=seed,
    )  # fmt: skip

    assert result.direction == "minimize"
    assert result.best_value == min(trial.value or 1.0 for trial in result.trials)
    assert result.best_params == {"x": result.best_value}


def test_median_pruner_stops_trials_that_trail_after_a_fold(
    data: tuple[np.ndarray, np.ndarray], seed: int
) -> None:
    x, y = data
    folds = make_folds("kfold", len(y), folds=5, seed=seed, stratify=y)
    # Most of this range regularises the model flat, so most trials score a poor log loss.
    space = {"C": {"float": [1e-6, 100.0], "log": True}}

    result = search(logistic, {}, space, x, y, folds, scorer="log_loss", trials=16, seed=seed)

    pruned = [trial for trial in result.trials if trial.state == "pruned"]
    assert len(pruned) >= 3
    assert all(trial.value is None and trial.error is None for trial in pruned)
    assert all(1 <= len(trial.fold_scores) < 5 for trial in pruned)
    assert result.best_trial.state == "complete"
    assert len(result.best_trial.fold_scores) == 5


def test_failing_trials_are_recorded_and_the_search_goes_on(
    data: tuple[np.ndarray, np.ndarray], folds: list[Fold], seed: int
) -> None:
    x, y = data

    def deep_trees_fail(params: Mapping[str, Any]) -> DecisionTreeClassifier:
        if params["max_depth"] > 4:
            raise ValueError(f"boom at depth {params['max_depth']}")
        return tree(params)

    result = search(
        deep_trees_fail, {}, TREE_SPACE, x, y, folds, scorer="roc_auc", trials=10, seed=seed
    )

    failed = [trial for trial in result.trials if trial.state == "failed"]
    assert failed
    assert any(trial.state == "complete" for trial in result.trials)
    for trial in failed:
        assert trial.value is None
        assert trial.fold_scores == ()
        assert trial.params["max_depth"] > 4
        assert trial.error is not None
        assert f"ValueError: boom at depth {trial.params['max_depth']}" in trial.error
    assert result.best_params["max_depth"] <= 4


def test_search_raises_the_first_error_when_every_trial_fails(
    data: tuple[np.ndarray, np.ndarray], folds: list[Fold], seed: int
) -> None:
    x, y = data

    def broken(params: Mapping[str, Any]) -> DecisionTreeClassifier:
        raise RuntimeError("no GPU")

    with pytest.raises(
        TrainingError,
        match=r"No search trial completed: 3 of 3 failed\. The first failure \(trial 0\): Fold 1 of 3 .*RuntimeError: no GPU",
    ) as caught:
        search(broken, {}, TREE_SPACE, x, y, folds, scorer="roc_auc", trials=3, seed=seed)

    assert isinstance(caught.value.__cause__, TrainingError)
    assert isinstance(caught.value.__cause__.__cause__, RuntimeError)


def test_same_seed_gives_the_same_trials(
    data: tuple[np.ndarray, np.ndarray], folds: list[Fold], seed: int
) -> None:
    x, y = data

    def run(sampler_seed: int) -> SearchResult:
        return search(
            tree, {}, TREE_SPACE, x, y, folds, scorer="roc_auc", trials=14, seed=sampler_seed
        )

    first, again, other = run(seed), run(seed), run(seed + 1)

    assert without_durations(again) == without_durations(first)
    assert again.best_params == first.best_params
    assert [t.params for t in other.trials] != [t.params for t in first.trials]


def test_timeout_starts_no_trial_after_the_deadline(seed: int) -> None:
    started = time.perf_counter()

    result = search(
        lambda params: Echo(params, fit_seconds=0.05), {}, {"x": {"float": [0.0, 1.0]}},
        np.zeros((4, 1)), np.zeros(4), [holdout_fold(2, 2)],
        scorer=echo_score, direction="maximize", trials=10_000, timeout_s=0.3, seed=seed,
    )  # fmt: skip

    elapsed = time.perf_counter() - started
    assert 2 <= len(result.trials) <= 8
    assert elapsed < 1.5
    assert all(trial.duration_s >= 0.05 for trial in result.trials)


def test_on_trial_sees_each_trial_in_order(seed: int) -> None:
    seen: list[TrialRecord] = []

    result = search(
        Echo, {}, {"x": {"float": [0.0, 1.0]}}, np.zeros((4, 1)), np.zeros(4), [holdout_fold(2, 2)],
        scorer=echo_score, direction="maximize", trials=5, seed=seed, on_trial=seen.append,
    )  # fmt: skip

    assert seen == result.trials


class Collect(logging.Handler):
    """Keeps every record it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def optuna_records() -> Iterator[list[logging.LogRecord]]:
    """Every record that reaches Optuna's logger handlers while the test runs."""
    handler = Collect()
    logger = logging.getLogger("optuna")
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


def test_search_keeps_optuna_quiet_and_restores_its_verbosity(
    data: tuple[np.ndarray, np.ndarray],
    folds: list[Fold],
    seed: int,
    optuna_records: list[logging.LogRecord],
) -> None:
    x, y = data
    before = optuna.logging.get_verbosity()

    def sometimes_broken(params: Mapping[str, Any]) -> DecisionTreeClassifier:
        if params["criterion"] == "entropy":
            raise ValueError("unsupported")
        return tree(params)

    search(sometimes_broken, {}, TREE_SPACE, x, y, folds, scorer="accuracy", trials=6, seed=seed)

    assert optuna_records == []
    assert optuna.logging.get_verbosity() == before


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        pytest.param({"trials": 0}, TrainingError, r"trials=0 must be a whole number >= 1", id="no-trials"),
        pytest.param({"timeout_s": 0}, TrainingError, r"timeout_s=0 must be > 0 seconds, or None", id="zero-timeout"),
        pytest.param({"folds": []}, TrainingError, r"search got no folds", id="no-folds"),
        pytest.param({"space": {"x": {"float": [1.0, 0.0]}}}, SearchSpaceError, r"parameter 'x': low 1\.0 is not below high 0\.0", id="bad-space"),
        pytest.param({"direction": None}, TrainingError, r"A scorer function \(echo_score\) needs a direction", id="no-direction"),
    ],
)  # fmt: skip
def test_search_rejects_bad_settings_before_any_trial(
    kwargs: dict[str, Any], error: type[Exception], match: str, seed: int
) -> None:
    built: list[Echo] = []

    def make_model(params: Mapping[str, Any]) -> Echo:
        built.append(Echo(params))
        return built[-1]

    arguments: dict[str, Any] = {
        "make_model": make_model, "base_params": {}, "space": {"x": {"float": [0.0, 1.0]}},
        "X": np.zeros((4, 1)), "y": np.zeros(4), "folds": [holdout_fold(2, 2)],
        "scorer": echo_score, "direction": "maximize", "trials": 3, "seed": seed, **kwargs,
    }  # fmt: skip

    with pytest.raises(error, match=match):
        search(**arguments)
    assert built == []
