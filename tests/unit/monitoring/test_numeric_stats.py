"""Numeric statistics equal SciPy's: KS statistic and p-value, Wasserstein; PSI by hand."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from modelyard.monitoring.categorical import psi
from modelyard.monitoring.ks import ks_pvalues
from modelyard.monitoring.numeric import compare_numeric, quantile_bin_counts, value_counts

TOLERANCE = 1e-12
PROPERTY = settings(max_examples=150, deadline=None)


def ks_scipy(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """ks_2samp(method="auto"), quiet where its exact sum fails and it falls back to asymp."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "ks_2samp: Exact calculation unsuccessful")
        result = stats.ks_2samp(reference, current, method="auto")
    return float(result.statistic), float(result.pvalue)


def ks_ours(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    comparison = compare_numeric(reference, current)
    return ks_pvalues(comparison.ks_statistic, comparison.n_reference, comparison.n_current)


def draw(rng: np.random.Generator, shape: tuple[int, int], ties: bool) -> np.ndarray:
    values = rng.normal(size=shape)
    return np.round(values, 1) if ties else values


@pytest.mark.parametrize(
    ("n1", "n2"),
    [
        pytest.param(1, 1, id="1-1"),
        pytest.param(1, 7, id="1-7"),
        pytest.param(13, 8, id="13-8"),
        pytest.param(100, 100, id="100-equal"),
        pytest.param(1000, 999, id="1000-999"),
        pytest.param(1000, 250, id="1000-250"),
        pytest.param(3000, 4500, id="3000-4500"),
        pytest.param(10_000, 10_000, id="10k-equal-exact-edge"),
        pytest.param(10_001, 9_000, id="10001-asymptotic"),
        pytest.param(30_000, 12_345, id="30k-asymptotic"),
    ],
)
@pytest.mark.parametrize("ties", [False, True], ids=["continuous", "ties"])
def test_ks_equals_scipy_ks_2samp(seed: int, n1: int, n2: int, ties: bool) -> None:
    rng = np.random.default_rng(seed + n1 + n2)
    reference = draw(rng, (4, n1), ties)
    current = draw(rng, (4, n2), ties) + np.array([[0.0], [0.02], [0.1], [0.5]])

    d, p = ks_ours(reference, current)

    for j in range(4):
        statistic, p_value = ks_scipy(reference[j], current[j])
        assert d[j] == pytest.approx(statistic, abs=TOLERANCE)
        assert p[j] == pytest.approx(p_value, abs=TOLERANCE, rel=TOLERANCE)


@PROPERTY
@given(
    n1=st.integers(1, 400),
    n2=st.integers(1, 400),
    decimals=st.integers(0, 3),
    shift=st.floats(-1, 1),
    seed=st.integers(0, 2**32 - 1),
)
def test_ks_equals_scipy_on_random_samples(
    n1: int, n2: int, decimals: int, shift: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    reference = np.round(rng.normal(size=(1, n1)), decimals)
    current = np.round(rng.normal(shift, size=(1, n2)), decimals)

    d, p = ks_ours(reference, current)

    statistic, p_value = ks_scipy(reference[0], current[0])
    assert abs(d[0] - statistic) <= TOLERANCE
    assert abs(p[0] - p_value) <= TOLERANCE


@pytest.mark.parametrize("n", [15, 36, 113, 127])
def test_ks_falls_back_to_asymptotic_where_scipys_exact_sum_fails(n: int) -> None:
    reference = np.arange(n, dtype=float)[None, :]
    current = reference + 0.5  # D = 1/n: scipy's exact p-value rounds above 1 there

    with pytest.warns(RuntimeWarning, match="Exact calculation unsuccessful"):
        expected = stats.ks_2samp(reference[0], current[0])
    d, p = ks_ours(reference, current)

    assert d[0] == pytest.approx(expected.statistic, abs=TOLERANCE)
    assert p[0] == pytest.approx(expected.pvalue, abs=TOLERANCE)


def test_missing_and_infinite_values_are_left_out(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference, current = rng.normal(size=(2, 500)), rng.normal(0.2, size=(2, 700))
    reference[0, :50] = np.nan
    current[0, ::7] = np.inf
    current[1, 3] = -np.inf

    comparison = compare_numeric(reference, current)
    d, p = ks_pvalues(comparison.ks_statistic, comparison.n_reference, comparison.n_current)

    for j in range(2):
        ref, cur = reference[j][np.isfinite(reference[j])], current[j][np.isfinite(current[j])]
        expected = stats.ks_2samp(ref, cur)
        assert (comparison.n_reference[j], comparison.n_current[j]) == (ref.size, cur.size)
        assert d[j] == pytest.approx(expected.statistic, abs=TOLERANCE)
        assert p[j] == pytest.approx(expected.pvalue, abs=TOLERANCE)
        assert comparison.wasserstein[j] == pytest.approx(stats.wasserstein_distance(ref, cur))


@pytest.mark.parametrize(
    ("n1", "n2", "ties"),
    [
        pytest.param(1, 1, False, id="1-1"),
        pytest.param(50, 80, False, id="50-80"),
        pytest.param(1000, 1000, True, id="1000-ties"),
        pytest.param(20_000, 5_000, False, id="20k-5k"),
    ],
)
def test_wasserstein_over_reference_std_equals_scipy(
    seed: int, n1: int, n2: int, ties: bool
) -> None:
    rng = np.random.default_rng(seed)
    reference = draw(rng, (3, n1), ties) * 3.0
    current = draw(rng, (3, n2), ties) * np.array([[3.0], [4.0], [2.0]]) + 0.5

    comparison = compare_numeric(reference, current)

    for j in range(3):
        wasserstein = stats.wasserstein_distance(reference[j], current[j])
        assert comparison.wasserstein[j] == pytest.approx(wasserstein, rel=1e-12, abs=1e-15)
        expected = wasserstein / max(np.std(reference[j]), 0.001)
        assert comparison.normed_wasserstein()[j] == pytest.approx(expected, rel=1e-12)


def test_constant_columns_compare_cleanly() -> None:
    reference = np.array([[5.0] * 10, [5.0] * 10])
    current = np.array([[5.0] * 8, [6.0] * 8])

    comparison = compare_numeric(reference, current)
    d, p = ks_pvalues(comparison.ks_statistic, comparison.n_reference, comparison.n_current)

    assert list(d) == [0.0, 1.0]
    assert p[0] == 1.0
    assert p[1] == pytest.approx(stats.ks_2samp(reference[1], current[1]).pvalue)
    assert list(comparison.reference_std) == [0.0, 0.0]
    # Evidently floors the std at 0.001, so a constant that moves by 1 scores 1000
    assert comparison.normed_wasserstein()[1] == pytest.approx(1000.0)
    assert list(comparison.n_distinct) == [1, 2]


def test_an_empty_side_gives_zero_statistics_and_counts() -> None:
    comparison = compare_numeric(np.array([[1.0, 2.0, 3.0]]), np.array([[np.nan, np.nan]]))

    assert (comparison.n_reference[0], comparison.n_current[0]) == (3, 0)
    assert comparison.ks_statistic[0] == 0.0
    assert comparison.wasserstein[0] == 0.0


def test_psi_on_reference_quantile_bins_by_hand() -> None:
    reference = np.arange(1.0, 11.0)  # deciles cut between each value
    current = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0])

    ref_counts, cur_counts, edges = quantile_bin_counts(reference, current, n_bins=5)

    assert list(edges) == pytest.approx([2.8, 4.6, 6.4, 8.2])
    assert list(ref_counts) == [2, 2, 2, 2, 2]
    assert list(cur_counts) == [6, 2, 1, 0, 1]
    # proportions ref 0.2 each; cur 0.6, 0.2, 0.1, 0 -> 1e-4, 0.1
    expected = (
        (0.6 - 0.2) * np.log(0.6 / 0.2)
        + 0.0
        + (0.1 - 0.2) * np.log(0.1 / 0.2) * 2
        + (1e-4 - 0.2) * np.log(1e-4 / 0.2)
    )
    assert psi(ref_counts, cur_counts) == pytest.approx(expected)
    assert psi(ref_counts, ref_counts) == 0.0


def test_value_counts_align_both_windows() -> None:
    ref_counts, cur_counts, values = value_counts(np.array([0.0, 0.0, 1.0]), np.array([1.0, 2.0]))

    assert list(values) == [0.0, 1.0, 2.0]
    assert list(ref_counts) == [2, 1, 0]
    assert list(cur_counts) == [0, 1, 1]
