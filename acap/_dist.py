"""The few distribution functions acap needs, from :mod:`scipy.special`.

``scipy.stats`` takes most of a second to import (it builds the docstrings of ~100
distributions); these are the same numbers (scipy.stats calls the same special functions) at a
fraction of the import cost, which a researcher pays on every ``acap validate``.

Examples
--------
>>> round(float(chi2_sf(3.84, 1)), 3), round(float(f_ppf(0.975, 10, 20)), 3)
(0.05, 2.774)
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["chi2_cdf", "chi2_sf", "f_ppf", "f_sf", "hmean", "ncx2_cdf", "norm_pdf", "norm_sf", "t_ppf"]


def chi2_sf(x, df):
    """Upper tail of the chi-square distribution (``scipy.stats.chi2.sf``)."""
    return special.chdtrc(df, np.maximum(x, 0.0))


def chi2_cdf(x, df):
    """``scipy.stats.chi2.cdf``."""
    return special.chdtr(df, np.maximum(x, 0.0))


def ncx2_cdf(x, df, nc):
    """Non-central chi-square distribution function (``scipy.stats.ncx2.cdf``)."""
    return special.chndtr(np.maximum(x, 0.0), df, nc)


def f_sf(x, dfn, dfd):
    """Upper tail of the F distribution (``scipy.stats.f.sf``)."""
    return special.fdtrc(dfn, dfd, np.maximum(x, 0.0))


def f_ppf(q, dfn, dfd):
    """Quantile of the F distribution (``scipy.stats.f.ppf``)."""
    return special.fdtri(dfn, dfd, q)


def t_ppf(q, df):
    """Quantile of Student's t (``scipy.stats.t.ppf``)."""
    return special.stdtrit(df, q)


def norm_sf(x):
    """Upper tail of the standard normal (``scipy.stats.norm.sf``)."""
    return special.ndtr(-np.asarray(x, dtype=float))


def norm_pdf(x):
    """Standard normal density (``scipy.stats.norm.pdf``)."""
    x = np.asarray(x, dtype=float)
    return np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)


def hmean(a):
    """Harmonic mean of positive values (``scipy.stats.hmean``)."""
    a = np.asarray(a, dtype=float)
    return len(a) / np.sum(1.0 / a)
