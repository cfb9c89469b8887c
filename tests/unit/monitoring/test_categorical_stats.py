"""Count-based statistics equal SciPy's: chi-square, Jensen-Shannon; Z-test and PSI checked."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from modelyard.monitoring.categorical import chisquare, jensenshannon, psi, ztest

counts = st.lists(st.integers(0, 500), min_size=2, max_size=12)
PROPERTY = settings(max_examples=150, deadline=None)


@PROPERTY
@given(reference=counts, current=counts)
def test_chisquare_equals_scipy_chi2_contingency(reference: list[int], current: list[int]) -> None:
    size = min(len(reference), len(current))
    ref, cur = np.array(reference[:size]), np.array(current[:size])
    table = np.vstack([ref, cur])
    table = table[:, table.sum(axis=0) > 0]

    statistic, p_value = chisquare(ref, cur)

    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        assert (statistic, p_value) == (0.0, 1.0)
        return
    expected = stats.chi2_contingency(table, correction=False)
    assert statistic == pytest.approx(expected.statistic, rel=1e-12, abs=1e-12)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-12, abs=1e-12)


@PROPERTY
@given(reference=counts, current=counts)
def test_jensenshannon_equals_scipy_on_frequencies(
    reference: list[int], current: list[int]
) -> None:
    size = min(len(reference), len(current))
    ref, cur = np.array(reference[:size]), np.array(current[:size])
    if ref.sum() == 0 or cur.sum() == 0:
        return

    expected = distance.jensenshannon(ref / ref.sum(), cur / cur.sum())

    assert jensenshannon(ref, cur) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_jensenshannon_uses_the_natural_log_like_evidently() -> None:
    disjoint = jensenshannon(np.array([10, 0]), np.array([0, 10]))

    assert disjoint == pytest.approx(math.sqrt(math.log(2)))


def test_ztest_matches_evidentlys_formula_and_the_2x2_chisquare() -> None:
    ref, cur = np.array([520, 480]), np.array([470, 530])
    p1, p2 = 520 / 1000, 470 / 1000
    pooled = 990 / 2000
    z_expected = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (2 / 1000))

    z, p_value = ztest(ref, cur)

    assert z == pytest.approx(z_expected, rel=1e-12)
    assert p_value == pytest.approx(2 * (1 - stats.norm.cdf(abs(z_expected))), rel=1e-9)
    chi2, chi2_p = chisquare(ref, cur)
    assert chi2 == pytest.approx(z**2, rel=1e-12)
    assert chi2_p == pytest.approx(p_value, rel=1e-9)


def test_ztest_on_a_single_shared_value_cannot_drift() -> None:
    assert ztest(np.array([30]), np.array([12])) == (0.0, 1.0)


def test_psi_on_categories_by_hand() -> None:
    ref, cur = np.array([50, 30, 20, 0]), np.array([40, 30, 20, 10])
    expected = (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.1 - 1e-4) * math.log(0.1 / 1e-4)

    assert psi(ref, cur) == pytest.approx(expected)
