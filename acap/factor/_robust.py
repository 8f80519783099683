"""Sandwich standard errors and scaled test statistics shared by two-stage ML and WLSMV.

Both estimators fit a model to summary statistics ``s`` (two-stage ML: EM means and
covariances; WLSMV: thresholds and polychoric correlations) by minimising a quadratic-form-like
discrepancy with weight ``W``, while the statistics' own asymptotic covariance ``Gamma`` is not
``W^-1``. With ``Delta = ds(theta)/dtheta'`` and ``E = Delta' W Delta`` (groups stacked with
weights ``f_g = N_g / N``), lavaan computes

    N vcov = E^-1 (sum_g f_g Delta_g' W_g Gamma_g W_g Delta_g) E^-1
    U = W - W Delta E^-1 Delta' W,  c = tr(U Gamma) / df  (Satorra-Bentler),
    a = sqrt(df / tr((U Gamma)^2)),  T = a T_ML + df - a tr(U Gamma)  (scaled and shifted)

(``lav_model_nvcov_two_stage``, ``lav_model_nvcov_robust_sem``, ``lav_test_satorra_bentler``
with method "original"). The vech ordering of covariance elements is lavaan's: the lower
triangle column by column.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import linalg


@functools.lru_cache(maxsize=64)
def vech_index(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of vech (lower triangle, column by column, as lavaan).

    Cached (the arrays are read-only): every two-stage fit asks for them several times.
    """
    cols, rows = np.triu_indices(p)
    rows, cols = rows.copy(), cols.copy()
    rows.flags.writeable = False
    cols.flags.writeable = False
    return rows, cols


@functools.lru_cache(maxsize=64)
def _dup_kron_index(p: int):
    """Where the four terms of D'(A kron B)D come from, cached per p (read-only arrays).

    For symmetric A and B, element (r, c) of D'(A kron B)D, r = vech (i, j) and c = vech (k, l),
    is w_r w_c (A_jl B_ik + A_jk B_il + A_il B_jk + A_ik B_jl), w = 1/2 on the diagonal, 1 off
    it. With t[s, u] = A[vech s] B[vech u] (an element and its mirror image share a vech
    position), the four terms are gathers from t. Returns ``(lower, quads, weight)``: the
    flat positions of vech's elements in a p x p matrix, the (4, q, q) indices of the terms
    in t flattened, and w_r w_c.
    """
    i, j = vech_index(p)
    q = len(i)
    pos = np.empty((p, p), dtype=np.intp)
    pos[i, j] = np.arange(q)
    pos[j, i] = np.arange(q)
    # vech positions of (j, l), (i, k), (j, k), (i, l) for row (i, j) and column (k, l)
    jl, ik, jk, il = pos[np.ix_(j, j)], pos[np.ix_(i, i)], pos[np.ix_(j, i)], pos[np.ix_(i, j)]
    quads = np.empty((4, q, q), dtype=np.intp)
    for out, first, second in zip(quads, (jl, jk, il, ik), (ik, il, jk, jl)):
        np.multiply(first, q, out=out)
        out += second
    w = np.where(i == j, 0.5, 1.0)
    lower, weight = i * p + j, w[:, None] * w[None, :]
    for arr in (lower, quads, weight):
        arr.flags.writeable = False
    return lower, quads, weight


def dup_kron(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """D' (A kron B) D for symmetric A and B, D the duplication matrix (vech -> vec)."""
    lower, quads, weight = _dup_kron_index(a.shape[0])
    t = np.multiply.outer(a.ravel()[lower], b.ravel()[lower]).ravel()
    return (t[quads[0]] + t[quads[1]] + t[quads[2]] + t[quads[3]]) * weight


def ml_weight(sigma: np.ndarray, meanstructure: bool = True) -> np.ndarray:
    """Normal-theory (unit) information of the saturated model, in (mu, vech Sigma) order."""
    sinv = np.linalg.inv(sigma)
    sinv = 0.5 * (sinv + sinv.T)
    b = 0.5 * dup_kron(sinv, sinv)
    if not meanstructure:
        return b
    return linalg.block_diag(sinv, b)


def ml_delta(d_sigma: np.ndarray, d_mu: np.ndarray) -> np.ndarray:
    """Delta = d(mu, vech Sigma)/d theta' from the engine's Jacobians."""
    i, j = vech_index(d_sigma.shape[1])
    return np.vstack([d_mu.T, d_sigma[:, i, j].T])


def missing_information(patterns, mu: np.ndarray, sigma: np.ndarray, n: int) -> np.ndarray:
    """Observed information (per case) of the saturated normal model under MAR missingness.

    As lavaan's ``lav_mvnorm_missing_information_observed_samplestats``, evaluated at the EM
    estimates: summed over missing-data patterns with the pattern's means and covariances.
    """
    p = len(mu)
    vi, vj = vech_index(p)
    w = np.where(vi == vj, 0.5, 1.0)
    # per pattern, embedded in p x p: Sigma_oo^-1, t21 = Sigma_oo^-1 d and t22; computed for
    # the patterns with the same number of observed items at once
    ns = np.array([pt.n for pt in patterns], float)
    sinvs = np.zeros((len(patterns), p, p))
    t22s = np.zeros((len(patterns), p, p))
    t21s = np.zeros((len(patterns), p))
    for q in sorted({len(pt.obs) for pt in patterns}):
        which = np.array([k for k, pt in enumerate(patterns) if len(pt.obs) == q])
        o = np.array([patterns[k].obs for k in which])
        o_r, o_c = o[:, :, None], o[:, None, :]
        s_oo = sigma[o_r, o_c]
        sinv_o = np.linalg.inv(s_oo)
        sinv_o = 0.5 * (sinv_o + sinv_o.transpose(0, 2, 1))
        d = np.array([patterns[k].mean for k in which]) - mu[o]
        w_tilde = np.array([patterns[k].cov for k in which]) + d[:, :, None] * d[:, None, :]
        aaa = sinv_o @ (2.0 * w_tilde - s_oo) @ sinv_o
        rows = which[:, None, None]
        sinvs[rows, o_r, o_c] = sinv_o
        t22s[rows, o_r, o_c] = 0.5 * (aaa + aaa.transpose(0, 2, 1))
        t21s[which[:, None], o] = np.einsum("kij,kj->ki", sinv_o, d)
    h11 = np.einsum("k,kij->ij", ns, sinvs)
    # h21[r, c] = w_r sum_k n_k (t21_k[vj_r] Sinv_k[vi_r, c] + t21_k[vi_r] Sinv_k[vj_r, c])
    m = ((ns[:, None] * t21s).T @ sinvs.reshape(len(patterns), -1)).reshape(p, p, p)
    h21 = w[:, None] * (m[vj, vi] + m[vi, vj])
    # h22 = sum over patterns of n/2 D'(Sinv kron T22)D: dup_kron is bilinear, so the patterns'
    # products are summed first, as one matrix product, and D'.D is applied once (one
    # dup_kron per pattern costs O(p^4) gathers: seconds for 40 items and 200 patterns).
    h22 = _dup_kron_sum(sinvs.reshape(len(patterns), -1), t22s.reshape(len(patterns), -1),
                        0.5 * ns, p)
    return np.block([[h11, h21.T], [h21, h22]]) / n


def _dup_kron_sum(a: np.ndarray, b: np.ndarray, weight: np.ndarray, p: int) -> np.ndarray:
    """sum_k weight_k D'(A_k kron B_k)D for symmetric A_k, B_k given as rows of ``a``, ``b`` (k, p*p)."""
    # t[s, u] = sum_k weight_k A_k[vech s] B_k[vech u]: symmetric matrices need only their
    # lower triangles, a quarter of the products of whole matrices
    lower, quads, w = _dup_kron_index(p)
    t = ((a[:, lower] * weight[:, None]).T @ b[:, lower]).ravel()
    return (t[quads[0]] + t[quads[1]] + t[quads[2]] + t[quads[3]]) * w


@dataclass
class RobustParts:
    """Per-group pieces of the sandwich: Delta_g, W_g, Gamma_g and f_g = N_g / N."""

    delta: list[np.ndarray]
    weight: list[np.ndarray]
    gamma: list[np.ndarray]
    frac: np.ndarray


def spd_inverse(a: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix through its Cholesky factor (half the
    work of a general inverse); a general inverse when the factorisation fails."""
    low, info = linalg.lapack.dpotrf(a, lower=True)
    if info == 0:
        inv, info = linalg.lapack.dpotri(low, lower=True)
        if info == 0:
            return np.tril(inv) + np.tril(inv, -1).T
    return np.linalg.inv(a)


def robust_sums(parts: RobustParts) -> tuple[np.ndarray, np.ndarray, float]:
    """The sums over groups behind the sandwich and tr(U Gamma), from one W_g D_g per group.

    Returns ``(E, M, t)``: E = sum f_g D_g' W_g D_g, M = sum f_g (W_g D_g)' Gamma_g W_g D_g and
    t = sum tr(W_g Gamma_g); then N vcov = E^-1 M E^-1 (:func:`sandwich`) and tr(U Gamma) =
    t - tr(E^-1 M) (:func:`ugamma_traces`), without computing W_g D_g once for each.
    """
    e_mat = middle = None
    trace = 0.0
    for d, w, gam, f in zip(parts.delta, parts.weight, parts.gamma, parts.frac):
        wd = w @ d
        e_g, m_g = f * d.T @ wd, f * wd.T @ gam @ wd
        e_mat = e_g if e_mat is None else e_mat + e_g
        middle = m_g if middle is None else middle + m_g
        trace += float(np.sum(w * gam.T))
    return e_mat, middle, trace


def sandwich(parts: RobustParts, e_inv: np.ndarray, ntotal: int) -> np.ndarray:
    """Robust covariance matrix of the estimates (not N-scaled: divided by N)."""
    middle = np.zeros_like(e_inv)
    for d, w, gam, f in zip(parts.delta, parts.weight, parts.gamma, parts.frac):
        wd = w @ d
        middle += f * wd.T @ gam @ wd
    return e_inv @ middle @ e_inv / ntotal


def ugamma_traces(parts: RobustParts, e_inv: np.ndarray, second: bool = False):
    """tr(U Gamma) and, when ``second``, tr((U Gamma)^2), over the stacked groups (lavaan's
    "original" method, groups weighted as in ``lav_test_satorra_bentler_trace_original``)."""
    if not second:
        # tr(U Gamma) = sum_g tr(W_g Gamma_g) - tr(E^-1 sum_g f_g (W_g D_g)' Gamma_g W_g D_g):
        # no product of two statistics-by-statistics matrices (p(p+3)/2 square, ~1,000 at 43
        # items), which U Gamma needs
        tr1 = 0.0
        middle = np.zeros_like(e_inv)
        for d, w, gam, f in zip(parts.delta, parts.weight, parts.gamma, parts.frac):
            wd = w @ d
            tr1 += float(np.sum(w * gam.T))
            middle += f * wd.T @ gam @ wd
        return tr1 - float(np.sum(e_inv * middle.T)), float("nan")
    v = linalg.block_diag(*[f * w for w, f in zip(parts.weight, parts.frac)])
    gam = linalg.block_diag(*[g / f for g, f in zip(parts.gamma, parts.frac)])
    d = np.vstack(parts.delta)
    vd = v @ d
    u = v - vd @ e_inv @ vd.T
    ug = u @ gam
    tr1 = float(np.trace(ug))
    tr2 = float(np.sum(ug * ug.T)) if second else float("nan")
    return tr1, tr2


def available_case_gamma(x: np.ndarray) -> np.ndarray:
    """ADF Gamma of (means, vech of cross-products) from data with missing values, each
    element over the cases where it is observed and divided by N (lavaan's
    ``lav_samplestats_Gamma`` on incomplete data, which is the Gamma lavaan's two-stage
    baseline model is scaled with)."""
    n, p = x.shape
    vi, vj = vech_index(p)
    yc = x - np.nanmean(x, axis=0)
    z = np.hstack([x, yc[:, vj] * yc[:, vi]])
    zc = z - np.nanmean(z, axis=0)
    zc = np.where(np.isnan(zc), 0.0, zc)
    return zc.T @ zc / n
