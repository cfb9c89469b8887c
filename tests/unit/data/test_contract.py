"""Data contracts: files that load or say what is wrong, and data checked against every rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from modelyard.data.contract import (
    ColumnRule,
    Contract,
    Freshness,
    check_contract,
    enforce_contract,
    load_contract,
)
from modelyard.data.report import CheckFailure
from modelyard.errors import ConfigNotFoundError, ContractError, ContractViolationError

CONTRACT = """\
columns:
  carrier: {type: string, nullable: false, allowed: [UA, AA, B6]}
  distance: {type: float, min: 0, max: 5000}
  dep_hour: {type: int, min: 0, max: 23}
  time_hour: {type: datetime}
  tailnum: {type: string, nullable: true}
  flight_id: {type: int, unique: true}
  is_weekend: {type: bool}
  origin: {type: category, allowed: [EWR, JFK, LGA]}
  description: {type: string, required: false}   # optional column
rows: {min: 3, max: 1000}
freshness: {column: time_hour, max_age: 2d}
strict: false
"""
NOW = datetime(2013, 1, 3, tzinfo=UTC)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "contract.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def contract(tmp_path: Path) -> Contract:
    return load_contract(write(tmp_path, CONTRACT))


@pytest.fixture
def flights() -> pd.DataFrame:
    """Four rows that meet every rule of CONTRACT at NOW."""
    return pd.DataFrame(
        {
            "carrier": ["UA", "AA", "B6", "UA"],
            "distance": [1400.0, 200.5, 0.0, 5000.0],
            "dep_hour": [5, 6, 0, 23],
            "time_hour": pd.to_datetime(
                ["2013-01-01 05:00", "2013-01-01 06:00", "2013-01-02 00:00", "2013-01-03 00:00"]
            ),
            "tailnum": ["N14228", None, "N619AA", "N804JB"],
            "flight_id": [1545, 1714, 1141, 725],
            "is_weekend": [False, False, True, True],
            "origin": pd.Categorical(["EWR", "LGA", "JFK", "JFK"]),
        }
    )


def check(df: pd.DataFrame, contract: Contract, now: datetime = NOW) -> tuple[CheckFailure, ...]:
    return check_contract(df, contract, source="flights.parquet", now=now).failures


# --- loading ---------------------------------------------------------------------------------


def test_load_contract_reads_every_rule(contract: Contract, tmp_path: Path) -> None:
    rules = {rule.name: rule for rule in contract.columns}
    assert list(rules) == [
        "carrier",
        "distance",
        "dep_hour",
        "time_hour",
        "tailnum",
        "flight_id",
        "is_weekend",
        "origin",
        "description",
    ]
    assert rules["carrier"] == ColumnRule("carrier", "string", allowed=("UA", "AA", "B6"))
    assert rules["distance"] == ColumnRule("distance", "float", min=0, max=5000)
    assert rules["tailnum"].nullable
    assert rules["flight_id"].unique
    assert not rules["description"].required
    assert (contract.min_rows, contract.max_rows) == (3, 1000)
    assert contract.freshness == Freshness("time_hour", timedelta(days=2))
    assert not contract.strict
    assert contract.path == tmp_path / "contract.yaml"


@pytest.mark.parametrize(
    ("max_age", "expected"),
    [
        pytest.param("30s", timedelta(seconds=30), id="seconds"),
        pytest.param("15m", timedelta(minutes=15), id="minutes"),
        pytest.param("36h", timedelta(hours=36), id="hours"),
        pytest.param("1.5d", timedelta(days=1.5), id="fractional-days"),
        pytest.param("2w", timedelta(weeks=2), id="weeks"),
    ],
)
def test_max_age_units(tmp_path: Path, max_age: str, expected: timedelta) -> None:
    text = f"columns:\n  t: datetime\nfreshness: {{column: t, max_age: {max_age}}}\n"
    freshness = load_contract(write(tmp_path, text)).freshness
    assert freshness is not None
    assert freshness.max_age == expected


def test_a_type_name_alone_is_shorthand_for_a_rule(tmp_path: Path) -> None:
    contract = load_contract(write(tmp_path, "columns:\n  origin: category\n"))
    assert contract.columns == (ColumnRule("origin", "category"),)


def test_to_schema_compiles_each_column_to_pandera(contract: Contract) -> None:
    schema = contract.to_schema(now=NOW)
    assert isinstance(schema, pa.DataFrameSchema)
    assert schema.columns["distance"].metadata == {"type": "float"}
    assert [c.name for c in schema.columns["distance"].checks] == ["type", "min", "max"]
    assert schema.columns["flight_id"].unique
    assert not schema.columns["description"].required
    assert [c.name for c in schema.checks] == ["rows", "freshness"]


INVALID = [
    pytest.param(
        "colums:\n  a: int\n",
        r"contract\.yaml:1: colums: unknown key 'colums'\. Did you mean 'columns'\?",
        id="unknown-top-key",
    ),
    pytest.param(
        "columns:\n  a: {type: int, nulable: true}\n",
        r"contract\.yaml:2: columns\.a\.nulable: unknown key 'nulable'\. Did you mean 'nullable'\?",
        id="unknown-column-key",
    ),
    pytest.param(
        "columns:\n  a: {type: int}\nrows: {mn: 1}\n",
        r":3: rows\.mn: unknown key 'mn'\. Did you mean 'min'\?",
        id="unknown-rows-key",
    ),
    pytest.param(
        "columns:\n  a: {type: integer}\n",
        r":2: columns\.a\.type: unknown type 'integer'\. Did you mean 'int'\? Types: int, float,",
        id="unknown-type",
    ),
    pytest.param(
        "columns:\n  a: {min: 1}\n",
        r":2: columns\.a\.type: missing key 'type'\. Types: int, float",
        id="missing-type",
    ),
    pytest.param(
        "columns:\n  a: {type: float, min: 10, max: 1}\n",
        r":2: columns\.a\.min: min 10 is greater than max 1\. Swap them",
        id="min-above-max",
    ),
    pytest.param(
        "columns:\n  a: int\nrows: {min: 10, max: 1}\n",
        r":3: rows\.min: min 10 is greater than max 1\. Swap them",
        id="rows-min-above-max",
    ),
    pytest.param(
        "columns:\n  a: int\nrows: {min: -1}\n",
        r":3: rows\.min: expected a whole number >= 0, found -1\. Write it like min: 1000",
        id="negative-rows",
    ),
    pytest.param(
        "columns:\n  a: {type: int, min: low}\n",
        r":2: columns\.a\.min: expected a number, found 'low'\. Write it like min: 0",
        id="min-not-a-number",
    ),
    pytest.param(
        "columns:\n  a: {type: string, max: 3}\n",
        r":2: columns\.a\.max: max applies to int and float columns, not string\. Remove it",
        id="max-on-string",
    ),
    pytest.param(
        "columns:\n  a: {type: string, allowed: [yes, no]}\n",
        r":2: columns\.a\.allowed: True is not a string value\. Quote it.*unquoted yes, no",
        id="allowed-yaml-booleans",
    ),
    pytest.param(
        "columns:\n  a: {type: int, allowed: 3}\n",
        r":2: columns\.a\.allowed: expected a non-empty list of int values, found 3\. Write it",
        id="allowed-not-a-list",
    ),
    pytest.param(
        "columns:\n  a: {type: int, unique: 'yes'}\n",
        r":2: columns\.a\.unique: expected true or false, found 'yes'\. Write true or false",
        id="flag-not-bool",
    ),
    pytest.param(
        "columns:\n  a: int\nstrict: 1\n",
        r":3: strict: expected true or false, found 1\.",
        id="strict-not-bool",
    ),
    pytest.param(
        "columns:\n  a: [int]\n",
        r":2: columns\.a: expected a type name or a mapping like \{type: float, min: 0\}, found",
        id="column-not-a-mapping",
    ),
    pytest.param(
        "columns:\n  t: datetime\nfreshness: {column: t, max_age: 2 days}\n",
        r":3: freshness\.max_age: '2 days' is not a positive duration\. Write a number and a unit",
        id="bad-max-age",
    ),
    pytest.param(
        "columns:\n  t: datetime\nfreshness: {column: t, max_age: 0d}\n",
        r"freshness\.max_age: '0d' is not a positive duration",
        id="zero-max-age",
    ),
    pytest.param(
        "columns:\n  t: datetime\nfreshness: {column: t}\n",
        r":3: freshness\.max_age: missing key\. Write a number and a unit",
        id="missing-max-age",
    ),
    pytest.param(
        "columns:\n  time_hour: datetime\nfreshness: {column: time_hur, max_age: 2d}\n",
        r":3: freshness\.column: 'time_hur' is not a column of this contract\. Did you mean 'time_",
        id="freshness-unknown-column",
    ),
    pytest.param(
        "columns:\n  t: datetime\nfreshness: {column: [t], max_age: 2d}\n",
        r":3: freshness\.column: \['t'\] is not a column of this contract\. Name one",
        id="freshness-column-not-a-name",
    ),
    pytest.param(
        "columns:\n  t: float\nfreshness: {column: t, max_age: 2d}\n",
        r":3: freshness\.column: 't' has type 'float'; freshness needs a column of type datetime\.",
        id="freshness-not-datetime",
    ),
    pytest.param(
        "rows: {min: 1}\n",
        r"contract\.yaml: columns: expected a mapping, found nothing\. Write it like columns: \{",
        id="no-columns",
    ),
    pytest.param("", r"columns: expected a mapping, found nothing", id="empty-file"),
    pytest.param(
        "- a\n- b\n",
        r"contract\.yaml: the top level must be a mapping of keys, found list\. Write a",
        id="top-level-list",
    ),
    pytest.param(
        "columns:\n  a: {type: int\n",
        r"contract\.yaml:3: invalid YAML: .*Fix the syntax",
        id="malformed-yaml",
    ),
]


@pytest.mark.parametrize(("text", "pattern"), INVALID)
def test_invalid_contract_names_file_line_key_and_fix(
    tmp_path: Path, text: str, pattern: str
) -> None:
    with pytest.raises(ContractError, match=r"^Invalid data contract") as caught:
        load_contract(write(tmp_path, text))
    assert caught.match(pattern)
    assert isinstance(caught.value, ValueError)


def test_every_problem_in_a_contract_is_reported_at_once(tmp_path: Path) -> None:
    text = "columns:\n  a: {type: flot}\n  b: {type: int, min: x}\nrows: 5\n"
    with pytest.raises(ContractError, match=r"contract\.yaml' \(3 problems\):\n  - ") as caught:
        load_contract(write(tmp_path, text))
    message = str(caught.value)
    assert ":2: columns.a.type: unknown type 'flot'. Did you mean 'float'?" in message
    assert ":3: columns.b.min: expected a number, found 'x'" in message
    assert ":4: rows: expected a mapping, found 5" in message


def test_missing_contract_file(tmp_path: Path) -> None:
    pattern = r"^No data contract at '.*none\.yaml'\. Check data\.contract in modelyard\.yaml"
    with pytest.raises(ContractError, match=pattern) as caught:
        load_contract(tmp_path / "none.yaml")
    assert isinstance(caught.value.__cause__, ConfigNotFoundError)


# --- checking data ---------------------------------------------------------------------------


def test_valid_data_passes(contract: Contract, flights: pd.DataFrame) -> None:
    report = check_contract(flights, contract, source="flights.parquet", now=NOW)
    assert report.passed
    assert report.failures == ()
    assert (report.source, report.rows, report.columns) == ("flights.parquet", 4, 8)
    assert report.contract.endswith("contract.yaml")
    enforce_contract(flights, contract, source="flights.parquet", now=NOW)  # does not raise


def setter(column: str, values: list[object]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda df: df.assign(**{column: pd.Series(values, index=df.index, dtype=object)})


BREAKS = [
    pytest.param(
        setter("distance", [1.0, "abc", 2.0, "abc"]),
        CheckFailure("distance", "type", 2, ("abc",)),
        id="float-holds-text",
    ),
    pytest.param(
        setter("dep_hour", [1, 2.5, 3, 4]),
        CheckFailure("dep_hour", "type", 1, (2.5,)),
        id="int-holds-fraction",
    ),
    pytest.param(
        setter("carrier", ["UA", 7, "AA", "B6"]),
        CheckFailure("carrier", "type", 1, (7,)),
        id="string-holds-number",
    ),
    pytest.param(
        setter("is_weekend", [True, "maybe", False, True]),
        CheckFailure("is_weekend", "type", 1, ("maybe",)),
        id="bool-holds-text",
    ),
    pytest.param(
        setter("time_hour", [datetime(2013, 1, 2), "soon", "later", "soon"]),
        CheckFailure("time_hour", "type", 3, ("soon", "later")),
        id="datetime-holds-text",
    ),
    pytest.param(
        setter("origin", ["EWR", 3, "JFK", "LGA"]),
        CheckFailure("origin", "type", 1, (3,)),
        id="category-holds-number",
    ),
    pytest.param(
        setter("carrier", ["UA", None, np.nan, "B6"]),
        CheckFailure("carrier", "nullable", 2, (None,)),
        id="nulls",
    ),
    pytest.param(
        setter("distance", [-5.0, -1, 3.0, 4.0]),
        CheckFailure("distance", "min", 2, (-5.0, -1)),
        id="below-min",
    ),
    pytest.param(
        setter("dep_hour", [24, 1, 2, 99]),
        CheckFailure("dep_hour", "max", 2, (24, 99)),
        id="above-max",
    ),
    pytest.param(
        setter("carrier", ["UA", "XX", "ZZ", "XX"]),
        CheckFailure("carrier", "allowed", 3, ("XX", "ZZ")),
        id="not-allowed",
    ),
    pytest.param(
        setter("origin", ["EWR", "SFO", "JFK", "LGA"]),
        CheckFailure("origin", "allowed", 1, ("SFO",)),
        id="category-not-allowed",
    ),
    pytest.param(
        setter("flight_id", [1, 1, 2, 3]),
        CheckFailure("flight_id", "unique", 2, (1,)),
        id="duplicates",
    ),
    pytest.param(
        lambda df: df.drop(columns="dep_hour"),
        CheckFailure("dep_hour", "present", 1),
        id="missing-column",
    ),
    pytest.param(
        lambda df: df.head(2), CheckFailure("(table)", "rows", 1, (2,)), id="too-few-rows"
    ),
]


@pytest.mark.parametrize(("breaks", "expected"), BREAKS)
def test_each_rule_reports_column_check_count_and_sample(
    contract: Contract,
    flights: pd.DataFrame,
    breaks: Callable[[pd.DataFrame], pd.DataFrame],
    expected: CheckFailure,
) -> None:
    assert check(breaks(flights), contract) == (expected,)


def test_wrong_type_out_of_range_and_missing_column_are_all_reported(
    contract: Contract, flights: pd.DataFrame
) -> None:
    broken = flights.drop(columns="carrier").assign(
        distance=["far", "1400.0", "n/a", "6000"],  # numbers as text are read as numbers
        dep_hour=[5, 30, -1, 23],
    )
    report = check_contract(broken, contract, source="broken.parquet", now=NOW)
    assert report.failures == (
        CheckFailure("carrier", "present", 1),
        CheckFailure("distance", "type", 2, ("far", "n/a")),
        CheckFailure("distance", "max", 1, ("6000",)),
        CheckFailure("dep_hour", "min", 1, (-1,)),
        CheckFailure("dep_hour", "max", 1, (30,)),
    )
    json.dumps(report.to_dict())
    pattern = (
        r"^Data from 'broken\.parquet' breaks its contract '.*contract\.yaml': 5 failing checks "
        r"\(columns: carrier, dep_hour, distance\)\. Nothing downstream ran\."
    )
    with pytest.raises(ContractViolationError, match=pattern) as caught:
        enforce_contract(broken, contract, source="broken.parquet", now=NOW)
    assert caught.value.report == report


def test_values_of_the_wrong_type_are_not_range_checked(contract: Contract) -> None:
    rule = ColumnRule("distance", "float", min=0, max=10)
    df = pd.DataFrame({"distance": ["abc", -1, 11, [1, 2], {"a": 1}, 5]}, dtype=object)
    assert check(df, Contract((rule,))) == (
        CheckFailure("distance", "type", 3, ("abc", "[1, 2]", "{'a': 1}")),
        CheckFailure("distance", "min", 1, (-1,)),
        CheckFailure("distance", "max", 1, (11,)),
    )


@pytest.mark.parametrize(
    ("rule", "series"),
    [
        pytest.param(
            ColumnRule("x", "int", nullable=True),
            pd.Series([1.0, np.nan, 3.0]),
            id="int-read-as-float-with-nulls",
        ),
        pytest.param(
            ColumnRule("x", "int", nullable=True, max=3),
            pd.Series([1, None, 3], dtype="Int64"),
            id="nullable-Int64",
        ),
        pytest.param(
            ColumnRule("x", "int", allowed=(1, 2)), pd.Series(["1", "2"]), id="int-as-text"
        ),
        pytest.param(
            ColumnRule("x", "float", min=0), pd.Series([1, 2, 3]), id="float-accepts-ints"
        ),
        pytest.param(ColumnRule("x", "float"), pd.Series([np.inf, 1.5]), id="float-accepts-inf"),
        pytest.param(
            ColumnRule("x", "string"), pd.Series(["a", "b"], dtype=object), id="string-as-object"
        ),
        pytest.param(
            ColumnRule("x", "string", allowed=("a",)),
            pd.Series(["a"], dtype="category"),
            id="string-as-category",
        ),
        pytest.param(ColumnRule("x", "category"), pd.Series(["a", "b"]), id="category-as-str"),
        pytest.param(
            ColumnRule("x", "bool", allowed=(True,)),
            pd.Series([True, "true", "TRUE"], dtype=object),
            id="bool-names",
        ),
        pytest.param(
            ColumnRule("x", "bool"),
            pd.Series([True, None], dtype="boolean").fillna(False),
            id="nullable-boolean",
        ),
        pytest.param(
            ColumnRule("x", "datetime"),
            pd.Series(pd.to_datetime(["2013-01-01"]).tz_localize("US/Eastern")),
            id="datetime-tz-aware",
        ),
        pytest.param(
            ColumnRule("x", "datetime"),
            pd.Series(["2013-01-01T05:00:00Z", "2013-01-02 06:00"]),
            id="datetime-iso-text",
        ),
    ],
)
def test_values_readable_as_the_type_pass(rule: ColumnRule, series: pd.Series) -> None:
    assert check(series.to_frame("x"), Contract((rule,))) == ()


def test_unique_ignores_nulls() -> None:
    rule = ColumnRule("x", "int", nullable=True, unique=True)
    assert check(pd.DataFrame({"x": [1.0, None, None, 2.0]}), Contract((rule,))) == ()


# --- table-level rules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "passed"),
    [
        pytest.param(datetime(2013, 1, 3, tzinfo=UTC), True, id="same-day"),
        pytest.param(datetime(2013, 1, 5, tzinfo=UTC), True, id="exactly-max-age"),
        pytest.param(datetime(2013, 1, 5, 0, 0, 1, tzinfo=UTC), False, id="one-second-late"),
        pytest.param(datetime(2013, 1, 5, 1), False, id="naive-now-is-utc"),
        pytest.param(datetime(2013, 1, 4, 20, tzinfo=UTC) + timedelta(hours=5), False, id="late"),
        pytest.param(datetime(2012, 12, 1, tzinfo=UTC), True, id="data-from-the-future"),
    ],
)
def test_freshness_against_an_injected_now(
    contract: Contract, flights: pd.DataFrame, now: datetime, passed: bool
) -> None:
    failures = check(flights, contract, now=now)
    stale = (CheckFailure("time_hour", "freshness", 1, ("2013-01-03T00:00:00+00:00",)),)
    assert failures == (() if passed else stale)


def test_freshness_compares_aware_timestamps_in_utc() -> None:
    stamps = pd.Series(pd.to_datetime(["2013-01-01 20:00"]).tz_localize("US/Eastern"))
    contract = Contract(
        (ColumnRule("t", "datetime"),), freshness=Freshness("t", timedelta(hours=1))
    )
    assert check(stamps.to_frame("t"), contract, now=datetime(2013, 1, 2, 1, 30, tzinfo=UTC)) == ()
    assert check(stamps.to_frame("t"), contract, now=datetime(2013, 1, 2, 2, 1, tzinfo=UTC)) == (
        CheckFailure("t", "freshness", 1, ("2013-01-02T01:00:00+00:00",)),
    )


def test_a_column_with_no_timestamps_is_not_fresh() -> None:
    rule = ColumnRule("t", "datetime", nullable=True)
    contract = Contract((rule,), freshness=Freshness("t", timedelta(days=1)))
    df = pd.DataFrame({"t": pd.Series([pd.NaT, pd.NaT], dtype="datetime64[ns]")})
    assert check(df, contract) == (CheckFailure("t", "freshness", 1, ()),)


def test_strict_reports_columns_the_contract_does_not_list(flights: pd.DataFrame) -> None:
    rules = (ColumnRule("carrier", "string"), ColumnRule("distance", "float"))
    df = flights[["carrier", "distance", "origin"]].assign(zzz=1)
    assert check(df, Contract(rules)) == ()
    assert check(df, Contract(rules, strict=True)) == (
        CheckFailure("origin", "unexpected column", 1),
        CheckFailure("zzz", "unexpected column", 1),
    )


def test_optional_column_is_checked_when_present(contract: Contract, flights: pd.DataFrame) -> None:
    assert check(flights.assign(description="ok"), contract) == ()
    assert check(flights.assign(description=[1, 2, "ok", 4]), contract) == (
        CheckFailure("description", "type", 3, (1, 2, 4)),
    )


def test_rows_above_max(flights: pd.DataFrame) -> None:
    contract = Contract((ColumnRule("carrier", "string"),), min_rows=1, max_rows=3)
    assert check(flights[["carrier"]], contract) == (CheckFailure("(table)", "rows", 1, (4,)),)


def test_inline_contract_is_named_in_the_report(flights: pd.DataFrame) -> None:
    report = check_contract(flights, Contract((ColumnRule("nope", "int"),)), source="memory")
    assert report.contract == "<inline contract>"
    assert report.failures == (CheckFailure("nope", "present", 1),)
