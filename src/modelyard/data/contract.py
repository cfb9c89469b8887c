"""Data contracts: what a dataset must look like before anything downstream may use it.

A contract is a YAML file::

    columns:
      carrier: {type: string, allowed: [UA, AA, B6]}
      distance: {type: float, min: 0, max: 5000}
      tailnum: {type: string, nullable: true}
      flight_id: {type: int, unique: true}
      description: {type: string, required: false}
      time_hour: datetime                  # shorthand for {type: datetime}
    rows: {min: 1000, max: 1000000}
    freshness: {column: time_hour, max_age: 2d}
    strict: false

Column keys: ``type`` (int, float, string, bool, datetime, category), ``nullable`` (default
false), ``required`` (default true), ``unique``, ``min`` / ``max`` (int and float columns) and
``allowed``. A value has a type when it can be read as it: ``"1400.0"`` is a float and
``"2013-01-01"`` a datetime, while strings must be text.

``load_contract`` reads a contract, ``Contract.to_schema`` compiles it to pandera, and
``check_contract`` validates a frame lazily, so its report lists every failure at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pandera.pandas as pa

from modelyard.data import _contract_checks as checks
from modelyard.data._contract_file import parse_contract
from modelyard.data.report import CheckFailure, ValidationReport, distinct_sample, to_json_safe
from modelyard.errors import ContractViolationError

ColumnType = Literal["int", "float", "string", "bool", "datetime", "category"]
TABLE = "(table)"

# pandera's names for its built-in checks -> the names a report shows
_CHECK_NAMES = {
    "not_nullable": "nullable",
    "field_uniqueness": "unique",
    "column_in_dataframe": "present",
    "column_in_schema": "unexpected column",
}
_CHECK_ORDER = ("present", "type", "nullable", "min", "max", "allowed", "unique", "freshness")


@dataclass(frozen=True, slots=True)
class ColumnRule:
    """What one column must hold.

    Attributes:
        name: The column name.
        type: int, float (ints accepted), string, bool, datetime or category (string-like).
        nullable: Whether missing values are allowed.
        required: Whether the column must be present.
        unique: Whether non-null values must be distinct.
        min: Smallest allowed value (int and float columns).
        max: Largest allowed value (int and float columns).
        allowed: The only values allowed, or ``None`` for any.
    """

    name: str
    type: ColumnType
    nullable: bool = False
    required: bool = True
    unique: bool = False
    min: float | None = None
    max: float | None = None
    allowed: tuple[str | int | float | bool, ...] | None = None


@dataclass(frozen=True, slots=True)
class Freshness:
    """The newest value of ``column`` must be at most ``max_age`` old."""

    column: str
    max_age: timedelta


@dataclass(frozen=True, slots=True)
class Contract:
    """A parsed data contract.

    Attributes:
        columns: One rule per column, in file order.
        min_rows: Fewest rows allowed, or ``None``.
        max_rows: Most rows allowed, or ``None``.
        freshness: How recent the newest timestamp must be, or ``None``.
        strict: Whether columns the contract does not list are a failure.
        path: The file the contract came from, or ``None`` when built in code.
    """

    columns: tuple[ColumnRule, ...]
    min_rows: int | None = None
    max_rows: int | None = None
    freshness: Freshness | None = None
    strict: bool = False
    path: Path | None = None

    @property
    def name(self) -> str:
        """The contract's file path, or ``"<inline contract>"``, for reports."""
        return str(self.path) if self.path is not None else "<inline contract>"

    def to_schema(self, *, now: datetime | None = None) -> pa.DataFrameSchema:
        """Compile to a pandera schema; ``now`` is the reference time of the freshness check."""
        frame_checks = []
        if self.min_rows is not None or self.max_rows is not None:
            frame_checks.append(
                pa.Check(checks.row_count(self.min_rows, self.max_rows), name="rows")
            )
        if self.freshness is not None:
            reference = now or datetime.now(UTC)
            test = checks.fresh(self.freshness.column, self.freshness.max_age, reference)
            frame_checks.append(pa.Check(test, name="freshness"))
        return pa.DataFrameSchema(
            {rule.name: _to_column(rule) for rule in self.columns},
            checks=frame_checks,
            strict=self.strict,
            name=self.name,
        )


def load_contract(path: Path) -> Contract:
    """Read and check a contract file.

    Raises:
        ContractError: The file is missing, is not YAML, or breaks the contract format; the
            message names the file, line and key, and the fix.
    """
    fields = parse_contract(path)
    freshness = fields["freshness"]
    return Contract(
        columns=tuple(ColumnRule(**column) for column in fields["columns"]),
        min_rows=fields["min_rows"],
        max_rows=fields["max_rows"],
        freshness=Freshness(**freshness) if freshness else None,
        strict=fields["strict"],
        path=path,
    )


def check_contract(
    df: pd.DataFrame, contract: Contract, *, source: str, now: datetime | None = None
) -> ValidationReport:
    """Check ``df`` against ``contract`` and report every failure; never raises on bad data.

    Args:
        df: The data.
        contract: The rules it must meet.
        source: Where the data came from, for the report.
        now: Reference time for the freshness check (default: the current time); a naive
            ``now``, like naive timestamps in the data, is taken as UTC.
    """
    failures: tuple[CheckFailure, ...] = ()
    try:
        contract.to_schema(now=now).validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        failures = _failures(exc.failure_cases, df, contract)
    return ValidationReport(
        source=source,
        contract=contract.name,
        rows=len(df),
        columns=len(df.columns),
        failures=failures,
    )


def enforce_contract(
    df: pd.DataFrame, contract: Contract, *, source: str, now: datetime | None = None
) -> None:
    """Check ``df`` against ``contract``.

    Raises:
        ContractViolationError: At least one check failed; ``.report`` lists them all.
    """
    report = check_contract(df, contract, source=source, now=now)
    if not report.passed:
        raise ContractViolationError(report)


def _to_column(rule: ColumnRule) -> pa.Column:
    column_checks = [pa.Check(checks.has_type(rule.type), name="type")]
    if rule.min is not None:
        column_checks.append(pa.Check(checks.at_least(rule.type, rule.min), name="min"))
    if rule.max is not None:
        column_checks.append(pa.Check(checks.at_most(rule.type, rule.max), name="max"))
    if rule.allowed is not None:
        column_checks.append(pa.Check(checks.one_of(rule.type, rule.allowed), name="allowed"))
    return pa.Column(
        checks=column_checks,
        nullable=rule.nullable,
        unique=rule.unique,
        required=rule.required,
        metadata={"type": rule.type},
    )


def _failures(
    cases: pd.DataFrame, df: pd.DataFrame, contract: Contract
) -> tuple[CheckFailure, ...]:
    grouped: dict[tuple[str, str], list[Any]] = {}
    for column, check, case in zip(
        cases["column"], cases["check"], cases["failure_case"], strict=True
    ):
        name = _CHECK_NAMES.get(str(check), str(check))
        if name in {"present", "unexpected column"}:  # pandera puts the column in the case
            column, case = case, None
        grouped.setdefault((str(column) if column is not None else TABLE, name), []).append(case)
    failures = []
    for (column, check), values in grouped.items():
        if check == "rows":
            failures.append(CheckFailure(TABLE, check, 1, (len(df),)))
        elif check == "freshness" and contract.freshness is not None:
            newest = checks.newest(df[contract.freshness.column])
            sample = () if newest is None else (to_json_safe(newest),)
            failures.append(CheckFailure(contract.freshness.column, check, 1, sample))
        elif check in {"present", "unexpected column"}:
            failures.append(CheckFailure(column, check, len(values)))
        else:
            failures.append(CheckFailure(column, check, len(values), distinct_sample(values)))
    return tuple(sorted(failures, key=_rank(contract)))


def _rank(contract: Contract) -> Callable[[CheckFailure], tuple[int, str, int, str]]:
    positions = {rule.name: index for index, rule in enumerate(contract.columns)}
    last = len(positions)

    def key(failure: CheckFailure) -> tuple[int, str, int, str]:
        check_rank = (
            _CHECK_ORDER.index(failure.check)
            if failure.check in _CHECK_ORDER
            else len(_CHECK_ORDER)
        )
        column_rank = last + 1 if failure.column == TABLE else positions.get(failure.column, last)
        return column_rank, failure.column, check_rank, failure.check

    return key
