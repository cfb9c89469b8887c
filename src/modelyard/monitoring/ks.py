"""The two-sample Kolmogorov-Smirnov p-value, exactly as ``scipy.stats.ks_2samp`` computes it.

``ks_2samp(x, y)`` with its default ``method="auto"`` uses the exact distribution of the
statistic when both samples have at most 10,000 values, and Smirnov's asymptotic one
(``scipy.stats.kstwo`` at the effective size ``n1*n2/(n1+n2)``) above that. This module takes
statistics already computed for many columns at once (see ``numeric``) and returns the same
p-values: the asymptotic ones in one vectorised call, the exact ones column by column through
SciPy's own routine (``_attempt_exact_2kssamp``, private; it falls back to the asymptotic
formula where the exact sum overflows, as ``ks_2samp`` does).

``scipy.stats`` is imported on the first call: it costs about 45 MiB and 0.2 s, which the
defaults for large windows (Wasserstein, Jensen-Shannon) never need.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MAX_EXACT_N = 10_000
"""``ks_2samp(method="auto")`` is exact when neither sample is larger than this."""


def ks_pvalues(
    statistic: FloatArray, n_reference: IntArray, n_current: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Return the statistics and two-sided p-values that ``ks_2samp(method="auto")`` gives.

    Args:
        statistic: The KS statistic (largest gap between the two ECDFs) per column.
        n_reference: Non-missing reference values per column (each at least 1).
        n_current: Non-missing current values per column (each at least 1).

    Returns:
        The statistics (where the exact method applies, rounded to the lattice ``h/lcm``
        as SciPy does; the change is below 1e-15) and the p-values, clipped to [0, 1].
    """
    from scipy import stats

    d = np.array(statistic, dtype=np.float64)
    p = np.full(d.shape, np.nan)
    exact = np.maximum(n_reference, n_current) <= MAX_EXACT_N
    for i in np.flatnonzero(exact):
        done, d_i, p_i = _exact(int(n_reference[i]), int(n_current[i]), float(d[i]))
        if done:
            d[i], p[i] = d_i, p_i
        else:
            exact[i] = False
    asymp = ~exact
    if asymp.any():
        m = np.maximum(n_reference[asymp], n_current[asymp]).astype(np.float64)
        n = np.minimum(n_reference[asymp], n_current[asymp]).astype(np.float64)
        p[asymp] = stats.kstwo.sf(d[asymp], np.round(m * n / (m + n)))
    return d, np.clip(p, 0.0, 1.0)


def _exact(n1: int, n2: int, d: float) -> tuple[bool, float, float]:
    try:  # private: the routine ks_2samp itself calls for exact p-values
        from scipy.stats._stats_py import _attempt_exact_2kssamp
    except ImportError:  # pragma: no cover - a SciPy that moved it: asymptotic p-values
        return False, d, math.nan
    result: Any = _attempt_exact_2kssamp(n1, n2, math.gcd(n1, n2), d, "two-sided")
    done, d_exact, p_exact = result
    return bool(done), float(d_exact), float(p_exact)
