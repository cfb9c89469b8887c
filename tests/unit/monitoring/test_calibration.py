"""R18: the default numeric and categorical tests keep their false-alarm rate and find shifts.

Each replicate is one column of one frame, so 200 replicates cost one detect_drift call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelyard.monitoring.drift import detect_drift

REPLICATES, ROWS, ALPHA = 200, 1000, 0.05
MAX_FALSE_POSITIVE_RATE, MIN_POWER = 0.08, 0.90


def numeric_replicates(seed: int, shift: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    reference = rng.normal(size=(ROWS, REPLICATES))
    current = rng.normal(loc=shift, size=(ROWS, REPLICATES))
    names = [f"r{i:03d}" for i in range(REPLICATES)]
    return pd.DataFrame(reference, columns=names), pd.DataFrame(current, columns=names)


def categorical_replicates(seed: int, shifted: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    categories = np.array(list("abcde"))
    p_ref = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
    p_cur = np.array([0.24, 0.25, 0.2, 0.16, 0.15]) if shifted else p_ref
    names = [f"r{i:03d}" for i in range(REPLICATES)]
    reference = {name: rng.choice(categories, size=ROWS, p=p_ref) for name in names}
    current = {name: rng.choice(categories, size=ROWS, p=p_cur) for name in names}
    return pd.DataFrame(reference), pd.DataFrame(current)


def drifted_rate(reference: pd.DataFrame, current: pd.DataFrame, method: str) -> float:
    report = detect_drift(reference, current, alpha=ALPHA)
    assert {verdict.method for verdict in report.columns} == {method}
    return report.share_drifted


def test_numeric_default_false_positive_rate_under_the_null(seed: int) -> None:
    rate = drifted_rate(*numeric_replicates(seed, shift=0.0), method="ks")

    assert rate <= MAX_FALSE_POSITIVE_RATE


def test_numeric_default_power_on_a_third_of_a_std_shift(seed: int) -> None:
    rate = drifted_rate(*numeric_replicates(seed + 1, shift=0.3), method="ks")

    assert rate >= MIN_POWER


def test_categorical_default_false_positive_rate_under_the_null(seed: int) -> None:
    rate = drifted_rate(*categorical_replicates(seed + 2, shifted=False), method="chisquare")

    assert rate <= MAX_FALSE_POSITIVE_RATE


def test_categorical_default_power_on_a_shifted_mix(seed: int) -> None:
    rate = drifted_rate(*categorical_replicates(seed + 3, shifted=True), method="chisquare")

    assert rate >= MIN_POWER


def test_calibration_is_deterministic(seed: int) -> None:
    first = detect_drift(*numeric_replicates(seed, shift=0.0)).to_dict()
    second = detect_drift(*numeric_replicates(seed, shift=0.0)).to_dict()

    assert first == second
