"""Polychoric correlations for ordinal items, and EFA on them.

The estimator is the two-step one of R's ``psych::polychoric`` (defaults):

1. Thresholds of each item from its own marginal frequencies (all non-missing answers):
   ``tau_j = Phi^-1(cumulative proportion up to category j)``.
2. For every pair of items, the pairwise-complete contingency table and the correlation
   ``rho`` of a standard bivariate normal that maximises the multinomial likelihood of the
   table given the fixed thresholds. The one-dimensional maximisation uses Brent's
   golden-section/parabolic search on (-1, 1) with R's ``optimize`` tolerance, so results
   agree with psych to about 1e-5 (pass ``tol`` for a tighter optimum).

When items differ in their highest observed category psych switches (with a warning) to
per-pair thresholds: empty rows/columns of each pair's table are dropped, remaining empty
cells get ``correct`` (0.5) counts, and thresholds come from that table's margins. acap does
the same; ``PolychoricResult.global_thresholds`` says which path ran. With the default global
thresholds psych applies no empty-cell correction, and neither does acap.

If the assembled matrix is not positive definite it is smoothed as ``psych::cor.smooth``
does (eigenvalues below 1e-12 raised to 1e-10, rescaled to sum to ``p``, back to a
correlation matrix); ``PolychoricResult.smoothed`` records it.

Bivariate normal probabilities use Genz's (2004) method (Drezner-Wesolowsky integral with
Gauss-Legendre quadrature), vectorised over cells and item pairs (accurate to ~1e-15).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from acap.errors import AcapInputError
from acap.factor._corr import cor_smooth as _smooth
from acap.itemdata import numeric_items

__all__ = ["PolychoricResult", "polychoric", "cor_smooth", "ordinal_efa", "bvn_cdf"]

# R's optimize() default tolerance: .Machine$double.eps^0.25
R_OPTIMIZE_TOL = float(np.finfo(float).eps ** 0.25)

_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)  # nodes/weights on [-1, 1]
_TWO_PI = 2.0 * np.pi


# ----------------------------------------------------------------------------- bivariate normal
def bvn_cdf(h, k, r) -> np.ndarray:
    """Standard bivariate normal CDF ``P(X <= h, Y <= k)`` with correlation ``r``.

    Vectorised (arrays broadcast); infinite limits allowed; ``|r| <= 1``.
    Accuracy about 1e-15 (Genz 2004, Statistics and Computing 14, 251-260).

    Examples
    --------
    >>> from acap.factor.polychoric import bvn_cdf
    >>> float(bvn_cdf(0.0, 0.0, 0.5))  # 1/4 + asin(0.5)/(2 pi) = 1/3
    0.3333333333333333
    """
    h, k, r = np.broadcast_arrays(np.asarray(h, float), np.asarray(k, float), np.asarray(r, float))
    out = np.empty(h.shape, float)
    ninf = (h == -np.inf) | (k == -np.inf)
    hinf = (h == np.inf) & ~ninf
    kinf = (k == np.inf) & ~ninf
    out[ninf] = 0.0
    out[hinf] = ndtr(k[hinf])
    out[kinf & ~hinf] = ndtr(h[kinf & ~hinf])
    fin = ~(ninf | hinf | kinf)
    if fin.any():
        # Upper-orthant probability P(X > -h, Y > -k) equals the lower CDF at (h, k).
        out[fin] = _bvn_upper(-h[fin], -k[fin], r[fin])
    return out


def _bvn_upper(h: np.ndarray, k: np.ndarray, r: np.ndarray) -> np.ndarray:
    """P(X > h, Y > k) for finite h, k (1-D arrays)."""
    out = np.empty(h.shape, float)
    small = np.abs(r) < 0.925
    if small.any():
        hs, ks, rs = h[small], k[small], r[small]
        hk = hs * ks
        half = (hs * hs + ks * ks) / 2.0
        asr = np.arcsin(rs) / 2.0
        # Plackett's identity: integrate d/dr of the CDF from 0 to r (in theta = asin r).
        sn = np.sin(asr[:, None] * (1.0 + _GL_X[None, :]))
        val = np.exp((sn * hk[:, None] - half[:, None]) / (1.0 - sn * sn)) @ _GL_W
        out[small] = val * asr / _TWO_PI + ndtr(-hs) * ndtr(-ks)
    big = ~small
    if big.any():
        out[big] = _bvn_upper_high(h[big], k[big], r[big])
    return np.clip(out, 0.0, 1.0)


def _bvn_upper_high(h, k, r):
    # |r| >= 0.925: integrate in x = sqrt(1 - r^2) with the singular part taken out
    # analytically (Drezner & Wesolowsky 1990, as refined by Genz 2004).
    k = np.where(r < 0, -k, k)
    hk = h * k
    bvn = np.zeros(h.shape, float)
    inner = np.abs(r) < 1
    if inner.any():
        hh, kk, hki, ri = h[inner], k[inner], hk[inner], r[inner]
        a_s = (1.0 - ri) * (1.0 + ri)
        a = np.sqrt(a_s)
        bs = (hh - kk) ** 2
        c = (4.0 - hki) / 8.0
        d = (12.0 - hki) / 80.0
        asr = -(bs / a_s + hki) / 2.0
        b = np.where(asr > -100,
                     a * np.exp(asr) * (1 - c * (bs - a_s) * (1 - d * bs) / 3 + c * d * a_s * a_s),
                     0.0)
        bb = np.sqrt(bs)
        sp = np.sqrt(_TWO_PI) * ndtr(-bb / a)
        b = np.where(hki > -100, b - np.exp(-hki / 2) * sp * bb * (1 - c * bs * (1 - d * bs) / 3), b)
        a2 = a / 2.0
        xs = (a2[:, None] * (1.0 + _GL_X[None, :])) ** 2
        asr2 = -(bs[:, None] / xs + hki[:, None]) / 2.0
        ok = asr2 > -100
        with np.errstate(over="ignore", under="ignore"):
            spx = 1.0 + c[:, None] * xs * (1.0 + 5.0 * d[:, None] * xs)
            rs = np.sqrt(1.0 - xs)
            ep = np.exp(-(hki[:, None] / 2.0) * xs / (1.0 + rs) ** 2) / rs
            terms = np.where(ok, np.exp(np.where(ok, asr2, 0.0)) * (spx - ep), 0.0)
        b = (a2 * (terms @ _GL_W) - b) / _TWO_PI
        bvn[inner] = b
    pos = r > 0
    res = np.empty(h.shape, float)
    res[pos] = bvn[pos] + ndtr(-np.maximum(h[pos], k[pos]))
    neg = ~pos
    if neg.any():
        hn, kn, bn = h[neg], k[neg], bvn[neg]
        lower = np.where(hn < 0, ndtr(kn) - ndtr(hn), ndtr(-hn) - ndtr(-kn))
        res[neg] = np.where(hn >= kn, -bn, np.maximum(lower, 0.0) - bn)
    return res


# ----------------------------------------------------------------------------- smoothing
def cor_smooth(r, eig_tol: float = 1e-12) -> tuple[pd.DataFrame | np.ndarray, bool]:
    """Make a correlation matrix positive definite as ``psych::cor.smooth`` does.

    If the smallest eigenvalue is below machine epsilon, eigenvalues below ``eig_tol`` are
    set to ``100 * eig_tol``, all are rescaled to sum to the number of items, and the
    rebuilt matrix is rescaled to a unit diagonal.

    Returns
    -------
    (matrix, smoothed) : the (possibly) smoothed matrix, same type as ``r``, and whether
    smoothing was needed.

    Examples
    --------
    >>> import numpy as np
    >>> from acap.factor.polychoric import cor_smooth
    >>> R = np.array([[1, .9, .1], [.9, 1, .8], [.1, .8, 1]])
    >>> S, changed = cor_smooth(R)
    >>> changed, bool(np.linalg.eigvalsh(S).min() > 0)
    (True, True)
    """
    m = np.asarray(r, dtype=float)
    s = _smooth(m, eig_tol)
    if s is m:
        return r, False
    if isinstance(r, pd.DataFrame):
        return pd.DataFrame(s, index=r.index, columns=r.columns), True
    return s, True


# ----------------------------------------------------------------------------- result
@dataclass(frozen=True)
class PolychoricResult:
    """Polychoric correlation matrix with its thresholds.

    Attributes
    ----------
    rho : pandas.DataFrame
        Item x item polychoric correlations (unit diagonal).
    thresholds : pandas.DataFrame
        Item x cut thresholds from each item's marginal proportions; column ``j`` (1-based,
        as psych's ``tau``) separates the j-th and (j+1)-th of the ordered categories spanning
        the data's overall range. Empty extreme categories give -inf/inf.
    categories : tuple
        The ordered category values (overall minimum to maximum).
    n_obs : int
        Number of rows.
    pairwise_n : pandas.DataFrame
        Pairwise-complete counts behind each correlation.
    global_thresholds : bool
        True when every item's highest category is the same (psych's default path: fixed
        marginal thresholds, no empty-cell correction); False when psych's per-pair
        thresholds with the ``correct`` continuity correction were used.
    n_corrected_pairs : int
        Pairs whose table had empty cells replaced by ``correct`` (per-pair path only).
    smoothed : bool
        Whether the matrix was not positive definite and was smoothed (``cor.smooth``).
    """

    rho: pd.DataFrame
    thresholds: pd.DataFrame
    categories: tuple
    n_obs: int
    pairwise_n: pd.DataFrame
    global_thresholds: bool
    n_corrected_pairs: int
    smoothed: bool


# ----------------------------------------------------------------------------- estimation
def _codes(items: pd.DataFrame, max_categories: int) -> tuple[np.ndarray, int, tuple]:
    v = items.to_numpy()
    for j, col in enumerate(items.columns):
        x = v[:, j]
        x = x[~np.isnan(x)]
        if np.any(x != np.round(x)):
            bad = x[x != np.round(x)][0]
            raise AcapInputError(f"ordinal codes must be whole numbers, found {bad:g}",
                                 f"polychoric, column {col!r}")
    lo, hi = np.nanmin(v), np.nanmax(v)
    n_cat = int(hi - lo) + 1
    if n_cat > max_categories:
        raise AcapInputError(f"the items span {n_cat} categories ({lo:g} to {hi:g}), more than "
                             f"max_categories={max_categories}; polychoric correlations are meant "
                             "for short ordinal scales", "polychoric")
    codes = np.where(np.isnan(v), -1, v - lo).astype(np.int64)
    cats = tuple(int(c) if float(c).is_integer() else float(c) for c in np.arange(lo, hi + 1))
    return codes, n_cat, cats


def _pair_tables(codes: np.ndarray, n_cat: int) -> np.ndarray:
    """All pairwise-complete contingency tables at once: array (p, K, p, K) of counts."""
    n, p = codes.shape
    onehot = np.zeros((n, p, n_cat), dtype=np.float64)
    rows, cols = np.nonzero(codes >= 0)
    onehot[rows, cols, codes[rows, cols]] = 1.0
    flat = onehot.reshape(n, p * n_cat)
    return (flat.T @ flat).reshape(p, n_cat, p, n_cat)


def _neg_loglik(rho, hcut, kcut, tab):
    """psych's objective: -sum(tab * log P) over cells with positive model probability.

    hcut, kcut: (m, K-1) inner thresholds of the row and column item; tab: (m, K, K)
    proportions; rho: (m,).
    """
    m, km1 = hcut.shape
    K = km1 + 1
    F = np.zeros((m, K + 1, K + 1))
    F[:, 1:K, 1:K] = bvn_cdf(hcut[:, :, None], kcut[:, None, :], rho[:, None, None])
    F[:, K, 1:K] = ndtr(kcut)
    F[:, 1:K, K] = ndtr(hcut)
    F[:, K, K] = 1.0
    # Difference rows first so that a zero-width category gives exactly 0 probability.
    P = np.diff(np.diff(F, axis=1), axis=2)
    pos = P > 0
    logp = np.log(np.where(pos, P, 1.0))
    return -np.sum(np.where(pos, tab * logp, 0.0), axis=(1, 2))


def _brent_minimise(f, m: int, lo: float = -1.0, hi: float = 1.0, tol: float = R_OPTIMIZE_TOL,
                    max_iter: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Brent's (1973) localmin run in lockstep for ``m`` independent problems.

    The step rules follow R's ``optimize`` so that results match psych's; ``f(x, idx)``
    evaluates the objectives of problems ``idx`` at points ``x``.
    """
    c = (3.0 - np.sqrt(5.0)) * 0.5
    eps = np.sqrt(np.finfo(float).eps)
    a = np.full(m, lo)
    b = np.full(m, hi)
    x = a + c * (b - a)
    v = x.copy()
    w = x.copy()
    d = np.zeros(m)
    e = np.zeros(m)
    fx = f(x, np.arange(m))
    fv = fx.copy()
    fw = fx.copy()
    tol3 = tol / 3.0
    active = np.ones(m, bool)
    for _ in range(max_iter):
        xm = (a + b) * 0.5
        tol1 = eps * np.abs(x) + tol3
        t2 = tol1 * 2.0
        active &= ~(np.abs(x - xm) <= t2 - (b - a) * 0.5)
        if not active.any():
            break
        idx = np.nonzero(active)[0]
        A, B, X, V, W = a[idx], b[idx], x[idx], v[idx], w[idx]
        FX, FV, FW, D, E = fx[idx], fv[idx], fw[idx], d[idx], e[idx]
        XM, TOL1, T2 = xm[idx], tol1[idx], t2[idx]

        fit = np.abs(E) > TOL1  # try a parabola through x, w, v
        r_ = (X - W) * (FX - FV)
        q_ = (X - V) * (FX - FW)
        p_ = (X - V) * q_ - (X - W) * r_
        q_ = (q_ - r_) * 2.0
        p_ = np.where(q_ > 0, -p_, p_)
        q_ = np.abs(q_)
        P = np.where(fit, p_, 0.0)
        Q = np.where(fit, q_, 0.0)
        R = np.where(fit, E, 0.0)
        E = np.where(fit, D, E)

        golden = (np.abs(P) >= np.abs(Q * 0.5 * R)) | (P <= Q * (A - X)) | (P >= Q * (B - X))
        e_gold = np.where(X < XM, B - X, A - X)
        with np.errstate(divide="ignore", invalid="ignore"):
            d_par = np.where(golden, 0.0, P / np.where(Q == 0, 1.0, Q))
        u_par = X + d_par
        near_end = (u_par - A < T2) | (B - u_par < T2)
        d_par = np.where(near_end, np.where(X >= XM, -TOL1, TOL1), d_par)
        E = np.where(golden, e_gold, E)
        D = np.where(golden, c * e_gold, d_par)
        U = np.where(np.abs(D) >= TOL1, X + D, np.where(D > 0, X + TOL1, X - TOL1))
        FU = f(U, idx)

        better = FU <= FX
        left = U < X
        # accepted point becomes x
        a_new = np.where(better, np.where(left, A, X), np.where(left, U, A))
        b_new = np.where(better, np.where(left, X, B), np.where(left, B, U))
        c1 = (FU <= FW) | (W == X)
        c2 = ~c1 & ((FU <= FV) | (V == X) | (V == W))
        v_new = np.where(better, W, np.where(c1, W, np.where(c2, U, V)))
        fv_new = np.where(better, FW, np.where(c1, FW, np.where(c2, FU, FV)))
        w_new = np.where(better, X, np.where(c1, U, W))
        fw_new = np.where(better, FX, np.where(c1, FU, FW))
        x_new = np.where(better, U, X)
        fx_new = np.where(better, FU, FX)

        a[idx], b[idx], x[idx], v[idx], w[idx] = a_new, b_new, x_new, v_new, w_new
        fx[idx], fv[idx], fw[idx], d[idx], e[idx] = fx_new, fv_new, fw_new, D, E
    return x, fx


def polychoric(data, *, correct: float = 0.5, smooth: bool = True, max_categories: int = 8,
               tol: float = R_OPTIMIZE_TOL) -> PolychoricResult:
    """Polychoric correlation matrix of ordinal items, as ``psych::polychoric``.

    Parameters
    ----------
    data : DataFrame or 2-D array
        Ordinal item scores coded as whole numbers (e.g. 1-5); NaN for missing. Each pair
        uses the rows answering both items.
    correct : float, default 0.5
        Count added to empty cells when psych's per-pair threshold path runs (items with
        different highest categories); 0 turns the correction off.
    smooth : bool, default True
        Smooth a non-positive-definite result as ``psych::cor.smooth``.
    max_categories : int, default 8
        Refuse data spanning more categories than this (psych's ``max.cat``).
    tol : float
        Tolerance of the one-dimensional search (R ``optimize`` default ~1.2e-4, used by
        psych). A smaller value gives the exact maximum-likelihood estimate.

    Returns
    -------
    PolychoricResult
        ``rho`` (item x item DataFrame), ``thresholds`` (item x cut DataFrame) and details.

    Raises
    ------
    AcapInputError
        Non-numeric, non-integer or constant columns, or too many categories.

    References
    ----------
    Olsson, U. (1979). Maximum likelihood estimation of the polychoric correlation
    coefficient. Psychometrika, 44, 443-460.
    Revelle, W. psych: Procedures for Psychological, Psychometric, and Personality Research.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from acap.factor import polychoric
    >>> rng = np.random.default_rng(3)
    >>> z = rng.multivariate_normal([0, 0], [[1, .6], [.6, 1]], size=500)
    >>> X = pd.DataFrame(np.digitize(z, [-1, 0, 1]) + 1, columns=["a", "b"])
    >>> res = polychoric(X)
    >>> bool(abs(res.rho.loc["a", "b"] - 0.6) < 0.1)
    True
    """
    if correct < 0:
        raise AcapInputError(f"correct must be >= 0, got {correct!r}", "polychoric")
    items = numeric_items(data, "polychoric")
    names = list(items.columns)
    codes, K, cats = _codes(items, max_categories)
    n, p = codes.shape

    # Marginal thresholds per item (psych: tabulate over the global range, cumulate, qnorm).
    freq = np.stack([np.bincount(codes[codes[:, j] >= 0, j], minlength=K) for j in range(p)])
    n_item = freq.sum(axis=1)
    tau = ndtri(np.cumsum(freq, axis=1)[:, :K - 1] / n_item[:, None])
    thresholds = pd.DataFrame(tau, index=names, columns=list(range(1, K)))

    counts = _pair_tables(codes, K)
    hi_cat = np.array([np.nonzero(freq[j])[0].max() for j in range(p)])
    global_thr = bool(np.all(hi_cat == hi_cat[0]))

    ii, jj = np.tril_indices(p, k=-1)
    tabs = counts[ii, :, jj, :]  # (npairs, K, K): rows = item i, cols = item j
    tot = tabs.sum(axis=(1, 2))
    rho_pairs = np.full(ii.size, np.nan)
    n_fixed = 0
    ok = tot > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        props = tabs / np.where(tot > 0, tot, 1.0)[:, None, None]
    if global_thr:
        hcut, kcut = tau[ii], tau[jj]
    else:
        props, hcut, kcut, usable, fixed = _per_pair_thresholds(props, tot, correct)
        ok &= usable
        n_fixed = int(np.sum(fixed & ok))
    sel = np.nonzero(ok)[0]
    if sel.size:
        h_s, k_s, t_s = hcut[sel], kcut[sel], props[sel]

        def objective(r, idx):
            return _neg_loglik(r, h_s[idx], k_s[idx], t_s[idx])

        rho_sel, _ = _brent_minimise(objective, sel.size, tol=tol)
        rho_pairs[sel] = rho_sel

    mat = np.eye(p)
    mat[ii, jj] = rho_pairs
    mat[jj, ii] = rho_pairs
    smoothed = False
    if smooth and not np.isnan(mat).any():
        mat, smoothed = cor_smooth(mat)
    pair_n = counts.sum(axis=(1, 3))
    return PolychoricResult(
        rho=pd.DataFrame(mat, index=names, columns=names),
        thresholds=thresholds,
        categories=cats,
        n_obs=int(n),
        pairwise_n=pd.DataFrame(pair_n.astype(np.int64), index=names, columns=names),
        global_thresholds=global_thr,
        n_corrected_pairs=n_fixed,
        smoothed=bool(smoothed),
    )


def _per_pair_thresholds(props, tot, correct):
    """psych's non-global path, kept at full K x K size.

    Empty rows/columns stay as zero-width categories (duplicate thresholds), which gives
    them probability exactly 0 and so no weight, the same as psych dropping them.
    """
    m, K, _ = props.shape
    props = props.copy()
    row_keep = props.sum(axis=2) > 0
    col_keep = props.sum(axis=1) > 0
    usable = (row_keep.sum(axis=1) >= 2) & (col_keep.sum(axis=1) >= 2)
    inside = row_keep[:, :, None] & col_keep[:, None, :]
    fixed = np.zeros(m, bool)
    if correct > 0:
        empty = inside & (props == 0)
        fixed = empty.any(axis=(1, 2))
        add = correct / np.where(tot > 0, tot, 1.0)
        props = np.where(empty, add[:, None, None], props)

    def cuts(margin, keep):
        cum = np.cumsum(margin, axis=1)[:, :K - 1]
        # a boundary after the last used category is +inf (psych drops those categories)
        last = K - 1 - np.argmax(keep[:, ::-1], axis=1)
        after_last = np.arange(K - 1)[None, :] >= last[:, None]
        with np.errstate(invalid="ignore"):
            q = ndtri(cum)
        return np.where(after_last, np.inf, q)

    hcut = cuts(props.sum(axis=2), row_keep)
    kcut = cuts(props.sum(axis=1), col_keep)
    return props, hcut, kcut, usable, fixed


# ----------------------------------------------------------------------------- ordinal EFA
def ordinal_efa(data, n_factors: int, method: str = "minres", rotation: str = "oblimin", *,
                correct: float = 0.5, smooth: bool = True, **kw):
    """Exploratory factor analysis on polychoric correlations (psych's ``fa(x, cor = "poly")``).

    Computes :func:`polychoric` (smoothed as ``cor.smooth`` when not positive definite,
    which is what psych's ``polychoric`` does before ``fa`` sees the matrix) and passes it to
    :func:`acap.factor.efa.efa` with ``n_obs`` = number of rows.

    Parameters
    ----------
    data : DataFrame or 2-D array
        Ordinal item scores (NaN for missing).
    n_factors : int
        Number of factors.
    method, rotation : str
        Extraction method and rotation, passed to ``efa``.
    correct, smooth : see :func:`polychoric`.
    **kw
        Further keyword arguments for ``efa``.

    Returns
    -------
    The result of ``acap.factor.efa.efa``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from acap.factor.polychoric import ordinal_efa
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(500, 1))
    >>> z = f @ np.full((1, 5), 0.7) + rng.normal(scale=0.7, size=(500, 5))
    >>> X = pd.DataFrame(np.digitize(z, [-1, 0, 1]) + 1, columns=list("abcde"))
    >>> res = ordinal_efa(X, 1)
    >>> bool((res.loadings.abs() > 0.5).all().all())
    True
    """
    from acap.factor.efa import efa  # written alongside; imported late on purpose

    poly = polychoric(data, correct=correct, smooth=smooth)
    if poly.rho.isna().to_numpy().any():
        raise AcapInputError("some polychoric correlations are undefined (items with no rows "
                             "answered in common), so EFA cannot run", "ordinal_efa")
    n_rows = int(np.asarray(data).shape[0]) if not isinstance(data, pd.DataFrame) else len(data)
    kw.setdefault("is_corr", True)
    return efa(poly.rho, n_factors, method=method, rotation=rotation, n_obs=n_rows, **kw)
