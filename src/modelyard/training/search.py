"""Search hyper-parameters with Optuna, in process: seeded TPE, median pruning on fold scores.

Each trial samples the space, cross-validates ``make_model(base_params | sampled)`` fold by
fold, and reports every fold score to a median pruner, which stops trials that trail the
median of finished trials at the same fold. A trial that raises is recorded as failed and the
search goes on. Every trial is handed to ``on_trial`` as a ``TrialRecord`` (the pipeline logs
it as a nested run); refitting the best parameters is left to the caller.

With the same seed, data, folds and a deterministic model (seeded, single-threaded), a search
samples the same parameters and gets the same values.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from modelyard.errors import ModelyardError, TrainingError
from modelyard.training.scoring import Direction, Scorer, resolve_scorer
from modelyard.training.space import SearchSpace, parse_space, suggest
from modelyard.training.validation import Fold, ModelFactory, cross_validate

if TYPE_CHECKING:
    import optuna

TrialStatus = Literal["complete", "pruned", "failed"]

_PRUNER_STARTUP_TRIALS = 5  # finished trials before pruning starts: a median of fewer is noise


@dataclass(frozen=True, slots=True)
class TrialRecord:
    """One trial: its sampled params, outcome and the scores of the folds it ran.

    ``value`` is the mean fold score of a complete trial, ``None`` when it was pruned or
    failed; ``error`` says why a trial failed.
    """

    number: int
    params: dict[str, Any]
    value: float | None
    state: TrialStatus
    fold_scores: tuple[float, ...]
    duration_s: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The best parameters (``base_params`` with the best trial's on top) and every trial."""

    best_params: dict[str, Any]
    best_value: float
    trials: list[TrialRecord]
    direction: Direction
    best_number: int

    @property
    def best_trial(self) -> TrialRecord:
        """Return the record of the best trial."""
        return next(trial for trial in self.trials if trial.number == self.best_number)


def search(
    make_model: ModelFactory,
    base_params: Mapping[str, Any],
    space: SearchSpace | Mapping[str, Any],
    X: Any,  # noqa: N803 - scikit-learn's name for the feature matrix
    y: Any,
    folds: list[Fold],
    *,
    scorer: Scorer | str,
    direction: str | None = None,
    trials: int,
    timeout_s: float | None = None,
    seed: int,
    on_trial: Callable[[TrialRecord], None] | None = None,
) -> SearchResult:
    """Search ``space`` for the parameters that score best across ``folds``.

    Args:
        make_model: Builds an unfitted estimator from params (``base_params`` | sampled).
        base_params: Fixed parameters; sampled ones override them.
        space: A parsed ``SearchSpace``, or config data for ``parse_space``.
        X: Features: a DataFrame or an array.
        y: Targets.
        folds: From ``make_folds`` or ``holdout_fold``.
        scorer: A metric name from ``scoring.METRICS``, or ``scorer(y_true, model, X)``.
        direction: ``maximize`` or ``minimize``; required with a scorer function, taken from
            the metric when ``None``.
        trials: Most trials to run.
        timeout_s: Start no trial after this many seconds (the running one finishes);
            ``None`` for no limit.
        seed: Seed of the sampler.
        on_trial: Called with each finished trial's record, in order.

    Raises:
        SearchSpaceError: ``space`` is malformed.
        TrainingError: A setting is wrong, or no trial completed (the first failure is
            chained).
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise TrainingError(f"trials={trials!r} must be a whole number >= 1. Use e.g. 50.")
    if timeout_s is not None and not timeout_s > 0:
        raise TrainingError(f"timeout_s={timeout_s!r} must be > 0 seconds, or None for no limit.")
    if not folds:
        raise TrainingError("search got no folds. Make them with make_folds().")
    parsed = space if isinstance(space, SearchSpace) else parse_space(space)
    score, resolved = resolve_scorer(scorer, direction)
    objective = _Objective(make_model, dict(base_params), parsed, X, y, folds, score)
    records: list[TrialRecord] = []
    errors: list[Exception] = []
    with _quiet_optuna():
        study = _create_study(resolved, seed)
        started = time.monotonic()
        for _ in range(trials):
            if records and timeout_s is not None and time.monotonic() - started >= timeout_s:
                break
            record, error = objective.run(study)
            records.append(record)
            if error is not None:
                errors.append(error)
            if on_trial is not None:
                on_trial(record)
    return _result(records, errors, dict(base_params), resolved)


@dataclass(frozen=True, slots=True)
class _Objective:
    make_model: ModelFactory
    base_params: dict[str, Any]
    space: SearchSpace
    x: Any
    y: Any
    folds: list[Fold]
    score: Scorer

    def run(self, study: optuna.Study) -> tuple[TrialRecord, Exception | None]:
        """Run one trial to its end and tell the study how it went."""
        from optuna.trial import TrialState

        trial = study.ask()
        started = time.perf_counter()
        scores: list[float] = []
        last = len(self.folds) - 1

        def on_fold(index: int, value: float) -> bool:
            scores.append(value)
            trial.report(value, index)
            return index < last and trial.should_prune()  # pruning the last fold saves nothing

        def record(state: TrialStatus, value: float | None, error: str | None) -> TrialRecord:
            return TrialRecord(
                number=trial.number,
                params=dict(trial.params),
                value=value,
                state=state,
                fold_scores=tuple(scores),
                duration_s=time.perf_counter() - started,
                error=error,
            )

        try:
            params = suggest(trial, self.space)
            result = cross_validate(
                self.make_model,
                {**self.base_params, **params},
                self.x,
                self.y,
                self.folds,
                scorer=self.score,
                on_fold=on_fold,
            )
        except Exception as exc:
            study.tell(trial, state=TrialState.FAIL)
            message = (
                str(exc) if isinstance(exc, ModelyardError) else f"{type(exc).__name__}: {exc}"
            )
            return record("failed", None, message), exc
        if result.is_stopped_early:
            study.tell(trial, state=TrialState.PRUNED)
            return record("pruned", None, None), None
        study.tell(trial, result.mean)
        return record("complete", result.mean, None), None


def _describe_error(exc: Exception) -> str:
    return str(exc) if isinstance(exc, ModelyardError) else f"{type(exc).__name__}: {exc}"


def _create_study(direction: Direction, seed: int) -> optuna.Study:
    import optuna

    return optuna.create_study(
        direction=direction,
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=_PRUNER_STARTUP_TRIALS),
    )


@contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Hold Optuna's log level at WARNING or above for the block, then restore it."""
    import optuna

    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(max(previous, optuna.logging.WARNING))
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


def _result(
    records: list[TrialRecord],
    errors: list[Exception],
    base_params: dict[str, Any],
    direction: Direction,
) -> SearchResult:
    complete = [(r.value, r) for r in records if r.state == "complete" and r.value is not None]
    if not complete:
        failed = next((r for r in records if r.state == "failed"), None)
        if failed is not None:
            raise TrainingError(
                f"No search trial completed: {len(errors)} of {len(records)} failed. "
                f"The first failure (trial {failed.number}): {failed.error}"
            ) from errors[0]
        raise TrainingError(
            f"No search trial completed: all {len(records)} were pruned. Raise trials."
        )
    pick = max if direction == "maximize" else min
    best_value, best = pick(complete, key=lambda pair: pair[0])
    return SearchResult(
        best_params={**base_params, **best.params},
        best_value=best_value,
        trials=records,
        direction=direction,
        best_number=best.number,
    )
