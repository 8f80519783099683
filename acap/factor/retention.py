"""How many factors to retain: parallel analysis (Horn 1965) and Velicer's MAP.

:func:`parallel_analysis` computes what psych::fa.parallel computes: component eigenvalues
of the correlation matrix, and "factor" eigenvalues of the correlation matrix with the
communalities of a one-factor minres solution on its diagonal; the same for data simulated
from independent normals and for data resampled column by column from the observed
values (on request); then the suggested numbers (observed eigenvalues above the simulated
quantile).

Speed: normal data are not generated. The correlation matrix of N independent normal
p-vectors is drawn directly from its exact distribution (the Bartlett decomposition of a
Wishart matrix), which costs O(p^2) instead of O(Np) per replicate; the one-factor minres
fits of all replicates are solved together by a batched Newton iteration (one LAPACK
Cholesky solve per replicate and step; the products by R needed by the line search follow
from the Newton equation). BLAS is limited to one thread. With two usable cores the
replicates are split between two threads (numpy's batched eigenvalue routines release the
GIL); all random numbers are drawn before the split and every replicate is solved on its
own, so the results do not depend on the number of threads.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.linalg import lapack
from scipy.linalg.lapack import dsyevr as _syevr
from threadpoolctl import ThreadpoolController

from acap.errors import AcapInputError
from acap.factor._corr import as_corr, pairwise_corr
from acap.factor.efa import _fit_uls_ml


@functools.lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    # Building a controller inspects every loaded library (~1 ms); reuse one.
    return ThreadpoolController()


def _one_blas_thread():
    """Context limiting BLAS to one thread (the batched linear algebra gains nothing from more)."""
    return _controller().limit(limits=1)


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
    settings : dict
        How the reference eigenvalues were made: ``sim``, ``resample``, ``compared_with``
        (``"simulated"`` or ``"resampled"``: the set the suggestions use), ``solver``,
        ``n_obs``, ``seed``.
    """

    eigenvalues: pd.DataFrame
    n_factors: int | None
    n_components: int | None
    n_iter: int
    quantile: float
    settings: dict = field(default_factory=dict)


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
#
# psych fits each replicate with optim(L-BFGS-B) over the uniquenesses psi in [0.005, 1],
# starting from psi = 1 - SMC, with loadings l = leading eigenpair of R - diag(psi). The same
# solutions are the minima over l of
#     G(l) = 1/4 ||R - diag(psi(l)) - l l'||^2,   psi_i(l) = max(1 - l_i^2, 0.005),
# i.e. the off-diagonal least-squares criterion plus, for an item whose communality would
# pass psych's bound 1 - 0.005, the squared diagonal residual the bound leaves. G is smooth
# in l, so all replicates can be solved together by Newton's method.

_EPS = np.finfo(float).eps
# Share of the simulated replicates the calling thread solves when two threads run: it also
# computes the data's correlations, but the other thread waits for the GIL more (measured).
_MAIN_SHARE = 0.5
_HMAX = 1.0 - 0.005  # psych's lower bound on uniquenesses, as a bound on communalities


def _minres1_value(r0sq, q, h):
    """G from ||R0||^2, q = l'R0 l and h = l^2 (batched)."""
    ss = h.sum(-1)
    g = r0sq - 2.0 * q + ss * ss - (h * h).sum(-1)
    if h.max(initial=0.0) > _HMAX:  # psych's bound binds somewhere
        over = np.maximum(h - _HMAX, 0.0)
        g += (over * over).sum(-1)
    return 0.25 * g


_posv = lapack.dposv
_potrf = lapack.dpotrf


def _posv_rows(mats: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve mats[i] x = rhs[i] by Cholesky for a stack of symmetric matrices (both overwritten).

    LAPACK's posv one matrix at a time, in place on the Fortran-ordered view of each
    C-ordered symmetric matrix (the same matrix), costs about 70% of numpy's batched LU solve
    at p = 30 (positional arguments: f2py's keyword parsing is a measurable share), and
    reports which matrices are not positive definite (info > 0), which the Newton iteration
    needs anyway. Returns the solutions (``rhs`` itself) and the info codes.
    """
    rhs = np.ascontiguousarray(rhs)  # rows solved in place
    info = np.array([_posv(m.T, r, 1, 1, 1)[2] for m, r in zip(mats, rhs)], dtype=np.intp)
    return rhs, info


def _not_pd(hess: np.ndarray) -> np.ndarray:
    """Which of a stack of symmetric matrices fail a Cholesky factorisation (overwritten)."""
    return np.array([_potrf(m.T, 1, 0, 1)[1] != 0 for m in hess], dtype=bool)


def _hessian(ra: np.ndarray, la: np.ndarray, h: np.ndarray, ss: np.ndarray) -> np.ndarray:
    """Hessian of G at loadings ``la`` (B, p): 2 l l' - R0 off the diagonal."""
    b, p = la.shape
    hess = np.multiply(la[:, :, None], la[:, None, :])
    hess *= 2.0
    hess -= ra
    dg = ss - h
    over = h > _HMAX
    if over.any():
        dg += np.where(over, 3.0 * h - _HMAX, 0.0)
    hess.reshape(b, p * p)[:, ::p + 1] = dg  # the diagonal, written through a strided view
    return hess


def _newton_minres1(rs: np.ndarray, l: np.ndarray, max_iter: int = 100,
                    tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Minimise G for every matrix of ``rs`` (B, p, p) from loadings ``l`` (B, p).

    Newton steps with a backtracking (Armijo) line search; a Hessian that is not positive
    definite is shifted until it is, so steps always descend and never stop at a saddle.
    Returns the loadings and which replicates reached max |gradient| < ``tol``.

    Only the Hessian needs R0 (R with a zero diagonal) itself: R0 l is carried along, and
    for a step s solving H s = -g with H = 2 l l' - R0 off the diagonal and d on it,
    R0 s = 2 l (l's) + (d - 2 l^2) s + g, so the line search and the next gradient cost O(p)
    per replicate instead of a product by R0.
    """
    b, p, _ = rs.shape
    ra = rs.copy()  # R0, for the replicates still iterating
    ra.reshape(b, p * p)[:, ::p + 1] = 0.0
    r0sq = np.einsum("bij,bij->b", ra, ra)
    l = l.copy()
    ok = np.zeros(b, dtype=bool)
    act = np.arange(b)
    la = l.copy()
    rl = np.matmul(ra, la[:, :, None])[:, :, 0]
    fin = np.zeros(b, dtype=bool)
    for _ in range(max_iter):
        h = la * la
        ss = h.sum(-1, keepdims=True)
        grad = la * (ss - h) - rl
        any_over = h.max(initial=0.0) > _HMAX
        if any_over:
            grad += np.where(h > _HMAX, (h - _HMAX) * la, 0.0)
        gmax = np.abs(grad).max(-1)
        done = ~(gmax >= tol) | fin  # NaN counts as done; caught by the caller
        if done.any():
            l[act[done]] = la[done]
            ok[act[done]] = np.isfinite(grad[done]).all(-1)
            if done.all():
                break
            keep = ~done
            act, la, ra, grad, h, ss, rl, r0sq = (
                a[keep] for a in (act, la, ra, grad, h, ss, rl, r0sq))
        n_act = len(act)
        dg = ss - h
        if any_over:
            dg += np.where(h > _HMAX, 3.0 * h - _HMAX, 0.0)
        hess = np.einsum("bi,bj->bij", 2.0 * la, la)
        hess -= ra
        hess.reshape(n_act, p * p)[:, ::p + 1] = dg  # the diagonal, through a strided view
        step, info = _posv_rows(hess, np.negative(grad))
        bad = np.flatnonzero(info)
        if bad.size:
            # Not positive definite: shift the diagonal past the most negative eigenvalue.
            hb = np.multiply((2.0 * la[bad])[:, :, None], la[bad][:, None, :])
            hb -= ra[bad]
            hb.reshape(bad.size, p * p)[:, ::p + 1] = dg[bad]
            # The smallest eigenvalue alone (LAPACK's subset driver, one matrix at a time).
            lmin = np.minimum([_syevr(m, compute_v=0, range="I", il=1, iu=1)[0][0]
                               for m in hb], 0.0)
            sigma = 1e-3 - 1.5 * lmin
            hs = hb.copy()
            hs.reshape(bad.size, p * p)[:, ::p + 1] += sigma[:, None]
            sb, ib = _posv_rows(hs, np.negative(grad[bad]))
            if ib.any():  # rounding at the shift: a larger ridge, and LU
                sigma = 1e-2 + 2.0 * np.abs(lmin)
                hb.reshape(bad.size, p * p)[:, ::p + 1] += sigma[:, None]
                sb = np.linalg.solve(hb, -grad[bad][:, :, None])[:, :, 0]
            step[bad] = sb
            dg[bad] += sigma[:, None]
        # R0 s from the Newton equation (see above).
        r0s = (2.0 * (la * step).sum(-1, keepdims=True)) * la + (dg - 2.0 * h) * step + grad
        slope = (grad * step).sum(-1)
        a0 = (la * rl).sum(-1)
        a1 = (step * rl).sum(-1)
        a2 = (step * r0s).sum(-1)
        # G is evaluated as a sum of terms of size ~||R0||^2 that cancel: near the minimum a
        # decrease is lost in rounding, so the Armijo test allows that much slack.
        f0 = _minres1_value(r0sq, a0, h) + 64 * _EPS * (r0sq + ss[:, 0] ** 2)
        lt = la + step
        ft = _minres1_value(r0sq, a0 + 2.0 * a1 + a2, lt * lt)
        fail = np.flatnonzero(~(ft <= f0 + 1e-4 * slope))
        # A full Newton step on a positive definite Hessian that moves no loading by more
        # than 1e-5 lands within ~1e-9 of the minimum (quadratic convergence): stop there
        # rather than pay another factorisation to see the gradient vanish.
        fin = np.abs(step).max(-1) < 1e-5
        fin[fail] = False
        fin[bad] = False
        tt = np.ones(n_act)
        t = 1.0
        for _ in range(30):  # halve the step where it does not decrease G enough
            if fail.size == 0:
                break
            t *= 0.5
            tt[fail] = t
            lf = la[fail] + t * step[fail]
            lt[fail] = lf
            ft = _minres1_value(r0sq[fail], a0[fail] + 2.0 * t * a1[fail] + t * t * a2[fail],
                                lf * lf)
            fail = fail[~(ft <= f0[fail] + 1e-4 * t * slope[fail])]
        la = lt
        rl = rl + tt[:, None] * r0s
    else:
        l[act] = la
    # A converged point whose Hessian is not positive definite is a saddle, not a minimum.
    conv = np.flatnonzero(ok)
    if conv.size:
        lc = l[conv]
        hc = lc * lc
        ra = rs[conv].copy()
        ra.reshape(conv.size, p * p)[:, ::p + 1] = 0.0
        ok[conv[_not_pd(_hessian(ra, lc, hc, hc.sum(-1, keepdims=True)))]] = False
    return l, ok


def _leading_loadings(rs: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """Leading eigenvector of each R - diag(psi), scaled by the root of its eigenvalue."""
    b, p, _ = rs.shape
    s = rs.copy()
    s[:, np.arange(p), np.arange(p)] -= psi
    out = np.empty((b, p))
    # LAPACK's subset driver, one matrix at a time, beats a full batched eigh here.
    for i in range(b):
        w, v, *_ = _syevr(s[i], compute_v=1, range="I", il=p, iu=p, overwrite_a=1)
        out[i] = v[:, 0] * np.sqrt(max(w[0], 0.0))
    return out


def _is_leading(rs: np.ndarray, l: np.ndarray) -> np.ndarray:
    """psych's solutions have ||l||^2 as the largest eigenvalue of R - diag(psi(l))."""
    p = rs.shape[1]
    h = l * l
    s = rs.copy()
    s[:, np.arange(p), np.arange(p)] -= np.maximum(1.0 - h, 1.0 - _HMAX)
    top = np.linalg.eigvalsh(s)[:, -1]
    return np.abs(top - h.sum(-1)) <= 1e-8 * np.maximum(1.0, np.abs(top))


def _principal_start(rs: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Start loadings: the leading principal axis of each R, scaled to fit R's off-diagonal.

    ``top`` holds the largest eigenvalue of each R (already computed for the component
    eigenvalues). One step of inverse iteration at a shift just above it gives the leading
    eigenvector v to near machine precision for the cost of one batched solve (a full
    eigendecomposition costs several); the scale c minimises sum_{i != j} (r_ij - c^2 v_i v_j)^2,
    c^2 = (v'Rv - 1) / (1 - sum v_i^4).
    """
    b, p, _ = rs.shape
    shift = top * (1.0 + 1e-9) + 1e-12

    def inverse_step(idx, rhs):
        # shift I - R is positive definite: a Cholesky solve per matrix.
        m = np.negative(rs[idx])
        m.reshape(len(m), p * p)[:, ::p + 1] += shift[idx, None]
        with np.errstate(all="ignore"):
            u, info = _posv_rows(m, rhs)
            u /= np.linalg.norm(u, axis=1, keepdims=True)
            resid = np.abs(np.matmul(rs[idx], u[:, :, None])[:, :, 0] - top[idx, None] * u)
        return u, (info != 0) | ~(resid.max(-1) <= 1e-7 * np.maximum(1.0, top[idx]))

    v, redo = inverse_step(slice(None), np.tile(np.linspace(1.0, 2.0, p), (b, 1)))
    if redo.any():  # the probe was nearly orthogonal to v: a second step from the first
        idx = np.flatnonzero(redo)
        v[idx], still = inverse_step(idx, np.where(np.isfinite(v[idx]), v[idx], 1.0))
        redo = np.zeros(b, dtype=bool)
        redo[idx[still]] = True
    if redo.any():  # the shift hit an eigenvalue: decompose
        v[redo] = np.linalg.eigh(rs[redo])[1][:, :, -1]
    c2 = (top - 1.0) / np.maximum(1.0 - np.sum(v ** 4, axis=1), 1e-12)
    return v * np.sqrt(np.maximum(c2, 1e-6))[:, None]


def _one_factor_values(rs: np.ndarray, top: np.ndarray | None = None, *, paf_steps: int = 20,
                       rounds: int = 5) -> np.ndarray:
    """Eigenvalues (descending) of each R with one-factor minres communalities on its diagonal.

    ``rs`` is (B, p, p); ``top`` the largest eigenvalue of each R when already known. All
    replicates are solved together by Newton's method on G from the scaled leading principal
    axis of R. A solution psych could not return (the fitted ||l||^2 is not the largest
    eigenvalue of R - diag(psi)) or a run that did not converge gets ``paf_steps``
    principal-axis iterations (psych's own fixed-point map psi <- 1 - l^2, which descends in
    psi) and Newton again, up to ``rounds`` times; anything still failing is fitted alone by
    the bounded optimiser of :func:`acap.factor.efa` (psych's path).
    """
    b, p, _ = rs.shape
    di = np.arange(p)
    if top is None:
        top = np.linalg.eigvalsh(rs)[:, -1]
    l, ok = _newton_minres1(rs, _principal_start(rs, top))
    h2 = l * l
    red = rs.copy()
    red[:, di, di] = h2
    values = np.linalg.eigvalsh(red)[:, ::-1]
    # For interior solutions R - diag(psi) is the reduced matrix itself, whose eigenvalues
    # are at hand; only solutions at psych's bound need their own check.
    good = ok & (np.abs(values[:, 0] - h2.sum(-1)) <= 1e-8 * np.maximum(1.0, values[:, 0]))
    at_bound = ok & (h2.max(-1) > _HMAX)
    if at_bound.any():
        good[at_bound] = _is_leading(rs[at_bound], l[at_bound])
    bad = np.flatnonzero(~good)
    for _ in range(rounds):
        if bad.size == 0:
            break
        lb = l[bad]
        lb = np.where(np.isfinite(lb), lb, 0.0)
        for _ in range(paf_steps):
            lb = _leading_loadings(rs[bad], np.clip(1.0 - lb * lb, 1.0 - _HMAX, 1.0))
        lb, okb = _newton_minres1(rs[bad], lb)
        fixed = okb & _is_leading(rs[bad], lb)
        l[bad[fixed]] = lb[fixed]
        bad = bad[~fixed]
    for i in bad:  # rare: psych's optimiser, one matrix at a time
        lam, _ = _fit_uls_ml(rs[i], 1, "minres", ftol=1e-11)
        l[i] = lam[:, 0]
    if bad.size or not good.all():
        redo = np.flatnonzero(~good)
        red[redo[:, None], di, di] = l[redo] ** 2
        values[redo] = np.linalg.eigvalsh(red[redo])[:, ::-1]
    return values


def _one_factor_values_exact(rs: np.ndarray, top=None) -> np.ndarray:
    """As :func:`_one_factor_values`, fitting each matrix alone with the bounded optimiser.

    psych's path (uniqueness space, start ``1 - SMC``, bounds [0.005, 1]) one replicate at a
    time; kept as ``solver="lbfgsb"`` for checking the batched solver. ``top`` is ignored
    (same call as the batched solver).
    """
    b, p, _ = rs.shape
    values = np.empty((b, p))
    for i in range(b):
        lam, _ = _fit_uls_ml(rs[i], 1, "minres", ftol=1e-11)
        red = rs[i].copy()
        np.fill_diagonal(red, np.sum(lam * lam, axis=1))
        values[i] = np.linalg.eigvalsh(red)[::-1]
    return values


def _wishart_draw(rng: np.random.Generator, n_obs: int, p: int,
                  size: int) -> tuple[np.ndarray, np.ndarray]:
    """The random numbers of :func:`_wishart_corr`: normals below the diagonal, chi-squares
    on it."""
    z = rng.standard_normal((size, p * (p - 1) // 2))
    chi = rng.chisquare((n_obs - 1) - np.arange(p), size=(size, p))
    return z, chi


def _wishart_build(z: np.ndarray, chi: np.ndarray) -> np.ndarray:
    """Correlation matrices from the draws of :func:`_wishart_draw` (see :func:`_wishart_corr`)."""
    size, p = chi.shape
    t = np.zeros((size, p, p))
    below = np.tril_indices(p, -1)
    t[:, below[0], below[1]] = z
    t.reshape(size, p * p)[:, ::p + 1] = np.sqrt(chi)
    # The correlation matrix is D^-1/2 T T' D^-1/2 with D = diag(T T'), the squared row
    # norms of T: scale the rows first, then one product.
    t /= np.sqrt(np.einsum("bij,bij->bi", t, t))[:, :, None]
    a = np.matmul(t, np.transpose(t, (0, 2, 1)))
    a.reshape(size, p * p)[:, ::p + 1] = 1.0
    return a


def _wishart_corr(rng: np.random.Generator, n_obs: int, p: int, size: int) -> np.ndarray:
    """Correlation matrices of ``n_obs`` independent N(0, I_p) rows, drawn exactly.

    The centred cross-product matrix of such data is Wishart(n_obs - 1, I); by Bartlett's
    decomposition it is T T' with T lower triangular, T_ii^2 ~ chi2(n_obs - i) (i = 1..p)
    and standard normal entries below the diagonal.
    """
    return _wishart_build(*_wishart_draw(rng, n_obs, p, size))


class _ColumnResampler:
    """Draws correlation matrices of the observed columns, each bootstrapped on its own.

    psych resamples every column independently (destroying the correlations but keeping
    each item's distribution). The columns are stored one after the other so that a draw is
    a single gather with 32-bit indices; complete data take single-precision cross-products
    of several replicates at once (ample for a simulation: the correlations are accumulated
    from centred values, relative error ~1e-6), data with missing values the pairwise routine.
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

    def _draw(self, rng: np.random.Generator, k: int) -> np.ndarray:
        idx = rng.integers(0, self.n, size=(k, self.p, self.n), dtype=self.itype)
        idx += self.offsets
        xs = self.flat.take(idx)
        if not self.complete:
            return np.stack([pairwise_corr(x.T)[0] for x in xs])
        xs -= xs.mean(axis=2, keepdims=True)
        c = (xs @ np.transpose(xs, (0, 2, 1))).astype(float)
        d = np.sqrt(np.einsum("bii->bi", c))
        with np.errstate(divide="ignore", invalid="ignore"):
            c = c / (d[:, :, None] * d[:, None, :])
        c[:, np.arange(self.p), np.arange(self.p)] = 1.0
        return c

    def draw_many(self, rng: np.random.Generator, n_iter: int, chunk: int = 8) -> np.ndarray:
        out = np.empty((n_iter, self.p, self.p))
        i = 0
        while i < n_iter:
            c = self._draw(rng, min(chunk, n_iter - i))
            # psych draws again when a resample has an undefined correlation (a constant column)
            c = c[np.isfinite(c).all(axis=(1, 2))]
            out[i:i + len(c)] = c
            i += len(c)
        return out


def _replicate_values(drawn, *, want_fa: bool, one_factor):
    """Component (and one-factor) eigenvalues, descending, of a batch of replicates.

    ``drawn`` is a stack of correlation matrices or the Wishart draws that make them.
    """
    rs = _wishart_build(*drawn) if isinstance(drawn, tuple) else drawn
    pcv = np.linalg.eigvalsh(rs)[:, ::-1]
    fav = one_factor(rs, pcv[:, 0]) if want_fa else None
    return pcv, fav


def _n_threads(n_jobs: int | None, n_iter: int) -> int:
    """Threads for the replicates: 2 when two cores are usable and the batch is worth it."""
    if n_jobs is None:
        try:
            n_jobs = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            n_jobs = os.cpu_count() or 1
    # Two at most: numpy's batched eigenvalue routines release the GIL, the many small numpy
    # calls of the Newton iteration hold it, so a third thread would only wait.
    return 2 if int(n_jobs) >= 2 and n_iter >= 16 else 1


def _split(drawn, k: int):
    """The replicates ``[:k]`` and ``[k:]`` of a stack of matrices or of Wishart draws."""
    if isinstance(drawn, tuple):
        return tuple(a[:k] for a in drawn), tuple(a[k:] for a in drawn)
    return drawn[:k], drawn[k:]


def _join(a, b):
    return tuple(None if x is None else np.concatenate([x, y]) for x, y in zip(a, b))


def _halves_run(drawn, pool: ThreadPoolExecutor | None, kw: dict):
    """:func:`_replicate_values` over all replicates, in two halves on two threads if a pool is given."""
    n_iter = len(drawn[0]) if isinstance(drawn, tuple) else len(drawn)
    if pool is None:
        return _replicate_values(drawn, **kw)
    mine, theirs = _split(drawn, n_iter // 2)
    job = pool.submit(_replicate_values, theirs, **kw)
    try:
        a = _replicate_values(mine, **kw)
    finally:
        b = job.result()
    return _join(a, b)


def parallel_analysis(data, n_iter: int = 20, quantile: float = 0.95, seed=None,
                      fa: str = "both", *, n_obs: int | None = None, sim: bool = True,
                      resample: bool | None = None,
                      solver: str = "newton",
                      n_jobs: int | None = None) -> ParallelAnalysisResult:
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
        Compare with data simulated from independent normals (Horn 1965; psych's ``sim``).
    resample : bool, optional
        Also compare with the observed columns bootstrapped independently of each other.
        Default: only when ``sim=False``. psych computes both sets by default, but with
        ``sim=TRUE`` its suggested numbers use the simulated set only, so leaving resampling
        out changes no suggestion; it only drops the ``*_resampled`` columns (and most of the
        run time for large N). Pass ``resample=True`` for psych's full table.
    solver : {"newton", "lbfgsb"}
        How the one-factor minres solutions of the simulated/resampled matrices are found.
        ``"newton"`` (default) solves all replicates at once by Newton's method from psych's
        start (see Notes). ``"lbfgsb"`` fits each replicate alone with the bounded optimiser
        psych uses (slow; for checking).
    n_jobs : int, optional
        Threads for the replicates (default: 2 when two cores are usable, as psych's
        mclapply). With 2, half of the replicates is solved on a second thread (on raw
        data, starting while the data's correlations are computed). Results do not depend
        on it: all random numbers are drawn before the split and each replicate is solved
        on its own. On a machine whose second core is busy, ``n_jobs=1`` is ~10% faster.

    Returns
    -------
    ParallelAnalysisResult

    Notes
    -----
    As psych, the suggested number is the count of leading observed eigenvalues that exceed
    the ``quantile`` of the simulated ones (the resampled ones when ``sim=False``); factor
    eigenvalues use a one-factor minres solution for every data set. Random streams differ
    from R's, so simulated means agree with psych only up to simulation error.

    The correlation matrices of normal data are drawn directly from their distribution
    (Bartlett decomposition of the Wishart cross-product matrix, no N x p data). psych fits
    each replicate with L-BFGS-B over uniquenesses within [0.005, 1]; the Newton solver
    minimises the same criterion over loadings for all replicates at once and returns the
    same minima (on 1,240 random matrices fitted by psych 2.2.9: 93-98% of replicates within
    1e-4, 97-100% within 1e-3; the rest are psych's early stops on a flat criterion or, for
    about 1%, a different local minimum; means over replicates agree within 3e-3).

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
    solver = {"psych": "lbfgsb"}.get(solver, solver)  # the previous name of the slow path
    if solver not in ("newton", "lbfgsb"):
        raise AcapInputError(f"solver must be 'newton' or 'lbfgsb', got {solver!r}",
                             "parallel_analysis")
    fa = str(fa).lower()
    if fa not in ("both", "fa", "pc"):
        raise AcapInputError(f"fa must be 'both', 'fa' or 'pc', got {fa!r}", "parallel_analysis")
    if not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise AcapInputError(f"n_iter must be a positive integer, got {n_iter!r}",
                             "parallel_analysis")
    if not 0 < quantile < 1:
        raise AcapInputError(f"quantile must be in (0, 1), got {quantile!r}", "parallel_analysis")
    if resample is None:
        resample = not sim
    if not sim and not resample:
        raise AcapInputError("nothing to compare with: sim and resample are both off",
                             "parallel_analysis")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    want_fa = fa != "pc"
    one_factor = _one_factor_values if solver == "newton" else _one_factor_values_exact
    kw = {"want_fa": want_fa, "one_factor": one_factor}
    threads = _n_threads(n_jobs, n_iter)
    shape = np.shape(data) if isinstance(data, (pd.DataFrame, np.ndarray)) else ()
    job = None
    # A worker thread for this call only (about 0.1 ms to start): no pool outlives the call.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="acap-pa") if threads > 1 else None
    with _one_blas_thread():
        try:
            if sim and threads > 1 and len(shape) == 2 and shape[0] > shape[1] >= 3:
                # Raw item scores (a correlation matrix is square). The simulated replicates
                # need only n and p: the other thread starts on part of them while this one
                # computes the data's correlations. The random numbers are drawn first, in
                # the same order as below, and each replicate is solved on its own, so the
                # results do not depend on the threads.
                drawn = _wishart_draw(rng, shape[0], shape[1], n_iter)
                mine, theirs = _split(drawn, int(n_iter * _MAIN_SHARE))
                job = pool.submit(_replicate_values, theirs, **kw)
            ci = as_corr(data, n_obs=n_obs, what="parallel_analysis data")
            raw = ci.np_obs is not None
            if not raw and ci.n_obs is None:
                raise AcapInputError("a correlation matrix needs n_obs", "parallel_analysis")
            if resample and not raw:
                raise AcapInputError("resampling needs raw data, not a correlation matrix",
                                     "parallel_analysis")
            r = ci.r
            p = r.shape[0]
            n = int(ci.n_obs)
            if n <= p:
                raise AcapInputError(f"needs more rows than items ({n} rows, {p} items): "
                                     "correlation matrices of fewer rows are singular",
                                     "parallel_analysis")
            pc_obs = np.linalg.eigvalsh(r)[::-1]
            out = {"pc_observed": pc_obs}
            fa_obs = None
            if want_fa:
                fa_obs = one_factor(r[None], pc_obs[:1])[0]
                out["fa_observed"] = fa_obs
            values = {}
            if sim:
                if job is not None:
                    values["simulated"] = _join(_replicate_values(mine, **kw), job.result())
                else:
                    values["simulated"] = _halves_run(_wishart_draw(rng, n, p, n_iter), pool, kw)
            if resample:
                if isinstance(data, pd.DataFrame):
                    x = data.to_numpy(dtype=float, na_value=np.nan)
                else:
                    x = np.asarray(data, dtype=float)
                values["resampled"] = _halves_run(_ColumnResampler(x).draw_many(rng, n_iter), pool, kw)
        finally:
            if pool is not None:  # never leave work running (e.g. after a bad-input error)
                pool.shutdown(wait=True)
        for name, (pcv, fav) in values.items():
            out[f"pc_{name}"] = pcv.mean(axis=0)
            out[f"pc_{name}_q"] = np.quantile(pcv, quantile, axis=0)
            if want_fa:
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
    settings = {"sim": bool(sim), "resample": bool(resample), "compared_with": ref,
                "solver": solver, "n_obs": n,
                "seed": seed if seed is None or isinstance(seed, (int, np.integer))
                else "Generator"}
    return ParallelAnalysisResult(eigenvalues=table, n_factors=n_fac, n_components=n_comp,
                                  n_iter=int(n_iter), quantile=float(quantile),
                                  settings=settings)


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
    with _one_blas_thread():
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
