"""Cross-validation folds over the training rows, and scoring a model on each of them.

Strategies:

- ``holdout``: one seeded split (stratified when labels are given). When the caller has its
  own validation rows, ``holdout_fold`` makes the one fold over train + valid instead.
- ``kfold``: seeded k-fold; each row validates exactly once; stratified when labels are given.
- ``timeseries``: an expanding window in time order; every validation block lies strictly
  after its training rows, and rows that share a time stay on one side.

Fold positions index rows (``DataFrame.iloc`` or an array's first axis) and are sorted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from modelyard.errors import TrainingError, describe, did_you_mean
from modelyard.training.scoring import Scorer, get_metric

Strategy = Literal["holdout", "kfold", "timeseries"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)
"""The fold strategies ``make_folds`` knows."""

Positions = npt.NDArray[np.intp]
ModelFactory = Callable[[Mapping[str, Any]], Any]
"""``make_model(params) -> an unfitted scikit-learn-compatible estimator or pipeline``."""


@dataclass(frozen=True, slots=True, eq=False)  # eq by hand: arrays do not compare to a bool
class Fold:
    """Row positions to fit on (``train``) and to score on (``valid``)."""

    train: Positions
    valid: Positions

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fold):
            return NotImplemented
        return np.array_equal(self.train, other.train) and np.array_equal(self.valid, other.valid)


@dataclass(frozen=True, slots=True)
class CVResult:
    """The score of each fold scored, their mean and standard deviation.

    ``is_stopped_early`` is true when ``on_fold`` stopped the run, so ``fold_scores`` covers
    only the first folds.
    """

    fold_scores: tuple[float, ...]
    mean: float
    std: float
    is_stopped_early: bool = False


def make_folds(
    strategy: str,
    n_rows: int,
    *,
    folds: int = 5,
    valid_fraction: float = 0.2,
    seed: int,
    order: npt.ArrayLike | None = None,
    stratify: npt.ArrayLike | None = None,
) -> list[Fold]:
    """Return the cross-validation folds of ``n_rows`` training rows.

    Args:
        strategy: One of ``STRATEGIES``.
        n_rows: Number of rows to split.
        folds: Number of folds, for ``kfold`` and ``timeseries``.
        valid_fraction: Share of rows that validate, for ``holdout``, in (0, 1).
        seed: Seed of ``holdout`` and ``kfold``; the same seed gives the same folds.
        order: A sortable value per row (a timestamp), for ``timeseries``; ``None`` takes the
            rows as already in time order.
        stratify: A label per row, for ``holdout`` and ``kfold``, to keep class ratios.

    Raises:
        TrainingError: The strategy or a setting is wrong, or the rows are too few.
    """
    if strategy not in STRATEGIES:
        raise TrainingError(
            f"Unknown fold strategy {strategy!r}.{did_you_mean(strategy, STRATEGIES)} "
            f"Use one of: {', '.join(STRATEGIES)}."
        )
    if n_rows < 2:
        raise TrainingError(f"Cannot make folds of n_rows={n_rows!r}; it needs 2 rows or more.")
    rng = np.random.default_rng(seed)
    labels = None if stratify is None else _per_row(stratify, n_rows, "stratify")
    if strategy == "holdout":
        if not 0.0 < valid_fraction < 1.0:
            raise TrainingError(
                f"valid_fraction={valid_fraction!r} is outside (0, 1). Use e.g. 0.2."
            )
        return [_holdout(n_rows, valid_fraction, rng, labels)]
    if not 2 <= folds <= n_rows:
        raise TrainingError(
            f"folds={folds!r} cannot split {n_rows} rows. Use 2 <= folds <= {n_rows}."
        )
    if strategy == "kfold":
        return _kfold(n_rows, folds, rng, labels)
    times = None if order is None else _per_row(order, n_rows, "order")
    return _timeseries(n_rows, folds, times)


def holdout_fold(n_train: int, n_valid: int) -> Fold:
    """Return the one fold over ``train`` rows followed by explicit ``valid`` rows.

    The model data is the concatenation of both, train first: fit on positions
    ``0..n_train-1``, score on the ``n_valid`` positions after them.
    """
    if n_train < 1 or n_valid < 1:
        raise TrainingError(
            f"A holdout fold needs rows on both sides; got n_train={n_train!r}, "
            f"n_valid={n_valid!r}. Give a non-empty validation split, or use kfold."
        )
    return Fold(
        train=np.arange(n_train, dtype=np.intp),
        valid=np.arange(n_train, n_train + n_valid, dtype=np.intp),
    )


def cross_validate(
    make_model: ModelFactory,
    params: Mapping[str, Any],
    X: Any,  # noqa: N803 - scikit-learn's name for the feature matrix
    y: Any,
    folds: list[Fold],
    *,
    scorer: Scorer | str,
    on_fold: Callable[[int, float], bool] | None = None,
) -> CVResult:
    """Fit a fresh model on each fold's train rows and score it on its valid rows.

    Args:
        make_model: Builds an unfitted estimator from ``params``, once per fold.
        params: The hyper-parameters.
        X: Features: a DataFrame (rows by ``iloc``) or an array.
        y: Targets: a Series or an array.
        folds: From ``make_folds`` or ``holdout_fold``.
        scorer: A metric name from ``scoring.METRICS``, or ``scorer(y_true, model, X)``.
        on_fold: Called with (fold index, score) after each fold; return ``True`` to stop.

    Raises:
        TrainingError: There are no folds, a fold failed to fit or score, or a score is not
            a finite number. The fold's own error is chained.
    """
    if not folds:
        raise TrainingError("cross_validate got no folds. Make them with make_folds().")
    score = get_metric(scorer).scorer if isinstance(scorer, str) else scorer
    scores: list[float] = []
    for index, fold in enumerate(folds):
        value = _score_fold(make_model, params, X, y, fold, score, index, len(folds))
        scores.append(value)
        if on_fold is not None and on_fold(index, value):
            return _result(scores, is_stopped_early=True)
    return _result(scores, is_stopped_early=False)


def _score_fold(
    make_model: ModelFactory,
    params: Mapping[str, Any],
    x: Any,
    y: Any,
    fold: Fold,
    score: Scorer,
    index: int,
    total: int,
) -> float:
    where = f"Fold {index + 1} of {total} with params {describe(dict(params), 200)}"
    try:
        model = make_model(params)
        model.fit(_rows(x, fold.train), _rows(y, fold.train))
        value = float(score(_rows(y, fold.valid), model, _rows(x, fold.valid)))
    except TrainingError:
        raise
    except Exception as exc:
        raise TrainingError(
            f"{where} failed: {type(exc).__name__}: {exc}. "
            "Fix the parameters or the data (the chained error shows where it failed)."
        ) from exc
    if not math.isfinite(value):
        raise TrainingError(
            f"{where} scored {value!r}, not a finite number. Check that each fold's valid rows "
            "hold every class, or pick a metric that is defined on them."
        )
    return value


def _result(scores: list[float], *, is_stopped_early: bool) -> CVResult:
    return CVResult(
        fold_scores=tuple(scores),
        mean=float(np.mean(scores)),
        std=float(np.std(scores)),
        is_stopped_early=is_stopped_early,
    )


def _rows(data: Any, positions: Positions) -> Any:
    return data.iloc[positions] if hasattr(data, "iloc") else data[positions]


def _per_row(values: npt.ArrayLike, n_rows: int, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or len(array) != n_rows:
        raise TrainingError(
            f"{name} has shape {array.shape!r}, but there are {n_rows} rows. "
            f"Give one {name} value per training row."
        )
    return array


def _fold(valid: np.ndarray, n_rows: int) -> Fold:
    is_valid = np.zeros(n_rows, dtype=bool)
    is_valid[valid] = True
    return Fold(train=np.flatnonzero(~is_valid).astype(np.intp), valid=np.flatnonzero(is_valid))


def _holdout(
    n_rows: int, fraction: float, rng: np.random.Generator, labels: np.ndarray | None
) -> Fold:
    if labels is None:
        n_valid = min(max(round(n_rows * fraction), 1), n_rows - 1)
        return _fold(rng.permutation(n_rows)[:n_valid], n_rows)
    valid = [
        rng.permutation(rows)[: round(len(rows) * fraction)] for rows in _rows_by_class(labels)
    ]
    fold = _fold(np.concatenate(valid), n_rows)
    if len(fold.valid) == 0 or len(fold.train) == 0:
        raise TrainingError(
            f"A stratified holdout of {n_rows} rows with valid_fraction={fraction!r} leaves a "
            "side empty. Use more rows or a valid_fraction nearer 0.5."
        )
    return fold


def _kfold(
    n_rows: int, folds: int, rng: np.random.Generator, labels: np.ndarray | None
) -> list[Fold]:
    fold_of = np.empty(n_rows, dtype=np.intp)
    if labels is None:
        fold_of[rng.permutation(n_rows)] = np.arange(n_rows) % folds
    else:
        offset = 0  # carried over classes, so fold sizes differ by one row at most
        for rows in _rows_by_class(labels):
            if len(rows) < folds:
                label = labels[rows[:1]].tolist()[0]
                fix = f"Use folds={len(rows)} or fewer" if len(rows) > 1 else "Drop its row"
                raise TrainingError(
                    f"Class {label!r} has {len(rows)} rows, fewer than folds={folds}, so some "
                    f"folds would lack it. {fix}, or do not stratify."
                )
            fold_of[rng.permutation(rows)] = (np.arange(len(rows)) + offset) % folds
            offset = (offset + len(rows)) % folds
    return [_fold(np.flatnonzero(fold_of == k), n_rows) for k in range(folds)]


def _timeseries(n_rows: int, folds: int, times: np.ndarray | None) -> list[Fold]:
    if times is None:
        positions = np.arange(n_rows, dtype=np.intp)
        sorted_times: np.ndarray = positions
    else:
        if _has_missing(times):
            raise TrainingError("order holds missing times (NaN/NaT). Fill or drop those rows.")
        positions = np.argsort(times, kind="stable").astype(np.intp)
        sorted_times = times[positions]
    block = n_rows // (folds + 1)
    first = n_rows - folds * block
    # Move each cut past rows that share its time, so valid times are strictly later.
    cuts = [
        int(np.searchsorted(sorted_times, sorted_times[first + k * block - 1], side="right"))
        for k in range(folds)
    ]
    bounds = [*cuts, n_rows]
    if any(end <= start for start, end in pairwise(bounds)):
        raise TrainingError(
            f"Cannot make {folds} time-ordered folds of {n_rows} rows: too few distinct times "
            "(rows sharing a time stay in one block). Lower folds, or use kfold."
        )
    return [
        Fold(train=np.sort(positions[:start]), valid=np.sort(positions[start:end]))
        for start, end in pairwise(bounds)
    ]


def _rows_by_class(labels: np.ndarray) -> list[np.ndarray]:
    _, codes = np.unique(labels, return_inverse=True)
    return [np.flatnonzero(codes == code) for code in range(codes.max() + 1)]


def _has_missing(values: np.ndarray) -> bool:
    kind = values.dtype.kind
    return bool(kind in "mMfc" and (np.isnat if kind in "mM" else np.isnan)(values).any())
