"""Ordinal confirmatory factor analysis by WLSMV, as lavaan's ``cfa(model, data, ordered = TRUE)``.

The items are taken as coarse readings of normal latent responses y* (delta parameterization:
var(y*) = 1). Estimation follows lavaan (Muthén 1984; Muthén, du Toit and Spisic 1997):

1. Thresholds of each item from its marginal proportions, ``tau_k = Phi^-1(P(y <= k))``.
2. Polychoric correlation of each item pair: the rho that maximises the bivariate-normal
   likelihood of the pair's table with the thresholds held fixed (two-step estimator).
3. The asymptotic covariance ``Gamma`` of the statistics s = (thresholds, correlations) from the
   case-wise scores of the two steps (lavaan's ``muthen1984``): with A the (outer-product)
   Jacobian of the estimating equations and B the cross-product of the scores,
   ``Gamma = N A^-1 B A^-T``.
4. DWLS: minimise ``F = (s - sigma(theta))' W (s - sigma(theta))`` with ``W = diag(Gamma)^-1``,
   where sigma(theta) holds the model thresholds and the implied correlations
   ``Lambda Psi Lambda' + Theta`` off the diagonal.
5. Robust standard errors ``E^-1 Delta' W Gamma W Delta E^-1 / N`` (E = Delta' W Delta) and the
   chi-square ``T = N F`` adjusted for mean and variance by lavaan's "scaled.shifted" rule:
   ``a = sqrt(df / tr((U Gamma)^2))``, ``T_scaled = a T + df - a tr(U Gamma)`` with
   ``U = W - W Delta E^-1 Delta' W`` (the WLSMV default in lavaan 0.6).

Rows with a missing item are dropped (lavaan's default listwise deletion). Multi-group models
(``invariance(..., ordered=True)``) follow lavaan's ``group.equal`` conventions for ordered items.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import optimize

from acap import _dist
from scipy.special import ndtr, ndtri

from acap.errors import AcapInputError
from acap.factor._sem import FreeIndex
from acap.factor._robust import RobustParts, sandwich, ugamma_traces
from acap.factor.polychoric import bvn_cdf
from acap.factor.syntax import parse_model
from acap.itemdata import numeric_items

__all__ = ["fit_ordinal", "ordinal_statistics", "OrdinalStats"]

_RHO_MAX = 0.999  # lavaan bounds the two-step polychoric estimate to [-0.999, 0.999]
_MAX_CATEGORIES = 10


# ---------------------------------------------------------------------------------------
# stage one and two: thresholds, polychoric correlations, and their asymptotic covariance
# ---------------------------------------------------------------------------------------
class OrdinalStats:
    """Sample statistics of one group for WLSMV.

    Attributes: ``n``, ``codes`` (n, p) category indices 0..K_j-1, ``levels`` (the observed
    values of each item), ``tau`` (list of threshold arrays), ``rho`` (p, p) polychoric
    correlations, ``s`` the statistics vector (thresholds item by item, then the correlations
    in lavaan's order: below the diagonal, column by column), ``gamma`` (N x the asymptotic
    covariance of s), ``pairs`` the (row, column) item indices of the correlations.
    """

    def __init__(self, label, n, codes, levels, tau, rho, gamma, pairs):
        self.label = label
        self.n = n
        self.codes = codes
        self.levels = levels
        self.tau = tau
        self.rho = rho
        self.gamma = gamma
        self.pairs = pairs
        p = len(tau)
        self.nth = int(sum(len(t) for t in tau))
        self.s = np.concatenate([np.concatenate(tau), rho[pairs[:, 0], pairs[:, 1]]])
        self.p = p


def _pairs(p: int) -> np.ndarray:
    """(i, j), i > j, in lavaan's vech order without the diagonal (column by column)."""
    return np.array([(i, j) for j in range(p) for i in range(j + 1, p)], dtype=int).reshape(-1, 2)


def _phi2(h, k, r):
    """Bivariate normal density, 0 where h or k is infinite."""
    fin = np.isfinite(h) & np.isfinite(k)
    hh = np.where(fin, h, 0.0)
    kk = np.where(fin, k, 0.0)
    s2 = 1.0 - r * r
    val = np.exp(-(hh * hh - 2.0 * r * hh * kk + kk * kk) / (2.0 * s2)) / (2.0 * np.pi * np.sqrt(s2))
    return np.where(fin, val, 0.0)


def _cells(t1, t2, rho):
    """Cell probabilities and their derivatives for a stack of bivariate tables.

    t1, t2: (m, K+1) extended thresholds (-inf, tau..., +inf padded with +inf); rho: (m,).
    Returns P (m, K, K), dP/drho (m, K, K), Q1 (m, K+1, K) and Q2 (m, K, K+1), where
    Q1[:, a, b] = dPhi2(t1_a, t2_{b+1}) / dt1_a - dPhi2(t1_a, t2_b) / dt1_a (and Q2 alike).
    """
    r = rho[:, None, None]
    h = t1[:, :, None]
    k = t2[:, None, :]
    big = bvn_cdf(h, k, r)
    p = np.diff(np.diff(big, axis=1), axis=2)
    g = _phi2(h, k, r)
    dp = np.diff(np.diff(g, axis=1), axis=2)
    s = np.sqrt(1.0 - r * r)
    with np.errstate(invalid="ignore"):
        # d Phi2(h, k) / dh = phi(h) Phi((k - r h) / s); 0 at infinite h
        hf = np.where(np.isfinite(h), h, 0.0)
        d1 = np.where(np.isfinite(h), _dist.norm_pdf(hf) * ndtr((k - r * hf) / s), 0.0)
        kf = np.where(np.isfinite(k), k, 0.0)
        d2 = np.where(np.isfinite(k), _dist.norm_pdf(kf) * ndtr((h - r * kf) / s), 0.0)
    q1 = np.diff(d1, axis=2)  # (m, K+1, K)
    q2 = np.diff(d2, axis=1)  # (m, K, K+1)
    return p, dp, q1, q2


def ordinal_statistics(frame: pd.DataFrame, label: str = "all", where: str = "data") -> OrdinalStats:
    """Thresholds, polychoric correlations and Gamma of complete ordinal data (one group)."""
    n, p = frame.shape
    codes = np.empty((n, p), dtype=np.int64)
    levels = []
    for j, col in enumerate(frame.columns):
        v = frame[col].to_numpy(float)
        lv = np.unique(v)
        if len(lv) < 2:
            raise AcapInputError("has a single observed category; an ordinal item needs two or "
                                 "more", f"{where}, item {col!r}")
        if len(lv) > _MAX_CATEGORIES:
            raise AcapInputError(f"has {len(lv)} distinct values; ordered items are meant for "
                                 f"scales of at most {_MAX_CATEGORIES} categories",
                                 f"{where}, item {col!r}")
        codes[:, j] = np.searchsorted(lv, v)
        levels.append(lv)
    kmax = max(len(lv) for lv in levels)
    tau = []
    ext = np.full((p, kmax + 1), np.inf)
    ext[:, 0] = -np.inf
    for j in range(p):
        counts = np.bincount(codes[:, j], minlength=len(levels[j]))
        t = ndtri(np.cumsum(counts)[:-1] / n)
        tau.append(t)
        ext[j, 1:len(t) + 1] = t
    pairs = _pairs(p)
    m = len(pairs)
    ii, jj = pairs[:, 0], pairs[:, 1]
    t1, t2 = ext[ii], ext[jj]
    # pair tables (m, K, K) through one-hot cross products
    onehot = np.zeros((n, p, kmax))
    onehot[np.arange(n)[:, None], np.arange(p)[None, :], codes] = 1.0
    flat = onehot.reshape(n, p * kmax)
    tabs = (flat.T @ flat).reshape(p, kmax, p, kmax)[ii, :, jj, :]
    # Fisher scoring for rho, all pairs at once, from the (clipped) Pearson correlation of codes
    rho = np.clip(np.corrcoef(codes.T)[ii, jj] if p > 1 else np.zeros(0), -0.9, 0.9)
    rho = np.nan_to_num(rho)
    for _ in range(200):
        prob, dprob, _, _ = _cells(t1, t2, rho)
        pos = prob > 0
        safe = np.where(pos, prob, 1.0)
        score = np.sum(np.where(pos, tabs * dprob / safe, 0.0), axis=(1, 2))
        info = n * np.sum(np.where(pos, dprob * dprob / safe, 0.0), axis=(1, 2))
        step = score / info
        new = np.clip(rho + step, -_RHO_MAX, _RHO_MAX)
        done = np.max(np.abs(new - rho)) < 1e-13 if m else True
        rho = new
        if done:
            break
    r = np.eye(p)
    r[ii, jj] = rho
    r[jj, ii] = rho
    gamma = _gamma(n, codes, tau, ext, pairs, rho, tabs)
    return OrdinalStats(label, n, codes, levels, tau, r, gamma, pairs)


def _gamma(n, codes, tau, ext, pairs, rho, tabs):
    """N x asymptotic covariance of (thresholds, correlations), as lavaan's ``muthen1984``."""
    p = len(tau)
    kmax = ext.shape[1] - 1
    th_start = np.concatenate([[0], np.cumsum([len(t) for t in tau])])
    nth = int(th_start[-1])
    m = len(pairs)
    # univariate scores: d log P(y = a) / d tau_k = phi(tau_k) ([a = k-1] - [a = k]) / P(a)
    sc_th = np.zeros((n, nth))
    for j in range(p):
        t = ext[j, : len(tau[j]) + 2]
        prob = np.diff(ndtr(t))
        dens = _dist.norm_pdf(tau[j])
        c = codes[:, j]
        for k in range(len(tau[j])):
            # threshold k (0-based) is the upper bound of category k, lower bound of k + 1
            col = th_start[j] + k
            sc_th[c == k, col] = dens[k] / prob[k]
            sc_th[c == k + 1, col] = -dens[k] / prob[k + 1]
    ii, jj = pairs[:, 0], pairs[:, 1]
    prob, dprob, q1, q2 = _cells(ext[ii], ext[jj], rho)
    pos = prob > 0
    safe = np.where(pos, prob, 1.0)
    drho = np.where(pos, dprob / safe, 0.0)  # (m, K, K) score of rho per cell
    sc_cor = drho[np.arange(m)[None, :], codes[:, ii], codes[:, jj]]  # (n, m)
    # A21: outer products of the rho score with the bivariate threshold scores, per cell
    a21 = np.zeros((m, nth))
    for k in range(kmax - 1):
        # threshold k of the row item: + for cells in row k, - for cells in row k + 1
        d1 = np.zeros_like(prob)
        d1[:, k, :] = q1[:, k + 1, :]
        d1[:, k + 1, :] -= q1[:, k + 1, :]
        v1 = np.sum(tabs * drho * np.where(pos, d1 / safe, 0.0), axis=(1, 2))
        d2 = np.zeros_like(prob)
        d2[:, :, k] = q2[:, :, k + 1]
        d2[:, :, k + 1] -= q2[:, :, k + 1]
        v2 = np.sum(tabs * drho * np.where(pos, d2 / safe, 0.0), axis=(1, 2))
        ok1 = k < np.array([len(tau[i]) for i in ii])
        ok2 = k < np.array([len(tau[j]) for j in jj])
        a21[np.arange(m)[ok1], th_start[ii[ok1]] + k] = v1[ok1]
        a21[np.arange(m)[ok2], th_start[jj[ok2]] + k] = v2[ok2]
    sc = np.hstack([sc_th, sc_cor])
    inner = sc.T @ sc
    a11_inv = np.zeros((nth, nth))
    for j in range(p):
        idx = slice(th_start[j], th_start[j + 1])
        a11_inv[idx, idx] = np.linalg.inv(inner[idx, idx])
    a22_inv = 1.0 / np.sum(sc_cor * sc_cor, axis=0)
    b_inv = np.zeros((nth + m, nth + m))
    b_inv[:nth, :nth] = a11_inv
    b_inv[nth:, :nth] = -(a22_inv[:, None] * a21) @ a11_inv
    b_inv[nth:, nth:] = np.diag(a22_inv)
    return n * (b_inv @ inner @ b_inv.T)


# ---------------------------------------------------------------------------------------
# the model: delta parameterization, one or more groups
# ---------------------------------------------------------------------------------------
class _Model:
    """Free parameters and implied statistics of an ordinal factor model.

    Per group: loadings Lambda (p x m), latent covariances Psi, residual covariances between
    items (off the diagonal), thresholds, and (with equal thresholds across groups) latent
    means alpha and scale factors delta (lavaan's ``~*~``), as lavaan's ``group.equal`` sets
    them free. The implied statistics of group g are

        mu* = Lambda alpha,  Sigma* = Lambda Psi Lambda' + Theta,
        diag(Theta) = 1 / delta^2 - diag(Lambda Psi Lambda')   (delta parameterization)
        thresholds: delta (tau - mu*),  correlations: delta Sigma* delta off the diagonal.
    """

    def __init__(self, spec, items, factors, stats_, group_equal, res_covs):
        self.items, self.factors, self.stats = items, factors, stats_
        p, m, g_n = len(items), len(factors), len(stats_)
        self.p, self.m, self.ngroups = p, m, g_n
        eq_th = "thresholds" in group_equal
        eq_load = "loadings" in group_equal
        rows = []  # (group, kind, r, c, lhs, op, rhs, free index or -1, fixed value)
        index = FreeIndex()

        def add(g, kind, r, c, lhs, op, rhs, free, value, key=None):
            rows.append((g, kind, r, c, lhs, op, rhs, index(free, key), value))

        for g in range(g_n):
            for j, f in enumerate(factors):
                for it in spec.factors[f]:
                    i = items.index(it)
                    free, value = spec.loading(f, it)
                    add(g, "lambda", i, j, f, "=~", it, free, value,
                        ("lambda", i, j) if eq_load else None)
            for i, it in enumerate(items):
                for k in range(len(stats_[g].tau[i])):
                    add(g, "tau", i, k, it, "|", f"t{k + 1}", True, 0.0,
                        ("tau", i, k) if eq_th else None)
            for i, it in enumerate(items):
                add(g, "theta", i, i, it, "~~", it, False, 0.0)  # implied (delta param)
            for a, b in res_covs:
                add(g, "theta", max(a, b), min(a, b), items[a], "~~", items[b], True, 0.0)
            for j in range(m):
                free, value = spec.latent(factors[j], factors[j])
                add(g, "psi", j, j, factors[j], "~~", factors[j], free, value)
            for j in range(m):
                for k in range(j + 1, m):
                    free, value = spec.latent(factors[j], factors[k])
                    add(g, "psi", k, j, factors[j], "~~", factors[k], free, value)
            for i, it in enumerate(items):
                # scale factors: free beyond the first group once thresholds are equal
                add(g, "delta", i, i, it, "~*~", it, eq_th and g > 0, 1.0)
            for i, it in enumerate(items):
                add(g, "nu", i, 0, it, "~1", "", False, 0.0)
            for j in range(m):
                add(g, "alpha", j, 0, factors[j], "~1", "", eq_th and g > 0, 0.0)
        self.table = pd.DataFrame(rows, columns=["group", "kind", "row", "col", "lhs", "op",
                                                 "rhs", "free", "value"])
        self.nfree = index.count
        self._by_group = [self.table[self.table["group"] == g] for g in range(g_n)]

    def matrices(self, x, g):
        p, m = self.p, self.m
        lam = np.zeros((p, m))
        theta = np.zeros((p, p))
        psi = np.zeros((m, m))
        delta = np.ones(p)
        alpha = np.zeros(m)
        tau = [np.zeros(len(t)) for t in self.stats[g].tau]
        for kind, r, c, f, v in zip(*(self._by_group[g][k] for k in
                                      ("kind", "row", "col", "free", "value"))):
            val = x[f] if f >= 0 else v
            if kind == "lambda":
                lam[r, c] = val
            elif kind == "theta" and r != c:
                theta[r, c] = theta[c, r] = val
            elif kind == "psi":
                psi[r, c] = psi[c, r] = val
            elif kind == "delta":
                delta[r] = val
            elif kind == "alpha":
                alpha[r] = val
            elif kind == "tau":
                tau[r][c] = val
        return lam, theta, psi, delta, alpha, tau

    def implied(self, x, g):
        """(thresholds vector, correlation matrix, Sigma* diagonal implied residuals)."""
        lam, theta, psi, delta, alpha, tau = self.matrices(x, g)
        common = lam @ psi @ lam.T
        sigma = common + theta
        np.fill_diagonal(sigma, 1.0 / delta ** 2)
        mu = lam @ alpha
        th = np.concatenate([delta[i] * (tau[i] - mu[i]) for i in range(self.p)])
        corr = delta[:, None] * sigma * delta[None, :]
        return th, corr, sigma

    def sigma_vec(self, x, g):
        th, corr, _ = self.implied(x, g)
        pr = self.stats[g].pairs
        return np.concatenate([th, corr[pr[:, 0], pr[:, 1]]])

    def jacobian(self, x, g, h=1e-6):
        """d sigma_g / d x' by central differences (the model is a low-order polynomial)."""
        base = self.sigma_vec(x, g)
        out = np.empty((len(base), self.nfree))
        for k in range(self.nfree):
            e = np.zeros(self.nfree)
            e[k] = h * max(1.0, abs(x[k]))
            out[:, k] = (self.sigma_vec(x + e, g) - self.sigma_vec(x - e, g)) / (2 * e[k])
        return out

    def start(self):
        x = np.zeros(self.nfree)
        cnt = np.zeros(self.nfree)
        for g, st in enumerate(self.stats):
            sub = self._by_group[g]
            lam = np.zeros((self.p, self.m))
            psi = np.ones(self.m)
            for j in range(self.m):
                blk = sub[(sub["kind"] == "lambda") & (sub["col"] == j)]
                idx = blk["row"].to_numpy(int)
                vals, vecs = np.linalg.eigh(st.rho[np.ix_(idx, idx)])
                load = vecs[:, -1] * math.sqrt(max(vals[-1], 1e-6))
                if load.sum() < 0:
                    load = -load
                load = np.clip(load, 0.2, 0.95)
                fixed = blk[(blk["free"] < 0) & (blk["value"] != 0)]
                if len(fixed):
                    mk = int(np.nonzero(idx == int(fixed["row"].iloc[0]))[0][0])
                    lam[idx, j] = load / load[mk] * float(fixed["value"].iloc[0])
                    psi[j] = (load[mk] / float(fixed["value"].iloc[0])) ** 2
                else:
                    lam[idx, j] = load
            for kind, r, c, f in zip(sub["kind"], sub["row"], sub["col"], sub["free"]):
                if f < 0:
                    continue
                v = {"lambda": lambda: lam[r, c], "psi": lambda: psi[r] if r == c else 0.0,
                     "tau": lambda: st.tau[r][c], "delta": lambda: 1.0}.get(kind, lambda: 0.0)()
                x[f] += v
                cnt[f] += 1
        return x / np.maximum(cnt, 1)


def _weights(stats_):
    return [1.0 / np.diag(st.gamma) for st in stats_]


def _dwls(model: _Model, weights, frac):
    """Minimise sum_g f_g (s_g - sigma_g)' W_g (s_g - sigma_g) by Gauss-Newton (least squares)."""
    sw = [np.sqrt(f * w) for f, w in zip(frac, weights)]

    def resid(x):
        return np.concatenate([s * (st.s - model.sigma_vec(x, g))
                               for g, (st, s) in enumerate(zip(model.stats, sw))])

    def jac(x):
        return np.vstack([-s[:, None] * model.jacobian(x, g) for g, s in enumerate(sw)])

    sol = optimize.least_squares(resid, model.start(), jac=jac, method="lm", xtol=1e-15,
                                 ftol=1e-15, gtol=1e-15, max_nfev=2000)
    return sol.x, float(np.sum(sol.fun ** 2)), int(sol.nfev), bool(sol.status > 0)


# ---------------------------------------------------------------------------------------
# the fit
# ---------------------------------------------------------------------------------------
_GROUP_EQUAL = ("thresholds", "loadings", "intercepts")


def _prepare(data, model, group, covariances):
    from acap.factor.cfa import _checked_input, _group_parts  # one rule for both estimators

    data, spec, _, factors, items, pairs = _checked_input(data, model, group, covariances)
    frame = numeric_items(data[items], "data", min_items=1, min_rows=0)
    if group is not None:
        frame[group] = data[group]
    frame = frame.dropna()  # listwise deletion, lavaan's default for ordered items
    parts = _group_parts(data, frame, group)
    stats_ = []
    for lab, part in parts:
        where = "data" if group is None else f"group {group!r} = {lab!r}"
        if len(part) < len(items) + 1:
            raise AcapInputError(f"has {len(part)} complete rows; at least {len(items) + 1} "
                                 "(items + 1) are needed", where)
        stats_.append(ordinal_statistics(part[items], str(lab), where))
    if len(stats_) > 1:
        for i, it in enumerate(items):
            lv = [tuple(st.levels[i]) for st in stats_]
            if any(v != lv[0] for v in lv):
                raise AcapInputError("does not have the same observed categories in every group "
                                     "(lavaan refuses empty categories too): "
                                     + "; ".join(f"{st.label}: {list(st.levels[i])}"
                                                 for st in stats_), f"item {it!r}")
    return spec, items, factors, pairs, stats_


def _test(model, x, stats_, weights, frac, n, deltas=None):
    """Scaled-and-shifted test pieces: (T, df, a, shift) for the model at x."""
    deltas = deltas if deltas is not None else [model.jacobian(x, g) for g in range(model.ngroups)]
    gammas = [st.gamma for st in stats_]
    wmats = [np.diag(w) for w in weights]
    parts = RobustParts(deltas, wmats, gammas, frac)
    e_inv = np.linalg.inv(sum(f * d.T @ w @ d for d, w, f in zip(deltas, wmats, frac)))
    return parts, e_inv


def fit_ordinal(data, model, *, group=None, group_equal=(), covariances=(), ordered=True):
    """WLSMV fit of an ordinal factor model (called by :func:`acap.factor.cfa` with ``ordered``).

    Returns a :class:`acap.factor.cfa.CFAResult` whose ``fit`` holds ``chisq``, ``df``,
    ``pvalue``, ``chisq_scaled``, ``df_scaled``, ``pvalue_scaled``, ``cfi``, ``tli``,
    ``cfi_scaled``, ``tli_scaled``, ``rmsea``, ``rmsea_scaled``, ``srmr`` and the baseline
    statistics, and whose ``thresholds`` table holds item, threshold, (group,) est, se.
    """
    from acap.factor.cfa import CFAResult, FitMeasures, _checked_group_equal, _incremental

    if ordered is not True and not (isinstance(ordered, (list, tuple))):
        raise AcapInputError("ordered must be True or a list of the model's items", "ordered")
    group_equal = _checked_group_equal(group_equal, group, _GROUP_EQUAL)
    spec, items, factors, pairs, stats_ = _prepare(data, model, group, covariances)
    if isinstance(ordered, (list, tuple)) and set(ordered) != set(items):
        raise AcapInputError("WLSMV here treats every item of the model as ordinal; list them "
                             "all or pass ordered=True", "ordered")
    mdl = _Model(spec, items, factors, stats_, tuple(group_equal), pairs)
    g_n = len(stats_)
    n = int(sum(st.n for st in stats_))
    frac = np.array([st.n / n for st in stats_])
    nstat = sum(len(st.s) for st in stats_)
    df = nstat - mdl.nfree
    if df < 0:
        raise AcapInputError(f"the model has more parameters ({mdl.nfree}) than statistics "
                             f"({nstat}); it is not identified", "model")
    weights = _weights(stats_)
    with np.errstate(all="ignore"):
        x, fval, iters, converged = _dwls(mdl, weights, frac)
    if not converged:
        warnings.warn("WLSMV did not converge; estimates may be unreliable", RuntimeWarning,
                      stacklevel=3)
    deltas = [mdl.jacobian(x, g) for g in range(g_n)]
    parts, e_inv = _test(mdl, x, stats_, weights, frac, n, deltas)
    # lavaan's conventions for these estimators (measured against it): the chi-square is
    # (N - G) F and the standard errors divide by N - G, G the number of groups
    nfac = n - g_n
    vcov = sandwich(parts, e_inv, nfac)
    chisq = nfac * fval
    tr1, tr2 = ugamma_traces(parts, e_inv, second=True)
    if df > 0:
        a = math.sqrt(df / tr2)
        shift = df - a * tr1
    else:
        a, shift = 1.0, 0.0
    chisq_s = a * chisq + shift if df > 0 else chisq
    # baseline: thresholds free, correlations zero
    base = 0.0
    bdeltas = []
    nth_all = [st.nth for st in stats_]
    for g, st in enumerate(stats_):
        nc = len(st.s) - st.nth
        base += nfac * frac[g] * float(np.sum(weights[g][st.nth:] * st.s[st.nth:] ** 2))
        d = np.zeros((len(st.s), sum(nth_all)))
        off = sum(nth_all[:g])
        d[np.arange(st.nth), off + np.arange(st.nth)] = 1.0
        bdeltas.append(d)
    base_df = float(sum(len(st.s) - st.nth for st in stats_))
    bparts = RobustParts(bdeltas, [np.diag(w) for w in weights], [st.gamma for st in stats_],
                         frac)
    be_inv = np.linalg.inv(sum(f * d.T @ w @ d for d, w, f in
                               zip(bdeltas, bparts.weight, frac)))
    btr1, btr2 = ugamma_traces(bparts, be_inv, second=True)
    ba = math.sqrt(base_df / btr2)
    base_s = ba * base + base_df - ba * btr1
    cfi, tli = _incremental(chisq, df, base, base_df)
    cfi_s, tli_s = _incremental(chisq_s, df, base_s, base_df)

    def rmsea(t):
        # as the chi-square, N - G (N - 1 with one group: lavaan's value; not checked for
        # several groups, where the test data fit too well for RMSEA to leave 0)
        return math.sqrt(max((t - df) / (nfac * df), 0.0)) * math.sqrt(g_n) if df > 0 else 0.0

    srmr = 0.0
    for g, st in enumerate(stats_):
        _, corr, _ = mdl.implied(x, g)
        res = (st.rho - corr)[np.tril_indices(mdl.p, -1)]
        # lavaan averages over p (p + 1) / 2 elements, the (zero) diagonal residuals included
        srmr += frac[g] * math.sqrt(np.sum(res ** 2) / (mdl.p * (mdl.p + 1) / 2))
    fit = FitMeasures(dict(
        n=float(n), ngroups=float(g_n), npar=float(mdl.nfree), fmin=fval / 2, chisq=chisq,
        df=float(df), pvalue=float(_dist.chi2_sf(chisq, df)) if df > 0 else float("nan"),
        chisq_scaled=chisq_s, df_scaled=float(df),
        pvalue_scaled=float(_dist.chi2_sf(chisq_s, df)) if df > 0 else float("nan"),
        chisq_scaling_factor=1.0 / a, chisq_shift=shift,
        baseline_chisq=base, baseline_df=base_df, baseline_chisq_scaled=base_s,
        cfi=cfi, tli=tli, cfi_scaled=cfi_s, tli_scaled=tli_s, rmsea=rmsea(chisq),
        rmsea_scaled=rmsea(chisq_s), srmr=srmr))
    return _result(mdl, x, vcov, fit, converged, iters,
                   state=("wlsmv", deltas, [np.diag(w) for w in weights],
                          [st.gamma for st in stats_], frac))


def _result(mdl, x, vcov, fit, converged, iters, state=None):
    from acap.factor.cfa import CFAResult

    se_free = np.sqrt(np.clip(np.diag(vcov), 0, None))
    rows = []
    labels = tuple(st.label for st in mdl.stats)
    for g in range(mdl.ngroups):
        lam, theta, psi, delta, alpha, tau = mdl.matrices(x, g)
        _, corr, sigma = mdl.implied(x, g)
        common = lam @ psi @ lam.T
        sd_lv = np.sqrt(np.maximum(np.diag(psi), 0))
        sd_ov = np.sqrt(np.diag(sigma))
        sub = mdl.table[mdl.table["group"] == g]
        for rec in sub.itertuples(index=False):
            if rec.free >= 0:
                est, se = float(x[rec.free]), float(se_free[rec.free])
            else:
                est, se = float(rec.value), 0.0
            r, c = rec.row, rec.col
            if rec.kind == "theta" and r == c:
                est = float(sigma[r, r] - common[r, r])  # implied residual variance
            if rec.kind == "lambda":
                std_lv, std_all = est * sd_lv[c], est * sd_lv[c] / sd_ov[r]
            elif rec.kind == "psi":
                std_lv = std_all = est / (sd_lv[r] * sd_lv[c])
            elif rec.kind == "theta":
                std_lv = est
                std_all = est / sigma[r, r] if r == c else est / math.sqrt(
                    (sigma[r, r] - common[r, r]) * (sigma[c, c] - common[c, c]))
            elif rec.kind == "tau":
                std_lv, std_all = est, est / sd_ov[r]
            elif rec.kind == "alpha":
                std_lv = std_all = est / sd_lv[r] if sd_lv[r] > 0 else float("nan")
            elif rec.kind == "delta":
                std_lv, std_all = est, 1.0
            else:
                std_lv = std_all = est
            rows.append((rec.lhs, rec.op, rec.rhs, g + 1, rec.kind, est, se, std_lv, std_all))
    params = pd.DataFrame(rows, columns=["lhs", "op", "rhs", "group", "kind", "est", "se",
                                         "std_lv", "std_all"])
    z = params["est"] / params["se"].where(params["se"] > 0)
    params.insert(7, "z", z)
    params.insert(8, "pvalue", 2 * _dist.norm_sf(z.abs()))
    lo = params[params["op"] == "=~"].rename(columns={"lhs": "factor", "rhs": "item",
                                                       "std_all": "std"})
    th = params[params["op"] == "|"].rename(columns={"lhs": "item", "rhs": "threshold"})
    if mdl.ngroups > 1:
        lo = lo.assign(group=[labels[g - 1] for g in lo["group"]])
        lo.index = [f"{f}=~{i} [{g}]" for f, i, g in zip(lo["factor"], lo["item"], lo["group"])]
        lo = lo[["factor", "item", "group", "est", "se", "std"]]
        th = th.assign(group=[labels[g - 1] for g in th["group"]])
        th.index = [f"{i}|{t} [{g}]" for i, t, g in zip(th["item"], th["threshold"], th["group"])]
        th = th[["item", "threshold", "group", "est", "se"]]
    else:
        lo.index = [f"{f}=~{i}" for f, i in zip(lo["factor"], lo["item"])]
        lo = lo[["factor", "item", "est", "se", "std"]]
        th.index = [f"{i}|{t}" for i, t in zip(th["item"], th["threshold"])]
        th = th[["item", "threshold", "est", "se"]]
    lo.index.name = "parameter"
    th.index.name = "parameter"
    implied = {}
    for g, st in enumerate(mdl.stats):
        thv, corr, _ = mdl.implied(x, g)
        implied[st.label] = (pd.DataFrame(corr, index=mdl.items, columns=mdl.items),
                             pd.Series(thv, index=[f"{it}|t{k + 1}" for i, it in
                                                   enumerate(mdl.items)
                                                   for k in range(len(st.tau[i]))],
                                       name="threshold"))
    return CFAResult(
        fit=fit, loadings=lo, params=params.drop(columns="kind"),
        model={f: tuple(v) for f, v in zip(mdl.factors, [
            tuple(mdl.table[(mdl.table["kind"] == "lambda") & (mdl.table["group"] == 0)
                            & (mdl.table["lhs"] == f)]["rhs"]) for f in mdl.factors])},
        groups=labels, nobs={st.label: st.n for st in mdl.stats}, converged=converged,
        iterations=iters, implied=implied, meanstructure=False, srmr_kind="srmr_bentler_nomean",
        estimator="WLSMV", thresholds=th, _state=state)


def scaled_difference(m1, m0) -> tuple[float, float, float]:
    """Scaled-and-shifted chi-square difference of nested WLSMV fits (m0 more restricted).

    lavaan's ``lavTestLRT`` default for these fits (method "satorra.2000" with
    ``scaled.shifted = TRUE``, A by the "delta" method): with Pi the stacked Jacobian of m1,
    P = Pi' W Pi its information and A spanning the constraints that turn m1 into m0,
    ``U = W Pi P^-1 A' (A P^-1 A')^- A P^-1 Pi' W``; ``a = sqrt(m / tr((U Gamma)^2))`` and
    ``T = a (T0 - T1) + m - a tr(U Gamma)``. Returns (T, m, p-value).
    """
    from scipy import linalg

    t1, r1 = m1.fit["chisq"], m1.fit["df"]
    t0, r0 = m0.fit["chisq"], m0.fit["df"]
    m = r0 - r1
    if m == 0:
        return t0 - t1, 0.0, float("nan")
    _, d1, w1, gam, frac = m1._state
    _, d0, _, _, _ = m0._state
    pi1, pi0 = np.vstack(d1), np.vstack(d0)
    h = np.linalg.pinv(pi1) @ pi0
    a_mat = linalg.null_space(h.T).T
    p_mat = sum(f * d.T @ w @ d for d, w, f in zip(d1, w1, frac))
    p_inv = np.linalg.inv(p_mat)
    apa = a_mat @ p_inv @ a_mat.T
    mid = p_inv @ a_mat.T @ np.linalg.pinv(apa) @ a_mat @ p_inv
    tr1 = sum(f * np.trace(w @ g @ w @ d @ mid @ d.T) for d, w, g, f in zip(d1, w1, gam, frac))
    v_all = linalg.block_diag(*w1)
    g_all = linalg.block_diag(*[f * g for g, f in zip(gam, frac)])
    u_all = v_all @ pi1 @ mid @ pi1.T @ v_all
    ug = u_all @ g_all
    tr2 = float(np.trace(ug @ ug))
    a = math.sqrt(m / tr2)
    stat = (t0 - t1) * a + m - a * tr1
    return stat, float(m), float(_dist.chi2_sf(stat, m))
