"""Realistic synthetic training and scoring frames for the model tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from modelyard.features.spec import FeatureSpec
from modelyard.features.transform import prepare_frame

SPEC = FeatureSpec(
    numeric=("amount", "age", "visits"),
    categorical=("city", "plan_code"),
    ordinal=("tier",),
    datetime=("signup",),
)
CITIES = ["paris", "lyon", "lille", "nice", "brest", "albi"]
CITY_SHARES = [0.4, 0.3, 0.15, 0.142, 0.005, 0.003]  # brest and albi fall under 1%


@dataclass(frozen=True, slots=True)
class Data:
    """Prepared rows to fit on, prepared rows to score (with unseen categories), targets."""

    train: pd.DataFrame
    score: pd.DataFrame
    targets: dict[str, pd.Series]


def raw_rows(rng: np.random.Generator, rows: int) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "amount": rng.lognormal(3, 1, rows),
            "age": rng.normal(40, 12, rows).round(),
            "visits": rng.poisson(3, rows),
            "city": rng.choice(CITIES, p=CITY_SHARES, size=rows),
            "plan_code": rng.integers(1, 6, rows),  # ints, cast to text
            "tier": rng.choice(["bronze", "silver", "gold"], size=rows),
            "signup": pd.Timestamp("2023-01-01")
            + pd.to_timedelta(rng.integers(0, 500 * 86400, rows), unit="s"),
        }
    )
    frame.loc[rng.random(rows) < 0.1, "amount"] = np.nan
    frame.loc[rng.random(rows) < 0.05, "age"] = np.nan
    frame.loc[rng.random(rows) < 0.04, "city"] = None
    frame.loc[rng.random(rows) < 0.03, "signup"] = pd.NaT
    return frame


def targets_of(frame: pd.DataFrame, rng: np.random.Generator) -> dict[str, pd.Series]:
    score = (
        np.log1p(frame["amount"].fillna(20)) * 0.8
        - 0.03 * frame["age"].fillna(40)
        + 0.2 * frame["visits"]
        + frame["city"].map({"paris": 0.8, "lyon": -0.5}).fillna(0.0)
        + 0.3 * frame["plan_code"]
        + rng.normal(0, 0.7, len(frame))
    )
    return {
        "binary_classification": (score > score.median()).astype(int),
        "multiclass_classification": pd.Series(pd.qcut(score, 3, labels=False), dtype=int),
        "regression": score * 100.0,
    }


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """OpenMP and BLAS on one thread: spinning threads stall when test processes share cores."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture
def data(seed: int) -> Data:
    """3000 training rows; 1000 scoring rows where some categories never appeared in training."""
    rng = np.random.default_rng(seed)
    train = raw_rows(rng, 3000)
    score = raw_rows(rng, 1000)
    score.loc[score.index[:40], "city"] = "reykjavik"
    score.loc[score.index[40:80], "plan_code"] = 99
    score.loc[score.index[80:120], "tier"] = "platinum"
    return Data(prepare_frame(train, SPEC), prepare_frame(score, SPEC), targets_of(train, rng))


@pytest.fixture
def spec() -> FeatureSpec:
    """The feature spec of ``data``."""
    return SPEC
