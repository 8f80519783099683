"""McDonald's omega via the Schmid-Leiman transformation, as psych::omega computes it.

Steps (psych's defaults): a ``n_factors`` minres solution rotated by varimax; an oblimin
rotation of those loadings (identity start, no Kaiser normalisation, factors not
reordered); a one-factor minres solution of the factor correlations gives the loadings of
the factors on g (with two factors psych's ``option="equal"``: both ``sqrt(|phi12|)``);
then g loadings ``L g``, group loadings ``sign(L) sqrt(L^2 (1 - g^2))``. Items whose g
loading is negative are reverse-keyed before the omegas are computed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from acap._blas import blas_threads
from acap.errors import AcapInputError
from acap.factor._corr import as_corr, smc
from acap.factor.efa import EFA
from acap.factor.rotation import _rotate_array


@dataclass(frozen=True)
class SchmidLeimanResult:
    """Result of :func:`schmid_leiman`.

    Attributes
    ----------
    loadings : pandas.DataFrame
        Items x (``g``, ``F1*``..``Fk*``, ``h2``, ``u2``, ``p2``): general and group-factor
        loadings, communality, uniqueness and the share of the communality due to g
        (psych's ``sl`` table, before any reverse-keying).
    orthogonal : pandas.DataFrame
        The varimax loadings the transformation started from.
    oblique : pandas.DataFrame
        Oblimin pattern loadings.
    phi : pandas.DataFrame
        Correlations of the oblique factors.
    g_loadings : pandas.Series
        Loadings of the oblique factors on the general factor.
    """

    loadings: pd.DataFrame
    orthogonal: pd.DataFrame
    oblique: pd.DataFrame
    phi: pd.DataFrame
    g_loadings: pd.Series


@dataclass(frozen=True)
class OmegaResult:
    """Result of :func:`omega`.

    Attributes
    ----------
    omega_total : float
        Reliability of the total score: common variance over total variance.
    omega_hierarchical : float
        Share of total-score variance due to the general factor.
    omega_limit : float
        omega_h over omega_total (psych's ``omega.lim``).
    alpha : float
        Cronbach's alpha of the (reverse-keyed) items.
    g6 : float
        Guttman's lambda 6.
    ecv : float
        Explained common variance of g.
    schmid : SchmidLeimanResult
        The transformation (``schmid.loadings`` is psych's ``schmid$sl``).
    loadings : pandas.DataFrame
        The Schmid-Leiman table after reverse-keying items with negative g loadings.
    key : pandas.Series
        +1 / -1 per item (-1: reverse-keyed for the omegas).
    omega_subscales : pandas.DataFrame
        Rows ``g`` and ``F1*``..: ``total``, ``general``, ``group`` omegas for the whole
        scale and for each group factor's items (psych's ``omega.group``).
    """

    omega_total: float
    omega_hierarchical: float
    omega_limit: float
    alpha: float
    g6: float
    ecv: float
    schmid: SchmidLeimanResult
    loadings: pd.DataFrame
    key: pd.Series
    omega_subscales: pd.DataFrame


def _schmid(r, names, n_factors, method, rotation):
    k = n_factors
    orth = EFA(k, method=method, rotation="varimax", is_corr=True)._fit(r).result_.loadings
    a = orth.to_numpy()
    fac = [f"F{j + 1}" for j in range(k)]
    if k == 1:
        fload, phi, gload = a, np.ones((1, 1)), np.array([1.0])
    else:
        if rotation not in ("oblimin", "quartimin", "geomin", "promax"):
            raise AcapInputError(f"omega needs an oblique rotation, got {rotation!r}", "omega")
        fload, phi, _, _, _ = _rotate_array(a, rotation)
        if k > 2:
            gfit = EFA(1, method=method, rotation="none", is_corr=True)._fit(
                pd.DataFrame(phi, index=fac, columns=fac))
            gload = gfit.result_.loadings.to_numpy()[:, 0]
        else:  # psych's option="equal": two factors cannot identify g
            c = phi[0, 1]
            gload = np.array([np.sqrt(abs(c)), np.sign(c) * np.sqrt(abs(c))])
    g = fload @ gload
    h2 = np.sum(a * a, axis=1)
    diag = np.diag(r)
    u2 = diag - h2
    uniq2 = np.clip(fload ** 2 * (1.0 - gload ** 2), 0.0, None)
    sm = np.sign(fload) * np.sqrt(uniq2)
    table = pd.DataFrame(np.column_stack([g, sm, h2, u2, g ** 2 / h2]), index=names,
                         columns=["g"] + [f"{f}*" for f in fac] + ["h2", "u2", "p2"])
    return SchmidLeimanResult(
        loadings=table, orthogonal=pd.DataFrame(a, index=names, columns=fac),
        oblique=pd.DataFrame(fload, index=names, columns=fac),
        phi=pd.DataFrame(phi, index=fac, columns=fac),
        g_loadings=pd.Series(gload, index=fac, name="g"))


def _check(n_factors, p):
    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)) or n_factors < 1:
        raise AcapInputError(f"n_factors must be a positive integer, got {n_factors!r}", "omega")
    if n_factors >= p:
        raise AcapInputError(f"n_factors ({n_factors}) must be smaller than the number of "
                             f"items ({p})", "omega")


def schmid_leiman(data, n_factors: int = 3, method: str = "minres", rotation: str = "oblimin",
                  *, is_corr: bool | None = None) -> SchmidLeimanResult:
    """Schmid-Leiman transformation of a higher-order factor solution (psych::schmid).

    Parameters
    ----------
    data : pandas.DataFrame or array-like
        Raw item scores (pairwise missing) or a correlation matrix.
    n_factors : int
        Number of group factors (psych's default 3).
    method : {"minres", "ml", "pa"}
        Extraction method for the first-order and the g factor.
    rotation : {"oblimin", "quartimin", "geomin", "promax"}
        Oblique rotation of the varimax loadings.
    is_corr : bool, optional
        Force or forbid treating ``data`` as a correlation matrix.

    Returns
    -------
    SchmidLeimanResult

    References
    ----------
    Schmid, J., & Leiman, J. M. (1957). The development of hierarchical factor solutions.
    *Psychometrika*, 22, 53-61.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from acap.factor import schmid_leiman
    >>> rng = np.random.default_rng(0)
    >>> g = rng.standard_normal((800, 1)); s = rng.standard_normal((800, 3))
    >>> x = g * .6 + np.repeat(s, 3, axis=1) * .5 + rng.standard_normal((800, 9)) * .6
    >>> list(schmid_leiman(pd.DataFrame(x), 3).loadings.columns[:2])
    ['g', 'F1*']
    """
    ci = as_corr(data, is_corr=is_corr, what="schmid_leiman data")
    _check(n_factors, ci.r.shape[0])
    rotation = {"geominq": "geomin"}.get(str(rotation).lower(), str(rotation).lower())
    with blas_threads(1):
        return _schmid(ci.r, ci.names, int(n_factors), method, rotation)


def omega(data, n_factors: int = 3, method: str = "minres", rotation: str = "oblimin", *,
          is_corr: bool | None = None, flip: bool = True) -> OmegaResult:
    """McDonald's omega total and hierarchical, as psych::omega (defaults).

    Parameters
    ----------
    data : pandas.DataFrame or array-like
        Raw item scores (pairwise missing) or a correlation matrix.
    n_factors : int
        Number of group factors (psych's default 3).
    method : {"minres", "ml", "pa"}
        Extraction method.
    rotation : {"oblimin", "quartimin", "geomin", "promax"}
        Oblique rotation used before the Schmid-Leiman transformation.
    is_corr : bool, optional
        Force or forbid treating ``data`` as a correlation matrix.
    flip : bool
        Reverse-key items whose g loading is negative (psych's default).

    Returns
    -------
    OmegaResult

    References
    ----------
    McDonald, R. P. (1999). *Test theory: A unified treatment*. Zinbarg, R. E., Revelle, W.,
    Yovel, I., & Li, W. (2005). Cronbach's alpha, Revelle's beta, and McDonald's omega_h.
    *Psychometrika*, 70, 123-133.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from acap.factor import omega
    >>> rng = np.random.default_rng(0)
    >>> g = rng.standard_normal((800, 1)); s = rng.standard_normal((800, 3))
    >>> x = g * .6 + np.repeat(s, 3, axis=1) * .5 + rng.standard_normal((800, 9)) * .6
    >>> res = omega(pd.DataFrame(x), 3)
    >>> bool(res.omega_total > res.omega_hierarchical)
    True
    """
    ci = as_corr(data, is_corr=is_corr, what="omega data")
    r = ci.r
    p = r.shape[0]
    _check(n_factors, p)
    k = int(n_factors)
    rotation = {"geominq": "geomin"}.get(str(rotation).lower(), str(rotation).lower())
    with blas_threads(1):
        sl = _schmid(r, ci.names, k, method, rotation)
        table = sl.loadings.copy()
        key = np.ones(p)
        if flip:
            key = np.sign(table["g"].to_numpy())
            key[key == 0] = 1
        m = r * np.outer(key, key)
        load_cols = list(table.columns[: k + 1])
        table[load_cols] = table[load_cols].to_numpy() * key[:, None]
        vt = float(m.sum())
        vitem = float(np.trace(m))
        gl = table["g"].to_numpy()
        gsq = float(gl.sum()) ** 2
        uniq = float(table["u2"].sum())
        om_tot = (vt - uniq) / vt
        alpha = (vt - vitem) / vt * p / (p - 1)
        g6 = (vt + float(smc(m).sum()) - vitem) / vt
        ev = np.sum(table[load_cols].to_numpy() ** 2, axis=0)
        grp = table[load_cols[1:]].to_numpy()
        sub = np.argmax(np.abs(grp), axis=1)
        rows = {"g": [om_tot, gsq / vt, np.nan]}
        grs = 0.0
        for j in range(k):
            idx = np.flatnonzero(sub == j)
            if idx.size == 0:
                rows[load_cols[j + 1]] = [np.nan, np.nan, np.nan]
                continue
            vgr = float(m[np.ix_(idx, idx)].sum())
            gr = float(grp[idx, j].sum())
            gg = float(gl[idx].sum())
            grs += gr * gr
            rows[load_cols[j + 1]] = [(gr * gr + gg * gg) / vgr, gg * gg / vgr, gr * gr / vgr]
        rows["g"][2] = grs / vt
        sub_df = pd.DataFrame(rows, index=["total", "general", "group"]).T
    return OmegaResult(
        omega_total=om_tot, omega_hierarchical=gsq / vt,
        omega_limit=gsq / (vt - uniq), alpha=alpha, g6=g6, ecv=float(ev[0] / ev.sum()),
        schmid=sl, loadings=table, key=pd.Series(key.astype(int), index=ci.names, name="key"),
        omega_subscales=sub_df)
