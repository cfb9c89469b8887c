"""The outcome of checking data against its contract: one row per failing check.

A ``ValidationReport`` is plain data: it holds only JSON-safe values, so ``to_dict()`` can go
straight to ``json.dumps`` and ``render_table()`` to a rich console.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

SAMPLE_SIZE = 5

JsonScalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class CheckFailure:
    """One check that failed on one column (or on the whole table).

    Attributes:
        column: The column the check is about; ``"(table)"`` for the row count.
        check: What was checked: ``type``, ``nullable``, ``min``, ``max``, ``allowed``,
            ``unique``, ``present``, ``rows``, ``freshness`` or ``unexpected column``.
        count: How many values (or rows) failed it.
        sample: Up to five distinct offending values, as JSON-safe scalars.
    """

    column: str
    check: str
    count: int
    sample: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the failure as a JSON-serialisable mapping."""
        return {
            "column": self.column,
            "check": self.check,
            "count": self.count,
            "sample": [to_json_safe(value) for value in self.sample],
        }


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Every failing check of one dataset against one contract.

    Attributes:
        source: Where the data came from (a path or URI), for messages.
        contract: The contract file the data was checked against.
        rows: Rows in the data.
        columns: Columns in the data.
        failures: The failing checks, in contract column order; empty when the data passed.
    """

    source: str
    contract: str
    rows: int
    columns: int
    failures: tuple[CheckFailure, ...] = ()

    @property
    def passed(self) -> bool:
        """Whether the data met every rule of the contract."""
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-serialisable mapping."""
        return {
            "source": self.source,
            "contract": self.contract,
            "passed": self.passed,
            "rows": self.rows,
            "columns": self.columns,
            "failures": [failure.to_dict() for failure in self.failures],
        }

    def render_table(self) -> Table:
        """Return a rich table with one row per failing check (no rows when the data passed)."""
        from rich.table import Table
        from rich.text import Text

        verdict = "passed" if self.passed else f"{len(self.failures)} failing checks"
        table = Table(
            title=f"{self.source} against {self.contract}: {verdict}",
            caption=f"{self.rows} rows, {self.columns} columns",
        )
        table.add_column("Column", style="bold")
        table.add_column("Check")
        table.add_column("Failures", justify="right")
        table.add_column("Sample", overflow="fold")
        for failure in self.failures:
            # Text() rather than str: data values may contain [markup] that rich would eat
            table.add_row(
                Text(failure.column),
                Text(failure.check),
                Text(str(failure.count)),
                Text(", ".join(repr(value) for value in failure.sample)),
            )
        return table


def to_json_safe(value: Any) -> JsonScalar:
    """Return ``value`` as a Python scalar ``json.dumps`` accepts.

    Nulls (``None``, ``NaN``, ``NaT``, ``pd.NA``) become ``None``; numpy numbers become ``int``,
    ``float`` or ``bool``; timestamps and dates become ISO strings; infinities and anything else
    become ``str``.
    """
    if value is None or _is_null(value):
        return None
    if type(value).__module__ == "numpy":
        # .item() would turn nanosecond datetime64 / timedelta64 into bare ints
        if type(value).__name__ in {"datetime64", "timedelta64"}:
            return str(value)
        value = value.item()
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def distinct_sample(values: Any, size: int = SAMPLE_SIZE) -> tuple[JsonScalar, ...]:
    """Return up to ``size`` distinct JSON-safe values from an iterable, in first-seen order."""
    seen: dict[tuple[str, JsonScalar], None] = {}
    for value in values:
        safe = to_json_safe(value)
        # keyed with the type name so 1, 1.0 and True stay distinct samples
        seen.setdefault((type(safe).__name__, safe), None)
        if len(seen) == size:
            break
    return tuple(safe for _, safe in seen)


def _is_null(value: Any) -> bool:
    # pd.isna without importing pandas: NaN != NaN, and NaT / pd.NA say so by type name
    if isinstance(value, float):
        return math.isnan(value)
    if type(value).__name__ in {"NaTType", "NAType"}:
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return False
