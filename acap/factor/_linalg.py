"""Small dense linear algebra, compiled, for loops over thousands of 30 x 30 matrices.

Parallel analysis needs every eigenvalue of two small symmetric matrices per replicate and
a few Cholesky solves. LAPACK is as fast per matrix as the code here, but every call from
numpy (or numba) pays for copies, checks and a workspace query, and the tridiagonal QL
iteration at its heart is one long chain of dependent divisions and square roots: the
processor waits on each. :func:`eigvalsh2` runs the QL iterations of two matrices in one
loop, so the two chains overlap (about 1.7 times the speed of two calls, measured at
p = 30); the results are bit for bit those of one matrix at a time.

Algorithms (Golub & Van Loan, *Matrix Computations*, 4th ed., sections 8.3 and 4.2):
Householder reduction to tridiagonal form; implicit QL with Wilkinson's shift; Cholesky.
Checked against LAPACK (numpy.linalg.eigvalsh) in tests/test_linalg_kernels.py.
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
    p = a.shape[0]
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
    return True


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
def tridiagonal_eigenvalues2(d1, e1, d2, e2):
    """:func:`tridiagonal_eigenvalues` of two tridiagonals at once (the same arithmetic).

    Each matrix has its own state (current eigenvalue ``l``, block end ``m``, rotation
    ``i``); while both are inside a sweep, one loop turn makes one rotation of each, which
    lets the processor overlap the two dependency chains. Returns False if either fails.
    """
    n = d1.shape[0]
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
            m = _converged_at(d1, e1, l1)
            while m == l1:
                l1 += 1
                k1 = 0
                if l1 >= n:
                    done1 = True
                    break
                m = _converged_at(d1, e1, l1)
            if not done1:
                k1 += 1
                if k1 > _MAX_SWEEPS:
                    return False
                m1 = m
                g1 = _shifted_start(d1, e1, l1, m1)
                s1 = 1.0
                c1 = 1.0
                p1 = 0.0
                i1 = m1 - 1
                new1 = False
        if new2 and not done2:
            m = _converged_at(d2, e2, l2)
            while m == l2:
                l2 += 1
                k2 = 0
                if l2 >= n:
                    done2 = True
                    break
                m = _converged_at(d2, e2, l2)
            if not done2:
                k2 += 1
                if k2 > _MAX_SWEEPS:
                    return False
                m2 = m
                g2 = _shifted_start(d2, e2, l2, m2)
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
def eigvalsh(a, out):
    """All eigenvalues of symmetric ``a`` (not modified), descending, into ``out``.

    Returns False if the QL iteration failed (then ``out`` is meaningless).
    """
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
    """:func:`eigvalsh` of two matrices of the same order, their QL iterations interleaved."""
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
