"""Splits never leak rows, times or groups between train, valid and test."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.data.split import STRATEGIES, Split, apply_split, split_frame
from modelyard.errors import SplitError

PROPERTY = settings(max_examples=50, deadline=None)
valid_fractions = st.sampled_from([0.0, 0.1, 0.15, 0.25])
test_fractions = st.sampled_from([0.1, 0.15, 0.2, 0.3])
seeds = st.integers(min_value=0, max_value=2**32 - 1)


def assert_partition(split: Split, rows: int) -> None:
    """Every row in exactly one split."""
    parts = [split.train, split.valid, split.test]
    together = np.concatenate(parts)
    assert len(together) == rows
    assert np.array_equal(np.sort(together), np.arange(rows))
    for part in parts:
        assert np.all(np.diff(part) > 0), "positions are sorted and unique"


def frame_of(**columns: object) -> pd.DataFrame:
    return pd.DataFrame(columns)


# --- random ----------------------------------------------------------------------------------


@PROPERTY
@given(rows=st.integers(20, 400), valid=valid_fractions, test=test_fractions, seed=seeds)
def test_random_split_is_a_partition_of_the_wanted_sizes(
    rows: int, valid: float, test: float, seed: int
) -> None:
    df = frame_of(x=np.arange(rows))

    split = split_frame(df, strategy="random", valid=valid, test=test, seed=seed)

    assert_partition(split, rows)
    assert abs(len(split.test) - rows * test) <= 0.5
    assert abs(len(split.valid) - rows * valid) <= 0.5


@PROPERTY
@given(rows=st.integers(100, 400), seed=seeds, other=seeds)
def test_random_split_depends_on_the_seed_only(rows: int, seed: int, other: int) -> None:
    df = frame_of(x=np.arange(rows))

    first = split_frame(df, strategy="random", valid=0.15, test=0.15, seed=seed)
    again = split_frame(df, strategy="random", valid=0.15, test=0.15, seed=seed)
    different = split_frame(df, strategy="random", valid=0.15, test=0.15, seed=other)

    assert first == again
    assert (first == different) == (seed == other)


# --- stratified ------------------------------------------------------------------------------


@PROPERTY
@given(
    class_sizes=st.lists(st.integers(10, 60), min_size=2, max_size=5),
    valid=valid_fractions,
    test=test_fractions,
    seed=seeds,
)
def test_stratified_split_keeps_every_class_in_proportion(
    class_sizes: list[int], valid: float, test: float, seed: int
) -> None:
    labels = np.random.default_rng(seed).permutation(
        np.repeat(np.arange(len(class_sizes)), class_sizes)
    )
    df = frame_of(label=labels)

    split = split_frame(
        df, strategy="stratified", valid=valid, test=test, seed=seed, target="label"
    )

    assert_partition(split, len(df))
    assert split == split_frame(
        df, strategy="stratified", valid=valid, test=test, seed=seed, target="label"
    )
    for label, size in enumerate(class_sizes):
        for part, fraction in ((split.valid, valid), (split.test, test)):
            count = int(np.sum(labels[part] == label))
            assert abs(count - size * fraction) <= 1
            assert count >= 1 or fraction == 0


def test_stratified_split_puts_a_rare_class_in_every_split(seed: int) -> None:
    df = frame_of(label=["common"] * 97 + ["rare"] * 3)

    split = split_frame(df, strategy="stratified", valid=0.15, test=0.15, seed=seed, target="label")

    for part in apply_split(df, split).values():
        assert "rare" in set(part["label"])


# --- time ------------------------------------------------------------------------------------


@PROPERTY
@given(
    times=st.lists(st.integers(0, 30), min_size=20, max_size=300),
    valid=valid_fractions,
    test=test_fractions,
)
def test_time_split_keeps_time_order_and_whole_timestamps(
    times: list[int], valid: float, test: float
) -> None:
    df = frame_of(ts=pd.to_datetime(times, unit="D"))
    needed = 2 if valid == 0 else 3
    if len(set(times)) < needed:
        with pytest.raises(SplitError, match="distinct values"):
            split_frame(df, strategy="time", valid=valid, test=test, seed=0, timestamp="ts")
        return

    split = split_frame(df, strategy="time", valid=valid, test=test, seed=0, timestamp="ts")

    assert_partition(split, len(df))
    parts = [df["ts"].iloc[p] for p in (split.train, split.valid, split.test) if len(p)]
    assert len(parts) == needed, "no split that should hold rows is empty"
    for earlier, later in itertools.pairwise(parts):
        assert earlier.max() < later.min()


def test_time_split_ignores_the_seed_and_row_order(seed: int) -> None:
    df = frame_of(ts=[5, 1, 4, 2, 3, 9, 8, 7, 6, 0] * 3)

    split = split_frame(df, strategy="time", valid=0.2, test=0.2, seed=seed, timestamp="ts")

    assert split == split_frame(df, strategy="time", valid=0.2, test=0.2, seed=0, timestamp="ts")
    assert sorted(set(df["ts"].iloc[split.test])) == [8, 9]
    assert sorted(set(df["ts"].iloc[split.valid])) == [6, 7]


# --- group -----------------------------------------------------------------------------------


@PROPERTY
@given(
    groups=st.lists(st.integers(0, 40), min_size=20, max_size=300),
    valid=valid_fractions,
    test=test_fractions,
    seed=seeds,
)
def test_group_split_never_shares_a_group(
    groups: list[int], valid: float, test: float, seed: int
) -> None:
    df = frame_of(user=groups)
    needed = 2 if valid == 0 else 3
    if len(set(groups)) < needed:
        with pytest.raises(SplitError, match="groups"):
            split_frame(df, strategy="group", valid=valid, test=test, seed=seed, group="user")
        return

    split = split_frame(df, strategy="group", valid=valid, test=test, seed=seed, group="user")

    assert_partition(split, len(df))
    assert split == split_frame(
        df, strategy="group", valid=valid, test=test, seed=seed, group="user"
    )
    train, valid_groups, test_groups = (
        set(df["user"].iloc[p]) for p in (split.train, split.valid, split.test)
    )
    assert train.isdisjoint(valid_groups)
    assert train.isdisjoint(test_groups)
    assert valid_groups.isdisjoint(test_groups)
    assert train, "train holds at least one group"
    assert test_groups
    assert bool(valid_groups) == (valid > 0)


def test_group_split_sizes_follow_the_fractions_by_rows(seed: int) -> None:
    df = frame_of(user=np.repeat(np.arange(200), 5))

    split = split_frame(df, strategy="group", valid=0.15, test=0.15, seed=seed, group="user")

    assert split.sizes() == {"train": 700, "valid": 150, "test": 150}


# --- results ---------------------------------------------------------------------------------


def test_apply_split_returns_the_rows_of_each_split(seed: int) -> None:
    df = frame_of(x=np.arange(40) * 10)

    split = split_frame(df, strategy="random", valid=0.25, test=0.25, seed=seed)
    frames = apply_split(df, split)

    assert list(frames) == ["train", "valid", "test"]
    assert frames["test"]["x"].tolist() == (split.test * 10).tolist()
    assert all(frame.index.equals(pd.RangeIndex(len(frame))) for frame in frames.values())


@pytest.mark.parametrize("strategy", [s for s in STRATEGIES if s != "time"])
def test_zero_valid_fraction_leaves_valid_empty(strategy: str, seed: int) -> None:
    df = frame_of(x=np.arange(60), label=[0, 1] * 30, user=np.arange(60) // 3)

    split = split_frame(
        df, strategy=strategy, valid=0.0, test=0.2, seed=seed, target="label", group="user"
    )

    assert len(split.valid) == 0
    assert_partition(split, 60)


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"strategy": "randon"},
            r"Unknown split strategy 'randon'\. Did you mean 'random'\? Use one of: random",
            id="unknown-strategy",
        ),
        pytest.param(
            {"valid": 0.6, "test": 0.5},
            r"valid=0\.6 and test=0\.5 must each be in \[0, 1\) and sum to less than 1",
            id="fractions-over-one",
        ),
        pytest.param(
            {"test": -0.1}, r"test=-0\.1 must each be in \[0, 1\)", id="negative-fraction"
        ),
        pytest.param(
            {"strategy": "time"},
            r"Split strategy 'time' needs a timestamp column\. Set data\.timestamp",
            id="time-without-timestamp",
        ),
        pytest.param(
            {"strategy": "stratified"},
            r"'stratified' needs a target column\. Set data\.target\.column",
            id="stratified-without-target",
        ),
        pytest.param(
            {"strategy": "group", "group": "usr"},
            r"No group column 'usr' in the data to split by\. Did you mean 'user'\? Columns: ",
            id="missing-column",
        ),
        pytest.param(
            {"strategy": "group", "group": "city"},
            r"Group column 'city' has 2 groups; a group split into 3 parts needs at least 3",
            id="too-few-groups",
        ),
        pytest.param(
            {"strategy": "stratified", "target": "label"},
            r"Class 'rare' of target 'label' has 2 rows; .* needs at least 3 rows of each class",
            id="rare-class",
        ),
        pytest.param(
            {"strategy": "time", "timestamp": "day"},
            r"Timestamp column 'day' has 2 distinct values; .* needs at least 3",
            id="too-few-timestamps",
        ),
        pytest.param(
            {"strategy": "time", "timestamp": "when"},
            r"Timestamp column 'when' has 1 missing values; .* Drop or fill them",
            id="missing-timestamps",
        ),
    ],
)
def test_impossible_splits_say_why(options: dict[str, Any], message: str) -> None:
    df = frame_of(
        user=np.arange(40) // 2,
        city=["Oslo", "Lima"] * 20,
        label=["common"] * 38 + ["rare"] * 2,
        day=[1] * 20 + [2] * 20,
        when=[None, *range(39)],
    )
    arguments: dict[str, Any] = {"strategy": "random", "valid": 0.15, "test": 0.15, "seed": 1}

    with pytest.raises(SplitError, match=message):
        split_frame(df, **(arguments | options))


@pytest.mark.parametrize(
    ("rows", "valid", "test", "message"),
    [
        pytest.param(3, 0.15, 0.15, r"3 rows are too few .* the valid split would be empty\. Use "
                     r"at least 4 rows", id="empty-valid"),
        pytest.param(1, 0.0, 0.2, r"the test split would be empty\. Use at least 3 rows",
                     id="empty-test"),
        pytest.param(2, 0.3, 0.3, r"the train split would be empty\. Use at least 3 rows",
                     id="empty-train"),
        pytest.param(0, 0.1, 0.1, r"0 rows are too few", id="no-rows"),
    ],
)  # fmt: skip
def test_too_few_rows_say_how_many_are_needed(
    rows: int, valid: float, test: float, message: str
) -> None:
    df = frame_of(x=np.arange(rows))

    with pytest.raises(SplitError, match=message):
        split_frame(df, strategy="random", valid=valid, test=test, seed=1)
