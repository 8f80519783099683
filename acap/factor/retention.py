"""How many factors to retain: parallel analysis (Horn 1965) and Velicer's MAP.

:func:`parallel_analysis` computes what psych::fa.parallel computes: component eigenvalues
of the correlation matrix, and "factor" eigenvalues of the correlation matrix with the
communalities of a one-factor minres solution on its diagonal; the same for data simulated
from independent normals and for data resampled column by column from the observed
values (on request); then the suggested numbers (observed eigenvalues above the simulated
quantile).

Speed: normal data are not generated. The correlation matrix of N independent normal
p-vectors is drawn directly from its exact distribution (the Bartlett decomposition of a
Wishart matrix), which costs O(p^2) instead of O(Np) per replicate. Building each matrix,
its eigenvalues and its one-factor minres fit (Newton's method, see
:mod:`acap.factor._kernels`) run in compiled code without the GIL, with BLAS limited to one
thread. The replicates go in chunks that a thread per usable core takes in turn; each
chunk's random numbers do not depend on which thread draws them and every replicate is
solved on its own, so the results do not depend on the number of threads.
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from acap._blas import blas_threads
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


# ---- one-factor minres for the replicates -------------------------------------------------
#
# The fits are compiled (acap.factor._kernels: Newton's method on psych's criterion over the
# loadings, without the GIL, so threads really solve different replicates at once). What the
# compiled code cannot settle (rare) gets LAPACK and psych's own bounded optimiser.


def _compiled():
    # Imported on the first parallel analysis, not with acap.factor: loading numba and the
    # cached machine code takes ~0.4 s, compiling it the first time ~20 s.
    from acap.factor import _kernels
    return _kernels


#: Whether this process has run the compiled solver (so its machine code is loaded): then
#: ``solver="auto"`` uses it at any number of iterations, there being nothing left to load.
_compiled_loaded = False


def _one_factor_values(rs: np.ndarray, top: np.ndarray | None = None) -> np.ndarray:
    """Eigenvalues (descending) of each R with one-factor minres communalities on its diagonal.

    ``rs`` is (B, p, p); ``top`` the largest eigenvalue of each R when already known. Each
    matrix is solved by the compiled Newton solver (:func:`acap.factor._kernels.one_factor`)
    and, where that finds no solution psych could return, by psych's bounded optimiser.
    """
    rs = np.ascontiguousarray(rs, dtype=float)
    if top is None:
        top = np.linalg.eigvalsh(rs)[:, -1]
    values, ok = _compiled().one_factor_batch(rs, np.ascontiguousarray(top, dtype=float))
    if not ok.all():
        values[~ok] = _one_factor_values_exact(rs[~ok])
    return values


_HMAX = 1.0 - 0.005  # psych's lower bound on uniquenesses, as a bound on communalities


def _one_factor_values_batched(rs: np.ndarray, top: np.ndarray | None = None, max_iter: int = 100,
                               tol: float = 1e-10) -> np.ndarray:
    """As :func:`_one_factor_values`, by Newton's method on all matrices at once with numpy/LAPACK.

    The same criterion, start and steps as the compiled solver (:func:`acap.factor._kernels.newton`:
    psych's minres criterion over the loadings, principal-axis start, Newton steps on a
    Hessian shifted past its most negative eigenvalue, backtracking line search), written
    as batched array operations, so nothing is compiled: a first call costs what later ones
    do. Replicates it leaves unsolved (rare) go to psych's bounded optimiser.
    """
    rs = np.asarray(rs, dtype=float)
    b, p, _ = rs.shape
    r0 = rs.copy()
    r0[:, np.arange(p), np.arange(p)] = 0.0
    r0sq = np.einsum("bij,bij->b", r0, r0)
    w, v = np.linalg.eigh(rs)
    top = w[:, -1] if top is None else np.asarray(top, dtype=float)
    v1 = v[:, :, -1]
    c2 = (top - 1.0) / np.maximum(1.0 - np.sum(v1 ** 4, axis=1), 1e-12)
    l = v1 * np.sqrt(np.maximum(c2, 1e-6))[:, None]
    diag = np.arange(p)

    def value(l, r0, r0sq):
        h = l * l
        ss = h.sum(axis=1)
        over = np.where(h > _HMAX, (h - _HMAX) ** 2, 0.0).sum(axis=1)
        q = np.einsum("bi,bi->b", l, np.einsum("bij,bj->bi", r0, l))
        return 0.25 * (r0sq - 2.0 * q + ss * ss - (h * h).sum(axis=1) + over)

    def gradient(l, r0):
        h = l * l
        ss = h.sum(axis=1, keepdims=True)
        g = l * (ss - h) - np.einsum("bij,bj->bi", r0, l)
        return g + np.where(h > _HMAX, (h - _HMAX) * l, 0.0)

    def hessian(l, r0):
        h = l * l
        ss = h.sum(axis=1, keepdims=True)
        hess = 2.0 * l[:, :, None] * l[:, None, :] - r0
        hess[:, diag, diag] = ss - h + np.where(h > _HMAX, 3.0 * h - _HMAX, 0.0)
        return hess

    active = np.ones(b, dtype=bool)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if not idx.size:
            break
        la = l[idx]
        ra = r0[idx]
        g = gradient(la, ra)
        done = ~(np.abs(g).max(axis=1) >= tol)  # NaN counts as done (then fails the checks)
        active[idx[done]] = False
        idx, la, g, ra = idx[~done], la[~done], g[~done], ra[~done]
        if not idx.size:
            break
        ew, ev = np.linalg.eigh(hessian(la, ra))
        shift = np.where(ew[:, 0] > 1e-10 * np.maximum(1.0, np.abs(ew[:, -1])), 0.0, 1e-3 - 1.5 * np.minimum(ew[:, 0], 0.0))
        step = -np.einsum("bij,bj->bi", ev, np.einsum("bji,bj->bi", ev, g) / (ew + shift[:, None]))
        f0 = value(la, ra, r0sq[idx])
        slack = 64.0 * np.finfo(float).eps * (r0sq[idx] + (la * la).sum(axis=1) ** 2)
        slope = (g * step).sum(axis=1)
        t = np.ones(len(idx))
        pending = np.ones(len(idx), dtype=bool)
        new = la + step
        for _k in range(31):  # halve the step of each matrix until its G decreases enough
            ft = value(new, ra, r0sq[idx])
            ok = ft <= f0 + slack + 1e-4 * t * slope
            pending &= ~ok
            if not pending.any():
                break
            t = np.where(pending, 0.5 * t, t)
            new = np.where(pending[:, None], la + t[:, None] * step, new)
        l[idx] = new
        # a full Newton step on a positive definite Hessian moving no loading by more than 1e-5
        # lands within ~1e-9 of the minimum (quadratic convergence): stop there, as the kernel
        active[idx[(t == 1.0) & (shift == 0.0) & (np.abs(step).max(axis=1) < 1e-5)]] = False
    # solved: a minimum (positive definite Hessian, small gradient) that psych could return
    g = gradient(l, r0)
    solved = np.abs(g).max(axis=1) < 1e-6
    solved &= np.linalg.eigvalsh(hessian(l, r0))[:, 0] > 0
    red = rs.copy()
    h = l * l
    red[:, diag, diag] = h
    values = np.linalg.eigvalsh(red)[:, ::-1]
    ss = h.sum(axis=1)
    interior = h.max(axis=1) <= _HMAX
    solved &= ~interior | (np.abs(values[:, 0] - ss) <= 1e-8 * np.maximum(1.0, values[:, 0]))
    if (~interior).any():  # at psych's bound: ||l||^2 must be the top eigenvalue of R - diag(psi)
        s2 = rs[~interior].copy()
        s2[:, diag, diag] = np.minimum(h[~interior], _HMAX)
        top2 = np.linalg.eigvalsh(s2)[:, -1]
        solved[~interior] &= np.abs(top2 - ss[~interior]) <= 1e-8 * np.maximum(1.0, np.abs(top2))
    solved &= np.isfinite(values).all(axis=1)
    if not solved.all():
        values[~solved] = _one_factor_values_exact(rs[~solved])
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
    on it (drawn at once by :class:`_SimulatedDraws`)."""
    draws = _SimulatedDraws(rng, n_obs, p, size, first=size)
    return draws.z, draws.chi


class _SimulatedDraws:
    """The draws of :func:`_wishart_draw`, in two steps so that threads can start early.

    The chi-squares and the normals of the first ``first`` replicates are drawn at once;
    :meth:`fill` draws the other normals (the same numbers as one call: numpy's generators
    fill arrays from one sequential stream). Chunks beyond ``first`` wait for them.
    """

    def __init__(self, rng: np.random.Generator, n_obs: int, p: int, size: int, first: int):
        self.rng = rng
        self.first = min(first, size)
        self.chi = rng.chisquare((n_obs - 1) - np.arange(p), size=(size, p))
        self.z = np.empty((size, p * (p - 1) // 2))
        rng.standard_normal(out=self.z[:self.first])
        self.ready = threading.Event()
        self.aborted = False
        if self.first == size:
            self.ready.set()

    def fill(self) -> None:
        if not self.ready.is_set():
            self.rng.standard_normal(out=self.z[self.first:])
            self.ready.set()

    def abort(self) -> None:
        """Release threads waiting for :meth:`fill`: they get no chunk (the call failed)."""
        self.aborted = True
        self.ready.set()

    def __call__(self, i: int, rows: slice):
        if rows.stop > self.first:
            self.ready.wait()
            if self.aborted:
                return None
        return self.z[rows], self.chi[rows]


def _wishart_build(z: np.ndarray, chi: np.ndarray) -> np.ndarray:
    """Correlation matrices from the draws of :func:`_wishart_draw` (see :func:`_wishart_corr`).

    numpy's construction, for the ``"lbfgsb"`` solver and as the reference the compiled
    :func:`acap.factor._kernels.wishart_matrices` is tested against.
    """
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


def _replicate_values(drawn, *, want_fa: bool, solver: str):
    """Component (and one-factor) eigenvalues, descending, of a batch of replicates.

    ``drawn`` is a stack of correlation matrices or the Wishart draws that make them.
    """
    if solver == "batched":
        rs = _wishart_build(*drawn) if isinstance(drawn, tuple) else drawn
        pcv = np.linalg.eigvalsh(rs)[:, ::-1]
        return pcv, (_one_factor_values_batched(rs, pcv[:, 0]) if want_fa else None)
    if solver == "newton":
        kernels = _compiled()
        rs = kernels.wishart_matrices(*drawn) if isinstance(drawn, tuple) else drawn
        # Decompose and fit in compiled code, without the GIL.
        pcv, fav, ok = kernels.replicates(np.ascontiguousarray(rs, dtype=float), want_fa)
        if not ok.all():  # rare: LAPACK and psych's optimiser for what the kernels left
            pcv[~ok] = np.linalg.eigvalsh(rs[~ok])[:, ::-1]
            if want_fa:
                fav[~ok] = _one_factor_values_exact(rs[~ok])
        return pcv, (fav if want_fa else None)
    rs = _wishart_build(*drawn) if isinstance(drawn, tuple) else drawn
    pcv = np.linalg.eigvalsh(rs)[:, ::-1]
    return pcv, (_one_factor_values_exact(rs) if want_fa else None)


def _mean_and_quantile(v: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """Column means and ``q`` quantiles of ``v`` (R's default type 7, numpy's "linear")."""
    srt = np.sort(v, axis=0)
    h = (len(v) - 1) * q
    lo = int(np.floor(h))
    hi = min(lo + 1, len(v) - 1)
    return v.mean(axis=0), srt[lo] + (h - lo) * (srt[hi] - srt[lo])


def _n_threads(n_jobs: int | None, n_iter: int) -> int:
    """Threads for the replicates: the usable cores (at most 8), fewer for small batches."""
    if n_jobs is None:
        n_jobs = _usable_cores()
    return max(1, min(int(n_jobs), 8, n_iter // _CHUNK))


def _usable_cores(quota_file: str = "/sys/fs/cgroup/cpu.max") -> int:
    """Cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota (a
    container limited to 2 CPUs on a 64-core host should not start 8 threads)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        with open(quota_file, encoding="ascii") as fh:
            quota, period = fh.read().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):  # no cgroup v2 quota to read
        pass
    return cores


# Replicates per unit of work the threads take in turn: small enough that the threads finish
# together, large enough that a unit's fixed cost (one compiled call) does not matter.
_CHUNK = 4


class _Replicates:
    """Component and one-factor eigenvalues of ``n_iter`` replicates, in chunks of
    ``_CHUNK`` that any number of threads take in turn.

    ``draw(i, rows)`` returns chunk ``i`` (replicates ``rows``): Wishart draws or correlation
    matrices. Each chunk is drawn and solved on its own and written to its own rows, so the
    results do not depend on how many threads ran or which thread took which chunk.
    """

    def __init__(self, draw, n_iter: int, p: int, *, want_fa: bool, solver: str):
        self.draw = draw
        # the batched solver gains from one large batch; the compiled one from many threads
        self.chunk = n_iter if solver == "batched" else _CHUNK
        self._jobs = []
        self.n_iter = n_iter
        self.kw = {"want_fa": want_fa, "solver": solver}
        self.pcv = np.empty((n_iter, p))
        self.fav = np.empty((n_iter, p)) if want_fa else None
        self._next = itertools.count()  # next() on a count is atomic under the GIL
        self.stop = False  # set when the call fails: the threads take no further chunk

    def work(self) -> None:
        try:
            while not self.stop:
                i = next(self._next)
                rows = slice(i * self.chunk, min((i + 1) * self.chunk, self.n_iter))
                if rows.start >= self.n_iter:
                    return
                drawn = self.draw(i, rows)
                if drawn is None:  # the call was cancelled while this thread waited
                    return
                pcv, fav = _replicate_values(drawn, **self.kw)
                self.pcv[rows] = pcv
                if fav is not None:
                    self.fav[rows] = fav
        except BaseException:
            self.stop = True  # the other threads take no further chunk
            raise

    def cancel(self) -> None:
        """Stop the threads: each finishes the chunk it holds and takes no other."""
        self.stop = True
        abort = getattr(self.draw, "abort", None)
        if abort is not None:
            abort()

    def start(self, pool: ThreadPoolExecutor | None, workers: int) -> "_Replicates":
        """Set ``workers`` threads of the pool to work on the chunks (none without a pool)."""
        self._jobs = [pool.submit(self.work) for _ in range(workers)] if pool else []
        return self

    def finish(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Work on the chunks on this thread too, wait for the others; the eigenvalues."""
        self.work()
        for job in self._jobs:
            job.result()  # re-raises what failed on a worker
        return self.pcv, self.fav


def parallel_analysis(data, n_iter: int = 20, quantile: float = 0.95, seed=None,
                      fa: str = "both", *, n_obs: int | None = None, sim: bool = True,
                      resample: bool | None = None,
                      solver: str = "auto",
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
    solver : {"auto", "batched", "newton", "lbfgsb"}
        How the one-factor minres solutions of the simulated/resampled matrices are found.
        ``"batched"`` solves all replicates at once by Newton's method in numpy/LAPACK: no
        compilation, so the first call on a machine is as fast as later ones (about 0.2 s for
        50 replicates of 43 items). ``"newton"`` solves each replicate by Newton's method
        from the principal axis, in compiled code (see Notes): several times faster once
        loaded, but the first call in a process loads it (~0.4 s) and the first on a machine
        compiles it (~20 s). ``"auto"`` (default) uses ``"batched"`` below 200 iterations,
        unless this process has already run ``"newton"`` (nothing left to load), and
        ``"newton"`` otherwise. The two agree to rounding (~1e-14). ``"lbfgsb"`` fits each
        replicate with the bounded optimiser psych uses (slow; for checking).
    n_jobs : int, optional
        Threads for the replicates (default: the usable cores, from the CPU affinity and
        any container CPU quota, at most 8; psych uses mclapply's 2 processes). The replicates go in chunks of 4 that the threads take in
        turn; on raw data the other threads start while this one computes the data's
        correlations. Results do not depend on it: the random numbers of a chunk do not
        depend on which thread draws them, and each replicate is solved on its own.

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
    minimises the same criterion over loadings and returns the same minima (on 1,240 random
    matrices fitted by psych 2.2.9: 93-98% of replicates within 1e-4, 97-100% within 1e-3;
    the rest are psych's early stops on a flat criterion or, for about 1%, a different local
    minimum; means over replicates agree within 3e-3). The first parallel analysis on a
    machine compiles the solver (about 20 s, cached on disk); later ones load it (about 1 s
    per process).

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
    global _compiled_loaded
    solver = {"psych": "lbfgsb"}.get(solver, solver)  # the previous name of the slow path
    if solver not in ("auto", "batched", "newton", "lbfgsb"):
        raise AcapInputError(f"solver must be 'auto', 'batched', 'newton' or 'lbfgsb', got {solver!r}",
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
    if solver == "auto":
        solver = "newton" if n_iter >= 200 or _compiled_loaded else "batched"
    one_factor = {"newton": _one_factor_values, "batched": _one_factor_values_batched}.get(
        solver, _one_factor_values_exact)
    kw = {"want_fa": want_fa, "solver": solver}
    threads = 1 if solver == "batched" else _n_threads(n_jobs, n_iter)
    shape = np.shape(data) if isinstance(data, (pd.DataFrame, np.ndarray)) else ()
    # Worker threads for this call only (about 0.1 ms to start): no pool outlives the call.
    pool = (ThreadPoolExecutor(max_workers=threads - 1, thread_name_prefix="acap-pa")
            if threads > 1 else None)
    sets: dict[str, _Replicates] = {}

    def simulated(n_rows: int, n_items: int) -> _Replicates:
        # One generator for all normal draws (cheaper than one per chunk): the first chunks'
        # numbers are drawn before the threads start, the rest while they work.
        draws = _SimulatedDraws(rng, n_rows, n_items, n_iter, first=threads * _CHUNK)
        # Registered before the threads start, so that a failure (even Ctrl-C) cancels them.
        reps = sets["simulated"] = _Replicates(draws, n_iter, n_items, **kw)
        reps.start(pool, threads - 1)
        draws.fill()
        return reps

    with blas_threads(1):  # the batched linear algebra gains nothing from more
        try:
            if sim and pool is not None and len(shape) == 2 and shape[0] > shape[1] >= 3:
                # Raw item scores (a correlation matrix is square). The simulated replicates
                # need only n and p: the other threads start on them while this one computes
                # the data's correlations (the draws are the same as below).
                simulated(*shape)
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
                if "simulated" not in sets:
                    simulated(n, p)
                values["simulated"] = sets["simulated"].finish()
            if resample:
                if isinstance(data, pd.DataFrame):
                    x = data.to_numpy(dtype=float, na_value=np.nan)
                else:
                    x = np.asarray(data, dtype=float)
                resampler = _ColumnResampler(x)
                # A generator per chunk, seeded from ``rng``: the chunks draw their data on any
                # thread, and the same seed gives the same draws whatever the number of threads.
                seeds = np.random.SeedSequence(
                    rng.integers(0, 2**63, size=4)).spawn(-(-n_iter // _CHUNK))
                reps = sets["resampled"] = _Replicates(
                    lambda i, rows: resampler.draw_many(np.random.default_rng(seeds[i]),
                                                        rows.stop - rows.start),
                    n_iter, p, **kw)
                reps.start(pool, threads - 1)
                values["resampled"] = sets["resampled"].finish()
        except BaseException:
            for rep in sets.values():
                rep.cancel()
            raise
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        for name, (pcv, fav) in values.items():
            for kind, v in (("pc", pcv), ("fa", fav)):
                if v is not None:
                    out[f"{kind}_{name}"], out[f"{kind}_{name}_q"] = _mean_and_quantile(v, quantile)
    if solver == "newton":
        _compiled_loaded = True
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
    with blas_threads(1):  # the batched linear algebra gains nothing from more
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
