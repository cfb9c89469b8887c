"""Cross-validation folds that never leak, and scoring a model on each of them."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard.errors import TrainingError
from modelyard.training.validation import (
    CVResult,
    Fold,
    cross_validate,
    holdout_fold,
    make_folds,
)

N_ROWS = 103  # not a multiple of the fold count, so uneven folds get exercised


def logistic(params: Mapping[str, Any]) -> LogisticRegression:
    return LogisticRegression(**params)


@pytest.fixture
def labels(seed: int) -> np.ndarray:
    """Imbalanced binary labels: about one row in five is positive."""
    return (np.random.default_rng(seed).random(N_ROWS) < 0.2).astype(int)


@pytest.fixture
def data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(120, 3))
    y = (x[:, 0] - x[:, 1] + rng.normal(scale=0.3, size=120) > 0).astype(int)
    return x, y


@pytest.mark.parametrize(
    ("strategy", "expected_folds"),
    [
        pytest.param("holdout", 1, id="holdout"),
        pytest.param("kfold", 4, id="kfold"),
        pytest.param("timeseries", 4, id="timeseries"),
    ],
)
def test_folds_are_disjoint_sorted_and_in_range(
    strategy: str, expected_folds: int, seed: int
) -> None:
    folds = make_folds(strategy, N_ROWS, folds=4, seed=seed)

    assert len(folds) == expected_folds
    for fold in folds:
        assert len(fold.train) > 0
        assert len(fold.valid) > 0
        assert np.intersect1d(fold.train, fold.valid).size == 0
        for part in (fold.train, fold.valid):
            assert np.all(np.diff(part) > 0)
            assert part.min() >= 0
            assert part.max() < N_ROWS


@pytest.mark.parametrize("stratified", [False, True], ids=["plain", "stratified"])
def test_kfold_validates_every_row_exactly_once(
    stratified: bool, labels: np.ndarray, seed: int
) -> None:
    folds = make_folds("kfold", N_ROWS, folds=5, seed=seed, stratify=labels if stratified else None)

    valid = np.concatenate([fold.valid for fold in folds])
    assert np.array_equal(np.sort(valid), np.arange(N_ROWS))
    assert max(len(f.valid) for f in folds) - min(len(f.valid) for f in folds) <= 1
    for fold in folds:
        assert np.array_equal(np.union1d(fold.train, fold.valid), np.arange(N_ROWS))


@pytest.mark.parametrize("strategy", ["holdout", "kfold"])
def test_stratified_folds_keep_the_class_ratio(
    strategy: str, labels: np.ndarray, seed: int
) -> None:
    overall = labels.mean()

    folds = make_folds(strategy, N_ROWS, folds=4, valid_fraction=0.25, seed=seed, stratify=labels)

    for fold in folds:
        assert labels[fold.valid].mean() == pytest.approx(overall, abs=0.04)
        assert labels[fold.train].mean() == pytest.approx(overall, abs=0.04)


def test_holdout_takes_the_valid_fraction(seed: int) -> None:
    (fold,) = make_folds("holdout", 200, valid_fraction=0.25, seed=seed)

    assert len(fold.valid) == 50
    assert len(fold.train) == 150


@pytest.mark.parametrize("strategy", ["holdout", "kfold"])
def test_random_folds_follow_the_seed(strategy: str, seed: int) -> None:
    first = make_folds(strategy, N_ROWS, seed=seed)

    assert make_folds(strategy, N_ROWS, seed=seed) == first
    assert make_folds(strategy, N_ROWS, seed=seed + 1) != first


def test_timeseries_validates_strictly_after_training(seed: int) -> None:
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 40, size=N_ROWS)  # shuffled, with many rows per day

    folds = make_folds("timeseries", N_ROWS, folds=4, seed=seed, order=days)

    for fold in folds:
        assert days[fold.train].max() < days[fold.valid].min()
    for earlier, later in pairwise(folds):
        assert np.isin(earlier.train, later.train).all()  # an expanding window
        assert len(later.train) > len(earlier.train)
        assert days[earlier.valid].max() < days[later.valid].min()


def test_timeseries_without_order_takes_row_order(seed: int) -> None:
    folds = make_folds("timeseries", 50, folds=4, seed=seed)

    assert [len(fold.valid) for fold in folds] == [10, 10, 10, 10]
    for fold in folds:
        assert fold.train.max() < fold.valid.min()
    assert folds[-1].valid.max() == 49


def test_timeseries_takes_datetimes(seed: int) -> None:
    times = pd.date_range("2024-01-01", periods=30, freq="h").to_numpy()[::-1]

    folds = make_folds("timeseries", 30, folds=2, seed=seed, order=times)

    for fold in folds:
        assert times[fold.train].max() < times[fold.valid].min()


def test_holdout_fold_puts_the_explicit_valid_rows_last() -> None:
    fold = holdout_fold(8, 3)

    assert fold == Fold(train=np.arange(8), valid=np.array([8, 9, 10]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"strategy": "kfodl"}, r"Unknown fold strategy 'kfodl'\. Did you mean 'kfold'", id="strategy"),
        pytest.param({"n_rows": 1}, r"n_rows=1.*2 rows or more", id="one-row"),
        pytest.param({"folds": 1}, r"folds=1 cannot split 103 rows\. Use 2 <= folds <= 103", id="one-fold"),
        pytest.param({"folds": 200}, r"folds=200 cannot split", id="too-many-folds"),
        pytest.param({"strategy": "holdout", "valid_fraction": 1.0}, r"valid_fraction=1\.0 is outside \(0, 1\)", id="fraction"),
        pytest.param({"stratify": np.zeros(5)}, r"stratify has shape \(5,\), but there are 103 rows", id="stratify-length"),
        pytest.param({"stratify": np.r_[np.zeros(100), np.ones(3)]}, r"Class 1\.0 has 3 rows, fewer than folds=5.*folds=3 or fewer", id="rare-class"),
        pytest.param({"stratify": np.array(["a"] * 102 + ["b"], dtype=object)}, r"Class 'b' has 1 rows.*Drop its row, or do not stratify", id="single-row-class"),
        pytest.param({"strategy": "timeseries", "order": np.r_[np.zeros(100), np.ones(3)]}, r"too few distinct times", id="few-times"),
        pytest.param({"strategy": "timeseries", "order": np.r_[np.nan, np.arange(102.0)]}, r"missing times \(NaN/NaT\)", id="nan-time"),
    ],
)  # fmt: skip
def test_make_folds_rejects_what_it_cannot_split(
    kwargs: dict[str, Any], match: str, seed: int
) -> None:
    arguments: dict[str, Any] = {"strategy": "kfold", "n_rows": N_ROWS, "seed": seed, **kwargs}

    with pytest.raises(TrainingError, match=match):
        make_folds(**arguments)


def test_holdout_fold_needs_rows_on_both_sides() -> None:
    with pytest.raises(TrainingError, match=r"n_valid=0\. Give a non-empty validation split"):
        holdout_fold(10, 0)


def test_cross_validate_scores_every_fold(data: tuple[np.ndarray, np.ndarray], seed: int) -> None:
    x, y = data
    folds = make_folds("kfold", len(y), folds=4, seed=seed, stratify=y)

    result = cross_validate(logistic, {"C": 1.0}, x, y, folds, scorer="roc_auc")

    assert len(result.fold_scores) == 4
    assert all(0.9 < score <= 1.0 for score in result.fold_scores)
    assert result.mean == pytest.approx(np.mean(result.fold_scores))
    assert result.std == pytest.approx(np.std(result.fold_scores))
    assert not result.is_stopped_early


def test_cross_validate_fits_a_fresh_model_per_fold_on_frames(
    data: tuple[np.ndarray, np.ndarray], seed: int
) -> None:
    x, y = data
    frame, target = pd.DataFrame(x, columns=["a", "b", "c"]), pd.Series(y)
    built: list[LogisticRegression] = []

    def make_model(params: Mapping[str, Any]) -> LogisticRegression:
        built.append(LogisticRegression(**params))
        return built[-1]

    folds = make_folds("kfold", len(y), folds=3, seed=seed)
    result = cross_validate(make_model, {"C": 0.5}, frame, target, folds, scorer="accuracy")

    assert len({id(model) for model in built}) == 3
    assert all(model.C == 0.5 for model in built)
    assert all(list(model.feature_names_in_) == ["a", "b", "c"] for model in built)
    assert result.mean > 0.8


def test_cross_validate_stops_when_on_fold_says_so(
    data: tuple[np.ndarray, np.ndarray], seed: int
) -> None:
    x, y = data
    seen: list[int] = []

    def on_fold(index: int, score: float) -> bool:
        seen.append(index)
        return index == 1

    folds = make_folds("kfold", len(y), folds=5, seed=seed)
    result = cross_validate(logistic, {}, x, y, folds, scorer="accuracy", on_fold=on_fold)

    assert seen == [0, 1]
    assert len(result.fold_scores) == 2
    assert result.is_stopped_early


def test_cross_validate_takes_a_scorer_function(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data

    def n_valid_rows(y_true: Any, model: Any, features: Any) -> float:
        return float(len(y_true))

    result = cross_validate(logistic, {}, x, y, [holdout_fold(100, 20)], scorer=n_valid_rows)

    assert result == CVResult(fold_scores=(20.0,), mean=20.0, std=0.0)


def test_cross_validate_names_the_failing_fold(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data

    with pytest.raises(TrainingError, match=r"Fold 1 of 1 with params \{'C': -1\.0\} failed: "):
        cross_validate(logistic, {"C": -1.0}, x, y, [holdout_fold(100, 20)], scorer="accuracy")


def test_cross_validate_rejects_a_score_that_is_not_finite(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    x, y = data

    def nan_score(y_true: Any, model: Any, features: Any) -> float:
        return float("nan")

    with pytest.raises(TrainingError, match=r"scored nan, not a finite number"):
        cross_validate(logistic, {}, x, y, [holdout_fold(100, 20)], scorer=nan_score)


def test_cross_validate_needs_folds(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data

    with pytest.raises(TrainingError, match=r"no folds\. Make them with make_folds"):
        cross_validate(logistic, {}, x, y, [], scorer="accuracy")
