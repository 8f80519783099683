"""Shared helpers: correlation matrices from item data with pairwise deletion, SMCs, smoothing.

These mirror what R's ``cor(x, use = "pairwise")``, ``psych::smc`` and ``psych::cor.smooth``
compute, so that every estimator in :mod:`acap.factor` starts from the same matrix psych does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from acap.errors import AcapInputError
from acap.itemdata import numeric_items


@dataclass(frozen=True)
class CorrInput:
    """A correlation matrix with its names and sample-size information."""

    r: np.ndarray
    names: list[str]
    n_obs: float | None  # rows of raw data, or the n_obs the user gave
    np_obs: np.ndarray | None  # pairwise counts (raw data only), as psych's np.obs


def pairwise_corr(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlations over pairwise-complete rows, and the pairwise counts.

    Means and variances of each pair are taken over the rows where both items are present,
    as R's ``cor(use = "pairwise")`` does. Works with matrix products (no Python loop over
    pairs): with a 0/1 mask ``M`` and zero-filled ``X``, the pair sums are ``X'M``, ``X'X``,
    ``(X*X)'M`` and ``M'M``.
    """
    x = np.asarray(x, dtype=float)
    mask = ~np.isnan(x)
    if mask.all():
        n = x.shape[0]
        xc = x - x.mean(axis=0)
        c = xc.T @ xc
        d = np.sqrt(np.diag(c))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = c / np.outer(d, d)
        np.fill_diagonal(r, 1.0)
        return r, np.full((x.shape[1], x.shape[1]), float(n))
    m = mask.astype(float)
    # Centre first by each column's own mean so the one-pass sums below lose no precision.
    with np.errstate(invalid="ignore"):
        col_mean = np.nanmean(x, axis=0)
    xc = np.where(mask, x - col_mean, 0.0)
    n = m.T @ m
    sx = xc.T @ m  # sx[j, k]: sum of item j over rows where k is present (and j)
    sxx = (xc * xc).T @ m
    sxy = xc.T @ xc
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = sxy - sx * sx.T / n
        var_j = sxx - sx * sx / n
        r = cov / np.sqrt(var_j * var_j.T)
    r[n < 2] = np.nan
    np.fill_diagonal(r, 1.0)
    return r, n


def pinv(a: np.ndarray) -> np.ndarray:
    """Pseudo-inverse keeping singular values above sqrt(eps) times the largest (psych's Pinv).

    ``numpy.linalg.pinv`` cuts at a different tolerance, which changes the SMCs of a
    (near-)singular matrix, so psych's cut-off is used instead.
    """
    u, d, vt = np.linalg.svd(a)
    keep = d > max(np.sqrt(np.finfo(float).eps) * d[0], 0.0)
    return (vt[keep].T / d[keep]) @ u[:, keep].T


def smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations ``1 - 1/diag(R^-1)``, clipped to [0, 1], as ``psych::smc``.

    psych (2.2.9) inverts with its ``Pinv`` whether or not ``R`` is singular; for a
    well-conditioned matrix that equals the ordinary inverse to rounding, and for a
    (near-)singular one it is what psych reports. Every SMC in acap (alpha's lambda-6,
    omega's lambda-6, the starting communalities of the factor fits) comes from here.
    """
    s = 1.0 - 1.0 / np.diag(pinv(r))
    return np.clip(s, 0.0, 1.0)


def cor_smooth(r: np.ndarray, eig_tol: float = 1e-12) -> np.ndarray:
    """Make a non-positive-definite correlation matrix positive definite (psych::cor.smooth).

    If the smallest eigenvalue is below machine epsilon, eigenvalues below ``eig_tol`` are
    set to ``100 * eig_tol``, all are rescaled to sum to the number of items, and the rebuilt
    matrix is rescaled to a unit diagonal. A positive-definite ``r`` is returned as it is
    (the same object), so ``cor_smooth(r) is r`` says no smoothing was needed.
    """
    vals, vecs = np.linalg.eigh(r)
    if vals.min() >= np.finfo(float).eps:
        return r
    vals = np.where(vals < eig_tol, 100 * eig_tol, vals)
    vals = vals * r.shape[0] / vals.sum()
    s = (vecs * vals) @ vecs.T
    d = 1.0 / np.sqrt(np.diag(s))
    s = s * np.outer(d, d)
    s = (s + s.T) / 2.0
    np.fill_diagonal(s, 1.0)
    return s


def looks_like_corr(a: np.ndarray) -> bool:
    """A square symmetric matrix with unit diagonal and entries in [-1, 1]."""
    return (
        a.ndim == 2
        and a.shape[0] == a.shape[1]
        and a.shape[0] > 1
        and bool(np.all(np.isfinite(a)))
        and np.allclose(a, a.T, atol=1e-8)
        and np.allclose(np.diag(a), 1.0, atol=1e-8)
        and bool(np.all(np.abs(a) <= 1 + 1e-8))
    )


def as_corr(data, *, n_obs=None, is_corr=None, what: str = "data", min_items: int = 3) -> CorrInput:
    """Turn raw item scores or a correlation matrix into a :class:`CorrInput`.

    Any table must pass :func:`acap.itemdata.numeric_items`; raw scores (anything that is not
    a correlation matrix) must also have at least 3 rows, no constant item, at least 2
    answers per item, and every pair of items observed together.
    """
    # Numbers first; constant columns and missing cells are refused only for raw scores. A
    # table that is not square cannot be a correlation matrix: one check with the raw rules.
    shape = np.shape(data) if isinstance(data, (np.ndarray, pd.DataFrame)) else ()
    raw_only = is_corr is False or (is_corr is None and len(shape) == 2
                                    and shape[0] != shape[1])
    if raw_only:
        frame = numeric_items(data, what, min_items=min_items, min_rows=3)
    else:
        frame = numeric_items(data, what, min_items=min_items, min_answers=0,
                              allow_constant=True)
    arr = frame.to_numpy()
    names = list(frame.columns)
    if is_corr is None:
        is_corr = looks_like_corr(arr)
    if is_corr:
        if not looks_like_corr(arr):
            raise AcapInputError("is_corr=True but the matrix is not a symmetric correlation "
                                 "matrix with unit diagonal", what)
        if n_obs is not None and (not np.isfinite(n_obs) or n_obs < 2):
            raise AcapInputError(f"n_obs must be at least 2, got {n_obs}", what)
        return CorrInput(r=(arr + arr.T) / 2, names=names,
                         n_obs=None if n_obs is None else float(n_obs), np_obs=None)
    if not raw_only:
        arr = numeric_items(frame, what, min_items=min_items, min_rows=3).to_numpy()
    r, n = pairwise_corr(arr)
    if np.isnan(r).any():
        j, k = np.argwhere(np.isnan(r))[0]
        raise AcapInputError(f"items {names[j]!r} and {names[k]!r} have fewer than 2 rows "
                             "observed together (or no variance there)", what)
    return CorrInput(r=r, names=names, n_obs=float(arr.shape[0]), np_obs=n)
