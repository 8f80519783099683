"""Change in an organisation's scale means between two survey waves, and whether it is larger
than its uncertainty.

Each wave's mean comes with a 95% confidence interval (``mean +- t(n-1) * se``, the standard
error carrying the finite-population correction when the invited count was known; see
:mod:`acap.aggregate`). The two waves are independent samples of the organisation's people, so
the change ``now - before`` has standard error ``sqrt(se_now**2 + se_before**2)`` and, as in
Welch's two-sample t test, Welch-Satterthwaite degrees of freedom. A change is *larger than its
uncertainty* when its confidence interval excludes zero (the level comes from
:data:`acap.thresholds.THRESHOLDS` ``["change"]``). From raw answers without finite-population
correction this is exactly R's ``t.test(now, before)`` (tested against it).

References
----------
Welch BL. Biometrika 1947;34:28-35. Satterthwaite FE. Biometrics Bulletin 1946;2:110-4.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from acap.thresholds import THRESHOLDS

__all__ = ["scale_change", "standard_error_from_ci"]


def standard_error_from_ci(n, ci_low, ci_high, level: float = 0.95) -> np.ndarray:
    """Standard error behind a t confidence interval ``mean +- t(level, n - 1) * se``.

    Parameters
    ----------
    n, ci_low, ci_high : array-like
        Respondents and interval ends (missing where a cell is suppressed).
    level : float, default 0.95
        Level of the interval.

    Returns
    -------
    ndarray
        ``(ci_high - ci_low) / (2 t)``; NaN where an input is missing or n < 2.

    Examples
    --------
    >>> round(float(standard_error_from_ci(10, 4.0, 5.0)[0]), 3)
    0.221
    """
    n = np.atleast_1d(np.asarray(n, float))
    with np.errstate(invalid="ignore"):
        t = stats.t.ppf(0.5 + level / 2, np.where(n >= 2, n - 1, np.nan))
        return (np.atleast_1d(np.asarray(ci_high, float)) - np.atleast_1d(np.asarray(ci_low, float))) / (2 * t)


def scale_change(current: pd.DataFrame, previous: pd.DataFrame, *, level: float | None = None,
                 ci_level: float = 0.95) -> pd.DataFrame:
    """Change of each scale's mean since the previous wave, with its confidence interval.

    Parameters
    ----------
    current, previous : DataFrame
        Indexed by scale, with columns ``n``, ``mean``, ``ci_low``, ``ci_high`` (as
        ``OrganisationFeedback.scales``); suppressed cells are missing.
    level : float, optional
        Level of the change's interval (default: the ``"change"`` threshold, 0.95).
    ci_level : float, default 0.95
        Level of the intervals given for each wave.

    Returns
    -------
    DataFrame
        Indexed by the scales of ``current``: ``before``, ``now``, ``change``, ``se``, ``df``,
        ``ci_low``, ``ci_high``, ``p`` (two-sided) and ``larger_than_uncertainty`` (True when
        the interval excludes zero; missing where either wave has no shown mean).

    Examples
    --------
    >>> now = pd.DataFrame({"n": [20], "mean": [5.0], "ci_low": [4.6], "ci_high": [5.4]}, index=["a"])
    >>> before = pd.DataFrame({"n": [18], "mean": [4.2], "ci_low": [3.8], "ci_high": [4.6]}, index=["a"])
    >>> bool(scale_change(now, before).loc["a", "larger_than_uncertainty"])
    True
    """
    level = THRESHOLDS["change"]["value"] if level is None else level
    prev = previous.reindex(current.index)
    n1, n0 = current["n"].to_numpy(float), prev["n"].to_numpy(float)
    se1 = standard_error_from_ci(n1, current["ci_low"], current["ci_high"], ci_level)
    se0 = standard_error_from_ci(n0, prev["ci_low"], prev["ci_high"], ci_level)
    diff = current["mean"].to_numpy(float) - prev["mean"].to_numpy(float)
    var = se1 ** 2 + se0 ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        df = var ** 2 / (se1 ** 4 / (n1 - 1) + se0 ** 4 / (n0 - 1))
        se = np.sqrt(var)
        half = stats.t.ppf(0.5 + level / 2, df) * se
        p = 2 * stats.t.sf(np.abs(diff / se), df)
    ok = np.isfinite(diff) & np.isfinite(half)
    larger = pd.array(np.where(ok, np.abs(diff) > half, False), dtype="boolean")
    larger[~ok] = pd.NA
    return pd.DataFrame({"before": prev["mean"].to_numpy(float), "now": current["mean"].to_numpy(float),
                         "change": diff, "se": se, "df": df, "ci_low": diff - half, "ci_high": diff + half,
                         "p": p, "larger_than_uncertainty": larger}, index=current.index)
