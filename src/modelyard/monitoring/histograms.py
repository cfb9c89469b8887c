"""Reference and current distributions of a column, binned alike, for plots in the report.

``column_distribution(reference, current, kind)`` returns one ``Distribution`` per column
(``to_dict()`` gives its JSON form):

- numeric: shared bin ``edges`` taken from the reference's finite values (its quantiles,
  deduplicated, so each bin holds about as many reference rows; a constant reference falls back
  to evenly spaced edges), and the share of each window's non-missing values per bin. Values
  outside the reference range count in the first or last bin.
- categorical: the ``categories`` most frequent across both windows (by the sum of their shares,
  so a small current window counts as much as a large reference), then ``"(other)"`` for the
  rest, and each window's share per category.

Shares are fractions of a window's non-missing values: they sum to 1, or are all 0 when the
window has none. Missing values (NaN, None, ±inf for numeric columns; None, NaN, NA, NaT for
categorical ones, as in ``detect_drift``) are counted apart, as ``*_missing`` shares of all rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from modelyard.errors import ConfigValueError, FeatureError, did_you_mean
from modelyard.monitoring import columns as frames
from modelyard.monitoring.methods import KINDS, Kind

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd

OTHER = "(other)"
"""The category that collects everything after the ``top`` most frequent ones."""

__all__ = ["OTHER", "Distribution", "column_distribution", "distributions"]


@dataclass(frozen=True, slots=True)
class Distribution:
    """The reference and current distributions of one column, on shared bins or categories.

    Attributes:
        kind: ``"numeric"`` or ``"categorical"``.
        edges: Numeric columns: the bin edges (one more than the bins); empty otherwise.
        categories: Categorical columns: the categories shown, ``"(other)"`` last when the
            rest were summed; empty otherwise.
        reference: The reference window's share of its non-missing values per bin or category.
        current: The current window's share, likewise.
        reference_missing: The share of the reference window's rows that are missing.
        current_missing: The share of the current window's rows that are missing.
    """

    kind: Kind
    edges: tuple[float, ...]
    categories: tuple[str, ...]
    reference: tuple[float, ...]
    current: tuple[float, ...]
    reference_missing: float
    current_missing: float

    @property
    def is_numeric(self) -> bool:
        """Return whether the column is binned numerically."""
        return self.kind == "numeric"

    def to_dict(self) -> dict[str, Any]:
        """Return the distribution as a JSON-safe mapping (``edges`` or ``categories``)."""
        axis: dict[str, Any] = (
            {"edges": list(self.edges)}
            if self.is_numeric
            else {"categories": list(self.categories)}
        )
        return {
            "kind": self.kind,
            **axis,
            "reference": list(self.reference),
            "current": list(self.current),
            "reference_missing": self.reference_missing,
            "current_missing": self.current_missing,
        }


def column_distribution(
    reference: pd.Series,
    current: pd.Series,
    kind: Kind,
    *,
    bins: int = 20,
    top: int = 20,
) -> Distribution:
    """Return the reference and current distributions of one column, on shared bins.

    Args:
        reference: The column in the reference window.
        current: The column in the current window.
        kind: ``"numeric"`` (binned) or ``"categorical"`` (counted by category).
        bins: At most this many bins for numeric columns.
        top: At most this many categories before ``"(other)"``.

    Returns:
        ``edges`` (numeric) or ``categories`` (categorical), each window's share per bin or
        category, and each window's share of missing values.

    Raises:
        ConfigValueError: An unknown kind, or ``bins`` or ``top`` below 1.
        FeatureError: A numeric column holds values that are not numbers.
    """
    problems = []
    if kind not in KINDS:
        problems.append(f"kind={kind!r} is unknown; use 'numeric' or 'categorical'.")
    if bins < 1:
        problems.append(f"bins={bins!r} must be at least 1; 20 is usual.")
    if top < 1:
        problems.append(f"top={top!r} must be at least 1; 20 is usual.")
    if problems:
        raise ConfigValueError(problems)
    if kind == "numeric":
        return _numeric(reference, current, bins)
    return _categorical(reference, current, top)


def distributions(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    kinds: Mapping[str, Kind],
    *,
    bins: int = 20,
    top: int = 20,
) -> dict[str, Distribution]:
    """Return ``column_distribution`` for every column in ``kinds``, in its order.

    Args:
        reference: The reference window.
        current: The current window.
        kinds: Kind by column name, as in a ``DriftReport``'s columns.
        bins: At most this many bins for numeric columns.
        top: At most this many categories before ``"(other)"``.

    Raises:
        FeatureError: A column is missing from a window, or a numeric one holds non-numbers.
        ConfigValueError: An unknown kind, or ``bins`` or ``top`` below 1.
    """
    for name, frame in (("reference", reference), ("current", current)):
        present = list(map(str, frame.columns))
        for column in kinds:
            if column not in present:
                hint = did_you_mean(column, present) or f" Its columns: {present[:10]!r}."
                raise FeatureError(f"Column {column!r} is not in the {name} window.{hint}")
    return {
        column: column_distribution(reference[column], current[column], kind, bins=bins, top=top)
        for column, kind in kinds.items()
    }


def _numeric(reference: pd.Series, current: pd.Series, bins: int) -> Distribution:
    ref, cur = _floats(reference, "reference"), _floats(current, "current")
    ref_ok, cur_ok = np.isfinite(ref), np.isfinite(cur)
    ref_values, cur_values = ref[ref_ok], cur[cur_ok]
    # Without reference values the current ones give the edges, so the plot still shows them.
    edges = _edges(ref_values if ref_values.size else cur_values, cur_values, bins)
    return Distribution(
        kind="numeric",
        edges=tuple(edges.tolist()),
        categories=(),
        reference=tuple(_bin_shares(ref_values, edges)),
        current=tuple(_bin_shares(cur_values, edges)),
        reference_missing=_missing_share(ref_ok),
        current_missing=_missing_share(cur_ok),
    )


def _floats(series: pd.Series, window: str) -> npt.NDArray[np.float64]:
    try:
        return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise FeatureError(
            f"Column {str(series.name)!r} is declared numeric but its {window} values are not "
            f"numbers (dtype {series.dtype!s}). Declare it 'categorical', or convert it first."
        ) from exc


def _edges(
    values: npt.NDArray[np.float64], current: npt.NDArray[np.float64], bins: int
) -> npt.NDArray[np.float64]:
    if not values.size:
        return np.empty(0, dtype=np.float64)
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, bins + 1)))
    if edges.size >= 2:
        return edges
    # A constant reference: span both windows so a shifted current window shows as such.
    low = min(edges[0], current.min()) if current.size else edges[0]
    high = max(edges[0], current.max()) if current.size else edges[0]
    if low == high:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, bins + 1)


def _bin_shares(values: npt.NDArray[np.float64], edges: npt.NDArray[np.float64]) -> list[float]:
    n_bins = max(edges.size - 1, 0)
    if not values.size or not n_bins:
        return [0.0] * n_bins
    # Bins are [e_i, e_i+1), the last one closed; values outside the edges join the end bins.
    index = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    shares: list[float] = (counts / values.size).tolist()
    return shares


def _missing_share(finite: npt.NDArray[np.bool_]) -> float:
    return float(1.0 - finite.mean()) if finite.size else 0.0


def _categorical(reference: pd.Series, current: pd.Series, top: int) -> Distribution:
    counts = [frames.category_counts(reference), frames.category_counts(current)]
    labels = sorted(set(counts[0]) | set(counts[1]))
    table = np.array([[side.get(label, 0) for label in labels] for side in counts], dtype=float)
    table = table.reshape(2, len(labels))
    totals = table.sum(axis=1, keepdims=True)
    shares = np.divide(table, totals, out=np.zeros_like(table), where=totals > 0)
    # Most frequent first by the sum of both shares; ties by label, for a stable order.
    order = np.lexsort((np.arange(len(labels)), -shares.sum(axis=0)))
    kept, rest = order[:top], order[top:]
    categories = [labels[i] for i in kept]
    columns = [shares[:, kept]]
    if rest.size:
        categories.append(OTHER)
        columns.append(shares[:, rest].sum(axis=1, keepdims=True))
    merged = np.concatenate(columns, axis=1)
    return Distribution(
        kind="categorical",
        edges=(),
        categories=tuple(str(label) for label in categories),
        reference=tuple(merged[0].tolist()),
        current=tuple(merged[1].tolist()),
        reference_missing=_share(frames.missing_count(reference), len(reference)),
        current_missing=_share(frames.missing_count(current), len(current)),
    )


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0
