"""Drift methods by name, their thresholds, and the default choice per column.

Two families:

- **tests** (``ks``, ``chisquare``, ``z``) give a p-value; a column drifted when
  ``p_value <= threshold`` (the threshold defaults to ``alpha``, 0.05).
- **distances** (``wasserstein``, ``jensenshannon``, ``psi``) give a size of change; a column
  drifted when ``statistic >= threshold`` (0.1 for all three by default).

The default per column follows Evidently 0.7's ``DataDriftPreset``, so verdicts agree with it:
with at most 1000 non-missing reference values, ``ks`` for numeric columns and ``chisquare``
for categorical ones (``z`` when there are only two values); above that, ``wasserstein`` for
numeric and ``jensenshannon`` for categorical. A numeric column with at most five distinct
values is tested like a categorical one, as Evidently does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from modelyard.errors import ConfigValueError, did_you_mean

Kind = Literal["numeric", "categorical"]
KINDS: tuple[Kind, ...] = ("numeric", "categorical")

SMALL_SAMPLE = 1000
"""Up to this many non-missing reference values, the defaults are hypothesis tests."""

DISCRETE_VALUES = 5
"""A numeric column with at most this many distinct values gets the categorical default."""


@dataclass(frozen=True, slots=True)
class Method:
    """One drift method.

    Attributes:
        name: The name used in ``methods=`` and in reports.
        title: What it computes, for people.
        kinds: The column kinds it accepts.
        is_test: True when it gives a p-value (drift when ``p <= threshold``); False for a
            distance (drift when ``statistic >= threshold``).
        default_threshold: The threshold when none is given; ``None`` means ``alpha``.
    """

    name: str
    title: str
    kinds: frozenset[Kind]
    is_test: bool
    default_threshold: float | None

    def is_drifted(self, statistic: float, p_value: float | None, threshold: float) -> bool:
        """Return the verdict for one column from its statistic (or p-value)."""
        if self.is_test:
            return p_value is not None and p_value <= threshold
        return statistic >= threshold


_BOTH: frozenset[Kind] = frozenset(KINDS)
_NUMERIC: frozenset[Kind] = frozenset({"numeric"})

METHODS: dict[str, Method] = {
    method.name: method
    for method in (
        Method("ks", "two-sample Kolmogorov-Smirnov test", _NUMERIC, True, None),
        Method("wasserstein", "Wasserstein distance / reference std", _NUMERIC, False, 0.1),
        Method("psi", "population stability index", _BOTH, False, 0.1),
        Method("chisquare", "chi-square test of homogeneity", _BOTH, True, None),
        Method("z", "two-proportion Z-test (first value vs the rest)", _BOTH, True, None),
        Method("jensenshannon", "Jensen-Shannon distance (natural log)", _BOTH, False, 0.1),
    )
}


def get_method(name: str, *, column: str | None = None, kind: Kind | None = None) -> Method:
    """Return the method called ``name``, checking that it suits a column of ``kind``.

    Raises:
        ConfigValueError: ``name`` is not a method, or the method does not take ``kind``.
    """
    where = f" for column {column!r}" if column is not None else ""
    method = METHODS.get(name)
    if method is None:
        hint = did_you_mean(name, METHODS) or f" Known methods: {', '.join(METHODS)}."
        raise ConfigValueError([f"unknown drift method {name!r}{where}.{hint}"])
    if kind is not None and kind not in method.kinds:
        fits = ", ".join(m.name for m in METHODS.values() if kind in m.kinds)
        raise ConfigValueError(
            [f"drift method {name!r}{where} does not take {kind} columns. Use one of: {fits}."]
        )
    return method


def default_method(kind: Kind, n_reference: int, n_distinct: int) -> str:
    """Return the method Evidently's ``DataDriftPreset`` would pick for a column.

    Args:
        kind: ``"numeric"`` or ``"categorical"``.
        n_reference: Non-missing values in the reference window.
        n_distinct: Distinct non-missing values in both windows together.
    """
    is_categorical = kind == "categorical" or n_distinct <= DISCRETE_VALUES
    if n_reference <= SMALL_SAMPLE:
        if not is_categorical:
            return "ks"
        return "chisquare" if n_distinct > 2 else "z"
    return "jensenshannon" if is_categorical else "wasserstein"


def check_keys(keys: Iterable[str], *, known: Iterable[str], what: str, fix: str) -> None:
    """Refuse override keys that name nothing ``known``.

    Args:
        keys: The keys of a ``methods=`` or ``thresholds=`` mapping.
        known: What a key may name.
        what: The argument, for the message (``"methods"``).
        fix: What a key should be, for the message.

    Raises:
        ConfigValueError: One problem per unknown key, each with its closest match.
    """
    choices = list(known)
    problems = [
        f"{what} key {key!r} names nothing known.{did_you_mean(key, choices)} {fix}"
        for key in keys
        if key not in choices
    ]
    if problems:
        raise ConfigValueError(problems)
