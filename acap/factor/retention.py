"""How many factors to retain: parallel analysis (Horn 1965) and Velicer's MAP.

:func:`parallel_analysis` computes what psych::fa.parallel computes: component eigenvalues
of the correlation matrix, and "factor" eigenvalues of the correlation matrix with the
communalities of a one-factor minres solution on its diagonal; the same for data simulated
from independent normals and for data resampled column by column from the observed
values; then the suggested numbers (observed eigenvalues above the simulated quantile).

Speed: normal data are not generated. The correlation matrix of N independent normal
p-vectors is drawn directly from its exact distribution (the Bartlett decomposition of a
Wishart matrix), which costs O(p^2) instead of O(Np) per replicate; the one-factor minres
fits of all replicates are solved together by a batched Newton iteration. BLAS is limited
to one thread inside the loops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from acap.errors import AcapInputError
from acap.factor._corr import as_corr, pairwise_corr
from acap.factor.efa import _fit_uls_ml


@dataclass(frozen=True)
class ParallelAnalysisResult:
    """Result of :func:`parallel_analysis`.

    Attributes
    ----------
    eigenvalues : pandas.DataFrame
        Indexed by number 1..p. Columns ``pc_observed``, ``fa_observed`` (observed component
        and factor eigenvalues), ``pc_simulated``, ``fa_simulated`` (means over normal
        simulations), ``pc_simulated_q``, ``fa_simulated_q`` (their ``quantile``), and the
        same with ``resampled`` when the data were resampled. Columns not computed for the
        chosen ``fa`` are absent.
    n_factors : int or None
        Suggested number of factors (None when ``fa="pc"``).
    n_components : int or None
        Suggested number of components (None when ``fa="fa"``).
    n_iter : int
    quantile : float
    """

    eigenvalues: pd.DataFrame
    n_factors: int | None
    n_components: int | None
    n_iter: int
    quantile: float


@dataclass(frozen=True)
class MAPResult:
    """Result of :func:`velicer_map`.

    Attributes
    ----------
    values : pandas.DataFrame
        Indexed by number of components 1..n: ``map`` (average squared partial correlation,
        psych's ``vss()$map``) and ``map4`` (average fourth power, Velicer et al. 2000).
    n_factors : int
        Number minimising ``map``.
    n_factors_map4 : int
        Number minimising ``map4``.
    """

    values: pd.DataFrame
    n_factors: int
    n_factors_map4: int


# ---- batched one-factor minres ------------------------------------------------------------

def _one_factor_values_exact(rs: np.ndarray) -> np.ndarray:
    """As :func:`_one_factor_values`, fitting each matrix with the bounded optimiser.

    This follows psych's path (uniqueness space, start ``1 - SMC``, bounds [0.005, 1]) and so
    also lands where psych does when that is a one-item Heywood-like local minimum, which
    happens for a few percent of random correlation matrices.
    """
    b, p, _ = rs.shape
    values = np.empty((b, p))
    for i in range(b):
        lam, _ = _fit_uls_ml(rs[i], 1, "minres", ftol=1e-11)
        red = rs[i].copy()
        np.fill_diagonal(red, np.sum(lam * lam, axis=1))
        values[i] = np.linalg.eigvalsh(red)[::-1]
    return values


def _one_factor_values(rs: np.ndarray, max_iter: int = 50, tol: float = 1e-10) -> np.ndarray:
    """Eigenvalues of each R with one-factor minres communalities on the diagonal.

    ``rs`` is (B, p, p). Minimises sum_{i != j} (r_ij - l_i l_j)^2 over l by Newton's method
    for all B matrices at once, starting from the leading principal axis of R with squared
    multiple correlations on the diagonal. Matrices whose Newton run fails (indefinite
    Hessian, a communality outside psych's bound 0.995, no convergence) are refitted with
    the bounded optimiser used by :func:`acap.factor.efa`.
    """
    b, p, _ = rs.shape
    eye = np.eye(p)
    inv = np.linalg.inv(rs)
    smc = np.clip(1.0 - 1.0 / np.einsum("bii->bi", inv), 0.0, 1.0)
    start = rs.copy()
    start[:, np.arange(p), np.arange(p)] = smc
    vals, vecs = np.linalg.eigh(start)
    l = vecs[:, :, -1] * np.sqrt(np.maximum(vals[:, -1], 0.0))[:, None]
    r0 = rs * (1.0 - eye)
    ok = np.zeros(b, dtype=bool)
    act = np.arange(b)  # replicates still iterating
    for _ in range(max_iter):
        la, ra = l[act], r0[act]
        ss = np.sum(la * la, axis=1, keepdims=True)
        grad = -np.einsum("bij,bj->bi", ra, la) + la * (ss - la * la)
        done = np.max(np.abs(grad), axis=1) < tol
        ok[act[done]] = True
        keep = ~done & np.all(np.isfinite(la), axis=1)
        act, la, ra, grad, ss = act[keep], la[keep], ra[keep], grad[keep], ss[keep]
        if act.size == 0:
            break
        hess = -ra + 2.0 * la[:, :, None] * la[:, None, :] * (1.0 - eye)
        hess[:, np.arange(p), np.arange(p)] = ss - la * la
        try:
            step = np.linalg.solve(hess, -grad[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            break
        l[act] = la + step
    finite = np.all(np.isfinite(l), axis=1)
    l = np.where(np.isfinite(l), l, 0.0)
    h2 = l * l
    ss = h2.sum(axis=1)
    hess = -r0 + 2.0 * l[:, :, None] * l[:, None, :] * (1.0 - eye)
    hess[:, np.arange(p), np.arange(p)] = ss[:, None] - h2
    red = rs.copy()
    red[:, np.arange(p), np.arange(p)] = h2
    values = np.linalg.eigvalsh(red)[:, ::-1]
    # Newton may stop at a saddle point; and psych's solution (bounded, in uniqueness space)
    # equals this one only when l is the leading eigenvector of R - diag(1 - l^2), i.e. when
    # ||l||^2 is the largest eigenvalue. Anything else is refitted the slow way.
    bad = (~ok | ~finite | np.any(h2 > 1 - 0.005, axis=1)
           | (np.linalg.eigvalsh(hess)[:, 0] <= 0)
           | (np.abs(values[:, 0] - ss) > 1e-8 * np.maximum(1.0, ss)))
    for i in np.flatnonzero(bad):
        lam, _ = _fit_uls_ml(rs[i], 1, "minres", ftol=1e-11)
        red_i = rs[i].copy()
        np.fill_diagonal(red_i, np.sum(lam * lam, axis=1))
        values[i] = np.linalg.eigvalsh(red_i)[::-1]
    return values


def _wishart_corr(rng: np.random.Generator, n_obs: int, p: int, size: int) -> np.ndarray:
    """Correlation matrices of ``n_obs`` independent N(0, I_p) rows, drawn exactly.

    The centred cross-product matrix of such data is Wishart(n_obs - 1, I); by Bartlett's
    decomposition it is T T' with T lower triangular, T_ii^2 ~ chi2(n_obs - i) (i = 1..p)
    and standard normal entries below the diagonal.
    """
    t = np.tril(rng.standard_normal((size, p, p)), -1)
    df = (n_obs - 1) - np.arange(p)
    t[:, np.arange(p), np.arange(p)] = np.sqrt(rng.chisquare(df, size=(size, p)))
    a = t @ np.transpose(t, (0, 2, 1))
    d = 1.0 / np.sqrt(np.einsum("bii->bi", a))
    return a * d[:, :, None] * d[:, None, :]


class _ColumnResampler:
    """Draws correlation matrices of the observed columns, each bootstrapped on its own.

    psych resamples every column independently (destroying the correlations but keeping
    each item's distribution). The columns are stored one after the other so that a draw is
    a single gather; complete data take a single-precision cross-product (ample for a
    simulation), data with missing values the pairwise routine.
    """

    def __init__(self, x: np.ndarray):
        self.n, self.p = x.shape
        self.flat = np.ascontiguousarray(x.T).ravel()
        # 32-bit indices halve the random-number and gather traffic when they suffice.
        self.itype = np.int32 if self.n * self.p < 2**31 - 1 else np.int64
        self.offsets = (np.arange(self.p) * self.n)[:, None].astype(self.itype)
        self.complete = not np.isnan(self.flat).any()
        if self.complete:
            self.flat = self.flat.astype(np.float32)

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        idx = rng.integers(0, self.n, size=(self.p, self.n), dtype=self.itype)
        idx += self.offsets
        xs = self.flat.take(idx)
        if not self.complete:
            return pairwise_corr(xs.T)[0]
        xs -= xs.mean(axis=1, keepdims=True)
        c = (xs @ xs.T).astype(float)
        d = 1.0 / np.sqrt(np.diag(c))
        with np.errstate(invalid="ignore"):
            c = c * np.outer(d, d)
        np.fill_diagonal(c, 1.0)
        return c


def parallel_analysis(data, n_iter: int = 20, quantile: float = 0.95, seed=None,
                      fa: str = "both", *, n_obs: int | None = None, sim: bool = True,
                      resample: bool | None = None, solver: str = "psych") -> ParallelAnalysisResult:
    """Horn's parallel analysis for factors and components, as psych::fa.parallel.

    Parameters
    ----------
    data : pandas.DataFrame or array-like
        Raw item scores (missing values pairwise) or a correlation matrix with ``n_obs``.
    n_iter : int
        Number of simulated (and resampled) data sets.
    quantile : float
        Quantile of the simulated eigenvalues an observed one must exceed (psych's ``quant``).
    seed : int or numpy.random.Generator, optional
        Random seed.
    fa : {"both", "fa", "pc"}
        Which eigenvalues to analyse.
    n_obs : int, optional
        Sample size for a correlation-matrix input (psych uses 100 when it is missing; here
        it is required).
    sim : bool
        Simulate independent normal data (psych's ``sim``).
    resample : bool, optional
        Also resample the observed columns independently; default: when raw data are given.
    solver : {"psych", "newton"}
        How the one-factor minres solutions of the simulated/resampled matrices are found.
        ``"psych"`` follows psych's optimiser path for every replicate (same start, bounds
        and space), so it also reproduces the one-item near-Heywood local minima psych lands
        in for a few percent of random matrices. ``"newton"`` solves all replicates at once by
        Newton's method on the loadings (several times faster) and keeps the proper
        least-squares minimum, falling back to the ``"psych"`` path only where Newton fails;
        its simulated factor eigenvalues are then slightly lower on average than psych's.

    Returns
    -------
    ParallelAnalysisResult

    Notes
    -----
    As psych, the suggested number is the count of leading observed eigenvalues that exceed
    the ``quantile`` of the simulated ones (the resampled ones when ``sim=False``); factor
    eigenvalues use a one-factor minres solution for every data set. Random streams differ
    from R's, so simulated means agree with psych only up to simulation error.

    References
    ----------
    Horn, J. L. (1965). A rationale and test for the number of factors in factor analysis.
    *Psychometrika*, 30, 179-185.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from acap.factor import parallel_analysis
    >>> rng = np.random.default_rng(0)
    >>> f = rng.standard_normal((500, 1))
    >>> x = pd.DataFrame(f * .7 + rng.standard_normal((500, 6)) * .7, columns=list("abcdef"))
    >>> parallel_analysis(x, n_iter=20, seed=1).n_factors
    1
    """
    if solver not in ("psych", "newton"):
        raise AcapInputError(f"solver must be 'psych' or 'newton', got {solver!r}",
                             "parallel_analysis")
    fa = str(fa).lower()
    if fa not in ("both", "fa", "pc"):
        raise AcapInputError(f"fa must be 'both', 'fa' or 'pc', got {fa!r}", "parallel_analysis")
    if not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise AcapInputError(f"n_iter must be a positive integer, got {n_iter!r}",
                             "parallel_analysis")
    if not 0 < quantile < 1:
        raise AcapInputError(f"quantile must be in (0, 1), got {quantile!r}", "parallel_analysis")
    ci = as_corr(data, n_obs=n_obs, what="parallel_analysis data")
    raw = ci.np_obs is not None
    if not raw and ci.n_obs is None:
        raise AcapInputError("a correlation matrix needs n_obs", "parallel_analysis")
    if resample is None:
        resample = raw
    if resample and not raw:
        raise AcapInputError("resampling needs raw data, not a correlation matrix",
                             "parallel_analysis")
    if not sim and not resample:
        raise AcapInputError("nothing to compare with: sim and resample are both off",
                             "parallel_analysis")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    r = ci.r
    p = r.shape[0]
    n = int(ci.n_obs)
    want_fa = fa != "pc"
    with threadpool_limits(1):
        pc_obs = np.linalg.eigvalsh(r)[::-1]
        fa_obs = None
        if want_fa:
            lam, _ = _fit_uls_ml(r, 1, "minres")
            red = r.copy()
            np.fill_diagonal(red, np.sum(lam * lam, axis=1))
            fa_obs = np.linalg.eigvalsh(red)[::-1]
        out = {"pc_observed": pc_obs}
        if want_fa:
            out["fa_observed"] = fa_obs
        sets = {}
        if sim:
            sets["simulated"] = _wishart_corr(rng, n, p, n_iter)
        if resample:
            if isinstance(data, pd.DataFrame):
                x = data.to_numpy(dtype=float, na_value=np.nan)
            else:
                x = np.asarray(data, dtype=float)
            sampler = _ColumnResampler(x)
            rs = np.empty((n_iter, p, p))
            for i in range(n_iter):
                c = sampler.draw(rng)
                while not np.isfinite(c).all():  # psych redraws a sample with an undefined r
                    c = sampler.draw(rng)
                rs[i] = c
            sets["resampled"] = rs
        for name, rs in sets.items():
            pcv = np.linalg.eigvalsh(rs)[:, ::-1]
            out[f"pc_{name}"] = pcv.mean(axis=0)
            out[f"pc_{name}_q"] = np.quantile(pcv, quantile, axis=0)
            if want_fa:
                fav = _one_factor_values_exact(rs) if solver == "psych" else _one_factor_values(rs)
                out[f"fa_{name}"] = fav.mean(axis=0)
                out[f"fa_{name}_q"] = np.quantile(fav, quantile, axis=0)
    if fa == "fa":
        out = {k: v for k, v in out.items() if not k.startswith("pc_")}
    table = pd.DataFrame(out, index=pd.RangeIndex(1, p + 1, name="number"))
    ref = "simulated" if sim else "resampled"

    def first_not_above(obs, crit):
        below = np.flatnonzero(~(obs > crit))
        return int(below[0]) if below.size else len(obs)

    n_comp = first_not_above(pc_obs, table[f"pc_{ref}_q"].to_numpy()) if fa != "fa" else None
    n_fac = first_not_above(fa_obs, table[f"fa_{ref}_q"].to_numpy()) if want_fa else None
    return ParallelAnalysisResult(eigenvalues=table, n_factors=n_fac, n_components=n_comp,
                                  n_iter=int(n_iter), quantile=float(quantile))


def velicer_map(data, n_factors: int = 8, *, is_corr: bool | None = None) -> MAPResult:
    """Velicer's minimum average partial (MAP) criterion, as psych::vss reports it.

    For m = 1..n principal components, partial them out of the correlation matrix and
    average the squared (and, for the 2000 revision, fourth-power) off-diagonal partial
    correlations; the suggested number minimises the average.

    Parameters
    ----------
    data : pandas.DataFrame or array-like
        Raw item scores (missing values pairwise) or a correlation matrix.
    n_factors : int
        Largest number of components to try (psych's ``n``, default 8; at most p - 1).
    is_corr : bool, optional
        Force or forbid treating ``data`` as a correlation matrix.

    Returns
    -------
    MAPResult

    References
    ----------
    Velicer, W. F. (1976). Determining the number of components from the matrix of partial
    correlations. *Psychometrika*, 41, 321-327. Velicer, W. F., Eaton, C. A., & Fava, J. L.
    (2000). Construct explication through factor or component analysis.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from acap.factor import velicer_map
    >>> rng = np.random.default_rng(0)
    >>> f = rng.standard_normal((500, 2))
    >>> x = np.repeat(f, 3, axis=1) * .7 + rng.standard_normal((500, 6)) * .6
    >>> velicer_map(pd.DataFrame(x), n_factors=4).n_factors
    2
    """
    ci = as_corr(data, is_corr=is_corr, what="velicer_map data")
    r = ci.r
    p = r.shape[0]
    if not isinstance(n_factors, (int, np.integer)) or n_factors < 1:
        raise AcapInputError(f"n_factors must be a positive integer, got {n_factors!r}",
                             "velicer_map")
    n1 = min(int(n_factors), p - 1)
    with threadpool_limits(1):
        vals, vecs = np.linalg.eigh(r)
        vals, vecs = vals[::-1], vecs[:, ::-1]
        comp = vecs * np.sqrt(np.maximum(vals, 0.0))
        m2 = np.empty(n1)
        m4 = np.empty(n1)
        for i in range(1, n1 + 1):
            c = r - comp[:, :i] @ comp[:, :i].T
            d = 1.0 / np.sqrt(np.diag(c))
            rstar = c * np.outer(d, d)
            np.fill_diagonal(rstar, 0.0)
            sq = rstar * rstar
            m2[i - 1] = sq.sum() / (p * (p - 1))
            m4[i - 1] = (sq * sq).sum() / (p * (p - 1))
    table = pd.DataFrame({"map": m2, "map4": m4},
                         index=pd.RangeIndex(1, n1 + 1, name="n_factors"))
    return MAPResult(values=table, n_factors=int(np.argmin(m2)) + 1,
                     n_factors_map4=int(np.argmin(m4)) + 1)
