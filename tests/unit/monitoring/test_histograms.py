"""column_distribution and distributions: shared bins, shares, missing values, top categories."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.errors import ConfigValueError, FeatureError
from modelyard.monitoring.histograms import (
    OTHER,
    Distribution,
    column_distribution,
    distributions,
)

PROPERTY = settings(max_examples=150, deadline=None)


def numeric(reference: list[float | None], current: list[float | None], bins: int) -> Distribution:
    return column_distribution(
        pd.Series(reference, dtype=float), pd.Series(current, dtype=float), "numeric", bins=bins
    )


def test_numeric_bins_are_reference_quantiles_shared_by_both_windows() -> None:
    found = numeric([float(v) for v in range(100)], [10.0, 30.0, 60.0, 80.0, 90.0], bins=4)

    assert list(found.edges) == [0.0, 24.75, 49.5, 74.25, 99.0]
    assert list(found.reference) == [0.25, 0.25, 0.25, 0.25]
    assert list(found.current) == [0.2, 0.2, 0.2, 0.4]
    assert found.reference_missing == 0.0
    assert found.current_missing == 0.0


def test_values_outside_the_reference_range_join_the_end_bins() -> None:
    found = numeric([1.0, 2.0, 3.0, 4.0], [-100.0, 0.0, 2.5, 4.0, 1e9], bins=2)

    assert list(found.edges) == [1.0, 2.5, 4.0]
    assert list(found.reference) == [0.5, 0.5]
    # -100 and 0 fall below 1.0; 2.5 opens the last bin; 4.0 closes it; 1e9 is above it.
    assert list(found.current) == [0.4, 0.6]


def test_numeric_missing_values_are_nan_none_and_infinities() -> None:
    reference = pd.Series([1.0, 2.0, 3.0, None, np.nan, np.inf, -np.inf, 4.0], dtype=float)
    current = pd.Series([np.inf, 2.0, None, 3.0], dtype=object)

    found = column_distribution(reference, current, "numeric", bins=2)

    assert found.reference_missing == pytest.approx(4 / 8)
    assert found.current_missing == pytest.approx(2 / 4)
    assert list(found.reference) == [0.5, 0.5]
    assert list(found.current) == [0.5, 0.5]


def test_tied_quantiles_are_merged_into_fewer_bins() -> None:
    found = numeric([0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0], [0.0, 3.0], bins=4)

    assert list(found.edges) == [0.0, 2.0, 4.0]
    assert found.reference == pytest.approx([6 / 9, 3 / 9])
    assert list(found.current) == [0.5, 0.5]


def test_a_constant_reference_spans_both_windows_evenly() -> None:
    found = numeric([3.0, 3.0, 3.0], [1.0, 5.0], bins=4)

    assert list(found.edges) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert list(found.reference) == [0.0, 0.0, 1.0, 0.0]
    assert list(found.current) == [0.5, 0.0, 0.0, 0.5]


def test_one_value_in_both_windows_gets_a_unit_wide_range() -> None:
    found = numeric([2.0, 2.0], [2.0], bins=2)

    assert list(found.edges) == [1.5, 2.0, 2.5]
    assert list(found.reference) == [0.0, 1.0]
    assert list(found.current) == [0.0, 1.0]


def test_a_reference_without_values_takes_its_edges_from_the_current_window() -> None:
    found = numeric([None, np.nan], [1.0, 2.0, 3.0, 4.0], bins=2)

    assert list(found.edges) == [1.0, 2.5, 4.0]
    assert list(found.reference) == [0.0, 0.0]
    assert list(found.current) == [0.5, 0.5]
    assert found.reference_missing == 1.0


@pytest.mark.parametrize(
    ("reference", "current", "missing"),
    [
        pytest.param([np.nan, np.inf], [None], (1.0, 1.0), id="all-missing"),
        pytest.param([], [], (0.0, 0.0), id="empty"),
    ],
)
def test_no_values_on_either_side_gives_no_bins(
    reference: list[float | None], current: list[float | None], missing: tuple[float, float]
) -> None:
    found = numeric(reference, current, bins=5)

    assert (found.edges, found.reference, found.current) == ((), (), ())
    assert (found.reference_missing, found.current_missing) == missing


def test_an_empty_current_window_has_zero_shares() -> None:
    found = numeric([1.0, 2.0, 3.0], [], bins=2)

    assert list(found.edges) == [1.0, 2.0, 3.0]
    assert list(found.current) == [0.0, 0.0]
    assert found.current_missing == 0.0


@PROPERTY
@given(
    reference=st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(math.nan), st.just(math.inf))),
    current=st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(math.nan))),
    bins=st.integers(1, 25),
)
def test_numeric_shares_count_every_finite_value_once(
    reference: list[float], current: list[float], bins: int
) -> None:
    found = numeric(reference, current, bins=bins)

    edges = np.array(found.edges)
    assert np.all(np.isfinite(edges))
    assert np.all(np.diff(edges) > 0)
    assert len(edges) <= bins + 1
    for side, values in (("reference", reference), ("current", current)):
        finite = [v for v in values if math.isfinite(v)]
        assert len(getattr(found, side)) == max(len(edges) - 1, 0)
        counts = np.array(getattr(found, side)) * len(finite)
        assert counts == pytest.approx(np.round(counts), abs=1e-6)
        assert sum(counts) == pytest.approx(len(finite) if len(edges) else 0)
        missing = 1 - len(finite) / len(values) if values else 0.0
        assert getattr(found, f"{side}_missing") == pytest.approx(missing)
    json.dumps(found.to_dict(), allow_nan=False)


def test_categories_are_ranked_by_their_share_in_both_windows() -> None:
    reference = pd.Series(["a"] * 6 + ["b"] * 3 + ["c"] + [None] * 2)
    current = pd.Series(["c"] * 3 + ["b"])

    found = column_distribution(reference, current, "categorical")

    # c: 0.1 + 0.75 beats a: 0.6 + 0 though a is the most frequent value overall.
    assert list(found.categories) == ["c", "a", "b"]
    assert found.reference == pytest.approx([0.1, 0.6, 0.3])
    assert found.current == pytest.approx([0.75, 0.0, 0.25])
    assert found.reference_missing == pytest.approx(2 / 12)
    assert found.current_missing == 0.0


def test_categories_after_the_top_ones_are_summed_into_other() -> None:
    reference = pd.Series(list("aaaabbbcde"))
    current = pd.Series(list("aabbbbbfgh"))

    found = column_distribution(reference, current, "categorical", top=2)

    assert list(found.categories) == ["b", "a", OTHER]
    assert found.reference == pytest.approx([0.3, 0.4, 0.3])
    assert found.current == pytest.approx([0.5, 0.2, 0.3])


def test_equal_shares_keep_label_order_and_numbers_become_their_labels() -> None:
    reference = pd.Series([2.0, 1.0, np.nan, 10.0])
    current = pd.Series([1, 2, 10], dtype="Int64")

    found = column_distribution(reference, current, "categorical")

    assert list(found.categories) == ["1", "10", "2"]
    assert found.reference == pytest.approx([1 / 3] * 3)
    assert found.reference_missing == 0.25


def test_an_empty_categorical_side_has_zero_shares() -> None:
    found = column_distribution(pd.Series(["x", "y"]), pd.Series([None, None]), "categorical")

    assert list(found.categories) == ["x", "y"]
    assert list(found.current) == [0.0, 0.0]
    assert found.current_missing == 1.0


def test_distributions_cover_the_given_columns_in_order() -> None:
    reference = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "colour": list("rrgb"), "y": [0] * 4})
    current = pd.DataFrame({"colour": list("rggg"), "x": [4.0, 4.0, 4.0, 1.0]})

    found = distributions(reference, current, {"colour": "categorical", "x": "numeric"}, bins=2)

    assert list(found) == ["colour", "x"]
    assert found["colour"].categories == ("g", "r", "b")
    assert found["x"].current == (0.25, 0.75)
    json.dumps({name: d.to_dict() for name, d in found.items()}, allow_nan=False)


def test_distributions_name_a_missing_column_and_its_close_match() -> None:
    frame = pd.DataFrame({"temp": [1.0]})

    with pytest.raises(FeatureError, match=r"'tmp' is not in the reference window\. Did you mean"):
        distributions(frame, frame, {"tmp": "numeric"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"kind": "ordinal"}, r"kind='ordinal' is unknown", id="kind"),
        pytest.param({"bins": 0}, r"bins=0 must be at least 1", id="bins"),
        pytest.param({"top": 0}, r"top=0 must be at least 1", id="top"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict, message: str) -> None:
    arguments = {"kind": "numeric", **kwargs}
    series = pd.Series([1.0])

    with pytest.raises(ConfigValueError, match=message):
        column_distribution(series, series, **arguments)


def test_text_declared_numeric_is_refused_with_the_fix() -> None:
    text = pd.Series(["1.5", "high"], name="level")

    with pytest.raises(FeatureError, match=r"'level' is declared numeric .* Declare it"):
        column_distribution(text, text, "numeric")
