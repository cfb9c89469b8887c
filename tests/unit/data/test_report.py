"""Validation reports: JSON-safe values, a verdict, and a table a person can read."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from rich.table import Table

from modelyard.data.report import CheckFailure, ValidationReport, distinct_sample, to_json_safe
from modelyard.errors import ContractViolationError

FAILING = ValidationReport(
    source="data/raw/flights.parquet",
    contract="configs/contract.yaml",
    rows=327_346,
    columns=19,
    failures=(
        CheckFailure("carrier", "present", 1),
        CheckFailure("distance", "type", 3, ("far", "near", "n/a")),
        CheckFailure("month", "max", 25, (13,)),
        CheckFailure("(table)", "rows", 1, (12,)),
    ),
)
PASSING = ValidationReport("data.csv", "contract.yaml", rows=10, columns=2)


def render(table: Table) -> str:
    console = Console(file=StringIO(), width=120, color_system=None)
    console.print(table)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(output, str)
    return " ".join(output.split())  # the title wraps to the table's width


def test_passed_means_no_failures() -> None:
    assert PASSING.passed
    assert not FAILING.passed


def test_to_dict_is_json_serialisable() -> None:
    data = json.loads(json.dumps(FAILING.to_dict()))
    assert data["passed"] is False
    assert (data["source"], data["contract"], data["rows"], data["columns"]) == (
        "data/raw/flights.parquet", "configs/contract.yaml", 327_346, 19,
    )  # fmt: skip
    assert data["failures"][1] == {
        "column": "distance", "check": "type", "count": 3, "sample": ["far", "near", "n/a"],
    }  # fmt: skip
    assert json.loads(json.dumps(PASSING.to_dict()))["failures"] == []


def test_to_dict_converts_numpy_and_pandas_samples() -> None:
    failure = CheckFailure("t", "type", 3, (np.int64(3), pd.Timestamp("2013-01-01"), np.nan))
    assert json.dumps(failure.to_dict()["sample"]) == '[3, "2013-01-01T00:00:00", null]'


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(np.int64(7), 7, id="numpy-int"),
        pytest.param(np.float32(1.5), 1.5, id="numpy-float"),
        pytest.param(np.bool_(True), True, id="numpy-bool"),
        pytest.param(np.float64("nan"), None, id="nan"),
        pytest.param(None, None, id="none"),
        pytest.param(pd.NA, None, id="pandas-NA"),
        pytest.param(pd.NaT, None, id="NaT"),
        pytest.param(np.datetime64("NaT"), None, id="numpy-NaT"),
        pytest.param(float("inf"), "inf", id="infinity"),
        pytest.param(
            pd.Timestamp("2013-01-01 05:00", tz="UTC"), "2013-01-01T05:00:00+00:00", id="timestamp"
        ),
        pytest.param(
            np.datetime64("2013-01-01T05:00:00.000000000"),
            "2013-01-01T05:00:00.000000000",
            id="datetime64",
        ),
        pytest.param(dt.date(2013, 1, 1), "2013-01-01", id="date"),
        pytest.param(pd.Timedelta(hours=1), "0 days 01:00:00", id="timedelta"),
        pytest.param(Decimal("1.10"), "1.10", id="decimal"),
        pytest.param([1, 2], "[1, 2]", id="list"),
        pytest.param("far", "far", id="text"),
    ],
)
def test_to_json_safe(value: object, expected: object) -> None:
    safe = to_json_safe(value)
    assert safe == expected
    assert type(safe) is type(expected)
    json.dumps(safe, allow_nan=False)


def test_distinct_sample_keeps_five_distinct_values_in_order() -> None:
    values = ["b", "a", "b", np.nan, None, 1, True, 1.0, "c", "d"]
    assert distinct_sample(values) == ("b", "a", None, 1, True)
    assert distinct_sample([np.int64(1), 1, 1.0]) == (1, 1.0)


def test_render_table_has_one_row_per_failure() -> None:
    table = FAILING.render_table()
    assert [column.header for column in table.columns] == ["Column", "Check", "Failures", "Sample"]
    assert table.row_count == 4
    text = render(table)
    assert "flights.parquet against configs/contract.yaml: 4 failing checks" in text
    assert "'far', 'near', 'n/a'" in text
    assert "327346 rows, 19 columns" in text


def test_render_table_shows_values_literally() -> None:
    report = ValidationReport(
        "d", "c", 1, 1, (CheckFailure("x", "allowed", 1, ("[bold]x[/bold]",)),)
    )
    assert "'[bold]x[/bold]'" in render(report.render_table())


def test_render_table_of_a_passing_report() -> None:
    table = PASSING.render_table()
    assert table.row_count == 0
    assert "data.csv against contract.yaml: passed" in render(table)


def test_violation_error_names_source_contract_and_columns() -> None:
    pattern = (
        r"^Data from 'data/raw/flights\.parquet' breaks its contract 'configs/contract\.yaml': "
        r"4 failing checks \(columns: \(table\), carrier, distance, month\)\. Nothing downstream"
    )
    with pytest.raises(ContractViolationError, match=pattern) as caught:
        raise ContractViolationError(FAILING)
    assert caught.value.report is FAILING
