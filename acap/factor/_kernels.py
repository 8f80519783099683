"""Compiled code for the replicates of parallel analysis (numba, without the GIL).

Parallel analysis fits a one-factor minres model to every simulated or resampled
correlation matrix and needs every eigenvalue of two small symmetric matrices per
replicate. In numpy the per-call overhead on 30 x 30 matrices dominates and holds the GIL;
here the loops are compiled (``nogil``: threads really solve different replicates at once).

**Small dense linear algebra.** Cholesky; Householder reduction to tridiagonal form;
implicit QL with Wilkinson's shift (Golub & Van Loan, *Matrix Computations*, 4th ed.,
sections 4.2 and 8.3). LAPACK is as fast per matrix, but every call pays for copies,
checks and a workspace query, and the QL iteration is one long chain of dependent
divisions and square roots the processor waits on: :func:`eigvalsh2` runs the iterations
of two matrices in one loop so that the chains overlap, bit for bit the values of one
matrix at a time. Sums of squares are not rescaled, so :func:`eigvalsh` and
:func:`eigvalsh2` refuse (report as not solved) entries outside 1e-100 to 1e100 in size;
the fits below call the unchecked versions, their matrices being correlation matrices and
matrices built from them, with entries of order 1. Checked against LAPACK in
tests/test_linalg_kernels.py.

**One-factor minres.** psych fits each replicate with optim(L-BFGS-B) over the
uniquenesses psi in [0.005, 1] from psi = 1 - SMC, with loadings l = leading eigenpair of
R - diag(psi). The same solutions are the minima over l of

    G(l) = 1/4 ||R - diag(psi(l)) - l l'||^2,   psi_i(l) = max(1 - l_i^2, 0.005),

the off-diagonal least-squares criterion plus, for an item whose communality would pass
psych's bound 1 - 0.005, the squared diagonal residual the bound leaves. G is smooth in l,
so each replicate is solved by Newton's method with a backtracking line search. Replicates
go in pairs so that their eigenvalue problems interleave. Anything these routines cannot
settle is reported as not solved, and the caller uses LAPACK and psych's own optimiser.

Everything is in one module on purpose: numba decides whether its disk cache is stale
from the source file of the function it compiled, and a routine compiled into another
module's cached code would not be recompiled when only its own file changed.
"""

from __future__ import annotations

import numba
import numpy as np

_EPS = float(np.finfo(float).eps)
_MAX_SWEEPS = 60  # QL sweeps per eigenvalue before giving up (2-3 are usual)


def jit(fn):
    """Compile without the GIL, cached on disk when there is somewhere to write the cache."""
    try:
        return numba.njit(fn, nogil=True, cache=True, error_model="numpy")
    except RuntimeError:  # no writable cache location (read-only install): compile per process
        return numba.njit(fn, nogil=True, error_model="numpy")


@jit
def cholesky(a, work):
    """Lower Cholesky factor of symmetric ``a`` into ``work``; False if not positive definite.

    The test is LAPACK dpotrf's: a pivot that is not positive (or NaN) fails.
    """
    p = a.shape[0]
    for j in range(p):
        s = a[j, j]
        for k in range(j):
            s -= work[j, k] * work[j, k]
        if not s > 0.0:
            return False
        d = np.sqrt(s)
        work[j, j] = d
        for i in range(j + 1, p):
            t = a[i, j]
            for k in range(j):
                t -= work[i, k] * work[j, k]
            work[i, j] = t / d
    return True


@jit
def chol_solve(a, b, work):
    """Solve a x = b for symmetric positive definite ``a``; ``b`` is overwritten by x.

    Returns False, leaving ``b`` unchanged, when ``a`` is not positive definite.
    """
    if not cholesky(a, work):
        return False
    chol_substitute(work, b)
    return True


@jit
def chol_substitute(work, b):
    """Solve L L' x = b with the Cholesky factor L in ``work``; ``b`` is overwritten by x."""
    p = work.shape[0]
    for i in range(p):  # L y = b
        t = b[i]
        for k in range(i):
            t -= work[i, k] * b[k]
        b[i] = t / work[i, i]
    for i in range(p - 1, -1, -1):  # L' x = y
        t = b[i]
        for k in range(i + 1, p):
            t -= work[k, i] * b[k]
        b[i] = t / work[i, i]


@jit
def tridiagonalize(a, d, e):
    """Householder reduction of symmetric ``a`` to tridiagonal (``d`` diagonal, ``e`` off it).

    ``a`` is overwritten; only its upper triangle is read (row by row: contiguous in
    memory). ``e[k]`` couples ``d[k]`` and ``d[k + 1]``; ``e[n - 1]`` is set to 0.
    """
    n = a.shape[0]
    v = np.empty(n)
    w = np.empty(n)
    for k in range(n - 2):
        d[k] = a[k, k]
        tau, e[k] = _reflector(a, k, v)
        if tau == 0.0:  # already tridiagonal in this row
            continue
        m = n - k - 1
        o = k + 1
        for c in range(m):
            w[c] = 0.0
        for r in range(m):  # w = B v for the trailing block B, from its upper triangle
            vr = v[r]
            acc = a[o + r, o + r] * vr
            for c in range(r + 1, m):
                b = a[o + r, o + c]
                acc += b * v[c]
                w[c] += b * vr
            w[r] += acc
        kk = 0.0
        for c in range(m):
            w[c] *= tau
            kk += w[c] * v[c]
        kk *= 0.5 * tau
        for c in range(m):
            w[c] -= kk * v[c]
        for r in range(m):  # B <- H B H = B - v w' - w v' (upper triangle)
            vr = v[r]
            wr = w[r]
            for c in range(r, m):
                a[o + r, o + c] -= vr * w[c] + wr * v[c]
    if n >= 2:
        d[n - 2] = a[n - 2, n - 2]
        e[n - 2] = a[n - 2, n - 1]
    d[n - 1] = a[n - 1, n - 1]
    e[n - 1] = 0.0


@jit
def _reflector(a, k, v):
    """Householder reflector for row k of ``a`` (its part right of the diagonal).

    Returns (tau, beta): H = I - tau v v' with v[0] = 1 (written to ``v``) takes the row's
    tail to (beta, 0, ..., 0). tau = 0 (H = I) when the tail is already zero past its
    first entry.
    """
    n = a.shape[0]
    x0 = a[k, k + 1]
    sigma = 0.0
    for c in range(k + 2, n):
        sigma += a[k, c] * a[k, c]
    v[0] = 1.0
    if sigma == 0.0:
        for c in range(1, n - k - 1):
            v[c] = 0.0
        return 0.0, x0
    beta = np.sqrt(x0 * x0 + sigma)
    if x0 >= 0.0:
        beta = -beta
    scale = 1.0 / (x0 - beta)
    for c in range(1, n - k - 1):
        v[c] = a[k, k + 1 + c] * scale
    return (beta - x0) / beta, beta


@jit
def tridiagonalize2(a1, a2, d1, e1, d2, e2):
    """:func:`tridiagonalize` of two matrices of the same order in one loop (same arithmetic:
    two independent chains the processor overlaps)."""
    n = a1.shape[0]
    v1 = np.empty(n)
    w1 = np.empty(n)
    v2 = np.empty(n)
    w2 = np.empty(n)
    for k in range(n - 2):
        d1[k] = a1[k, k]
        d2[k] = a2[k, k]
        tau1, e1[k] = _reflector(a1, k, v1)
        tau2, e2[k] = _reflector(a2, k, v2)
        m = n - k - 1
        o = k + 1
        for c in range(m):
            w1[c] = 0.0
            w2[c] = 0.0
        for r in range(m):  # w = B v for each trailing block B, from its upper triangle
            vr1 = v1[r]
            vr2 = v2[r]
            acc1 = a1[o + r, o + r] * vr1
            acc2 = a2[o + r, o + r] * vr2
            for c in range(r + 1, m):
                b1 = a1[o + r, o + c]
                b2 = a2[o + r, o + c]
                acc1 += b1 * v1[c]
                acc2 += b2 * v2[c]
                w1[c] += b1 * vr1
                w2[c] += b2 * vr2
            w1[r] += acc1
            w2[r] += acc2
        kk1 = 0.0
        kk2 = 0.0
        for c in range(m):
            w1[c] *= tau1
            w2[c] *= tau2
            kk1 += w1[c] * v1[c]
            kk2 += w2[c] * v2[c]
        kk1 *= 0.5 * tau1
        kk2 *= 0.5 * tau2
        for c in range(m):
            w1[c] -= kk1 * v1[c]
            w2[c] -= kk2 * v2[c]
        for r in range(m):  # B <- H B H = B - v w' - w v' (upper triangles)
            vr1 = v1[r]
            wr1 = w1[r]
            vr2 = v2[r]
            wr2 = w2[r]
            for c in range(r, m):
                a1[o + r, o + c] -= vr1 * w1[c] + wr1 * v1[c]
                a2[o + r, o + c] -= vr2 * w2[c] + wr2 * v2[c]
    for a, d, e in ((a1, d1, e1), (a2, d2, e2)):
        if n >= 2:
            d[n - 2] = a[n - 2, n - 2]
            e[n - 2] = a[n - 2, n - 1]
        d[n - 1] = a[n - 1, n - 1]
        e[n - 1] = 0.0


@jit
def _converged_at(d, e, l):
    """First m >= l whose off-diagonal e[m] is negligible (n - 1 if none): the block l..m."""
    n = d.shape[0]
    m = l
    while m < n - 1:
        if abs(e[m]) <= _EPS * (abs(d[m]) + abs(d[m + 1])):
            break
        m += 1
    return m


@jit
def _shifted_start(d, e, l, m):
    """Wilkinson's shift for the block l..m, as the QL sweep's first g."""
    g = (d[l + 1] - d[l]) / (2.0 * e[l])
    r = np.sqrt(g * g + 1.0)
    return d[m] - d[l] + e[l] / (g + (r if g >= 0 else -r))


@jit
def tridiagonal_eigenvalues(d, e):
    """Eigenvalues of the symmetric tridiagonal (d, e) into ``d`` (unsorted) by implicit QL.

    Returns False if an eigenvalue needs more than ``_MAX_SWEEPS`` sweeps.
    """
    n = d.shape[0]
    for l in range(n):
        sweeps = 0
        while True:
            m = _converged_at(d, e, l)
            if m == l:
                break
            sweeps += 1
            if sweeps > _MAX_SWEEPS:
                return False
            g = _shifted_start(d, e, l, m)
            s = 1.0
            c = 1.0
            p = 0.0
            i = m - 1
            split = False
            while i >= l:  # one sweep of plane rotations, from the bottom of the block up
                f = s * e[i]
                b = c * e[i]
                r = np.sqrt(f * f + g * g)
                e[i + 1] = r
                if r == 0.0:  # the block splits: start again above
                    d[i + 1] -= p
                    e[m] = 0.0
                    split = True
                    break
                s = f / r
                c = g / r
                g = d[i + 1] - p
                r = (d[i] - g) * s + 2.0 * c * b
                p = s * r
                d[i + 1] = g + p
                g = c * r - b
                i -= 1
            if not split:
                d[l] -= p
                e[l] = g
                e[m] = 0.0
    return True


@jit
def _next_sweep(d, e, l, k):
    """The next QL sweep from eigenvalue ``l`` (``k`` sweeps spent on it so far): returns
    (l, m, k, g) for the block l..m and its shifted start g, with m = -1 once every
    eigenvalue has converged."""
    n = d.shape[0]
    m = _converged_at(d, e, l)
    while m == l:
        l += 1
        k = 0
        if l >= n:
            return l, -1, k, 0.0
        m = _converged_at(d, e, l)
    return l, m, k + 1, _shifted_start(d, e, l, m)


@jit
def tridiagonal_eigenvalues2(d1, e1, d2, e2):
    """:func:`tridiagonal_eigenvalues` of two tridiagonals at once (the same arithmetic).

    Each matrix has its own state (current eigenvalue ``l``, block end ``m``, rotation
    ``i``); while both are inside a sweep, one loop turn makes one rotation of each, which
    lets the processor overlap the two dependency chains. Returns False if either fails.
    """
    l1 = 0
    m1 = 0
    i1 = 0
    s1 = c1 = p1 = g1 = 0.0
    k1 = 0  # sweeps for the current eigenvalue
    done1 = False
    l2 = 0
    m2 = 0
    i2 = 0
    s2 = c2 = p2 = g2 = 0.0
    k2 = 0
    done2 = False
    new1 = True  # a new sweep is to be set up
    new2 = True
    while True:
        if new1 and not done1:
            l1, m1, k1, g1 = _next_sweep(d1, e1, l1, k1)
            if m1 < 0:
                done1 = True
            elif k1 > _MAX_SWEEPS:
                return False
            else:
                s1 = 1.0
                c1 = 1.0
                p1 = 0.0
                i1 = m1 - 1
                new1 = False
        if new2 and not done2:
            l2, m2, k2, g2 = _next_sweep(d2, e2, l2, k2)
            if m2 < 0:
                done2 = True
            elif k2 > _MAX_SWEEPS:
                return False
            else:
                s2 = 1.0
                c2 = 1.0
                p2 = 0.0
                i2 = m2 - 1
                new2 = False
        if done1 and done2:
            return True
        run1 = not (new1 or done1)
        run2 = not (new2 or done2)
        while run1 or run2:
            if run1:
                f = s1 * e1[i1]
                b = c1 * e1[i1]
                r = np.sqrt(f * f + g1 * g1)
                e1[i1 + 1] = r
                if r == 0.0:
                    d1[i1 + 1] -= p1
                    e1[m1] = 0.0
                    new1 = True
                else:
                    s1 = f / r
                    c1 = g1 / r
                    g = d1[i1 + 1] - p1
                    r = (d1[i1] - g) * s1 + 2.0 * c1 * b
                    p1 = s1 * r
                    d1[i1 + 1] = g + p1
                    g1 = c1 * r - b
                    i1 -= 1
                    if i1 < l1:
                        d1[l1] -= p1
                        e1[l1] = g1
                        e1[m1] = 0.0
                        new1 = True
            if run2:
                f = s2 * e2[i2]
                b = c2 * e2[i2]
                r = np.sqrt(f * f + g2 * g2)
                e2[i2 + 1] = r
                if r == 0.0:
                    d2[i2 + 1] -= p2
                    e2[m2] = 0.0
                    new2 = True
                else:
                    s2 = f / r
                    c2 = g2 / r
                    g = d2[i2 + 1] - p2
                    r = (d2[i2] - g) * s2 + 2.0 * c2 * b
                    p2 = s2 * r
                    d2[i2 + 1] = g + p2
                    g2 = c2 * r - b
                    i2 -= 1
                    if i2 < l2:
                        d2[l2] -= p2
                        e2[l2] = g2
                        e2[m2] = 0.0
                        new2 = True
            # Leave to set up a new sweep as soon as one matrix needs it, unless the other
            # is finished (then the one still running carries on alone).
            if (new1 and not done1) or (new2 and not done2):
                break
            run1 = not (new1 or done1)
            run2 = not (new2 or done2)


@jit
def _in_range(a):
    """Entries finite and of moderate size (the sums of squares below neither overflow nor
    lose everything to underflow)."""
    big = 0.0
    for x in a.ravel():
        if not abs(x) < 1e100:
            return False
        big = max(big, abs(x))
    return big == 0.0 or big > 1e-100


@jit
def eigvalsh(a, out):
    """All eigenvalues of symmetric ``a`` (not modified), descending, into ``out``.

    Returns False, ``out`` meaningless, if an entry is not finite or not of moderate size
    (see the module docstring) or the QL iteration failed.
    """
    return _in_range(a) and _eigvalsh(a, out)


@jit
def _eigvalsh(a, out):
    """:func:`eigvalsh` without the check of the entries' size, for the matrices built here
    (correlation matrices, reduced matrices, Hessians: entries of order 1)."""
    n = a.shape[0]
    w = a.copy()
    d = np.empty(n)
    e = np.empty(n)
    tridiagonalize(w, d, e)
    ok = tridiagonal_eigenvalues(d, e)
    d.sort()
    out[:] = d[::-1]
    return ok


@jit
def eigvalsh2(a1, a2, out1, out2):
    """:func:`eigvalsh` of two matrices of the same order, their QL iterations interleaved.

    Returns False (both outputs meaningless) if either fails.
    """
    return _in_range(a1) and _in_range(a2) and _eigvalsh2(a1, a2, out1, out2)


@jit
def _eigvalsh2(a1, a2, out1, out2):
    """:func:`eigvalsh2` without the check of the entries' size (see :func:`_eigvalsh`)."""
    n = a1.shape[0]
    d1 = np.empty(n)
    e1 = np.empty(n)
    d2 = np.empty(n)
    e2 = np.empty(n)
    tridiagonalize2(a1.copy(), a2.copy(), d1, e1, d2, e2)
    ok = tridiagonal_eigenvalues2(d1, e1, d2, e2)
    d1.sort()
    d2.sort()
    out1[:] = d1[::-1]
    out2[:] = d2[::-1]
    return ok


# ---- one-factor minres ----------------------------------------------------------------------

HMAX = 1.0 - 0.005  # psych's lower bound on uniquenesses, as a bound on communalities


@jit
def _value(r0sq, q, h):
    """G from ||R0||^2, q = l'R0 l and h = l^2."""
    ss = 0.0
    s2 = 0.0
    over = 0.0
    for i in range(h.shape[0]):
        ss += h[i]
        s2 += h[i] * h[i]
        if h[i] > HMAX:
            over += (h[i] - HMAX) * (h[i] - HMAX)
    return 0.25 * (r0sq - 2.0 * q + ss * ss - s2 + over)


@jit
def _hessian(r, l, hess):
    """Hessian of G at ``l``: 2 l l' - R off the diagonal, ||l||^2 - l_i^2 (+ bound) on it."""
    p = l.shape[0]
    ss = 0.0
    for i in range(p):
        ss += l[i] * l[i]
    for i in range(p):
        for j in range(p):
            hess[i, j] = 2.0 * l[i] * l[j] - r[i, j]
        h = l[i] * l[i]
        d = ss - h
        if h > HMAX:
            d += 3.0 * h - HMAX
        hess[i, i] = d


@jit
def newton(r, l0, max_iter=100, tol=1e-10):
    """Minimise G for correlation matrix ``r`` from loadings ``l0``.

    Newton steps with a backtracking (Armijo) line search; a Hessian that is not positive
    definite is shifted past its most negative eigenvalue, so steps always descend. Only
    the Hessian needs R0 (R with a zero diagonal): R0 l is carried along, and for a step s
    solving H s = -g with H = 2 l l' - R0 off the diagonal and d on it,
    R0 s = 2 l (l's) + (d - 2 l^2) s + g, so the line search and the next gradient cost O(p).

    Returns the loadings and whether max |gradient| < ``tol`` was reached at a point whose
    Hessian is positive definite (a minimum, not a saddle).
    """
    p = r.shape[0]
    l = l0.copy()
    r0sq = 0.0
    for i in range(p):
        for j in range(p):
            if i != j:
                r0sq += r[i, j] * r[i, j]
    rl = np.zeros(p)
    for i in range(p):
        for j in range(p):
            if i != j:
                rl[i] += r[i, j] * l[j]
    h = np.empty(p)
    grad = np.empty(p)
    dg = np.empty(p)
    step = np.empty(p)
    r0s = np.empty(p)
    lt = np.empty(p)
    ht = np.empty(p)
    hess = np.empty((p, p))
    work = np.empty((p, p))
    ev = np.empty(p)
    fin = False
    ok = False
    for _ in range(max_iter):
        ss = 0.0
        for i in range(p):
            h[i] = l[i] * l[i]
            ss += h[i]
        gmax = 0.0
        finite = True
        for i in range(p):
            g = l[i] * (ss - h[i]) - rl[i]
            if h[i] > HMAX:
                g += (h[i] - HMAX) * l[i]
            grad[i] = g
            if not np.isfinite(g):
                finite = False
            elif abs(g) > gmax:
                gmax = abs(g)
        if not finite:
            return l, False
        if gmax < tol or fin:
            ok = True
            break
        _hessian(r, l, hess)
        for i in range(p):
            dg[i] = hess[i, i]
            step[i] = -grad[i]
        shifted = False
        if not chol_solve(hess, step, work):
            # Not positive definite: shift the diagonal past the most negative eigenvalue.
            if not _eigvalsh(hess, ev):
                return l, False
            lmin = min(ev[p - 1], 0.0)
            sigma = 1e-3 - 1.5 * lmin
            for i in range(p):
                hess[i, i] += sigma
                step[i] = -grad[i]
            if not chol_solve(hess, step, work):  # rounding at the shift: a larger ridge
                extra = (1e-2 + 2.0 * abs(lmin)) - sigma
                for i in range(p):
                    hess[i, i] += extra
                    step[i] = -grad[i]
                sigma += extra
                if not chol_solve(hess, step, work):
                    return l, False  # the caller fits this matrix another way
            for i in range(p):
                dg[i] += sigma
            shifted = True
        ls = 0.0
        for i in range(p):
            ls += l[i] * step[i]
        slope = 0.0
        a0 = 0.0
        a1 = 0.0
        a2 = 0.0
        smax = 0.0
        for i in range(p):
            r0s[i] = 2.0 * ls * l[i] + (dg[i] - 2.0 * h[i]) * step[i] + grad[i]
            slope += grad[i] * step[i]
            a0 += l[i] * rl[i]
            a1 += step[i] * rl[i]
            if abs(step[i]) > smax:
                smax = abs(step[i])
        for i in range(p):
            a2 += step[i] * r0s[i]
        # G is a sum of terms of size ~||R0||^2 that cancel: near the minimum a decrease is
        # lost in rounding, so the Armijo test allows that much slack.
        f0 = _value(r0sq, a0, h) + 64.0 * _EPS * (r0sq + ss * ss)
        t = 1.0
        for i in range(p):
            lt[i] = l[i] + step[i]
            ht[i] = lt[i] * lt[i]
        ft = _value(r0sq, a0 + 2.0 * a1 + a2, ht)
        full = ft <= f0 + 1e-4 * slope
        if not full:
            for _k in range(30):  # halve the step until G decreases enough
                t *= 0.5
                for i in range(p):
                    lt[i] = l[i] + t * step[i]
                    ht[i] = lt[i] * lt[i]
                ft = _value(r0sq, a0 + 2.0 * t * a1 + t * t * a2, ht)
                if ft <= f0 + 1e-4 * t * slope:
                    break
        # A full Newton step on a positive definite Hessian that moves no loading by more
        # than 1e-5 lands within ~1e-9 of the minimum (quadratic convergence): stop there
        # rather than pay another factorisation to see the gradient vanish.
        fin = full and not shifted and smax < 1e-5
        for i in range(p):
            l[i] = lt[i]
            rl[i] += t * r0s[i]
    if ok:  # a converged point whose Hessian is not positive definite is a saddle
        _hessian(r, l, hess)
        ok = cholesky(hess, work)
    return l, ok


@jit
def _leading_vector(s, top):
    """Unit leading eigenvector of symmetric ``s`` whose largest eigenvalue is ``top``.

    Inverse iteration at a shift just above ``top`` (shift I - s is positive definite: one
    Cholesky factorisation) reaches the vector to near machine precision in one or two
    solves. Returns the vector and whether its residual is below 1e-7 (False: the probe
    was orthogonal to it, or the shift met an eigenvalue).
    """
    p = s.shape[0]
    shift = top * (1.0 + 1e-9) + 1e-12
    m = np.empty((p, p))
    work = np.empty((p, p))
    for i in range(p):
        for j in range(p):
            m[i, j] = -s[i, j]
        m[i, i] += shift
    v = np.empty(p)
    for i in range(p):
        v[i] = 1.0 + i / max(p - 1, 1)
    if not cholesky(m, work):
        return v, False
    for _attempt in range(3):
        chol_substitute(work, v)
        nrm = np.sqrt(np.sum(v * v))
        if not (nrm > 0.0 and np.isfinite(nrm)):
            return v, False
        v /= nrm
        res = 0.0
        for i in range(p):
            t = -top * v[i]
            for j in range(p):
                t += s[i, j] * v[j]
            res = max(res, abs(t))
        if res <= 1e-7 * max(1.0, abs(top)):
            return v, True
    return v, False


@jit
def principal_start(r, top):
    """Start loadings: the leading principal axis v of R, scaled to fit R's off-diagonal.

    The scale c minimises sum_{i != j} (r_ij - c^2 v_i v_j)^2: c^2 = (v'Rv - 1) / (1 - sum v_i^4).
    """
    v, ok = _leading_vector(r, top)
    c2 = (top - 1.0) / max(1.0 - np.sum(v ** 4), 1e-12)
    return v * np.sqrt(max(c2, 1e-6)), ok


@jit
def _with_communalities(r, l):
    """R with l^2 on its diagonal (the reduced matrix whose eigenvalues are reported)."""
    red = r.copy()
    for i in range(r.shape[0]):
        red[i, i] = l[i] * l[i]
    return red


@jit
def _is_leading(r, l):
    """psych's solutions have ||l||^2 as the largest eigenvalue of R - diag(psi(l))."""
    p = r.shape[0]
    s = r.copy()
    ss = 0.0
    for i in range(p):
        h = l[i] * l[i]
        ss += h
        s[i, i] = min(h, HMAX)
    ev = np.empty(p)
    if not _eigvalsh(s, ev):
        return False
    return abs(ev[0] - ss) <= 1e-8 * max(1.0, abs(ev[0]))


@jit
def _acceptable(r, l, values):
    """A converged fit psych could return: ||l||^2 is the top eigenvalue of R - diag(psi).

    For interior solutions R - diag(psi) is the reduced matrix itself, whose eigenvalues
    ``values`` are at hand; only solutions at psych's bound need their own check.
    """
    ss = np.sum(l * l)
    if np.max(l * l) > HMAX:
        return _is_leading(r, l)
    return abs(values[0] - ss) <= 1e-8 * max(1.0, values[0])


@jit
def _fit(r, top):
    """Newton from the principal start: loadings and whether it converged to a minimum."""
    l0, ok = principal_start(r, top)
    if not ok:
        return l0, False
    return newton(r, l0)


@jit
def _repair(r, l, out, paf_steps=20, rounds=5):
    """Principal-axis iterations, then Newton again, for a fit that was not acceptable.

    ``paf_steps`` iterations of psych's fixed-point map psi <- 1 - l^2 (which descends in
    psi) from ``l``, then Newton, up to ``rounds`` times. Writes the eigenvalues to ``out``
    and returns True on success.
    """
    p = r.shape[0]
    l = l.copy()
    psi = np.empty(p)
    ev = np.empty(p)
    for _ in range(rounds):
        for i in range(p):
            if not np.isfinite(l[i]):
                l[i] = 0.0
        for _k in range(paf_steps):
            s = r.copy()
            for i in range(p):
                psi[i] = min(max(1.0 - l[i] * l[i], 1.0 - HMAX), 1.0)
                s[i, i] -= psi[i]
            if not _eigvalsh(s, ev):
                return False
            v, ok = _leading_vector(s, ev[0])
            if not ok:
                return False
            l = v * np.sqrt(max(ev[0], 0.0))
        l, ok = newton(r, l)
        if ok and _is_leading(r, l):
            return _eigvalsh(_with_communalities(r, l), out)
    return False


@jit
def one_factor_pair(r1, r2, top1, top2, out1, out2):
    """One-factor eigenvalues (descending) of two correlation matrices into ``out1``/``out2``.

    ``top1``/``top2`` are their largest eigenvalues. The two reduced matrices' eigenvalue
    problems run interleaved. Returns whether each was solved.
    """
    l1, ok1 = _fit(r1, top1)
    l2, ok2 = _fit(r2, top2)
    both = _eigvalsh2(_with_communalities(r1, l1), _with_communalities(r2, l2), out1, out2)
    ok1 = ok1 and both and _acceptable(r1, l1, out1)
    ok2 = ok2 and both and _acceptable(r2, l2, out2)
    if not ok1:
        ok1 = _repair(r1, l1, out1)
    if not ok2:
        ok2 = _repair(r2, l2, out2)
    return ok1, ok2


@jit
def one_factor(r, top, out):
    """One-factor eigenvalues (descending) of one correlation matrix into ``out``; solved?"""
    l, ok = _fit(r, top)
    ok = ok and _eigvalsh(_with_communalities(r, l), out) and _acceptable(r, l, out)
    if not ok:
        ok = _repair(r, l, out)
    return ok


@jit
def replicates(rs, want_fa):
    """Component and (with ``want_fa``) one-factor eigenvalues of a stack of correlation
    matrices, descending, two matrices at a time.

    Returns pc values (B, p), fa values (B, p; (B, 0) without ``want_fa``) and whether each
    replicate was solved (False: compute it another way).
    """
    b, p, _ = rs.shape
    pcv = np.empty((b, p))
    fav = np.empty((b, p if want_fa else 0))
    ok = np.ones(b, dtype=np.bool_)
    k = 0
    while k < b:
        if k + 1 < b:
            if not _eigvalsh2(rs[k], rs[k + 1], pcv[k], pcv[k + 1]):
                ok[k] = ok[k + 1] = False
            elif want_fa:
                ok[k], ok[k + 1] = one_factor_pair(rs[k], rs[k + 1], pcv[k, 0], pcv[k + 1, 0],
                                                   fav[k], fav[k + 1])
            k += 2
        else:
            if not _eigvalsh(rs[k], pcv[k]):
                ok[k] = False
            elif want_fa:
                ok[k] = one_factor(rs[k], pcv[k, 0], fav[k])
            k += 1
    return pcv, fav, ok


@jit
def one_factor_batch(rs, top):
    """One-factor eigenvalues of a stack of correlation matrices (largest eigenvalues
    ``top``), two at a time: values (B, p) and whether each was solved."""
    b, p, _ = rs.shape
    values = np.empty((b, p))
    ok = np.ones(b, dtype=np.bool_)
    k = 0
    while k + 1 < b:
        ok[k], ok[k + 1] = one_factor_pair(rs[k], rs[k + 1], top[k], top[k + 1],
                                           values[k], values[k + 1])
        k += 2
    if k < b:
        ok[k] = one_factor(rs[k], top[k], values[k])
    return values, ok


@jit
def wishart_matrices(z, chi):
    """Correlation matrices from the Bartlett draws: ``z`` (B, p(p-1)/2) standard normals
    below the diagonal of T (row by row), ``chi`` (B, p) chi-squares for its squared
    diagonal; R = D^-1/2 T T' D^-1/2 with D = diag(T T'), i.e. T with unit rows times its
    transpose.
    """
    b, p = chi.shape
    rs = np.empty((b, p, p))
    t = np.zeros((p, p))
    for k in range(b):
        m = 0
        for i in range(p):
            for j in range(i):
                t[i, j] = z[k, m]
                m += 1
            t[i, i] = np.sqrt(chi[k, i])
        for i in range(p):  # rows scaled to unit length
            s = 0.0
            for j in range(i + 1):
                s += t[i, j] * t[i, j]
            s = 1.0 / np.sqrt(s)
            for j in range(i + 1):
                t[i, j] *= s
        r = rs[k]
        for i in range(p):
            r[i, i] = 1.0
            for j in range(i):
                s = 0.0
                for q in range(j + 1):
                    s += t[i, q] * t[j, q]
                r[i, j] = s
                r[j, i] = s
    return rs
