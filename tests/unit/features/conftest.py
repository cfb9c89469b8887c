"""A small raw frame with every feature kind and the awkward values real data has."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelyard.features.spec import FeatureSpec

ROWS = 2000


@pytest.fixture
def spec() -> FeatureSpec:
    """One column of each kind, and an integer-coded categorical."""
    return FeatureSpec(
        numeric=("amount", "count"),
        categorical=("colour", "code"),
        ordinal=("size",),
        datetime=("when",),
    )


@pytest.fixture
def raw(seed: int) -> pd.DataFrame:
    """Raw rows: NaN amounts, rare and missing colours, int codes, NaT times, an extra column."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.normal(100, 20, ROWS),
            "count": rng.integers(0, 10, ROWS),
            "colour": rng.choice(
                ["red", "green", "blue", "mauve", "teal"],
                p=[0.5, 0.3, 0.194, 0.004, 0.002],
                size=ROWS,
            ),
            "code": rng.integers(1, 4, ROWS),
            "size": rng.choice(["S", "M", "L"], size=ROWS),
            "when": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 366 * 86400, ROWS), unit="s"),
            "unused": rng.normal(size=ROWS),
        }
    )
    frame.loc[rng.random(ROWS) < 0.1, "amount"] = np.nan
    frame.loc[rng.random(ROWS) < 0.05, "colour"] = None
    frame.loc[rng.random(ROWS) < 0.05, "when"] = pd.NaT
    return frame
