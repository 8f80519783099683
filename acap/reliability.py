"""Internal-consistency reliability of a scale: coefficient alpha, omega and split-half coefficients.

The numbers agree with R's ``psych`` package (``psych::alpha`` and ``psych::splitHalf``, version
2.2.9) including its treatment of missing responses: every covariance and correlation between
items is computed from the respondents who answered both items (pairwise-complete), item means
and standard deviations from those who answered the item, and the scale score of a respondent is
the mean of the items they answered. The formulas and references are in
``docs/methods/reliability.md``.

Examples
--------
>>> import pandas as pd
>>> from acap.reliability import alpha
>>> x = pd.DataFrame({"q1": [1, 2, 3, 4, 5], "q2": [2, 2, 3, 5, 4], "q3": [1, 3, 3, 4, 5]})
>>> round(alpha(x).alpha, 4)
0.9451
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from math import comb

import numpy as np
import pandas as pd
from acap import _dist
from acap._blas import blas_threads
from acap.errors import AcapInputError
from acap.factor._corr import smc
from acap.factor.omega import OmegaResult, omega  # omega lives with the factor models it fits
from acap.itemdata import numeric_items

def sqrt(value: float) -> float:
    """Square root that gives NaN for a negative argument, as R's sqrt does (psych then reports NaN).

    Sums of correlations can be negative for items that do not form a scale (random or
    mis-keyed items); the statistics are then undefined, not an error.
    """
    return float(np.sqrt(value)) if value >= 0 else float("nan")


# BLAS threads for the bootstrap's block products. Two threads were 10-20% faster on an idle
# 2-core machine (N = 10,000, k = 20) but stalled badly whenever the other core was busy; one
# thread is steady and leaves the other core to callers running analyses side by side.
_BOOT_THREADS = 1
# Resample counts held per block (block x respondents); the stream of draws is the same for any
# block size, so this only trades memory for fewer, larger matrix products.
_BOOT_BLOCK = 1_000_000

__all__ = ["AlphaResult", "OmegaResult", "SplitHalfResult", "alpha", "feldt_ci", "omega", "split_half"]


# ---- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlphaResult:
    """Coefficient alpha of one scale, with item statistics (see :func:`alpha`).

    Attributes
    ----------
    alpha : float
        Raw coefficient alpha (from the item covariances); psych's ``raw_alpha``.
    std_alpha : float
        Standardised alpha (from the item correlations); psych's ``std.alpha``.
    g6 : float
        Guttman's lambda-6 with squared multiple correlations; psych's ``G6(smc)``.
    average_r, median_r, var_r : float
        Mean, median and variance of the inter-item correlations.
    sn : float
        Signal-to-noise ratio ``k * average_r / (1 - average_r)``.
    ase : float
        Asymptotic standard error of raw alpha (Duhachek & Iacobucci, as psych computes it).
    mean, sd : float
        Mean and standard deviation of the respondents' scale scores (item means).
    ci : tuple of float
        Feldt confidence interval ``(lower, upper)`` of raw alpha at ``level``.
    level : float
        Confidence level of ``ci`` and ``boot_ci``.
    items : DataFrame
        One row per item (index: item names, reverse-keyed ones included under their own
        name). Columns: ``n``, ``raw_r``, ``std_r``, ``r_cor``, ``r_drop``, ``mean``, ``sd``
        (psych's ``item.stats``) and ``alpha_if_deleted``, ``std_alpha_if_deleted``,
        ``g6_if_deleted``, ``average_r_if_deleted``, ``sn_if_deleted``,
        ``alpha_se_if_deleted``, ``var_r_if_deleted``, ``med_r_if_deleted`` (psych's
        ``alpha.drop``), plus ``reversed`` (bool).
    scores : Series
        Scale score of every respondent: mean of the (reverse-keyed) items answered; NaN for a
        respondent who answered none.
    n : int
        Number of respondents (rows, including any who answered nothing, as psych counts them).
    k : int
        Number of items.
    reverse : tuple of str
        Items that were reverse-keyed.
    reverse_constant : float or None
        ``min + max`` used to reverse items (``x -> constant - x``), None when nothing was
        reversed.
    boot_ci : tuple of float or None
        Percentile bootstrap interval ``(lower, upper)`` of raw alpha when ``n_boot > 0``.
    boot : ndarray or None
        The ``n_boot`` bootstrap values of raw alpha.
    """

    alpha: float
    std_alpha: float
    g6: float
    average_r: float
    median_r: float
    var_r: float
    sn: float
    ase: float
    mean: float
    sd: float
    ci: tuple[float, float]
    level: float
    items: pd.DataFrame
    scores: pd.Series
    n: int
    k: int
    reverse: tuple[str, ...]
    reverse_constant: float | None
    boot_ci: tuple[float, float] | None = None
    boot: np.ndarray | None = None


@dataclass(frozen=True)
class SplitHalfResult:
    """Split-half reliability of one scale (see :func:`split_half`).

    Attributes
    ----------
    first_last : float
        Spearman-Brown corrected correlation between the first and the second half of the items
        (first ``k // 2`` items against the rest).
    odd_even : float
        Spearman-Brown corrected correlation between the odd-numbered and the even-numbered
        items (1st, 3rd, ... against 2nd, 4th, ...).
    splits : DataFrame
        Index ``first_last``, ``odd_even``; columns ``half_a``, ``half_b`` (item names joined by
        ``+``), ``r_halves`` (correlation of the two half scores), ``spearman_brown`` and
        ``guttman`` (Guttman/Flanagan-Rulon coefficient ``4 cov(A, B) / var(A + B)``).
    max, min, mean : float
        Largest, smallest and mean Guttman split-half coefficient over the splits examined
        (psych's ``maxrb``, ``minrb``, ``meanr``).
    quantiles : tuple of float
        ``(lower, median, upper)`` of the split coefficients at ``level`` (psych's ``ci`` with
        ``raw = TRUE``).
    level : float
        Coverage of ``quantiles``.
    max_split, min_split : tuple of (tuple of str, tuple of str)
        The halves giving ``max`` and ``min`` (first such split in psych's order).
    values : ndarray
        Coefficient of every split examined, in the order examined.
    n_splits : int
        Number of splits examined.
    exhaustive : bool
        True when every split was examined, False when ``n_sample`` random splits were drawn.
    alpha, lambda2, lambda6 : float
        Coefficient alpha, Guttman's lambda-2 and lambda-6 of the same matrix (standardised
        unless ``covar``).
    average_r, median_r : float
        Mean and median of the off-diagonal entries of the (keyed) matrix.
    covar : bool
        Whether covariances (True) or correlations (False) were used.
    n, k : int
        Respondents (rows) and items.
    reverse : tuple of str
        Items that were reverse-keyed.
    """

    first_last: float
    odd_even: float
    splits: pd.DataFrame
    max: float
    min: float
    mean: float
    quantiles: tuple[float, float, float]
    level: float
    max_split: tuple[tuple[str, ...], tuple[str, ...]]
    min_split: tuple[tuple[str, ...], tuple[str, ...]]
    values: np.ndarray
    n_splits: int
    exhaustive: bool
    alpha: float
    lambda2: float
    lambda6: float
    average_r: float
    median_r: float
    covar: bool
    n: int
    k: int
    reverse: tuple[str, ...]


# ---- input checks ---------------------------------------------------------------------------


def _item_matrix(data, where: str) -> tuple[np.ndarray, list[str]]:
    """Validate a respondents x items table and return it as a float matrix with NaN for missing.

    A constant item is refused (psych drops it with a warning): it carries no reliability
    information, so we ask the caller to leave it out instead of silently changing k.
    """
    items = numeric_items(data, where)
    # Row-major: the bootstrap and split-half code index respondents (rows).
    return np.ascontiguousarray(items.to_numpy()), list(items.columns)


def _keys(names: list[str], reverse, where: str) -> np.ndarray:
    if isinstance(reverse, str):
        reverse = (reverse,)
    reverse = tuple(str(r) for r in reverse)
    unknown = [r for r in reverse if r not in names]
    if unknown:
        raise AcapInputError(f"reverse-keyed item(s) {', '.join(unknown)} not among the items", where)
    return np.array([-1.0 if n in reverse else 1.0 for n in names])


def _pairwise_cov(x: np.ndarray, where: str, names: list[str]) -> np.ndarray:
    """Covariances, each from the respondents answering both items (R's use = "pairwise")."""
    m = ~np.isnan(x)
    mf = m.astype(float)
    # Centre first: the pairwise formula is shift-invariant and centring avoids cancellation.
    xc = np.where(m, x - np.nanmean(x, axis=0), 0.0)
    n_ij = mf.T @ mf
    if np.any(n_ij < 2):
        i, j = np.argwhere(n_ij < 2)[0]
        raise AcapInputError(
            f"items {names[i]} and {names[j]} have fewer than 2 respondents in common",
            where,
        )
    s = xc.T @ mf  # s[i, j]: sum of item i over respondents answering i and j
    ss = xc.T @ xc
    return (ss - s * s.T / n_ij) / (n_ij - 1)


def _cov2cor(c: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.diag(c))
    r = c / np.outer(d, d)
    np.fill_diagonal(r, 1.0)
    return r


def _lower(r: np.ndarray) -> np.ndarray:
    return r[np.tril_indices_from(r, -1)]


def _alpha_parts(c: np.ndarray, r: np.ndarray) -> dict[str, float]:
    k = c.shape[0]
    sum_c, tr_c = c.sum(), np.trace(c)
    sum_r = r.sum()
    av_r = (sum_r - k) / (k * (k - 1))
    low = _lower(r)
    cc = c @ c
    q = (2 * k**2 / ((k - 1) ** 2 * sum_c**3)) * (sum_c * (np.trace(cc) + tr_c**2) - 2 * tr_c * cc.sum())
    return {
        "raw": (1 - tr_c / sum_c) * k / (k - 1),
        "std": (1 - k / sum_r) * k / (k - 1),
        "g6": 1 - (k - smc(r).sum()) / sum_r,
        "av_r": av_r,
        "sn": k * av_r / (1 - av_r),
        "q": q,
        "var_r": float(np.var(low, ddof=1)) if low.size > 1 else np.nan,
        "med_r": float(np.median(low)),
    }


def _level(level: float, where: str) -> float:
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise AcapInputError(f"level must be between 0 and 1, got {level!r}", where)
    return float(level)


def feldt_ci(alpha_value: float, n: int, k: int, level: float = 0.95) -> tuple[float, float]:
    """Feldt, Woodruff & Salih (1987) confidence interval for coefficient alpha.

    Parameters
    ----------
    alpha_value : float
        Sample coefficient alpha.
    n : int
        Number of respondents.
    k : int
        Number of items.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    tuple of float
        ``(lower, upper)``.

    References
    ----------
    Feldt, L. S., Woodruff, D. J. & Salih, F. A. (1987). Statistical inference for coefficient
    alpha. Applied Psychological Measurement, 11, 93-103.

    Examples
    --------
    >>> lo, hi = feldt_ci(0.8, n=200, k=10)
    >>> round(lo, 3), round(hi, 3)
    (0.756, 0.839)
    """
    p = 1.0 - _level(level, "feldt_ci")
    df1, df2 = n - 1, (n - 1) * (k - 1)
    lower = 1 - (1 - alpha_value) * _dist.f_ppf(1 - p / 2, df1, df2)
    upper = 1 - (1 - alpha_value) * _dist.f_ppf(p / 2, df1, df2)
    return float(lower), float(upper)


# ---- alpha ----------------------------------------------------------------------------------


def alpha(
    data,
    reverse=(),
    scale=None,
    *,
    level: float = 0.95,
    n_boot: int = 0,
    seed=None,
) -> AlphaResult:
    """Coefficient alpha, standardised alpha and Guttman's lambda-6 with item statistics.

    Agrees with ``psych::alpha(x, keys = ...)`` (psych 2.2.9), including its handling of
    missing responses: item covariances and correlations are pairwise-complete, a respondent's
    scale score is the mean of the items they answered, and ``n`` counts every row.

    Parameters
    ----------
    data : DataFrame
        Respondents in rows, one numeric column per item; missing responses as NaN/NA.
    reverse : sequence of str, optional
        Items to reverse-key (``x -> min + max - x``) before anything is computed.
    scale : tuple of float, optional
        ``(min, max)`` of the response scale used to reverse items. When None, psych's rule is
        used: the smallest and largest response observed anywhere in ``data`` (over all items,
        not item by item).
    level : float, default 0.95
        Confidence level of the Feldt interval (and the bootstrap interval).
    n_boot : int, default 0
        Number of bootstrap resamples of respondents for a percentile interval of raw alpha
        (psych's ``n.iter``); 0 for none.
    seed : int or numpy Generator, optional
        Seed of the bootstrap.

    Returns
    -------
    AlphaResult
        Frozen result; ``items`` is indexed by item name.

    Raises
    ------
    AcapInputError
        Non-numeric item column, fewer than 2 items or respondents, an item without variance,
        two items without 2 common respondents, an unknown reverse-keyed item, or a response
        outside ``scale``.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    Psychometrika, 16, 297-334.
    Guttman, L. (1945). A basis for analyzing test-retest reliability. Psychometrika, 10,
    255-282.
    Feldt, L. S., Woodruff, D. J. & Salih, F. A. (1987). Statistical inference for coefficient
    alpha. Applied Psychological Measurement, 11, 93-103.
    Revelle, W. psych: Procedures for Psychological, Psychometric, and Personality Research
    (``alpha``).

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"q1": [1, 2, 3, 4, 5], "q2": [2, 2, 3, 5, 4], "q3": [5, 3, 3, 2, 1]})
    >>> res = alpha(x, reverse=["q3"], scale=(1, 5))
    >>> round(res.alpha, 4), float(res.items.loc["q3", "mean"])
    (0.9451, 3.2)
    """
    where = "alpha"
    x, names = _item_matrix(data, where)
    keys = _keys(names, reverse, where)
    level = _level(level, where)
    nsub, k = x.shape
    flipped = keys < 0
    constant = None
    if flipped.any():
        if scale is None:
            constant = float(np.nanmin(x) + np.nanmax(x))
        else:
            lo, hi = _scale(scale, where)
            for j, name in enumerate(names):
                v = x[:, j]
                if np.nanmin(v) < lo or np.nanmax(v) > hi:
                    raise AcapInputError(
                        f"response outside the scale ({lo:g}, {hi:g}): found {np.nanmin(v):g} to {np.nanmax(v):g}",
                        f"{where}, item {name}",
                    )
            constant = lo + hi
        x = x.copy()
        x[:, flipped] = constant - x[:, flipped]

    c = _pairwise_cov(x, where, names)
    r = _cov2cor(c)
    tot = _alpha_parts(c, r)

    drop = np.full((k, 8), np.nan)
    if k > 2:
        for i in range(k):
            keep = np.arange(k) != i
            p = _alpha_parts(c[np.ix_(keep, keep)], r[np.ix_(keep, keep)])
            drop[i] = [p["raw"], p["std"], p["g6"], p["av_r"], p["sn"], sqrt(p["q"] / nsub), p["var_r"], p["med_r"]]
    else:
        # Two items: what is left after dropping one is a single item; psych reports these.
        r12 = r[0, 1]
        smc1 = smc(r)[0]
        for i, other in ((0, 1), (1, 0)):
            drop[i] = [c[0, 1] / c[other, other], r12, smc1, r12, r12 / (1 - r12), np.nan, 0.0, r12]

    # Item-total statistics.
    sum_r = r.sum()
    std_r = r.sum(axis=0) / sqrt(sum_r)
    rc = r.copy()
    np.fill_diagonal(rc, smc(r))
    r_cor = rc.sum(axis=0) / sqrt(rc.sum())
    sum_c = c.sum()
    col_c = c.sum(axis=0)
    d = np.diag(c)
    r_drop = (col_c - d) / np.sqrt(d * (sum_c - 2 * col_c + d))

    obs = ~np.isnan(x)
    n_item = obs.sum(axis=0)
    total = _row_means(x, obs)
    raw_r = _item_total_r(x, obs, total)
    item_mean = np.nanmean(x, axis=0)
    item_sd = np.nanstd(x, axis=0, ddof=1)
    t_ok = ~np.isnan(total)

    items = pd.DataFrame(
        {
            "n": n_item.astype(int),
            "raw_r": raw_r,
            "std_r": std_r,
            "r_cor": r_cor,
            "r_drop": r_drop,
            "mean": item_mean,
            "sd": item_sd,
            "alpha_if_deleted": drop[:, 0],
            "std_alpha_if_deleted": drop[:, 1],
            "g6_if_deleted": drop[:, 2],
            "average_r_if_deleted": drop[:, 3],
            "sn_if_deleted": drop[:, 4],
            "alpha_se_if_deleted": drop[:, 5],
            "var_r_if_deleted": drop[:, 6],
            "med_r_if_deleted": drop[:, 7],
            "reversed": flipped,
        },
        index=pd.Index(names, name="item"),
    )
    index = data.index if isinstance(data, pd.DataFrame) else pd.RangeIndex(nsub)
    boot = boot_ci = None
    if n_boot:
        if not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
            raise AcapInputError(f"n_boot must be 0 or an integer of at least 2, got {n_boot!r}", where)
        boot = _bootstrap_alpha(x, int(n_boot), seed)
        lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
        boot_ci = tuple(float(v) for v in np.nanquantile(boot, [lo_q, hi_q]))

    return AlphaResult(
        alpha=float(tot["raw"]),
        std_alpha=float(tot["std"]),
        g6=float(tot["g6"]),
        average_r=float(tot["av_r"]),
        median_r=float(tot["med_r"]),
        var_r=float(tot["var_r"]),
        sn=float(tot["sn"]),
        ase=float(sqrt(tot["q"] / nsub)),
        mean=float(np.mean(total[t_ok])),
        sd=float(np.std(total[t_ok], ddof=1)),
        ci=feldt_ci(float(tot["raw"]), nsub, k, level),
        level=level,
        items=items,
        scores=pd.Series(total, index=index, name="score"),
        n=int(nsub),
        k=int(k),
        reverse=tuple(n for n, f in zip(names, flipped) if f),
        reverse_constant=constant,
        boot_ci=boot_ci,
        boot=boot,
    )


def _scale(scale, where: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in scale)
    except (TypeError, ValueError):
        raise AcapInputError(f"scale must be a (min, max) pair of numbers, got {scale!r}", where) from None
    if not lo < hi:
        raise AcapInputError(f"scale minimum must be below its maximum, got {scale!r}", where)
    return lo, hi


def _row_means(x: np.ndarray, obs: np.ndarray) -> np.ndarray:
    cnt = obs.sum(axis=1)
    s = np.where(obs, x, 0.0).sum(axis=1)
    out = np.full(x.shape[0], np.nan)
    out[cnt > 0] = s[cnt > 0] / cnt[cnt > 0]
    return out


def _item_total_r(x: np.ndarray, obs: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Correlation of each item with the scale score over respondents having both."""
    both = obs & ~np.isnan(total)[:, None]
    bf = both.astype(float)
    n = bf.sum(axis=0)
    t = np.where(both, total[:, None] - np.nanmean(total), 0.0)
    v = np.where(both, x - np.nanmean(x, axis=0), 0.0)
    st, sv = t.sum(axis=0), v.sum(axis=0)
    ctv = (t * v).sum(axis=0) - st * sv / n
    ctt = (t * t).sum(axis=0) - st**2 / n
    cvv = (v * v).sum(axis=0) - sv**2 / n
    return ctv / np.sqrt(ctt * cvv)


def _bootstrap_alpha(x: np.ndarray, n_boot: int, seed) -> np.ndarray:
    """Raw alpha in n_boot resamples of respondents, as psych draws and computes them, vectorised.

    psych's resample is ``x[sample.int(n, replace = TRUE), ]`` and its alpha comes from
    ``cov(xi, use = "pairwise")``. A resample is a vector of counts w (how often each respondent
    was drawn), so every sum those covariances need is a weighted sum over the original rows,
    and the resamples of a block are matrix products with the block's count matrix W.

    With complete data alpha needs only the item variances and the variance of the sum score.
    With missing responses, X the shifted responses (0 where missing), M the 0/1 answered mask and
    U = 1 - M, the pairwise sums for items i, j are ``X'WX`` (cross products), ``X'WM = X'W1 -
    X'WU`` (item i where j is answered) and ``M'WM = n - U'W1 - 1'WU + U'WU`` (respondents
    answering both). Only ``X'WX`` is dense (k(k+1)/2 columns); U is sparse, so its products
    run over the rows missing each item only.
    """
    rng = np.random.default_rng(seed)
    nsub, k = x.shape
    obs = ~np.isnan(x)
    complete = bool(obs.all())
    if complete:
        xc = x - x.mean(axis=0)  # centring keeps the one-pass variances accurate
        t = xc.sum(axis=1)
        feats = np.column_stack([xc, xc * xc, t, t * t])
    else:
        iu, ju = np.triu_indices(k)  # item pairs i <= j, diagonal included
        means = np.nanmean(x, axis=0)
        # Shift each item by a whole number near its mean (covariances do not change) ...
        xz = np.where(obs, x - np.round(means), 0.0)
        top = float(np.abs(xz).max())
        # ... so that with whole-number answers (Likert data) every sum below is a whole number
        # under 2**24, which float32 holds exactly: the products then run in single precision
        # (twice as fast) without rounding, and cov = (sum_xy - sum_x sum_y / n) / (n - 1) is
        # formed in double precision from exact sums. Other data are centred, kept in double.
        exact = bool(np.all(xz == np.round(xz))) and nsub * max(top * top, 1.0) < 2.0**24
        if exact:
            dtype = np.float32
        else:
            dtype = np.float64
            xz = np.where(obs, x - means, 0.0)
        feats = np.empty((nsub, k + iu.size), dtype=dtype)
        feats[:, :k] = xz
        col = k
        for i in range(k):  # column by column: no (n x pairs) temporaries
            np.multiply(xz[:, i : i + 1], xz[:, i:], out=feats[:, col : col + k - i])
            col += k - i
        miss_items, miss_rows = np.nonzero(~obs.T)  # missing cells, grouped by item
        bounds = np.searchsorted(miss_items, np.arange(k + 1))
        # per missing cell: the respondent's answers and missing mask
        cell_feats = np.column_stack([xz[miss_rows], ~obs[miss_rows]]).astype(dtype)
        diag = np.flatnonzero(iu == ju)
        ar = np.arange(k)
    out = np.empty(n_boot)
    # Blocks of about a million counts keep the count matrix in cache-friendly, reused memory.
    block = max(1, min(n_boot, _BOOT_BLOCK // nsub))
    with blas_threads(_BOOT_THREADS):
        for start in range(0, n_boot, block):
            b = min(block, n_boot - start)
            # int32 draws: half the memory traffic of int64 (the values are the same for this range)
            draws = rng.integers(0, nsub, size=(b, nsub), dtype=np.int32)
            w = np.empty((b, nsub), dtype=feats.dtype)
            for r in range(b):  # row by row the counts stay in cache
                w[r] = np.bincount(draws[r], minlength=nsub)
            s = (w @ feats).astype(np.float64)
            if complete:
                n = float(nsub)
                var_i = (s[:, k : 2 * k] - s[:, :k] ** 2 / n) / (n - 1)
                var_t = (s[:, 2 * k + 1] - s[:, 2 * k] ** 2 / n) / (n - 1)
                tr = var_i.sum(axis=1)
                total_var = var_t
            else:
                sx, ab = s[:, :k], s[:, k:]
                # xu[:, j, i]: sum of w x_i over rows missing j; uu[:, j, i]: count missing i and j
                xu = np.empty((b, k, k))
                uu = np.empty((b, k, k))
                w_miss = np.take(w, miss_rows, axis=1)
                for j in range(k):
                    lo, hi = bounds[j], bounds[j + 1]
                    p = w_miss[:, lo:hi] @ cell_feats[lo:hi]
                    xu[:, j, :], uu[:, j, :] = p[:, :k], p[:, k:]
                cu = uu[:, ar, ar]
                n_ij = nsub - cu[:, iu] - cu[:, ju] + uu[:, iu, ju]
                a_ij = sx[:, iu] - xu[:, ju, iu]  # item i where j is answered
                a_ji = sx[:, ju] - xu[:, iu, ju]
                with np.errstate(invalid="ignore", divide="ignore"):
                    cov = (ab - a_ij * a_ji / n_ij) / (n_ij - 1)
                tr = cov[:, diag].sum(axis=1)
                total_var = 2 * cov.sum(axis=1) - tr
            with np.errstate(invalid="ignore", divide="ignore"):
                out[start : start + b] = (1 - tr / total_var) * k / (k - 1)
    return out


# ---- split half -----------------------------------------------------------------------------


def split_half(
    data,
    reverse=(),
    *,
    covar: bool = False,
    n_sample: int = 10000,
    brute: bool = False,
    odd_k: str = "all",
    level: float = 0.95,
    seed=None,
) -> SplitHalfResult:
    """Split-half reliability: first/last and odd/even halves, and the spread over all splits.

    Every split of the ``k`` items into halves of ``k // 2`` and ``k - k // 2`` items is scored
    with the Guttman (Flanagan-Rulon) coefficient ``4 cov(A, B) / var(A + B)`` computed from the
    pairwise-complete correlation matrix (or covariance matrix with ``covar=True``), as
    ``psych::splitHalf`` does; its maximum is psych's lambda-4 (``maxrb``). When there are more
    than ``n_sample`` splits (17 or more items), ``n_sample`` random splits are drawn instead.

    Parameters
    ----------
    data : DataFrame
        Respondents in rows, one numeric column per item; missing responses as NaN/NA.
    reverse : sequence of str, optional
        Items to reverse-key (their covariances change sign).
    covar : bool, default False
        Use covariances (raw item scores) instead of correlations (standardised items).
    n_sample : int, default 10000
        Above this many splits, draw this many random splits.
    brute : bool, default False
        Examine every split however many there are.
    odd_k : {"all", "psych"}, default "all"
        With an odd number of items, ``"all"`` examines every split; ``"psych"`` reproduces
        ``psych::splitHalf``, which examines only the first half of them (in lexicographic
        order) and divides their sum by ``choose(k, k // 2) / 2`` for the mean.
    level : float, default 0.95
        Coverage of ``quantiles``.
    seed : int or numpy Generator, optional
        Seed for sampled splits.

    Returns
    -------
    SplitHalfResult

    Raises
    ------
    AcapInputError
        As :func:`alpha`, and for an unknown ``odd_k``.

    References
    ----------
    Spearman, C. (1910); Brown, W. (1910). British Journal of Psychology, 3.
    Guttman, L. (1945). A basis for analyzing test-retest reliability. Psychometrika, 10,
    255-282.
    Revelle, W. psych (``splitHalf``).

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"q1": [1, 2, 3, 4, 5], "q2": [2, 2, 3, 5, 4],
    ...                   "q3": [1, 3, 3, 4, 5], "q4": [2, 1, 4, 4, 5]})
    >>> res = split_half(x)
    >>> res.n_splits, round(res.max, 4)
    (3, 0.9743)
    """
    where = "split_half"
    x, names = _item_matrix(data, where)
    keys = _keys(names, reverse, where)
    level = _level(level, where)
    if odd_k not in ("all", "psych"):
        raise AcapInputError(f"odd_k must be 'all' or 'psych', got {odd_k!r}", where)
    nsub, k = x.shape
    c = _pairwise_cov(x, where, names)
    r = c if covar else _cov2cor(c)
    r = r * np.outer(keys, keys)

    sum_r = r.sum()
    off = r.copy()
    np.fill_diagonal(off, 0.0)
    sum_off = off.sum()
    alpha_v = sum_off / sum_r * k / (k - 1)
    smcs = smc(_cov2cor(r))
    if covar:
        smcs = smcs * np.diag(r)
    lambda6 = (sum_off + smcs.sum()) / sum_r
    lambda2 = (sum_off + sqrt((off**2).sum() * k / (k - 1))) / sum_r
    low = _lower(r)

    m = k // 2
    n_comb = comb(k, m)
    if k % 2 == 0:
        n_all = n_comb // 2  # the splits whose first half holds item 1
        divisor = n_all
    elif odd_k == "all":
        n_all = n_comb
        divisor = n_all
    else:
        n_all = -(-n_comb // 2)  # psych's loop runs ceil(choose / 2) times ...
        divisor = n_comb / 2  # ... and divides by choose / 2
    exhaustive = brute or n_all <= n_sample
    if exhaustive:
        combos = itertools.islice(itertools.combinations(range(k), m), n_all)
        first = np.fromiter(itertools.chain.from_iterable(combos), dtype=np.intp, count=n_all * m).reshape(n_all, m)
    else:
        rng = np.random.default_rng(seed)
        first = np.argsort(rng.random((n_sample, k)), axis=1)[:, :m]
        divisor = n_sample
    halves = np.zeros((first.shape[0], k))
    np.put_along_axis(halves, first, 1.0, axis=1)
    values = _guttman_splits(r, halves, sum_r)

    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    quantiles = tuple(float(v) for v in np.quantile(values, [lo_q, 0.5, hi_q]))
    imax, imin = int(np.argmax(values)), int(np.argmin(values))

    def halves_of(row: np.ndarray) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return (
            tuple(n for n, h in zip(names, row) if h),
            tuple(n for n, h in zip(names, row) if not h),
        )

    named = {}
    for label, idx in (("first_last", np.arange(m)), ("odd_even", np.arange(0, k, 2))):
        a = np.zeros(k, dtype=bool)
        a[idx] = True
        v_a, v_b, c_ab = r[np.ix_(a, a)].sum(), r[np.ix_(~a, ~a)].sum(), r[np.ix_(a, ~a)].sum()
        r_ab = c_ab / sqrt(v_a * v_b)
        ha, hb = halves_of(a)
        named[label] = {
            "half_a": "+".join(ha),
            "half_b": "+".join(hb),
            "r_halves": r_ab,
            "spearman_brown": 2 * r_ab / (1 + r_ab),
            "guttman": 4 * c_ab / sum_r,
        }
    splits = pd.DataFrame.from_dict(named, orient="index")
    splits.index.name = "split"

    return SplitHalfResult(
        first_last=float(named["first_last"]["spearman_brown"]),
        odd_even=float(named["odd_even"]["spearman_brown"]),
        splits=splits,
        max=float(values[imax]),
        min=float(values[imin]),
        mean=float(values.sum() / divisor),
        quantiles=quantiles,
        level=level,
        max_split=halves_of(halves[imax] > 0),
        min_split=halves_of(halves[imin] > 0),
        values=values,
        n_splits=int(values.size),
        exhaustive=bool(exhaustive),
        alpha=float(alpha_v),
        lambda2=float(lambda2),
        lambda6=float(lambda6),
        average_r=float(np.mean(low)),
        median_r=float(np.median(low)),
        covar=bool(covar),
        n=int(nsub),
        k=int(k),
        reverse=tuple(n for n, kk in zip(names, keys) if kk < 0),
    )


def _guttman_splits(r: np.ndarray, halves: np.ndarray, sum_r: float) -> np.ndarray:
    """4 cov(A, B) / var(A + B) for each row of a 0/1 half-membership matrix."""
    out = np.empty(halves.shape[0])
    step = 200_000
    for s in range(0, halves.shape[0], step):
        h = halves[s : s + step]
        hr = h @ r
        v_a = (hr * h).sum(axis=1)
        c_ab = hr.sum(axis=1) - v_a
        out[s : s + step] = 4 * c_ab / sum_r
    return out
