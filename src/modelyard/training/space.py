"""A hyper-parameter search space, parsed from config data, and sampled by an Optuna trial.

Each parameter names one kind and its options::

    num_leaves:    {int: [15, 255], log: true}
    learning_rate: {float: [0.01, 0.2], log: true}
    max_depth:     {int: [3, 12], step: 1}
    boosting:      {categorical: [gbdt, dart]}

``int`` and ``float`` take ``[low, high]`` (both included) and optionally ``log`` (sample on a
log scale; needs ``low > 0``) or ``step`` (a grid from ``low``), not both. ``categorical``
takes a non-empty list of distinct strings, numbers, booleans or nulls.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelyard.errors import SearchSpaceError, did_you_mean

if TYPE_CHECKING:
    from optuna.trial import BaseTrial

KINDS = ("int", "float", "categorical")
"""The parameter kinds a search space knows."""

_OPTIONS: dict[str, tuple[str, ...]] = {"int": ("log", "step"), "float": ("log", "step")}

Choice = str | int | float | bool | None

_LOG_AND_STEP = "log and step cannot be combined. Drop one of them."


@dataclass(frozen=True, slots=True)
class IntParam:
    """Whole numbers in ``[low, high]``, on a log scale or a grid of ``step``."""

    name: str
    low: int
    high: int
    step: int = 1
    log: bool = False


@dataclass(frozen=True, slots=True)
class FloatParam:
    """Real numbers in ``[low, high]``, on a log scale or a grid of ``step``."""

    name: str
    low: float
    high: float
    step: float | None = None
    log: bool = False


@dataclass(frozen=True, slots=True)
class CategoricalParam:
    """One of ``choices``."""

    name: str
    choices: tuple[Choice, ...]


Param = IntParam | FloatParam | CategoricalParam


@dataclass(frozen=True, slots=True)
class SearchSpace:
    """The parameters a search samples, in config order."""

    params: tuple[Param, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Return the parameter names."""
        return tuple(param.name for param in self.params)


class _SpecError(Exception):
    """One malformed parameter; ``parse_space`` gathers them into one SearchSpaceError."""


def parse_space(data: Mapping[str, Any], *, where: str = "search space") -> SearchSpace:
    """Return the search space that config ``data`` describes.

    Args:
        data: Parameter name -> spec, e.g. ``{"lr": {"float": [0.01, 0.2], "log": True}}``.
        where: Where ``data`` comes from (a config key), for messages.

    Raises:
        SearchSpaceError: The space is empty or not a mapping, or a parameter is malformed;
            the message lists every malformed parameter with its fix.
    """
    if not isinstance(data, Mapping) or not data:
        raise SearchSpaceError(
            f"Invalid {where}: expected a non-empty mapping of parameter name to spec, got "
            f"{data!r}. Write e.g. {{'learning_rate': {{'float': [0.01, 0.2], 'log': True}}}}."
        )
    params: list[Param] = []
    problems: list[str] = []
    for name, spec in data.items():
        try:
            params.append(_parse_param(name, spec))
        except _SpecError as problem:
            problems.append(f"parameter {name!r}: {problem}")
    if len(problems) == 1:
        raise SearchSpaceError(f"Invalid {where}: {problems[0]}")
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise SearchSpaceError(f"Invalid {where} ({len(problems)} problems):\n{listed}")
    return SearchSpace(params=tuple(params))


def suggest(trial: BaseTrial, space: SearchSpace) -> dict[str, Any]:
    """Return one value per parameter of ``space``, sampled by ``trial``."""
    values: dict[str, Any] = {}
    for param in space.params:
        if isinstance(param, IntParam):
            values[param.name] = trial.suggest_int(
                param.name, param.low, param.high, step=param.step, log=param.log
            )
        elif isinstance(param, FloatParam):
            values[param.name] = trial.suggest_float(
                param.name, param.low, param.high, step=param.step, log=param.log
            )
        else:
            values[param.name] = trial.suggest_categorical(param.name, list(param.choices))
    return values


def _parse_param(name: object, spec: object) -> Param:
    if not isinstance(name, str) or not name:
        raise _SpecError("the name must be a non-empty string. Rename it.")
    if not isinstance(spec, Mapping):
        raise _SpecError(f"expected a spec like {{'float': [0.01, 0.2]}}, got {spec!r}.")
    kinds = [key for key in spec if key in KINDS]
    if len(kinds) > 1:
        raise _SpecError(f"gives {len(kinds)} kinds ({', '.join(kinds)}). Keep one.")
    if not kinds:
        unknown = [str(key) for key in spec if key not in ("log", "step")]
        problem = (
            f"unknown kind {unknown[0]!r}.{did_you_mean(unknown[0], KINDS)}"
            if unknown
            else f"no kind in {dict(spec)!r}."
        )
        raise _SpecError(f"{problem} Give one of: {', '.join(KINDS)}, e.g. {{'int': [1, 10]}}.")
    kind = kinds[0]
    allowed = _OPTIONS.get(kind, ())
    for key in spec:
        if key != kind and key not in allowed:
            hint = did_you_mean(str(key), allowed)
            takes = f"It takes: {', '.join(allowed)}." if allowed else "It takes no options."
            raise _SpecError(f"unknown key {key!r} for a {kind} parameter.{hint} {takes}")
    if kind == "categorical":
        return CategoricalParam(name=name, choices=_choices(spec["categorical"]))
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise _SpecError(f"log must be true or false, got {log!r}.")
    if kind == "int":
        return _int_param(name, spec["int"], spec.get("step", 1), log=log)
    return _float_param(name, spec["float"], spec.get("step"), log=log)


def _bounds(value: object, kind: str, *, is_whole: bool) -> tuple[Any, Any]:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
        raise _SpecError(
            f"{kind} takes [low, high], got {value!r}. Write e.g. {{'{kind}': [1, 10]}}."
        )
    number = int if is_whole else (int, float)
    low, high = value
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, number) or not math.isfinite(bound):
            what = "whole numbers" if is_whole else "finite numbers"
            raise _SpecError(f"{kind} bounds must be {what}, got {value!r}.")
    if low >= high:
        raise _SpecError(
            f"low {low!r} is not below high {high!r}. Write [low, high] with low < high."
        )
    return low, high


def _check_log(low: float, *, log: bool) -> None:
    if log and low <= 0:
        raise _SpecError(
            f"log scale needs low > 0, got low {low!r}. Raise low (e.g. 1e-4), or drop log."
        )


def _int_param(name: str, bounds: object, step: object, *, log: bool) -> IntParam:
    low, high = _bounds(bounds, "int", is_whole=True)
    _check_log(low, log=log)
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise _SpecError(f"int step must be a whole number >= 1, got {step!r}.")
    if log and step != 1:
        raise _SpecError(_LOG_AND_STEP)
    if (high - low) % step:
        fitted = low + (high - low) // step * step
        raise _SpecError(
            f"range [{low}, {high}] is not a whole number of steps of {step}. "
            f"Set high to {fitted} or {fitted + step}."
        )
    return IntParam(name=name, low=low, high=high, step=step, log=log)


def _float_param(name: str, bounds: object, step: object, *, log: bool) -> FloatParam:
    low, high = _bounds(bounds, "float", is_whole=False)
    _check_log(low, log=log)
    if step is None:
        return FloatParam(name=name, low=float(low), high=float(high), log=log)
    if isinstance(step, bool) or not isinstance(step, int | float) or not step > 0:
        raise _SpecError(f"float step must be a number > 0, got {step!r}.")
    if log:
        raise _SpecError(_LOG_AND_STEP)
    span, unit = decimal.Decimal(str(high)) - decimal.Decimal(str(low)), decimal.Decimal(str(step))
    if span % unit:  # Optuna would silently lower high (with a warning) otherwise
        fitted = float(span // unit * unit + decimal.Decimal(str(low)))
        raise _SpecError(
            f"range [{low}, {high}] is not a whole number of steps of {step}. "
            f"Set high to {fitted!r}."
        )
    return FloatParam(name=name, low=float(low), high=float(high), step=float(step))


def _choices(value: object) -> tuple[Choice, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise _SpecError(
            f"categorical takes a non-empty list of choices, got {value!r}. "
            "Write e.g. {'categorical': ['gbdt', 'dart']}."
        )
    choices: list[Choice] = []
    seen: set[tuple[type, Any]] = set()
    for choice in value:
        if choice is not None and not isinstance(choice, str | int | float | bool):
            raise _SpecError(
                f"choice {choice!r} is not a string, number, boolean or null. "
                "Name it by a string and map it to the object in the model factory."
            )
        if (type(choice), choice) in seen:
            raise _SpecError(f"choice {choice!r} is listed twice in {value!r}. List it once.")
        seen.add((type(choice), choice))
        choices.append(choice)
    return tuple(choices)
