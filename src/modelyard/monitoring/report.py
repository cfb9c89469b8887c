"""What a drift check found: one ``ColumnDrift`` per column inside a ``DriftReport``.

Both are plain frozen values; ``to_dict()`` gives JSON-safe mappings (NaN and infinities
become ``None``), ready for ``json.dumps``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["numeric", "categorical"]
JsonValue = str | int | float | bool | None | list[Any]


@dataclass(frozen=True, slots=True)
class ColumnDrift:
    """The drift verdict for one column.

    Attributes:
        column: The column name.
        kind: ``"numeric"`` or ``"categorical"``.
        method: The method used (see ``modelyard.monitoring.methods``).
        statistic: The method's statistic (KS D, chi-square, z, or a distance); NaN when a
            window has no values to compare.
        p_value: The p-value for tests, ``None`` for distances.
        threshold: What ``p_value`` (tests) or ``statistic`` (distances) was compared with.
        drifted: The verdict. A column whose current window has no values while the
            reference has some counts as drifted.
        reference_missing_rate: Share of missing (NaN, None, ±inf) reference values.
        current_missing_rate: Share of missing current values.
        unseen_categories: Categorical columns: current categories absent from the
            reference, most frequent first. Always empty for numeric columns.
        details: Method-specific extras (value counts, bin edges, the p-value method).
    """

    column: str
    kind: Kind
    method: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    reference_missing_rate: float
    current_missing_rate: float
    unseen_categories: tuple[str, ...] = ()
    details: Mapping[str, JsonValue] = field(default_factory=dict)

    @property
    def missing_rate_change(self) -> float:
        """Return the current missing rate minus the reference one."""
        return self.current_missing_rate - self.reference_missing_rate

    def to_dict(self) -> dict[str, Any]:
        """Return the verdict as a JSON-serialisable mapping."""
        return {
            "column": self.column,
            "kind": self.kind,
            "method": self.method,
            "statistic": _finite(self.statistic),
            "p_value": _finite(self.p_value),
            "threshold": _finite(self.threshold),
            "drifted": self.drifted,
            "reference_missing_rate": _finite(self.reference_missing_rate),
            "current_missing_rate": _finite(self.current_missing_rate),
            "missing_rate_change": _finite(self.missing_rate_change),
            "unseen_categories": list(self.unseen_categories),
            "details": {key: _json_safe(value) for key, value in self.details.items()},
        }


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Drift verdicts for every compared column, and for the dataset.

    Attributes:
        columns: One verdict per column, in the order they were compared.
        drift_share: The share of drifted columns at which the dataset counts as drifted.
        dataset_drifted: True when ``share_drifted >= drift_share`` (Evidently's rule).
        n_drifted: How many columns drifted.
        reference_rows: Rows in the reference window.
        current_rows: Rows in the current window.
    """

    columns: tuple[ColumnDrift, ...]
    drift_share: float
    dataset_drifted: bool
    n_drifted: int
    reference_rows: int
    current_rows: int

    @property
    def share_drifted(self) -> float:
        """Return the share of compared columns that drifted."""
        return self.n_drifted / len(self.columns) if self.columns else 0.0

    @property
    def drifted_columns(self) -> tuple[str, ...]:
        """Return the names of the drifted columns."""
        return tuple(c.column for c in self.columns if c.drifted)

    def __getitem__(self, column: str) -> ColumnDrift:
        """Return the verdict for ``column``.

        Raises:
            KeyError: No column of that name was compared.
        """
        for verdict in self.columns:
            if verdict.column == column:
                return verdict
        raise KeyError(column)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-serialisable mapping."""
        return {
            "dataset_drifted": self.dataset_drifted,
            "n_drifted": self.n_drifted,
            "n_columns": len(self.columns),
            "share_drifted": self.share_drifted,
            "drift_share": self.drift_share,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "columns": [verdict.to_dict() for verdict in self.columns],
        }


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _json_safe(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, list | tuple):  # a NumPy scalar
        value = value.item()
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return str(value)
