"""Numeric drift statistics for many columns at once: KS, Wasserstein, quantile bins.

Columns come as rows of a 2-D float array (``(columns, values)``; NaN means missing). Each
column is sorted once per window; the two sorted windows are merged with a stable sort (a
linear merge of two sorted runs); the running count of reference values along the merged order
then gives both empirical CDFs at every value. From those:

- the **KS statistic** is the largest gap between the CDFs, read where a run of equal values
  ends (that is where ``searchsorted(..., side="right")`` would evaluate them, so ties and
  unequal sizes give exactly ``scipy.stats.ks_2samp``'s statistic);
- the **Wasserstein distance** is the area between the CDFs, as
  ``scipy.stats.wasserstein_distance`` computes it.

No Python loop runs over values; the only loops are over columns, for work on at most a few
dozen numbers each (bin edges, distinct values).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

WASSERSTEIN_MIN_STD = 0.001
"""The smallest reference std Wasserstein is divided by (Evidently's floor, for constants)."""


@dataclass(frozen=True, slots=True)
class NumericComparison:
    """Per-column statistics of one block of numeric columns; every array has one entry each.

    Attributes:
        n_reference: Non-missing reference values.
        n_current: Non-missing current values.
        n_distinct: Distinct non-missing values in both windows together.
        ks_statistic: Largest gap between the two empirical CDFs (0 where a side is empty).
        wasserstein: Wasserstein-1 distance, not normalised (0 where a side is empty).
        reference_std: Population std (``ddof=0``) of the reference values.
        reference_sorted: The reference values per column, sorted, missing ones last.
        current_sorted: The current values per column, sorted, missing ones last.
    """

    n_reference: IntArray
    n_current: IntArray
    n_distinct: IntArray
    ks_statistic: FloatArray
    wasserstein: FloatArray
    reference_std: FloatArray
    reference_sorted: FloatArray
    current_sorted: FloatArray

    def normed_wasserstein(self) -> FloatArray:
        """Return Wasserstein / reference std, the std floored at 0.001 as Evidently does."""
        return self.wasserstein / np.maximum(self.reference_std, WASSERSTEIN_MIN_STD)

    def reference_values(self, column: int) -> FloatArray:
        """Return the sorted non-missing reference values of one column of the block."""
        return self.reference_sorted[column, : self.n_reference[column]]

    def current_values(self, column: int) -> FloatArray:
        """Return the sorted non-missing current values of one column of the block."""
        return self.current_sorted[column, : self.n_current[column]]


def compare_numeric(
    reference: FloatArray, current: FloatArray, *, overwrite: bool = False
) -> NumericComparison:
    """Compare each row of ``reference`` with the same row of ``current``.

    Args:
        reference: Shape ``(columns, reference rows)``; NaN and ±inf count as missing.
        current: Shape ``(columns, current rows)``, the same number of columns.
        overwrite: Sort C-ordered float64 inputs in place instead of copying them.

    Returns:
        The statistics of every column, and both windows sorted for further binning.
    """
    ref = _sorted_finite(reference, overwrite)
    cur = _sorted_finite(current, overwrite)
    n1 = np.count_nonzero(~np.isnan(ref), axis=1).astype(np.int64)
    n2 = np.count_nonzero(~np.isnan(cur), axis=1).astype(np.int64)
    width = ref.shape[1] + cur.shape[1]
    counts = np.int32 if width < 2**31 else np.int64  # halves the largest temporaries

    merged = np.concatenate([ref, cur], axis=1)
    order = np.argsort(merged, axis=1, kind="stable")  # linear: it merges two sorted runs
    values = np.take_along_axis(merged, order, axis=1)
    del merged
    ref_count = np.cumsum(order < ref.shape[1], axis=1, dtype=counts)
    del order
    position = np.arange(1, width + 1, dtype=counts)
    cur_count = position - ref_count  # right wherever the position holds a value
    valid = position <= (n1 + n2)[:, None]

    # gap = |F_ref - F_cur| at each merged position: the same floating-point operations as
    # ks_2samp's `searchsorted(...) / n1 - searchsorted(...) / n2`
    gap = np.divide(ref_count, np.maximum(n1, 1)[:, None])
    gap -= np.divide(cur_count, np.maximum(n2, 1)[:, None])
    np.abs(gap, out=gap)
    del ref_count, cur_count

    run_end = np.empty(values.shape, dtype=bool)
    np.not_equal(values[:, 1:], values[:, :-1], out=run_end[:, :-1])
    run_end[:, -1] = True
    run_end &= valid
    n_distinct = np.count_nonzero(run_end, axis=1).astype(np.int64)
    ks = np.max(gap, axis=1, where=run_end, initial=0.0)
    del run_end

    area = gap[:, :-1]
    area *= np.diff(values, axis=1)
    del values
    area[~valid[:, 1:]] = 0.0  # pairs that reach a missing value
    wasserstein = area.sum(axis=1)
    del area, gap

    both_present = (n1 > 0) & (n2 > 0)
    return NumericComparison(
        n_reference=n1,
        n_current=n2,
        n_distinct=n_distinct,
        ks_statistic=np.where(both_present, ks, 0.0),
        wasserstein=np.where(both_present, wasserstein, 0.0),
        reference_std=_std(ref, n1),
        reference_sorted=ref,
        current_sorted=cur,
    )


def quantile_bin_counts(
    reference: FloatArray, current: FloatArray, n_bins: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """Count both windows in bins cut at the reference quantiles.

    Args:
        reference: Sorted non-missing reference values (at least one).
        current: Sorted non-missing current values.
        n_bins: How many bins; edges at the ``1/n_bins, ..., (n_bins-1)/n_bins`` quantiles of
            the reference (linear interpolation), the outer bins open-ended.

    Returns:
        Reference counts, current counts, and the inner edges. Bins are closed on the right;
        equal edges (a reference with ties) leave empty bins, which add nothing to PSI.
    """
    edges = np.quantile(reference, np.linspace(0.0, 1.0, n_bins + 1)[1:-1])
    return _counts_at(reference, edges), _counts_at(current, edges), edges


def value_counts(
    reference: FloatArray, current: FloatArray
) -> tuple[IntArray, IntArray, FloatArray]:
    """Count each distinct value in both (sorted, non-missing) windows.

    Returns:
        Reference counts, current counts, and the distinct values, ascending.
    """
    distinct = np.unique(np.concatenate([reference, current]))
    return _occurrences(reference, distinct), _occurrences(current, distinct), distinct


def _sorted_finite(values: FloatArray, overwrite: bool) -> FloatArray:
    out = np.array(values, dtype=np.float64, ndmin=2, order="C", copy=None if overwrite else True)
    out[np.isinf(out)] = np.nan
    out.sort(axis=1)  # NaN last
    return out


def _std(sorted_values: FloatArray, n: IntArray) -> FloatArray:
    std = np.zeros(n.shape)
    present = n > 0
    if present.any():
        with np.errstate(invalid="ignore"):
            std[present] = np.nanstd(sorted_values[present], axis=1)
    return std


def _counts_at(sorted_values: FloatArray, edges: FloatArray) -> IntArray:
    cuts = np.searchsorted(sorted_values, edges, side="right")
    return np.diff(cuts, prepend=0, append=sorted_values.shape[0]).astype(np.int64)


def _occurrences(sorted_values: FloatArray, distinct: FloatArray) -> IntArray:
    right = np.searchsorted(sorted_values, distinct, side="right")
    left = np.searchsorted(sorted_values, distinct, side="left")
    return (right - left).astype(np.int64)
