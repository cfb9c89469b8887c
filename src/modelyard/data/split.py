"""Split a dataset into train, valid and test rows, without leakage between them.

Strategies:

- ``random``: a seeded permutation of the rows.
- ``stratified``: a random split of each class of the target, so every split keeps the class
  proportions and holds every class.
- ``time``: rows in time order; earlier rows train, later ones validate and test. Rows that share
  a timestamp stay in one split, so no split sees a time that another split also holds.
- ``group``: seeded, whole groups (users, sessions...) per split, so no group is in two splits;
  the fractions hold approximately, by rows.

Every strategy is deterministic for a seed and uses numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from modelyard.errors import SplitError, did_you_mean

STRATEGIES = ("random", "stratified", "time", "group")
"""The split strategies ``split_frame`` knows."""

Positions = npt.NDArray[np.intp]
_CONFIG_KEYS = {
    "target": "data.target.column",
    "timestamp": "data.timestamp",
    "group": "data.split.group_column",
}


@dataclass(frozen=True, slots=True, eq=False)  # eq by hand: arrays do not compare to a bool
class Split:
    """Row positions (for ``DataFrame.iloc``) of each split, each sorted ascending."""

    train: Positions
    valid: Positions
    test: Positions

    def parts(self) -> dict[str, Positions]:
        """Return the positions by split name: ``train``, ``valid``, ``test``."""
        return {"train": self.train, "valid": self.valid, "test": self.test}

    def sizes(self) -> dict[str, int]:
        """Return the number of rows in each split."""
        return {name: len(positions) for name, positions in self.parts().items()}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Split):
            return NotImplemented
        theirs = other.parts()
        return all(np.array_equal(mine, theirs[name]) for name, mine in self.parts().items())


def split_frame(
    df: pd.DataFrame,
    *,
    strategy: str,
    valid: float,
    test: float,
    seed: int,
    target: str | None = None,
    timestamp: str | None = None,
    group: str | None = None,
) -> Split:
    """Split the rows of ``df`` into train, valid and test.

    Args:
        df: The dataset.
        strategy: One of ``STRATEGIES``.
        valid: Fraction of rows for validation, in [0, 1); 0 leaves the valid split empty.
        test: Fraction of rows for testing, in [0, 1).
        seed: Seed of the random strategies; the same seed gives the same split.
        target: The label column, for ``stratified``.
        timestamp: The time column, for ``time``.
        group: The group column, for ``group``.

    Raises:
        SplitError: The strategy, a fraction or a column is wrong, or the data is too small
            for the split (a split would be empty).
    """
    counts = _counts(len(df), valid, test)
    rng = np.random.default_rng(seed)
    if strategy == "random":
        parts = _split_random(len(df), counts, rng)
    elif strategy == "stratified":
        labels = _column(df, target, "target", strategy)
        parts = _split_stratified(labels, counts, valid, test, rng)
    elif strategy == "time":
        times = _column(df, timestamp, "timestamp", strategy)
        parts = _split_time(times, counts)
    elif strategy == "group":
        groups = _column(df, group, "group", strategy)
        parts = _split_group(groups, counts, rng)
    else:
        raise SplitError(
            f"Unknown split strategy {strategy!r}.{did_you_mean(strategy, STRATEGIES)} "
            f"Use one of: {', '.join(STRATEGIES)} (data.split.strategy)."
        )
    train, valid_rows, test_rows = (np.sort(part).astype(np.intp) for part in parts)
    return Split(train=train, valid=valid_rows, test=test_rows)


def apply_split(df: pd.DataFrame, split: Split) -> dict[str, pd.DataFrame]:
    """Return the ``train``, ``valid`` and ``test`` frames of ``split``, each re-indexed from 0."""
    return {
        name: df.iloc[positions].reset_index(drop=True) for name, positions in split.parts().items()
    }


# --- sizes and columns -----------------------------------------------------------------------

Counts = tuple[int, int, int]  # rows wanted in train, valid, test


def _counts(rows: int, valid: float, test: float) -> Counts:
    if not (0 <= valid < 1 and 0 <= test < 1 and valid + test < 1):
        raise SplitError(
            f"Split fractions valid={valid!r} and test={test!r} must each be in [0, 1) and sum "
            "to less than 1, to leave rows for training. Fix data.split.valid and data.split.test."
        )
    counts = _round_counts(rows, valid, test)
    for name, count, fraction in zip(
        ("train", "valid", "test"), counts, (1.0, valid, test), strict=True
    ):
        if count < 1 and fraction > 0:
            raise SplitError(
                f"{rows} rows are too few to split with valid={valid:g} and test={test:g}: the "
                f"{name} split would be empty. Use at least {_minimum_rows(valid, test)} rows, "
                "or change the fractions."
            )
    return counts


def _round_counts(rows: int, valid: float, test: float) -> Counts:
    n_valid, n_test = (math.floor(rows * fraction + 0.5) for fraction in (valid, test))
    return rows - n_valid - n_test, n_valid, n_test


def _minimum_rows(valid: float, test: float) -> int:
    rows = max([2] + [math.ceil(0.5 / f) for f in (valid, test) if f > 0])
    while any(
        count < 1 and fraction > 0
        for count, fraction in zip(
            _round_counts(rows, valid, test), (1.0, valid, test), strict=True
        )
    ):
        rows += 1
    return rows


def _column(df: pd.DataFrame, name: str | None, role: str, strategy: str) -> pd.Series:
    if name is None:
        raise SplitError(
            f"Split strategy {strategy!r} needs a {role} column. Set {_CONFIG_KEYS[role]} "
            "in modelyard.yaml, or use strategy 'random'."
        )
    if name not in df.columns:
        columns = [str(c) for c in df.columns]
        shown = ", ".join(columns[:10]) + (", ..." if len(columns) > 10 else "")
        raise SplitError(
            f"No {role} column {name!r} in the data to split by.{did_you_mean(name, columns)} "
            f"Columns: {shown}. Fix {_CONFIG_KEYS[role]} in modelyard.yaml."
        )
    return df[name]


def _parts_needed(counts: Counts) -> int:
    return sum(1 for count in counts if count > 0)


# --- strategies ------------------------------------------------------------------------------

Parts = tuple[Positions, Positions, Positions]


def _split_random(rows: int, counts: Counts, rng: np.random.Generator) -> Parts:
    _, n_valid, n_test = counts
    order = rng.permutation(rows)
    return order[n_test + n_valid :], order[n_test : n_test + n_valid], order[:n_test]


def _split_stratified(
    labels: pd.Series, counts: Counts, valid: float, test: float, rng: np.random.Generator
) -> Parts:
    codes, classes = pd.factorize(labels, use_na_sentinel=False)
    needed = _parts_needed(counts)
    per_class = np.bincount(codes, minlength=len(classes))
    if per_class.min(initial=needed) < needed:
        rare = int(np.argmin(per_class))
        raise SplitError(
            f"Class {classes[rare]!r} of target {labels.name!r} has {per_class[rare]} rows; a "
            f"stratified split into {needed} parts needs at least {needed} rows of each class. "
            "Merge or drop rare classes, or use strategy 'random'."
        )
    parts: list[list[Positions]] = [[], [], []]
    for code, size in enumerate(per_class):
        _, n_valid, n_test = _round_counts(int(size), valid, test)
        # Every class in every split, even when its share rounds to zero rows.
        n_valid, n_test = max(n_valid, int(counts[1] > 0)), max(n_test, int(counts[2] > 0))
        while size - n_valid - n_test < 1:
            if n_valid >= n_test:
                n_valid -= 1
            else:
                n_test -= 1
        rows = rng.permutation(np.flatnonzero(codes == code))
        parts[0].append(rows[n_test + n_valid :])
        parts[1].append(rows[n_test : n_test + n_valid])
        parts[2].append(rows[:n_test])
    train_rows, valid_rows, test_rows = (np.concatenate(p) for p in parts)
    return train_rows, valid_rows, test_rows


def _split_time(times: pd.Series, counts: Counts) -> Parts:
    missing = int(times.isna().sum())
    if missing:
        raise SplitError(
            f"Timestamp column {times.name!r} has {missing} missing values; a time split needs "
            "the time of every row. Drop or fill them before splitting."
        )
    codes, distinct = pd.factorize(times, sort=True)
    order = np.argsort(codes, kind="stable")
    rows = len(order)
    starts = np.flatnonzero(np.diff(codes[order])) + 1  # where each later timestamp begins
    needed = _parts_needed(counts)
    if len(distinct) < needed:
        raise SplitError(
            f"Timestamp column {times.name!r} has {len(distinct)} distinct values; a time split "
            f"into {needed} parts needs at least {needed}, because rows that share a time stay "
            "in one split. Use a finer timestamp, or strategy 'random'."
        )
    _, n_valid, n_test = counts
    test_start = valid_start = rows
    if n_test:
        candidates = starts[1:] if n_valid else starts
        test_start = _closest(candidates, rows - n_test)
    valid_start = test_start
    if n_valid:
        valid_start = _closest(starts[starts < test_start], test_start - n_valid)
    return order[:valid_start], order[valid_start:test_start], order[test_start:]


def _split_group(groups: pd.Series, counts: Counts, rng: np.random.Generator) -> Parts:
    codes, distinct = pd.factorize(groups, use_na_sentinel=False)
    needed = _parts_needed(counts)
    if len(distinct) < needed:
        raise SplitError(
            f"Group column {groups.name!r} has {len(distinct)} groups; a group split into "
            f"{needed} parts needs at least {needed}, because each group stays in one split. "
            "Use a finer group column, or strategy 'random'."
        )
    _, n_valid, n_test = counts
    order = rng.permutation(len(distinct))
    filled = np.concatenate([[0], np.cumsum(np.bincount(codes)[order])])  # rows in first k groups
    last = len(distinct) - 1  # leave at least one group to train on
    test_end = _closest_index(filled, n_test, low=int(n_test > 0), high=last - int(n_valid > 0))
    valid_end = _closest_index(
        filled, filled[test_end] + n_valid, low=test_end + int(n_valid > 0), high=last
    )
    split_of_group = np.zeros(len(distinct), dtype=np.int8)
    split_of_group[order[:test_end]] = 2
    split_of_group[order[test_end:valid_end]] = 1
    split_of_row = split_of_group[codes]
    train, valid_rows, test_rows = (np.flatnonzero(split_of_row == s) for s in (0, 1, 2))
    return train, valid_rows, test_rows


def _closest(candidates: npt.NDArray[np.intp], wanted: int) -> int:
    return int(candidates[np.argmin(np.abs(candidates - wanted))])


def _closest_index(values: npt.NDArray[np.int64], wanted: int, *, low: int, high: int) -> int:
    """Return the k in [low, high] whose ``values[k]`` is closest to ``wanted``."""
    return low + int(np.argmin(np.abs(values[low : high + 1] - wanted)))
