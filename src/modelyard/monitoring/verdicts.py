"""One verdict per column: the method chosen and applied, its result held against a threshold.

``drift.detect_drift`` hands over numeric columns a block at a time (already compared by
``numeric.compare_numeric``) and categorical columns one at a time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from modelyard.monitoring import categorical
from modelyard.monitoring import columns as frames
from modelyard.monitoring.ks import ks_pvalues
from modelyard.monitoring.methods import METHODS, Kind, Method, default_method
from modelyard.monitoring.numeric import NumericComparison, quantile_bin_counts, value_counts
from modelyard.monitoring.report import ColumnDrift

if TYPE_CHECKING:
    import pandas as pd

VALUE_COUNT_LIMIT = 20
"""Count-based methods on a numeric column count each value up to this many distinct values,
and use reference-quantile bins above it (Evidently's limit)."""


class Settings:
    """How verdicts are reached: thresholds by column or by method, alpha, and PSI bins."""

    def __init__(self, thresholds: Mapping[str, float], alpha: float, n_bins: int) -> None:
        self.thresholds, self.alpha, self.n_bins = thresholds, alpha, n_bins

    def threshold(self, column: str, method: Method) -> float:
        """Return the threshold for ``column`` under ``method``: by column, by method, default."""
        for key in (column, method.name):
            if key in self.thresholds:
                return float(self.thresholds[key])
        return self.alpha if method.default_threshold is None else method.default_threshold


def numeric_verdicts(
    block: list[str],
    comparison: NumericComparison,
    chosen: Mapping[str, Method | None],
    settings: Settings,
    rows: tuple[int, int],
) -> dict[str, ColumnDrift]:
    """Return the verdict for each column of a block of numeric columns.

    Args:
        block: The column names, in the block's row order.
        comparison: The block compared by ``numeric.compare_numeric``.
        chosen: The method asked for, by column; ``None`` for the default.
        settings: Thresholds and bins.
        rows: Rows in the reference and current windows (missing values included).
    """
    c = comparison
    methods = [
        chosen[column]
        or METHODS[default_method("numeric", int(c.n_reference[i]), int(c.n_distinct[i]))]
        for i, column in enumerate(block)
    ]
    is_ks = np.array([method.name == "ks" for method in methods], dtype=bool)
    ks_d, ks_p = c.ks_statistic.copy(), np.full(len(block), np.nan)
    present = (c.n_reference > 0) & (c.n_current > 0)
    if (pick := is_ks & present).any():
        ks_d[pick], ks_p[pick] = ks_pvalues(
            c.ks_statistic[pick], c.n_reference[pick], c.n_current[pick]
        )
    verdicts = {}
    for i, (column, method) in enumerate(zip(block, methods, strict=True)):
        n1, n2 = int(c.n_reference[i]), int(c.n_current[i])
        details: dict[str, Any] = {"n_reference": n1, "n_current": n2}
        details["n_distinct"] = int(c.n_distinct[i])
        if not present[i]:
            statistic, p_value = math.nan, None
        elif method.name == "ks":
            statistic, p_value = float(ks_d[i]), float(ks_p[i])
        else:
            statistic, p_value = _on_column(method, c, i, settings.n_bins, details)
        verdicts[column] = _verdict(
            column,
            "numeric",
            method,
            statistic,
            p_value,
            settings.threshold(column, method),
            missing=(rows[0] - n1, rows[1] - n2),
            rows=rows,
            details=details,
        )
    return verdicts


def categorical_verdict(
    column: str,
    reference: pd.Series,
    current: pd.Series,
    chosen: Method | None,
    settings: Settings,
) -> ColumnDrift:
    """Return the verdict for one categorical column (values compared as strings)."""
    ref_map, cur_map = frames.category_counts(reference), frames.category_counts(current)
    labels = sorted(ref_map.keys() | cur_map.keys())
    ref_counts = np.array([ref_map.get(label, 0) for label in labels], dtype=np.int64)
    cur_counts = np.array([cur_map.get(label, 0) for label in labels], dtype=np.int64)
    n1, n2 = int(ref_counts.sum()), int(cur_counts.sum())
    method = chosen or METHODS[default_method("categorical", n1, len(labels))]
    if n1 > 0 and n2 > 0:
        statistic, p_value = _on_counts(method, ref_counts, cur_counts)
    else:
        statistic, p_value = math.nan, None
    unseen = sorted((label for label in cur_map if label not in ref_map), key=lambda x: -cur_map[x])
    vanished = sorted(label for label in ref_map if label not in cur_map)
    details: dict[str, Any] = {"n_reference": n1, "n_current": n2, "n_categories": len(labels)}
    details["vanished_categories"] = vanished[:50]
    return _verdict(
        column,
        "categorical",
        method,
        statistic,
        p_value,
        settings.threshold(column, method),
        missing=(frames.missing_count(reference), frames.missing_count(current)),
        rows=(len(reference), len(current)),
        details=details,
        unseen=tuple(unseen),
    )


def _on_column(
    method: Method, c: NumericComparison, i: int, n_bins: int, details: dict[str, Any]
) -> tuple[float, float | None]:
    """Apply a method other than KS to column ``i`` of a block, noting extras in ``details``."""
    if method.name == "wasserstein":
        details["wasserstein"] = float(c.wasserstein[i])
        details["reference_std"] = float(c.reference_std[i])
        return float(c.normed_wasserstein()[i]), None
    ref, cur = c.reference_values(i), c.current_values(i)
    if method.name == "psi" or c.n_distinct[i] > VALUE_COUNT_LIMIT:
        ref_counts, cur_counts, _ = quantile_bin_counts(ref, cur, n_bins)
        details["binning"] = f"{n_bins} reference-quantile bins"
    else:
        ref_counts, cur_counts, _ = value_counts(ref, cur)
        details["binning"] = "distinct values"
    return _on_counts(method, ref_counts, cur_counts)


def _on_counts(method: Method, reference: Any, current: Any) -> tuple[float, float | None]:
    if method.name == "chisquare":
        return categorical.chisquare(reference, current)
    if method.name == "z":
        return categorical.ztest(reference, current)
    if method.name == "jensenshannon":
        return categorical.jensenshannon(reference, current), None
    return categorical.psi(reference, current), None


def _verdict(
    column: str,
    kind: Kind,
    method: Method,
    statistic: float,
    p_value: float | None,
    threshold: float,
    *,
    missing: tuple[int, int],
    rows: tuple[int, int],
    details: dict[str, Any],
    unseen: tuple[str, ...] = (),
) -> ColumnDrift:
    n_ref, n_cur = rows[0] - missing[0], rows[1] - missing[1]
    if math.isnan(statistic):
        drifted = (n_ref > 0) != (n_cur > 0)  # values appeared or vanished
        details["reason"] = "a window has no non-missing values"
    else:
        drifted = method.is_drifted(statistic, p_value, threshold)
    return ColumnDrift(
        column=column,
        kind=kind,
        method=method.name,
        statistic=statistic,
        p_value=p_value,
        threshold=threshold,
        drifted=drifted,
        reference_missing_rate=missing[0] / rows[0],
        current_missing_rate=missing[1] / rows[1],
        unseen_categories=unseen,
        details=details,
    )
