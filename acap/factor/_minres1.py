"""Compiled one-factor minres fits for parallel analysis (numba, no GIL).

Parallel analysis fits a one-factor minres model to every simulated or resampled
correlation matrix. psych does this with optim(L-BFGS-B) over the uniquenesses psi in
[0.005, 1] from psi = 1 - SMC, with loadings l = leading eigenpair of R - diag(psi). The same
solutions are the minima over l of

    G(l) = 1/4 ||R - diag(psi(l)) - l l'||^2,   psi_i(l) = max(1 - l_i^2, 0.005),

the off-diagonal least-squares criterion plus, for an item whose communality would pass
psych's bound 1 - 0.005, the squared diagonal residual the bound leaves. G is smooth in l,
so each replicate is solved by Newton's method with a backtracking line search.

A replicate costs a few small loops, a handful of 30 x 30 Cholesky solves and two full
eigenvalue problems: in numpy, per-call overhead dominates and holds the GIL. Here the
loops are compiled (numba, ``nogil``: two threads really solve two sets of replicates at
once) and replicates go in pairs, so that their eigenvalue iterations interleave
(:mod:`acap.factor._linalg`). Anything these routines cannot settle is reported as not
solved, and the caller fits it with psych's own optimiser.
"""

from __future__ import annotations

import numpy as np

from acap.factor._linalg import chol_solve, cholesky, eigvalsh, eigvalsh2, jit

_EPS = float(np.finfo(float).eps)
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
        for i in range(p):
            d = ss - h[i]
            if h[i] > HMAX:
                d += 3.0 * h[i] - HMAX
            dg[i] = d
            for j in range(p):
                hess[i, j] = 2.0 * l[i] * l[j] - (r[i, j] if i != j else 0.0)
            hess[i, i] = d
            step[i] = -grad[i]
        shifted = False
        if not chol_solve(hess, step, work):
            # Not positive definite: shift the diagonal past the most negative eigenvalue.
            if not eigvalsh(hess, ev):
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
    for _attempt in range(3):
        if not chol_solve(m, v, work):
            return v, False
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
    if not eigvalsh(s, ev):
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
            if not eigvalsh(s, ev):
                return False
            v, ok = _leading_vector(s, ev[0])
            if not ok:
                return False
            l = v * np.sqrt(max(ev[0], 0.0))
        l, ok = newton(r, l)
        if ok and _is_leading(r, l):
            return eigvalsh(_with_communalities(r, l), out)
    return False


@jit
def one_factor_pair(r1, r2, top1, top2, out1, out2):
    """One-factor eigenvalues (descending) of two correlation matrices into ``out1``/``out2``.

    ``top1``/``top2`` are their largest eigenvalues. The two reduced matrices' eigenvalue
    problems run interleaved. Returns whether each was solved.
    """
    l1, ok1 = _fit(r1, top1)
    l2, ok2 = _fit(r2, top2)
    both = eigvalsh2(_with_communalities(r1, l1), _with_communalities(r2, l2), out1, out2)
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
    ok = ok and eigvalsh(_with_communalities(r, l), out) and _acceptable(r, l, out)
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
            if not eigvalsh2(rs[k], rs[k + 1], pcv[k], pcv[k + 1]):
                ok[k] = ok[k + 1] = False
            elif want_fa:
                ok[k], ok[k + 1] = one_factor_pair(rs[k], rs[k + 1], pcv[k, 0], pcv[k + 1, 0],
                                                   fav[k], fav[k + 1])
            k += 2
        else:
            if not eigvalsh(rs[k], pcv[k]):
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
