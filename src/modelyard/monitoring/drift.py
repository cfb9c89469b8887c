"""Compare a current window of data with a reference window, column by column.

``detect_drift(reference, current)`` picks a method per column (Evidently's defaults, see
``methods``), compares every column, and says whether the dataset drifted: when the share of
drifted columns reaches ``drift_share``. ``prediction_drift`` does the same for one array of
model outputs. Missing values (NaN, None, ±inf) are left out of every statistic; each column
reports its missing rate in both windows instead.

Numeric columns are compared in blocks, each block one 2-D array sorted once (see
``numeric``), on up to one thread per CPU; blocks are sized so that those in flight take about
``BLOCK_BYTES`` of working memory together.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from modelyard.errors import ConfigValueError, DataError
from modelyard.monitoring import columns as frames
from modelyard.monitoring.methods import KINDS, METHODS, Kind, Method, check_keys, get_method
from modelyard.monitoring.numeric import FloatArray, compare_numeric
from modelyard.monitoring.report import ColumnDrift, DriftReport
from modelyard.monitoring.verdicts import Settings, categorical_verdict, numeric_verdicts

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd

BLOCK_BYTES = 32 * 2**20
"""Working memory the blocks of numeric columns in flight may take together (a block holds at
least one column, so one long column may take more: about 95 MiB at 1M rows a side)."""

BYTES_PER_VALUE = 64
"""Peak working memory of ``compare_numeric`` per value of a window (measured: about 55)."""

__all__ = ["ColumnDrift", "DriftReport", "detect_drift", "prediction_drift"]


def detect_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: frames.ColumnSpec = None,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    drift_share: float = 0.3,
    alpha: float = 0.05,
    n_bins: int = 10,
) -> DriftReport:
    """Compare ``current`` with ``reference`` column by column.

    Args:
        reference: The window the model was trained or validated on.
        current: The window to check.
        columns: Kinds by column name (``"numeric"`` or ``"categorical"``); or column names,
            kinds inferred; or ``None``: every reference column, kinds inferred.
        methods: Method by column name, or by kind (``{"numeric": "ks"}``); a column name wins.
            Unlisted columns get the default (``modelyard.monitoring.methods``).
        thresholds: Threshold by column name, or by method name (``{"psi": 0.2}``); a column
            name wins. Otherwise 0.1 for distances and ``alpha`` for tests.
        drift_share: The dataset drifted when at least this share of columns drifted.
        alpha: Significance level of the tests (``ks``, ``chisquare``, ``z``).
        n_bins: Reference-quantile bins for ``psi`` on numeric columns (and for ``chisquare``,
            ``z`` and ``jensenshannon`` on numeric columns of more than 20 distinct values).

    Returns:
        One verdict per column, in order, and the dataset verdict.

    Raises:
        DataError: A window is empty or not a DataFrame.
        FeatureError: A column is missing from a window or has a dtype that cannot be compared.
        ConfigValueError: An unknown method, kind or override key, or an out-of-range number.
    """
    reference, current = frames.check_windows(reference, current)
    _check_numbers(drift_share=drift_share, alpha=alpha, n_bins=n_bins)
    kinds = frames.resolve_kinds(reference, current, columns)
    methods, thresholds = dict(methods or {}), dict(thresholds or {})
    check_keys(methods, known=[*kinds, *KINDS], what="methods", fix="Use a column or a kind.")
    check_keys(
        thresholds, known=[*kinds, *METHODS], what="thresholds", fix="Use a column or a method."
    )
    chosen = {column: _chosen(column, kind, methods) for column, kind in kinds.items()}
    settings = Settings(thresholds, alpha, n_bins)

    numeric = [column for column, kind in kinds.items() if kind == "numeric"]
    verdicts = _compare_numeric_columns(reference, current, numeric, chosen, settings)
    for column, kind in kinds.items():
        if kind == "categorical":
            verdicts[column] = categorical_verdict(
                column, reference[column], current[column], chosen[column], settings
            )
    ordered = tuple(verdicts[column] for column in kinds)
    n_drifted = sum(verdict.drifted for verdict in ordered)
    return DriftReport(
        columns=ordered,
        drift_share=drift_share,
        dataset_drifted=n_drifted / len(ordered) >= drift_share,
        n_drifted=n_drifted,
        reference_rows=len(reference),
        current_rows=len(current),
    )


def prediction_drift(
    reference_scores: npt.ArrayLike,
    current_scores: npt.ArrayLike,
    kind: Kind = "numeric",
    *,
    method: str | None = None,
    threshold: float | None = None,
    alpha: float = 0.05,
) -> ColumnDrift:
    """Compare a model's outputs on the current window with those on the reference window.

    Args:
        reference_scores: One output per reference row (scores, probabilities or labels).
        current_scores: One output per current row.
        kind: ``"numeric"`` for scores and probabilities, ``"categorical"`` for labels.
        method: A method name; the default follows ``detect_drift``'s.
        threshold: The method's threshold; the default follows ``detect_drift``'s.
        alpha: Significance level of the tests.

    Returns:
        The verdict, for a column named ``"prediction"``.

    Raises:
        DataError: The scores are not one-dimensional, or a side is empty.
    """
    import pandas as pd

    windows = []
    for name, scores in (("reference", reference_scores), ("current", current_scores)):
        values = np.asarray(scores)
        if values.ndim != 1:
            raise DataError(
                f"The {name} scores have shape {values.shape}; prediction_drift takes one "
                "output per row. Compare each class's probability separately, or use "
                "detect_drift on a frame of them."
            )
        windows.append(pd.DataFrame({"prediction": values}))
    report = detect_drift(
        windows[0],
        windows[1],
        columns={"prediction": kind},
        methods={"prediction": method} if method else None,
        thresholds={"prediction": threshold} if threshold is not None else None,
        alpha=alpha,
    )
    return report.columns[0]


def _chosen(column: str, kind: Kind, methods: Mapping[str, str]) -> Method | None:
    name = methods.get(column, methods.get(kind))
    return None if name is None else get_method(name, column=column, kind=kind)


def _compare_numeric_columns(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: list[str],
    chosen: Mapping[str, Method | None],
    settings: Settings,
) -> dict[str, ColumnDrift]:
    """Compare numeric columns in blocks, on up to one thread per CPU when memory allows.

    NumPy sorts without holding the GIL, so blocks on threads run in parallel. Columns are
    read from the frames on this thread only; at most ``workers`` blocks are in memory.
    """
    rows = (len(reference), len(current))
    per_column = max(1, sum(rows) * BYTES_PER_VALUE)
    workers = max(1, min(_cpus(), BLOCK_BYTES // per_column, len(numeric)))
    size = max(1, min(BLOCK_BYTES // workers // per_column, -(-len(numeric) // workers)))

    def compare(block: list[str], ref: FloatArray, cur: FloatArray) -> dict[str, ColumnDrift]:
        comparison = compare_numeric(ref, cur, overwrite=True)
        return numeric_verdicts(block, comparison, chosen, settings, rows)

    verdicts: dict[str, ColumnDrift] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[dict[str, ColumnDrift]]] = deque()
        for start in range(0, len(numeric), size):
            block = numeric[start : start + size]
            ref, cur = frames.numeric_rows(reference, block), frames.numeric_rows(current, block)
            pending.append(pool.submit(compare, block, ref, cur))
            del ref, cur
            if len(pending) >= workers:
                verdicts.update(pending.popleft().result())
        while pending:
            verdicts.update(pending.popleft().result())
    return verdicts


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS and Windows
        return os.cpu_count() or 1


def _check_numbers(*, drift_share: float, alpha: float, n_bins: int) -> None:
    problems = []
    if not 0.0 < drift_share <= 1.0:
        problems.append(
            f"drift_share={drift_share!r} must be in (0, 1]; 0.3 means 30 % of columns."
        )
    if not 0.0 < alpha < 1.0:
        problems.append(f"alpha={alpha!r} must be in (0, 1); 0.05 is usual.")
    if n_bins < 2:
        problems.append(f"n_bins={n_bins!r} must be at least 2; 10 is usual.")
    if problems:
        raise ConfigValueError(problems)
