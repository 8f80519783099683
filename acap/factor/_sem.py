"""Maximum-likelihood engine for confirmatory factor models (single and multiple groups).

The model for group g is the usual LISREL-style measurement model with a mean structure::

    Sigma_g = Lambda_g Psi_g Lambda_g' + Theta_g,    mu_g = nu_g + Lambda_g alpha_g

Every parameter lives in a long parameter table (one row per matrix element per group);
rows that share a ``free`` index are one parameter, which is how equality constraints across
groups are expressed (a reparametrisation: the standard errors equal those of a Lagrangian
treatment of the same linear constraints).

Everything works from sufficient statistics (group sizes, means and biased covariances; for
full-information ML, the same per missing-data pattern), so the cost of a fit does not depend
on N. The discrepancy per group is

    F_g = log|Sigma| + tr(S Sigma^-1) - log|S| - p + (m - mu)' Sigma^-1 (m - mu)

and the total F = sum_g (N_g / N) F_g, so that chi-square = N F (normal likelihood, N not N-1).
With missing data F_g is the pattern-weighted sum of the same terms on the observed items,
minus its value at the EM estimates of the unrestricted model.

F is minimised by Fisher scoring (the expected Hessian of F is 2 x the unit expected
information) with step halving, then Newton steps on a finite-difference Hessian of the
analytic gradient (scoring alone converges only linearly when the model misfits), with
L-BFGS-B as a last resort.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg, optimize

KINDS = ("lambda", "theta", "psi", "nu", "alpha")


LOG2PI = float(np.log(2.0 * np.pi))


@dataclass
class Pattern:
    """Rows of one group sharing a missing-data pattern: observed items and their moments."""

    obs: np.ndarray
    n: int
    mean: np.ndarray
    cov: np.ndarray  # biased, over the pattern's rows


@dataclass
class GroupStats:
    """Sufficient statistics of one group.

    Complete data: sample means and biased covariance (as in the ML likelihood). Full-
    information ML: ``patterns`` holds per-pattern moments and ``mean``/``cov`` are the EM
    estimates of the unrestricted (h1) model, which play the sample moments' role in SRMR.
    """

    label: str
    n: int
    mean: np.ndarray
    cov: np.ndarray
    patterns: list[Pattern] | None = None
    baseline_loglik: float = 0.0
    #: two-stage ML: the missing-data patterns behind the EM moments (mean, cov), kept for the
    #: sandwich standard errors; the fit itself treats mean and cov as complete-data moments
    stage1: list[Pattern] | None = None
    #: two-stage ML: the available-case ADF Gamma lavaan uses for the baseline model's scaling
    stage1_adf: np.ndarray | None = None
    #: quantities that depend on the statistics only (two-stage weight and Gamma), kept once
    #: computed for the next model fitted to the same statistics (the invariance steps)
    derived: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        p = len(self.mean)
        if self.patterns is None:
            self.cov_chol = np.linalg.cholesky(self.cov)
            ld = np.linalg.slogdet(self.cov)[1]
            self.h1_const = ld + p  # F_g at the saturated model
            self.h1_loglik = -0.5 * self.n * (p * LOG2PI + ld + p)
            self.baseline_loglik = -0.5 * self.n * (p * LOG2PI + np.log(np.diag(self.cov)).sum()
                                                    + p)
        else:
            self.blocks = pattern_blocks(self.patterns, self.n)
            value = pattern_value(self.cov, self.mean, self)
            self.h1_const = value
            self.h1_loglik = -0.5 * (self.n * value
                                     + sum(pt.n * len(pt.obs) for pt in self.patterns) * LOG2PI)


@dataclass
class PatternBlock:
    """Patterns with the same number of observed items, stacked for batched linear algebra."""

    obs: np.ndarray  # (k, q) observed item indices
    w: np.ndarray  # (k,) n_k / n_group
    mean: np.ndarray  # (k, q)
    cov: np.ndarray  # (k, q, q)

    @property
    def rows(self):
        return self.obs[:, :, None], self.obs[:, None, :]


def pattern_blocks(patterns: list[Pattern], n: int) -> list[PatternBlock]:
    sizes = sorted({len(pt.obs) for pt in patterns})
    out = []
    for q in sizes:
        pts = [pt for pt in patterns if len(pt.obs) == q]
        out.append(PatternBlock(np.array([pt.obs for pt in pts]),
                                np.array([pt.n / n for pt in pts]),
                                np.array([pt.mean for pt in pts]),
                                np.array([pt.cov for pt in pts])))
    return out


def pattern_value(sigma, mu, s: GroupStats):
    """sum_k (n_k / n) [log|Sigma_oo| + tr(Sigma_oo^-1 S_k) + d_k' Sigma_oo^-1 d_k], or None."""
    total = 0.0
    for b in s.blocks:
        sub = sigma[b.rows]
        try:
            low = np.linalg.cholesky(sub)
        except np.linalg.LinAlgError:
            return None
        d = b.mean - mu[b.obs]
        sol = np.linalg.solve(sub, np.concatenate([b.cov, d[:, :, None]], axis=2))
        tr = np.trace(sol[:, :, :-1], axis1=1, axis2=2)
        quad = np.einsum("ki,ki->k", d, sol[:, :, -1])
        ldet = 2.0 * np.log(np.diagonal(low, axis1=1, axis2=2)).sum(axis=1)
        total += b.w @ (ldet + tr + quad)
    return total


def pattern_derivs(sigma, mu, s: GroupStats):
    """dF_g/dSigma (p x p) and dF_g/dmu for FIML, embedding each pattern's block."""
    p = len(mu)
    gmat = np.zeros((p, p))
    gmu = np.zeros(p)
    for b in s.blocks:
        sinv = np.linalg.inv(sigma[b.rows])
        d = b.mean - mu[b.obs]
        outer = b.cov + d[:, :, None] * d[:, None, :]
        gk = sinv - sinv @ outer @ sinv
        flat = (b.obs[:, :, None] * p + b.obs[:, None, :]).ravel()
        gmat += np.bincount(flat, (b.w[:, None, None] * gk).ravel(), p * p).reshape(p, p)
        gmu += np.bincount(b.obs.ravel(), (b.w[:, None] * (-2.0 * np.einsum(
            "kij,kj->ki", sinv, d))).ravel(), p)
    return 0.5 * (gmat + gmat.T), gmu


def em_h1(patterns: list[Pattern], p: int, n: int, tol: float = 1e-11, max_iter: int = 10000):
    """EM estimates of the unrestricted mean vector and covariance matrix under MAR."""
    t1 = np.zeros(p)
    cnt = np.zeros(p)
    t2 = np.zeros(p)
    for pt in patterns:
        t1[pt.obs] += pt.n * pt.mean
        t2[pt.obs] += pt.n * (np.diag(pt.cov) + pt.mean ** 2)
        cnt[pt.obs] += pt.n
    mu = t1 / cnt
    sigma = np.diag(t2 / cnt - mu ** 2)
    allv = np.arange(p)
    # once: the observed sums of every pattern, and the incomplete patterns stacked by their
    # number of missing items, so that each iteration's E-step is a few batched products
    base1 = np.zeros(p)
    base2 = np.zeros((p, p))
    by_missing: dict[int, list] = {}
    for pt in patterns:
        o = pt.obs
        sx = pt.n * pt.mean
        sxx = pt.n * (pt.cov + np.outer(pt.mean, pt.mean))
        base1[o] += sx
        base2[np.ix_(o, o)] += sxx
        if len(o) < p:
            by_missing.setdefault(p - len(o), []).append((pt.n, o, np.setdiff1d(allv, o), sx, sxx))
    blocks = []
    for rows in by_missing.values():
        counts = np.array([r[0] for r in rows], float)
        o = np.array([r[1] for r in rows])
        u = np.array([r[2] for r in rows])
        flat_uo = (u[:, :, None] * p + o[:, None, :]).ravel()
        flat_ou = (o[:, None, :] * p + u[:, :, None]).ravel()
        blocks.append((counts, o, u, np.array([r[3] for r in rows]), np.array([r[4] for r in rows]),
                       u[:, :, None], u[:, None, :], o[:, None, :], u.ravel(),
                       np.concatenate([flat_uo, flat_ou]), (u[:, :, None] * p + u[:, None, :]).ravel()))
    for _ in range(max_iter):
        s1 = base1.copy()
        s2 = base2.ravel().copy()
        # the conditional distribution of the missing items given the observed ones, from the
        # precision matrix K: regression B = -K_uu^-1 K_uo, residual covariance K_uu^-1 (small
        # blocks, instead of solving with each pattern's observed block of Sigma)
        prec = np.linalg.inv(sigma)
        for counts, o, u, sx, sxx, u_r, u_c, o_c, u_flat, flat_x, flat_uu in blocks:
            c = np.linalg.inv(prec[u_r, u_c])
            b = -c @ prec[u_r, o_c]
            a = mu[u] - np.einsum("kmq,kq->km", b, mu[o])
            bsx = np.einsum("kmq,kq->km", b, sx)
            s1 += np.bincount(u_flat, (counts[:, None] * a + bsx).ravel(), p)
            uo = (b @ sxx + a[:, :, None] * sx[:, None, :]).ravel()
            s2 += np.bincount(flat_x, np.concatenate([uo, uo]), p * p)
            bsa = bsx[:, :, None] * a[:, None, :]
            uu = (b @ sxx @ b.transpose(0, 2, 1) + bsa + bsa.transpose(0, 2, 1)
                  + counts[:, None, None] * (a[:, :, None] * a[:, None, :] + c))
            s2 += np.bincount(flat_uu, uu.ravel(), p * p)
        s2 = s2.reshape(p, p)
        mu_new = s1 / n
        sigma_new = s2 / n - np.outer(mu_new, mu_new)
        sigma_new = 0.5 * (sigma_new + sigma_new.T)
        delta = max(np.max(np.abs(mu_new - mu)), np.max(np.abs(sigma_new - sigma)))
        mu, sigma = mu_new, sigma_new
        if delta < tol:
            break
    return mu, sigma


class FreeIndex:
    """Hands out parameter indices: -1 for a fixed value, a new index for a free one, the same
    index again for a free one whose key was seen before (an equality constraint)."""

    def __init__(self):
        self.count = 0
        self._shared: dict[tuple, int] = {}

    def __call__(self, free: bool, key: tuple | None = None) -> int:
        if not free:
            return -1
        if key is not None and key in self._shared:
            return self._shared[key]
        idx = self.count
        self.count += 1
        if key is not None:
            self._shared[key] = idx
        return idx


def build_table(factors, items, loadings, ngroups, equal_loadings=False,
                equal_intercepts=False, residual_covs=()):
    """Long parameter table in lavaan's order for ``cfa(..., meanstructure=TRUE)``.

    ``loadings`` is a list of (factor index, item index), the first item listed for a factor
    being its marker (loading fixed at 1), or a pair (list of (factor, item, free, value),
    {(j, k): (free, value)} for the latent (co)variances, k <= j) when the model fixes or frees
    values itself (lavaan's ``1*x``, ``NA*x``, ``f ~~ 1*f``). Latent means are fixed at 0,
    except that with equal intercepts they are free in every group but the first (lavaan's
    group.equal convention).
    """
    p, m = len(items), len(factors)
    if isinstance(loadings, tuple):
        loads, latent = loadings
    else:
        first = {}
        for j, i in loadings:
            first.setdefault(j, i)
        loads = [(j, i, first[j] != i, 0.0 if first[j] != i else 1.0) for j, i in loadings]
        latent = {}
    rows = []
    index = FreeIndex()

    def add(g, kind, r, c, lhs, op, rhs, free, value, share_key=None):
        rows.append(dict(lhs=lhs, op=op, rhs=rhs, group=g, kind=kind, row=r, col=c,
                         free=index(free, share_key), value=value))

    for g in range(ngroups):
        for j, i, free, value in loads:
            add(g, "lambda", i, j, factors[j], "=~", items[i], free, value,
                ("lambda", i, j) if equal_loadings else None)
        for i in range(p):
            add(g, "theta", i, i, items[i], "~~", items[i], True, 0.0)
        for a, b in residual_covs:
            add(g, "theta", max(a, b), min(a, b), items[a], "~~", items[b], True, 0.0)
        for j in range(m):
            free, value = latent.get((j, j), (True, 0.0))
            add(g, "psi", j, j, factors[j], "~~", factors[j], free, value)
        for j in range(m):
            for k in range(j + 1, m):
                free, value = latent.get((k, j), (True, 0.0))
                add(g, "psi", k, j, factors[j], "~~", factors[k], free, value)
        for i in range(p):
            add(g, "nu", i, 0, items[i], "~1", "", True, 0.0,
                ("nu", i) if equal_intercepts else None)
        for j in range(m):
            add(g, "alpha", j, 0, factors[j], "~1", "", equal_intercepts and g > 0, 0.0)
    table = pd.DataFrame(rows)
    table.attrs["nfree"] = index.count
    return table


def _columns(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """The parameter table's group, kind, row, col, free and value columns as numpy arrays."""
    return dict(group=table["group"].to_numpy(int), kind=table["kind"].to_numpy(object),
                row=table["row"].to_numpy(int), col=table["col"].to_numpy(int),
                free=table["free"].to_numpy(int), value=table["value"].to_numpy(float))


class Engine:
    """Implied moments, discrepancy, gradient and expected information for a parameter table."""

    def __init__(self, table: pd.DataFrame, p: int, m: int, stats: list[GroupStats]):
        self.table = table
        self.p, self.m = p, m
        self.stats = stats
        self.ngroups = len(stats)
        self.ntotal = int(sum(s.n for s in stats))
        self.weights = np.array([s.n / self.ntotal for s in stats])
        # the table's columns as arrays, read once (pandas filtering per group and kind cost
        # more than the small fits themselves)
        cols = _columns(table)
        self._cols = cols
        free_all = cols["free"]
        self.nfree = int(free_all.max()) + 1 if (free_all >= 0).any() else 0
        # per group, per kind: (rows, cols, free, value) arrays for fast filling
        self._parts = []
        self._free_rows = []
        for g in range(self.ngroups):
            in_g = cols["group"] == g
            parts = {}
            for kind in KINDS:
                sel = in_g & (cols["kind"] == kind)
                parts[kind] = (cols["row"][sel], cols["col"][sel], free_all[sel], cols["value"][sel])
            self._parts.append(parts)
            sel = in_g & (free_all >= 0)
            self._free_rows.append(list(zip(cols["kind"][sel].tolist(), cols["row"][sel].tolist(),
                                            cols["col"][sel].tolist(), free_all[sel].tolist())))

    # -- model matrices -------------------------------------------------------------------
    def matrices(self, x: np.ndarray, g: int):
        p, m = self.p, self.m
        parts = self._parts[g]

        def values(kind):
            r, c, f, v = parts[kind]
            out = v.copy()
            free = f >= 0
            out[free] = x[f[free]]
            return r, c, out

        lam = np.zeros((p, m))
        r, c, v = values("lambda")
        lam[r, c] = v
        theta = np.zeros((p, p))
        r, c, v = values("theta")
        theta[r, c] = v
        theta[c, r] = v
        psi = np.zeros((m, m))
        r, c, v = values("psi")
        psi[r, c] = v
        psi[c, r] = v
        nu = np.zeros(p)
        r, _, v = values("nu")
        nu[r] = v
        alpha = np.zeros(m)
        r, _, v = values("alpha")
        alpha[r] = v
        return lam, theta, psi, nu, alpha

    def implied(self, x: np.ndarray, g: int):
        lam, theta, psi, nu, alpha = self.matrices(x, g)
        return lam @ psi @ lam.T + theta, nu + lam @ alpha

    # -- discrepancy ----------------------------------------------------------------------
    def group_f(self, x: np.ndarray):
        """F_g per group, or None when some implied covariance is not positive definite."""
        out = np.empty(self.ngroups)
        for g, s in enumerate(self.stats):
            sigma, mu = self.implied(x, g)
            if not np.all(np.isfinite(sigma)):
                return None
            if s.patterns is not None:
                value = pattern_value(sigma, mu, s)
                if value is None or not np.isfinite(value):
                    return None
                out[g] = value - s.h1_const
                continue
            try:
                low = np.linalg.cholesky(sigma)
            except np.linalg.LinAlgError:
                return None
            ldet = 2.0 * np.log(np.diag(low)).sum()
            if not np.isfinite(ldet):
                return None
            d = s.mean - mu
            # tr(Sigma^-1 S) + d' Sigma^-1 d through the Cholesky factor
            a = linalg.solve_triangular(low, np.column_stack([s.cov_chol, d]), lower=True,
                                        check_finite=False)
            out[g] = ldet + np.sum(a * a) - s.h1_const
        return out

    def objective(self, x: np.ndarray) -> float:
        fg = self.group_f(x)
        return np.inf if fg is None else float(self.weights @ fg)

    # -- derivatives ----------------------------------------------------------------------
    def jacobian(self, x: np.ndarray, g: int, table: pd.DataFrame | None = None,
                 ncols: int | None = None):
        """d Sigma_g / d x (ncols, p, p) and d mu_g / d x (ncols, p).

        ``table`` (default: the model's) may be an extended table whose extra rows carry
        free indices beyond the model's, for modification indices.
        """
        ncols = self.nfree if ncols is None else ncols
        if table is None:
            rows = self._free_rows[g]
        else:
            cols = _columns(table)
            sel = (cols["group"] == g) & (cols["free"] >= 0)
            rows = list(zip(cols["kind"][sel].tolist(), cols["row"][sel].tolist(),
                            cols["col"][sel].tolist(), cols["free"][sel].tolist()))
        lam, theta, psi, nu, alpha = self.matrices(x[: self.nfree], g)
        p = self.p
        d_sigma = np.zeros((ncols, p, p))
        d_mu = np.zeros((ncols, p))
        lp = lam @ psi
        for kind, r, c, f in rows:
            if kind == "lambda":
                v = lp[:, c]
                d_sigma[f, r, :] += v
                d_sigma[f, :, r] += v
                d_mu[f, r] += alpha[c]
            elif kind == "theta":
                d_sigma[f, r, c] += 1.0
                if r != c:
                    d_sigma[f, c, r] += 1.0
            elif kind == "psi":
                o = np.outer(lam[:, r], lam[:, c])
                d_sigma[f] += o if r == c else o + o.T
            elif kind == "nu":
                d_mu[f, r] += 1.0
            else:  # alpha
                d_mu[f] += lam[:, r]
        return d_sigma, d_mu

    def derivatives(self, x: np.ndarray, table=None, ncols=None, need_info=True, info_cols=None):
        """Gradient of F and the unit expected information (both weighted over groups).

        With ``info_cols`` (column indices) the result is ``(grad, info[:, info_cols],
        diag(info))`` instead: what modification indices need of the information of a model
        extended by every fixed parameter, most of whose full matrix they never read.
        """
        ncols = self.nfree if ncols is None else ncols
        grad = np.zeros(ncols)
        cols_only = info_cols is not None
        if cols_only:
            need_info = True
            info = np.zeros((ncols, len(info_cols)))
            diag = np.zeros(ncols)
        else:
            info = np.zeros((ncols, ncols)) if need_info else None

        def add_info(w, d_flat, a_flat, dm_flat, sdm_flat):
            # w (0.5 dSigma' A + dmu' S dmu), A = Sigma^-1 dSigma Sigma^-1, S dmu = sdm
            nonlocal info, diag
            if cols_only:
                info += w * (0.5 * d_flat @ a_flat[info_cols].T + dm_flat @ sdm_flat[info_cols].T)
                diag += w * (0.5 * np.einsum("ij,ij->i", d_flat, a_flat)
                             + np.einsum("ij,ij->i", dm_flat, sdm_flat))
            else:
                info += w * (0.5 * d_flat @ a_flat.T + dm_flat @ sdm_flat.T)

        for g, s in enumerate(self.stats):
            sigma, mu = self.implied(x[: self.nfree], g)
            d_sigma, d_mu = self.jacobian(x, g, table, ncols)
            flat = d_sigma.reshape(ncols, -1)
            w = self.weights[g]
            if s.patterns is not None:
                gmat, gmu = pattern_derivs(sigma, mu, s)
                grad += w * (flat @ gmat.ravel() + d_mu @ gmu)
                if need_info:
                    # expected information summed over missing-data patterns
                    for b in s.blocks:
                        sinv = np.linalg.inv(sigma[b.rows])  # (k, q, q)
                        ds = d_sigma[(slice(None),) + b.rows]  # (ncols, k, q, q)
                        dm = d_mu[:, b.obs]  # (ncols, k, q)
                        a = (sinv[None] @ ds @ sinv[None]) * b.w[None, :, None, None]
                        sdm = np.einsum("kij,akj->aki", sinv, dm) * b.w[None, :, None]
                        add_info(w, ds.reshape(ncols, -1), a.reshape(ncols, -1),
                                 dm.reshape(ncols, -1), sdm.reshape(ncols, -1))
                continue
            sinv = np.linalg.inv(sigma)
            sinv = 0.5 * (sinv + sinv.T)
            d = s.mean - mu
            # dF/dSigma (as a function of a symmetric matrix's free elements taken one by one)
            gmat = sinv - sinv @ (s.cov + np.outer(d, d)) @ sinv
            gmu = -2.0 * sinv @ d
            grad += w * (flat @ gmat.ravel() + d_mu @ gmu)
            if need_info and cols_only:
                # the diagonal as tr(dSigma S dSigma S) from one product per column; the
                # full S dSigma S only for the columns asked for
                ds_s = np.matmul(d_sigma, sinv)
                a = np.matmul(sinv, ds_s[info_cols]).reshape(len(info_cols), -1)
                sdm = d_mu @ sinv
                info += w * (0.5 * flat @ a.T + d_mu @ sdm[info_cols].T)
                diag += w * (0.5 * np.einsum("kij,kji->k", ds_s, ds_s)
                             + np.einsum("ij,ij->i", d_mu, sdm))
            elif need_info:
                a = np.matmul(np.matmul(sinv, d_sigma), sinv).reshape(ncols, -1)
                add_info(w, flat, a, d_mu, d_mu @ sinv)
        if cols_only:
            return grad, info, diag
        if need_info:
            info = 0.5 * (info + info.T)
        return grad, info

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """dF/dx in matrix form (cheaper than through the Jacobian; used for Newton steps)."""
        grad = np.zeros(self.nfree)
        for g, s in enumerate(self.stats):
            lam, theta, psi, nu, alpha = self.matrices(x, g)
            sigma = lam @ psi @ lam.T + theta
            if s.patterns is not None:
                gmat, gmu = pattern_derivs(sigma, nu + lam @ alpha, s)
            else:
                sinv = np.linalg.inv(sigma)
                d = s.mean - nu - lam @ alpha
                gmat = sinv - sinv @ (s.cov + np.outer(d, d)) @ sinv
                gmat = 0.5 * (gmat + gmat.T)
                gmu = -2.0 * sinv @ d
            w = self.weights[g]
            parts = self._parts[g]
            d_lam = 2.0 * gmat @ lam @ psi + np.outer(gmu, alpha)
            lgl = lam.T @ gmat @ lam
            for kind, mat, sym in (("lambda", d_lam, False), ("theta", gmat, True),
                                   ("psi", lgl, True)):
                r, c, f, _ = parts[kind]
                free = f >= 0
                r, c, f = r[free], c[free], f[free]
                vals = mat[r, c] * np.where((r != c) & sym, 2.0, 1.0)
                np.add.at(grad, f, w * vals)
            r, _, f, _ = parts["nu"]
            free = f >= 0
            np.add.at(grad, f[free], w * gmu[r[free]])
            r, _, f, _ = parts["alpha"]
            free = f >= 0
            np.add.at(grad, f[free], w * (lam.T @ gmu)[r[free]])
        return grad

    def gradients(self, xs: np.ndarray) -> np.ndarray:
        """dF/dx at each row of ``xs`` (k, nfree): :meth:`gradient` for many points at once.

        Complete-data moments are handled as stacked matrices (the finite-difference Hessian
        needs 2 x nfree gradients of small models, where one call per point is mostly
        overhead); full-information ML falls back on one :meth:`gradient` per point.
        """
        xs = np.asarray(xs, float)
        if any(s.patterns is not None for s in self.stats):
            return np.array([self.gradient(x) for x in xs])
        k, p, m = len(xs), self.p, self.m
        grad = np.zeros((k, self.nfree))
        for g, s in enumerate(self.stats):
            parts = self._parts[g]

            def values(kind):
                r, c, f, v = parts[kind]
                out = np.tile(v, (k, 1))
                free = f >= 0
                out[:, free] = xs[:, f[free]]
                return r, c, out

            lam = np.zeros((k, p, m))
            r, c, v = values("lambda")
            lam[:, r, c] = v
            theta = np.zeros((k, p, p))
            r, c, v = values("theta")
            theta[:, r, c] = v
            theta[:, c, r] = v
            psi = np.zeros((k, m, m))
            r, c, v = values("psi")
            psi[:, r, c] = v
            psi[:, c, r] = v
            nu = np.zeros((k, p))
            r, _, v = values("nu")
            nu[:, r] = v
            alpha = np.zeros((k, m))
            r, _, v = values("alpha")
            alpha[:, r] = v
            lam_t = lam.transpose(0, 2, 1)
            sigma = lam @ psi @ lam_t + theta
            sinv = np.linalg.inv(sigma)
            d = s.mean - nu - np.einsum("kij,kj->ki", lam, alpha)
            gmat = sinv - sinv @ (s.cov + d[:, :, None] * d[:, None, :]) @ sinv
            gmat = 0.5 * (gmat + gmat.transpose(0, 2, 1))
            gmu = -2.0 * np.einsum("kij,kj->ki", sinv, d)
            w = self.weights[g]
            d_lam = 2.0 * gmat @ lam @ psi + gmu[:, :, None] * alpha[:, None, :]
            lgl = lam_t @ gmat @ lam
            for kind, mat, sym in (("lambda", d_lam, False), ("theta", gmat, True),
                                   ("psi", lgl, True)):
                r, c, f, _ = parts[kind]
                free = f >= 0
                r, c, f = r[free], c[free], f[free]
                vals = mat[:, r, c] * np.where((r != c) & sym, 2.0, 1.0)
                np.add.at(grad, (slice(None), f), w * vals)
            r, _, f, _ = parts["nu"]
            free = f >= 0
            np.add.at(grad, (slice(None), f[free]), w * gmu[:, r[free]])
            r, _, f, _ = parts["alpha"]
            free = f >= 0
            lgmu = np.einsum("kij,ki->kj", lam, gmu)
            np.add.at(grad, (slice(None), f[free]), w * lgmu[:, r[free]])
        return grad

    def hessian(self, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
        """Observed Hessian of F by central differences of the analytic gradient."""
        q = self.nfree
        steps = h * np.maximum(1.0, np.abs(x))
        e = np.diag(steps)
        g = self.gradients(np.vstack([x + e, x - e]))
        hess = ((g[:q] - g[q:]) / (2 * steps)[:, None]).T
        return 0.5 * (hess + hess.T)

    # -- fitting --------------------------------------------------------------------------
    def start(self) -> np.ndarray:
        """Starting values: one-factor principal axes per block, half-ish residual variances."""
        x = np.zeros(self.nfree)
        count = np.zeros(self.nfree)
        cols = self._cols
        for g, s in enumerate(self.stats):
            in_g = cols["group"] == g
            kind, row, col = cols["kind"][in_g], cols["row"][in_g], cols["col"][in_g]
            free, value = cols["free"][in_g], cols["value"][in_g]
            is_lam = kind == "lambda"
            lam = np.zeros((self.p, self.m))
            psi_diag = np.ones(self.m)
            for j in range(self.m):
                blk = is_lam & (col == j)
                idx = row[blk]
                marker = row[blk & (free < 0) & (value != 0)]
                c = s.cov[np.ix_(idx, idx)]
                vals, vecs = np.linalg.eigh(c)
                load = vecs[:, -1] * np.sqrt(max(vals[-1], 1e-8))
                if load.sum() < 0:
                    load = -load
                psi_row = np.nonzero((kind == "psi") & (row == j) & (col == j))[0]
                if len(marker) == 0 and len(psi_row) and free[psi_row[0]] < 0:
                    # factor scaled by a fixed variance ("f ~~ 1*f"): unscaled loadings
                    var = float(value[psi_row[0]]) or 1.0
                    lam[idx, j] = load / math.sqrt(abs(var))
                    psi_diag[j] = var
                    continue
                mk = int(np.where(idx == marker[0])[0][0]) if len(marker) else 0
                if abs(load[mk]) < 1e-3 * np.sqrt(c[mk, mk]):
                    load = np.sqrt(np.maximum(np.diag(c), 1e-8))
                    mk_val = load[mk]
                else:
                    mk_val = load[mk]
                lam[idx, j] = np.clip(load / mk_val, -10, 10)
                psi_diag[j] = mk_val ** 2
            comm = (lam ** 2) @ psi_diag
            diag_s = np.diag(s.cov)
            theta = np.maximum(diag_s - comm, 0.2 * diag_s)
            for k, r, c, f in zip(kind.tolist(), row.tolist(), col.tolist(), free.tolist()):
                if f < 0:
                    continue
                if k == "lambda":
                    v = lam[r, c]
                elif k == "theta":
                    v = theta[r] if r == c else 0.0
                elif k == "psi":
                    v = psi_diag[r] if r == c else 0.0
                elif k == "nu":
                    v = s.mean[r]
                else:
                    v = 0.0
                x[f] += v
                count[f] += 1
        return x / np.maximum(count, 1)

    def fit(self, x0: np.ndarray | None = None, max_iter: int = 500, tol: float = 1e-10,
            trace: list | None = None):
        """Minimise F; returns (x, F, iterations, converged)."""
        x = self.start() if x0 is None else np.asarray(x0, float).copy()
        f = self.objective(x)
        if not np.isfinite(f):
            # an unlucky start: fall back to a diagonal-only start
            x = self._safe_start()
            f = self.objective(x)
        converged = False
        it = 0
        newton = False
        hess_chol = None
        last_grad = np.inf
        for it in range(1, max_iter + 1):
            if newton:
                # near the optimum: Newton steps on the observed Hessian converge quickly where
                # scoring is only linear for a misfitting model. The Hessian (finite differences
                # of the analytic gradient) is reused while the gradient keeps shrinking fast.
                grad = self.gradient(x)
                gmax = float(np.max(np.abs(grad)))
                if hess_chol is None or gmax > 0.05 * last_grad:
                    try:
                        hess_chol = np.linalg.cholesky(self.hessian(x))
                    except np.linalg.LinAlgError:
                        hess_chol = None
                last_grad = gmax
                if hess_chol is not None:
                    step = linalg.cho_solve((hess_chol, True), grad, check_finite=False)
                else:
                    _, info = self.derivatives(x)
                    step = np.linalg.lstsq(2.0 * info, grad, rcond=None)[0]
            else:
                grad, info = self.derivatives(x)
                try:
                    step = np.linalg.solve(2.0 * info, grad)
                except np.linalg.LinAlgError:
                    step = np.linalg.lstsq(2.0 * info, grad, rcond=None)[0]
            t = 1.0
            accepted = False
            for _ in range(30):
                x_new = x - t * step
                f_new = self.objective(x_new)
                if np.isfinite(f_new) and f_new <= f + 1e-14 * max(1.0, abs(f)):
                    accepted = True
                    break
                t *= 0.5
            if not accepted:
                if np.max(np.abs(grad)) < 1e-8:
                    converged = True
                    break
                if newton and hess_chol is not None:
                    hess_chol = None  # a stale Hessian: refresh it and try again
                    last_grad = np.inf
                    continue
                break
            small = np.max(np.abs(t * step)) < tol * (1.0 + np.max(np.abs(x)))
            x, f_old, f = x_new, f, f_new
            if trace is not None:
                trace.append((f, t, float(np.max(np.abs(grad))), newton))
            if small or (abs(f_old - f) < 1e-15 and np.max(np.abs(grad)) < 1e-9):
                converged = True
                break
            if not newton and (np.max(np.abs(grad)) < 1e-2 or it >= 8):
                newton = True
        if not converged:
            res = optimize.minimize(
                self.objective, x, jac=self.gradient,
                method="L-BFGS-B", options=dict(maxiter=5000, gtol=1e-10, ftol=1e-15))
            if res.fun <= f:
                x, f = res.x, float(res.fun)
            converged = bool(np.max(np.abs(self.gradient(x))) < 1e-5)
            it += int(res.nit)
        return x, f, it, converged

    def _safe_start(self) -> np.ndarray:
        x = np.zeros(self.nfree)
        for g, s in enumerate(self.stats):
            for kind, r, c, f in self._free_rows[g]:
                if kind == "lambda":
                    x[f] = 0.5
                elif kind == "theta" and r == c:
                    x[f] = 0.5 * s.cov[r, r]
                elif kind == "psi" and r == c:
                    x[f] = 0.5
                elif kind == "nu":
                    x[f] = s.mean[r]
        return x
