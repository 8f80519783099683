"""Exploratory factor analysis: minres, maximum likelihood and iterated principal axes.

Extraction, sign conventions, factor ordering and fit statistics follow psych::fa
(psych 2.2.x), so results can be checked number for number against R:

* ``minres`` minimises the unweighted least-squares discrepancy over uniquenesses
  (``0.005 <= u <= 1``), starting from ``1 - SMC``; loadings are the leading eigenvectors
  of ``R - diag(u)`` scaled by the square roots of their eigenvalues.
* ``ml`` minimises the normal-theory discrepancy over uniquenesses (same bounds).
* ``pa`` is true iterated principal-axis factoring: SMCs on the diagonal, then repeatedly
  the communalities implied by the leading ``k`` eigenpairs, until the sum of communalities
  changes by less than ``min_err`` (psych's rule), at most ``max_iter`` times.

After rotation, factors are sign-flipped so each column's loadings sum to a positive number,
then ordered by the variance they account for, ``diag(Phi L'L)``; Phi is flipped and
reordered with them. Communalities are ``diag(L Phi L')`` (which equals the unrotated
``diag(A A')``), never row sums of squared pattern loadings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg, optimize

from acap import _dist
from acap._blas import blas_threads
from acap.errors import AcapInputError
from acap.factor._corr import CorrInput, as_corr, cor_smooth, smc
from acap.factor.rotation import METHODS as _ROTATIONS
from acap.factor.rotation import _rotate_array

_METHODS = ("minres", "ml", "pa")
_LOWER = 0.005  # psych's lower bound on uniquenesses


@dataclass(frozen=True)
class EFAResult:
    """Result of :func:`efa`.

    Attributes
    ----------
    loadings : pandas.DataFrame
        Pattern loadings, items x factors ``F1..Fk`` (ordered by variance explained).
    communalities : pandas.Series
        ``diag(L Phi L')`` per item.
    uniquenesses : pandas.Series
        ``1 - communality`` per item (from the correlation matrix diagonal).
    phi : pandas.DataFrame
        Factor correlations (identity for orthogonal rotations and "none").
    structure : pandas.DataFrame
        Structure loadings ``L Phi`` (item-factor correlations).
    variance : pandas.DataFrame
        Rows "SS loadings", "Proportion Var", "Cumulative Var", "Proportion Explained",
        "Cumulative Proportion" by factor, as psych's ``Vaccounted``.
    heywood : tuple of str
        Items whose communality is 1 or more (Heywood / ultra-Heywood cases).
    converged : bool
        Extraction and rotation both met their stopping rules.
    objective : float
        psych's likelihood-ratio objective ``tr(M^-1 R) - log det(M^-1 R) - p``.
    chi_square, dof, p_value : float
        Likelihood-ratio chi-square (with Bartlett's correction as psych), its degrees
        of freedom and p-value (NaN without a sample size).
    rmsr : float
        Root mean square of the off-diagonal residuals (weighted by pairwise counts for raw
        data, as psych's ``rms``).
    crms : float
        RMSR corrected for degrees of freedom.
    empirical_chi_square : float
        psych's ``chi`` (sum of squared residuals times sample size).
    tli, rmsea, bic : float
        Tucker-Lewis index, RMSEA point estimate and BIC (NaN without a sample size).
    eigenvalues : pandas.Series
        Eigenvalues of the correlation matrix.
    reduced_eigenvalues : pandas.Series
        Eigenvalues of the correlation matrix with communalities on the diagonal (psych's
        ``values``).
    rotation_matrix : numpy.ndarray
        The matrix the rotation applied (before sign flips and ordering).
    correlation : pandas.DataFrame
        The correlation matrix analysed.
    n_obs : float or None
    method, rotation : str
    """

    loadings: pd.DataFrame
    communalities: pd.Series
    uniquenesses: pd.Series
    phi: pd.DataFrame
    structure: pd.DataFrame
    variance: pd.DataFrame
    heywood: tuple
    converged: bool
    objective: float
    chi_square: float
    dof: float
    p_value: float
    rmsr: float
    crms: float
    empirical_chi_square: float
    tli: float
    rmsea: float
    bic: float
    eigenvalues: pd.Series
    reduced_eigenvalues: pd.Series
    rotation_matrix: np.ndarray = field(repr=False)
    correlation: pd.DataFrame = field(repr=False)
    n_obs: float | None = None
    method: str = "minres"
    rotation: str = "oblimin"

    @property
    def residuals(self) -> pd.DataFrame:
        """``R - L Phi L'`` with the diagonal set to the uniquenesses' residual (zero)."""
        lam = self.loadings.to_numpy()
        model = lam @ self.phi.to_numpy() @ lam.T
        res = self.correlation.to_numpy() - model - np.diag(self.uniquenesses.to_numpy())
        return pd.DataFrame(res, index=self.loadings.index, columns=self.loadings.index)


# ---- extraction -------------------------------------------------------------------------

def _top_loadings(s: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Leading k eigenpairs of s scaled to loadings (negative eigenvalues floored at 0)."""
    vals, vecs = np.linalg.eigh(s)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    return vecs[:, :k] * np.sqrt(np.maximum(vals[:k], 0.0)), vals


def _minres_obj(psi, r, k):
    s = r - np.diag(psi)
    p = s.shape[0]
    # Only the leading k eigenpairs are needed (LAPACK's subset driver is cheaper).
    vals, vecs = linalg.eigh(s, subset_by_index=[p - k, p - 1], driver="evr",
                             check_finite=False)
    pos = np.maximum(vals, 0.0)
    lam = vecs * np.sqrt(pos)
    # Half the squared residual, diagonal included: ||S||^2 minus the fitted eigenvalues'
    # squares. Its gradient in psi is diag(LL' + psi - R), the gradient psych hands to optim;
    # at interior optima the diagonal residual is zero, so the minimiser is psych's
    # off-diagonal least-squares solution.
    f = 0.5 * (float(np.sum(s * s)) - float(np.sum(pos * pos)))
    return f, np.sum(lam * lam, axis=1) + psi - np.diag(r)


def _ml_obj(psi, r, k):
    sc = 1.0 / np.sqrt(psi)
    sstar = r * np.outer(sc, sc)
    vals, vecs = np.linalg.eigh(sstar)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    e = vals[k:]
    f = float(np.sum(e - np.log(e) - 1.0))
    lam = vecs[:, :k] * np.sqrt(np.maximum(vals[:k] - 1.0, 0.0))
    lam = lam * np.sqrt(psi)[:, None]
    g = np.diag(lam @ lam.T) + psi - np.diag(r)
    return f, g / psi ** 2


def _fit_uls_ml(r, k, method, ftol=1e-14):
    s0 = smc(r)
    start = 1.0 - s0
    upper = max(float(s0.max()), 1.0)
    fn = _minres_obj if method == "minres" else _ml_obj
    start = np.clip(start, _LOWER, upper)
    res = optimize.minimize(fn, start, args=(r, k), jac=True, method="L-BFGS-B",
                            bounds=[(_LOWER, upper)] * len(start),
                            options={"ftol": ftol, "gtol": 1e-9, "maxiter": 2000,
                                     "maxcor": 20})
    psi = res.x
    if method == "minres":
        lam, _ = _top_loadings(r - np.diag(psi), k)
    else:
        sc = 1.0 / np.sqrt(psi)
        vals, vecs = np.linalg.eigh(r * np.outer(sc, sc))
        vals, vecs = vals[::-1], vecs[:, ::-1]
        lam = vecs[:, :k] * np.sqrt(np.maximum(vals[:k] - 1.0, 0.0)) * np.sqrt(psi)[:, None]
    converged = bool(res.success) or np.max(np.abs(res.jac[(psi > _LOWER + 1e-9)
                                                           & (psi < upper - 1e-9)]),
                                            initial=0.0) < 1e-5
    return lam, converged


def _fit_pa(r, k, min_err, max_iter):
    rmat = r.copy()
    np.fill_diagonal(rmat, smc(r))
    comm = float(np.trace(rmat))
    err = comm
    i = 1
    converged = True
    lam = None
    while err > min_err:
        vals, vecs = np.linalg.eigh(rmat)
        vals, vecs = vals[::-1], vecs[:, ::-1]
        if np.any(vals[:k] < 0):
            raise AcapInputError("principal-axis factoring met a negative eigenvalue among the "
                                 f"first {k}; try method='minres' or fewer factors", "efa")
        lam = vecs[:, :k] * np.sqrt(vals[:k])
        new = np.sum(lam * lam, axis=1)
        comm1 = float(new.sum())
        np.fill_diagonal(rmat, new)
        err = abs(comm - comm1)
        comm = comm1
        i += 1
        if i > max_iter:
            converged = False
            break
    if lam is None:  # pragma: no cover - only if min_err >= sum of SMCs
        lam, _ = _top_loadings(rmat, k)
    return lam, converged


# ---- fit statistics (as psych::factor.stats) ---------------------------------------------

def _fit_stats(r, lam, phi, n_obs, np_obs):
    p, k = lam.shape
    model = lam @ phi @ lam.T
    resid = r - model
    r2 = float(np.sum(r * r))
    dof = p * (p - 1) / 2 - p * k + k * (k - 1) / 2
    off = resid.copy()
    np.fill_diagonal(off, 0.0)
    out = {"dof": dof}
    if np_obs is None:
        rstar_off = float(np.sum(off * off))
        nn = n_obs if n_obs is not None else np.nan
        out["chi"] = rstar_off * nn
        out["rms"] = np.sqrt(rstar_off / (p * (p - 1)))
        out["crms"] = np.sqrt(rstar_off / (2 * dof)) if dof > 0 else np.nan
    else:
        rstar_off = float(np.sum(off * off * np_obs))
        nh = _dist.hmean(np_obs.ravel())
        out["chi"] = rstar_off
        out["rms"] = np.sqrt(rstar_off / (nh * p * (p - 1)))
        out["crms"] = np.sqrt(rstar_off / (2 * nh * dof)) if dof > 0 else np.nan
    m = model.copy()
    np.fill_diagonal(m, np.diag(r))
    m = cor_smooth(m)
    rs = cor_smooth(r)
    try:
        minv_r = np.linalg.solve(m, rs)
    except np.linalg.LinAlgError:
        minv_r = np.eye(p)
    sign, logdet = np.linalg.slogdet(minv_r)
    objective = float(np.trace(minv_r) - logdet - p) if sign > 0 else r2
    out["objective"] = objective
    f0 = float(np.trace(rs) - np.linalg.slogdet(rs)[1] - p)
    nan = float("nan")
    out.update(statistic=nan, pval=nan, tli=nan, rmsea=nan, bic=nan)
    if n_obs is not None:
        nm = (n_obs - 1) - (2 * p + 5) / 6 - (2 * k) / 3
        chisq = max(objective * nm, 0.0)
        out["statistic"] = chisq
        if dof > 0:
            out["pval"] = float(_dist.chi2_sf(chisq, dof))
            mm = objective / dof
            m0 = f0 * 2 / (p * (p - 1))
            out["tli"] = (m0 - mm) / (m0 - 1 / nm)
            out["rmsea"] = float(np.sqrt(max(chisq / (dof * n_obs) - 1 / (n_obs - 1), 0.0)))
            out["bic"] = chisq - dof * np.log(n_obs)
    return out


# ---- estimator ----------------------------------------------------------------------------

class EFA:
    """Exploratory factor analysis estimator (scikit-learn style).

    Parameters
    ----------
    n_factors : int
        Number of factors to extract.
    method : {"minres", "ml", "pa"}
        Extraction method, as psych::fa's ``fm``.
    rotation : {"none", "varimax", "promax", "oblimin", "quartimin", "geomin", "geomin_t"}
        Rotation; ``"geomin"`` is oblique (GPArotation's geominQ).
    n_obs : int, optional
        Sample size when ``data`` is a correlation matrix (needed for chi-square, RMSEA...).
    is_corr : bool, optional
        Force (True) or forbid (False) treating ``data`` as a correlation matrix; by default
        a square symmetric matrix with unit diagonal is taken as one.
    n_starts : int
        Starts for gradient-projection rotations (identity first, then random).
    seed : int, optional
        Seed for the random starts.
    normalize : bool, optional
        Kaiser normalisation for the rotation (default as psych::fa).
    gamma, delta, power : float
        Oblimin gamma, geomin delta, promax power.
    min_err, max_iter : float, int
        Principal-axis stopping rule (psych's defaults 0.001 and 50).

    Attributes
    ----------
    result_ : EFAResult
    loadings_, communalities_, uniquenesses_, phi_, structure_, variance_ :
        Shortcuts to the result's tables.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from acap.factor import EFA
    >>> rng = np.random.default_rng(1)
    >>> f = rng.standard_normal((300, 2))
    >>> x = np.hstack([f[:, [0]] * .7, f[:, [0]] * .6, f[:, [0]] * .65,
    ...                f[:, [1]] * .7, f[:, [1]] * .6, f[:, [1]] * .65])
    >>> x = x + rng.standard_normal(x.shape) * .6
    >>> fit = EFA(2, rotation="varimax").fit(pd.DataFrame(x, columns=list("abcdef")))
    >>> fit.loadings_.shape
    (6, 2)
    """

    def __init__(self, n_factors: int, method: str = "minres", rotation: str = "oblimin", *,
                 n_obs: float | None = None, is_corr: bool | None = None, n_starts: int = 1,
                 seed: int | None = None, normalize: bool | None = None, gamma: float = 0.0,
                 delta: float = 0.01, power: float = 4.0, min_err: float = 0.001,
                 max_iter: int = 50):
        self.n_factors = n_factors
        self.method = method
        self.rotation = rotation
        self.n_obs = n_obs
        self.is_corr = is_corr
        self.n_starts = n_starts
        self.seed = seed
        self.normalize = normalize
        self.gamma = gamma
        self.delta = delta
        self.power = power
        self.min_err = min_err
        self.max_iter = max_iter

    def _check(self, p):
        method = str(self.method).lower()
        if method == "mle":
            method = "ml"
        if method not in _METHODS:
            raise AcapInputError(f"unknown method {self.method!r}; choose one of {list(_METHODS)}",
                                 "efa")
        rotation = str(self.rotation).lower()
        rotation = {"geominq": "geomin", "geomint": "geomin_t"}.get(rotation, rotation)
        if rotation not in _ROTATIONS:
            raise AcapInputError(f"unknown rotation {self.rotation!r}; choose one of "
                                 f"{sorted(_ROTATIONS)}", "efa")
        k = self.n_factors
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise AcapInputError(f"n_factors must be a positive integer, got {k!r}", "efa")
        if k >= p:
            raise AcapInputError(f"n_factors ({k}) must be smaller than the number of items ({p})",
                                 "efa")
        return method, rotation, int(k)

    def fit(self, data) -> "EFA":
        """Fit the factor model to item scores or a correlation matrix; returns self."""
        # Small matrices: a single BLAS thread is much faster than a contended pool.
        with blas_threads(1):
            return self._fit(data)

    def _fit(self, data) -> "EFA":
        ci = data if isinstance(data, CorrInput) else as_corr(
            data, n_obs=self.n_obs, is_corr=self.is_corr, what="efa data")
        r = ci.r
        p = r.shape[0]
        method, rotation, k = self._check(p)
        if method == "pa":
            a, conv_x = _fit_pa(r, k, self.min_err, self.max_iter)
        else:
            a, conv_x = _fit_uls_ml(r, k, method)
        model = a @ a.T
        h2 = np.diag(model).copy()
        # psych: flip each unrotated factor so its loadings sum positive; exact zeros are nudged
        # so that rotations never divide by zero.
        sgn = np.sign(a.sum(axis=0))
        sgn[sgn == 0] = 1
        a = a * sgn
        a[a == 0] = 1e-15
        lam, phi, tmat, _, conv_r = _rotate_array(
            a, rotation, normalize=self.normalize, gamma=self.gamma, delta=self.delta,
            power=self.power, n_starts=self.n_starts, seed=self.seed)
        sgn = np.sign(lam.sum(axis=0))
        sgn[sgn == 0] = 1
        lam = lam * sgn
        phi = phi * np.outer(sgn, sgn)
        ev = np.diag(phi @ lam.T @ lam)
        order = np.argsort(-ev, kind="stable") if k > 1 else np.arange(1)
        lam = lam[:, order]
        phi = phi[np.ix_(order, order)]
        ev = ev[order]

        names = ci.names
        fac = [f"F{j + 1}" for j in range(k)]
        load = pd.DataFrame(lam, index=names, columns=fac)
        phi_df = pd.DataFrame(phi, index=fac, columns=fac)
        comm = pd.Series(h2, index=names, name="communality")
        uniq = pd.Series(np.diag(r) - h2, index=names, name="uniqueness")
        vtotal = float(np.sum(np.diag(r)))
        rows = {"SS loadings": ev, "Proportion Var": ev / vtotal}
        if k > 1:
            rows["Cumulative Var"] = np.cumsum(ev / vtotal)
            rows["Proportion Explained"] = ev / ev.sum()
            rows["Cumulative Proportion"] = np.cumsum(ev / ev.sum())
        variance = pd.DataFrame(rows, index=fac).T
        st = _fit_stats(r, lam, phi, ci.n_obs, ci.np_obs)
        reduced = r.copy()
        np.fill_diagonal(reduced, h2)
        idx = pd.RangeIndex(1, p + 1, name="number")
        self.result_ = EFAResult(
            loadings=load, communalities=comm, uniquenesses=uniq, phi=phi_df,
            structure=pd.DataFrame(lam @ phi, index=names, columns=fac), variance=variance,
            heywood=tuple(n for n, h in zip(names, h2) if h >= 1.0),
            converged=bool(conv_x and conv_r), objective=st["objective"],
            chi_square=st["statistic"], dof=st["dof"], p_value=st["pval"], rmsr=st["rms"],
            crms=st["crms"], empirical_chi_square=st["chi"], tli=st["tli"],
            rmsea=st["rmsea"], bic=st["bic"],
            eigenvalues=pd.Series(np.linalg.eigvalsh(r)[::-1], index=idx, name="eigenvalue"),
            reduced_eigenvalues=pd.Series(np.linalg.eigvalsh(reduced)[::-1], index=idx,
                                          name="eigenvalue"),
            rotation_matrix=tmat, correlation=pd.DataFrame(r, index=names, columns=names),
            n_obs=ci.n_obs, method=method, rotation=rotation)
        res = self.result_
        self.loadings_ = res.loadings
        self.communalities_ = res.communalities
        self.uniquenesses_ = res.uniquenesses
        self.phi_ = res.phi
        self.structure_ = res.structure
        self.variance_ = res.variance
        self.converged_ = res.converged
        return self


def efa(data, n_factors: int, method: str = "minres", rotation: str = "oblimin", **kwargs
        ) -> EFAResult:
    """Exploratory factor analysis, as psych::fa.

    Parameters
    ----------
    data : pandas.DataFrame or array-like
        Raw item scores (rows = respondents; missing values handled pairwise, as psych's
        ``use = "pairwise"``) or a correlation matrix (then pass ``n_obs=`` for fit
        statistics that need a sample size).
    n_factors : int
        Number of factors.
    method : {"minres", "ml", "pa"}
        Extraction: minimum residual, maximum likelihood, iterated principal axes.
    rotation : {"none", "varimax", "promax", "oblimin", "quartimin", "geomin", "geomin_t"}
        Rotation (``"geomin"`` = oblique geominQ).
    **kwargs
        Passed to :class:`EFA` (``n_obs``, ``is_corr``, ``n_starts``, ``seed``, ``normalize``,
        ``gamma``, ``delta``, ``power``, ``min_err``, ``max_iter``).

    Returns
    -------
    EFAResult

    References
    ----------
    Revelle, W. psych: Procedures for Psychological, Psychometric, and Personality Research
    (function ``fa``). Harman, H. H. (1976). *Modern Factor Analysis*.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from acap.factor import efa
    >>> rng = np.random.default_rng(0)
    >>> f = rng.standard_normal((400, 2))
    >>> lam = np.array([[.7, 0], [.6, 0], [.65, .1], [0, .7], [.1, .6], [0, .65]])
    >>> x = f @ lam.T + rng.standard_normal((400, 6)) * .6
    >>> res = efa(pd.DataFrame(x, columns=list("abcdef")), 2)
    >>> list(res.loadings.columns)
    ['F1', 'F2']
    """
    return EFA(n_factors, method=method, rotation=rotation, **kwargs).fit(data).result_
