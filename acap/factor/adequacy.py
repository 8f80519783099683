"""Sampling adequacy: Kaiser-Meyer-Olkin MSA and Bartlett's test of sphericity.

Both follow R's ``psych`` (``KMO`` and ``cortest.bartlett``): raw scores are turned into a
Pearson correlation matrix from pairwise-complete observations, so items with missing
values keep every row they answered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from acap import _dist

from acap.errors import AcapInputError
from acap.factor._corr import as_corr

__all__ = ["KMOResult", "BartlettResult", "kmo", "bartlett"]

# Kaiser (1974) descriptors for the overall MSA, lowest bound first.
_KAISER_LABELS = (
    (0.9, "marvelous"), (0.8, "meritorious"), (0.7, "middling"),
    (0.6, "mediocre"), (0.5, "miserable"), (-math.inf, "unacceptable"),
)


@dataclass(frozen=True)
class KMOResult:
    """Kaiser-Meyer-Olkin measure of sampling adequacy.

    Attributes
    ----------
    overall : float
        Overall MSA (NaN when every off-diagonal correlation is zero).
    per_item : pandas.Series
        MSA of each item, indexed by item name.
    """

    overall: float
    per_item: pd.Series

    @property
    def label(self) -> str:
        """Kaiser's (1974) word for the overall MSA ("marvelous" ... "unacceptable")."""
        if not np.isfinite(self.overall):
            return "undefined"
        return next(word for bound, word in _KAISER_LABELS if self.overall >= bound)


@dataclass(frozen=True)
class BartlettResult:
    """Bartlett's test that a correlation matrix is an identity matrix.

    Attributes
    ----------
    chi2 : float
        Test statistic ``-ln|R| * (n - 1 - (2p + 5) / 6)``.
    df : int
        Degrees of freedom ``p (p - 1) / 2``.
    p_value : float
        Upper-tail chi-square probability.
    n_obs : int
        Number of observations used in the correction factor.
    """

    chi2: float
    df: int
    p_value: float
    n_obs: int


# ----------------------------------------------------------------------------- input helpers
def _corr_input(data, what: str, is_corr: bool | None, n_obs=None):
    """The correlation matrix to analyse (a frame), whether it was given as one, and the n.

    Raw scores and correlation matrices are told apart by :func:`acap.factor._corr.as_corr`,
    the rule every function of :mod:`acap.factor` uses (``is_corr`` overrides it).
    """
    ci = as_corr(data, n_obs=n_obs, is_corr=is_corr, what=what, min_items=2)
    return pd.DataFrame(ci.r, index=ci.names, columns=ci.names), ci.np_obs is None, ci.n_obs


# ----------------------------------------------------------------------------- KMO
def kmo(data, *, is_corr: bool | None = None) -> KMOResult:
    """Kaiser-Meyer-Olkin measure of sampling adequacy (overall and per item).

    Compares the squared correlations with the squared partial (anti-image) correlations:
    ``MSA = sum r^2 / (sum r^2 + sum q^2)`` over off-diagonal entries, where ``q`` are the
    partial correlations from the inverse correlation matrix. Matches ``psych::KMO``.

    Parameters
    ----------
    data : DataFrame or 2-D array
        Raw item scores (rows = respondents; NaN allowed, correlations are pairwise
        complete as in psych) or a correlation matrix.
    is_corr : bool, optional
        Force the interpretation of ``data``. By default a square, symmetric matrix with a
        unit diagonal and entries in [-1, 1] is taken as a correlation matrix, by the rule
        every function of :mod:`acap.factor` uses (``_corr.as_corr``).

    Returns
    -------
    KMOResult
        ``overall`` (float) and ``per_item`` (Series by item); ``label`` gives Kaiser's word.

    Raises
    ------
    AcapInputError
        Non-numeric or constant columns, or a singular correlation matrix (psych falls back
        to an arbitrary value there; acap refuses).

    References
    ----------
    Kaiser, H. F. (1970). A second generation little jiffy. Psychometrika, 35, 401-415.
    Kaiser, H. F. (1974). An index of factorial simplicity. Psychometrika, 39, 31-36.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from acap.factor import kmo
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=(300, 1))
    >>> X = pd.DataFrame(f @ np.full((1, 4), 0.7) + rng.normal(scale=0.7, size=(300, 4)),
    ...                  columns=["a", "b", "c", "d"])
    >>> res = kmo(X)
    >>> round(res.overall, 2) > 0.7
    True
    """
    what = "kmo"
    r, _, _ = _corr_input(data, what, is_corr)
    m = r.to_numpy()
    p = m.shape[0]
    if p < 2:
        raise AcapInputError("need at least 2 items", what)
    if np.linalg.cond(m, 1) > 1.0 / np.finfo(float).eps:
        raise AcapInputError("the correlation matrix is singular (an item is a linear combination "
                             "of others, e.g. a duplicated or total-score column)", what)
    inv = np.linalg.inv(m)
    d = 1.0 / np.sqrt(np.diag(inv))
    partial = inv * np.outer(d, d)  # sign is irrelevant: only squares enter the index
    off = ~np.eye(p, dtype=bool)
    r2 = np.where(off, m**2, 0.0)
    q2 = np.where(off, partial**2, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        overall = float(r2.sum() / (r2.sum() + q2.sum()))
        per = r2.sum(axis=0) / (r2.sum(axis=0) + q2.sum(axis=0))
    return KMOResult(overall=overall, per_item=pd.Series(per, index=r.columns, name="msa"))


# ----------------------------------------------------------------------------- Bartlett
def bartlett(data, n_obs: int | None = None, *, is_corr: bool | None = None) -> BartlettResult:
    """Bartlett's test of sphericity (is the correlation matrix an identity matrix?).

    ``chi2 = -ln|R| * (n - 1 - (2p + 5) / 6)`` on ``p (p - 1) / 2`` degrees of freedom, as
    ``psych::cortest.bartlett``.

    Parameters
    ----------
    data : DataFrame or 2-D array
        Raw item scores (NaN allowed; pairwise-complete Pearson correlations and ``n`` = the
        number of rows, as psych) or a correlation matrix.
    n_obs : int, optional
        Sample size; required for a correlation matrix, not allowed with raw scores.
    is_corr : bool, optional
        Force the interpretation of ``data`` (see :func:`kmo`).

    Returns
    -------
    BartlettResult
        ``chi2``, ``df``, ``p_value`` and ``n_obs``.

    References
    ----------
    Bartlett, M. S. (1951). The effect of standardization on a chi square approximation in
    factor analysis. Biometrika, 38, 337-344.

    Examples
    --------
    >>> import numpy as np
    >>> from acap.factor import bartlett
    >>> R = np.array([[1.0, 0.5, 0.4], [0.5, 1.0, 0.3], [0.4, 0.3, 1.0]])
    >>> res = bartlett(R, n_obs=200)
    >>> res.df, res.p_value < 0.001
    (3, True)
    """
    what = "bartlett"
    r, from_corr, n_rows = _corr_input(data, what, is_corr)
    if from_corr:
        if n_obs is None:
            raise AcapInputError("n_obs (the sample size) is required when a correlation matrix "
                                 "is given", what)
        if isinstance(n_obs, bool) or not float(n_obs).is_integer() or n_obs < 2:
            raise AcapInputError(f"n_obs must be an integer >= 2, got {n_obs!r}", what)
        n = int(n_obs)
    else:
        if n_obs is not None:
            raise AcapInputError("n_obs is only for a correlation matrix; with raw scores the "
                                 "number of rows is used", what)
        n = int(n_rows)
    m = r.to_numpy().copy()
    np.fill_diagonal(m, 1.0)
    p = m.shape[0]
    sign, logdet = np.linalg.slogdet(m)
    # a numerically singular matrix can come out with a tiny positive determinant by rounding
    if sign <= 0 or np.linalg.cond(m, 1) > 1.0 / np.finfo(float).eps:
        raise AcapInputError("the correlation matrix is not positive definite (determinant <= 0), "
                             "so the test is undefined", what)
    chi2 = float(-logdet * (n - 1 - (2 * p + 5) / 6))
    df = p * (p - 1) // 2
    return BartlettResult(chi2=chi2, df=df, p_value=float(_dist.chi2_sf(chi2, df)), n_obs=n)
