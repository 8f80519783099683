"""The compiled small-matrix routines of acap.factor._kernels against LAPACK (numpy.linalg).

Parallel analysis relies on them for every replicate; a wrong eigenvalue here would move the
reference eigenvalues silently, so they are checked on random matrices of every order up to
40 and on the structured cases where QL iterations and Householder reflections are fragile
(already diagonal or tridiagonal, repeated and clustered eigenvalues, splitting blocks,
tiny and zero entries, rank one).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acap.factor import _kernels as la


def _eig_desc(a):
    return np.linalg.eigvalsh(a)[::-1]


def _ours(a):
    out = np.empty(a.shape[0])
    assert la.eigvalsh(a, out)
    return out


def _tol(a):
    # Backward-stable eigenvalue solvers: errors of a few eps * ||A|| (LAPACK's own bound).
    return 64 * np.finfo(float).eps * max(1.0, np.abs(np.linalg.eigvalsh(a)).max()) * a.shape[0]


def _structured(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    cases = [
        np.zeros((n, n)),
        np.eye(n),
        np.diag(np.arange(n, dtype=float)),
        np.diag(np.r_[np.ones(n // 2), -np.ones(n - n // 2)]),  # two repeated eigenvalues
        (q * np.r_[np.full(n - 1, 2.0), 5.0]) @ q.T,  # one eigenvalue n-1 times
        np.outer(np.arange(1.0, n + 1), np.arange(1.0, n + 1)),  # rank one
        (q * (1.0 + 1e-9 * np.arange(n))) @ q.T,  # tightly clustered
        np.diag(np.full(n, 2.0)) - np.eye(n, k=1) - np.eye(n, k=-1),  # tridiagonal already
    ]
    block = np.zeros((n, n))  # blocks that decouple: the QL iteration must split
    h = n // 2
    block[:h, :h] = 1.0 + np.eye(h)
    block[h:, h:] = -2.0 + 0.5 * np.eye(n - h)
    cases.append(block)
    m = rng.standard_normal((n, n))
    cases += [(m + m.T) * 1e-8, (m + m.T) * 1e8]  # scale must not matter
    return cases


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 30, 40])
def test_eigvalsh_structured_matrices(n):
    rng = np.random.default_rng(n)
    for a in _structured(n, rng):
        np.testing.assert_allclose(_ours(a), _eig_desc(a), rtol=0, atol=_tol(a))


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 40), seed=st.integers(0, 2**32 - 1),
       scale=st.sampled_from([1e-6, 1.0, 1e3]), zero_share=st.floats(0.0, 0.9))
def test_eigvalsh_random_symmetric(n, seed, scale, zero_share):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n)) * scale
    a[rng.random((n, n)) < zero_share] = 0.0  # sparse patterns: reflections that are skipped
    a = a + a.T
    np.testing.assert_allclose(_ours(a), _eig_desc(a), rtol=0, atol=_tol(a))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 35), seed=st.integers(0, 2**32 - 1))
def test_two_at_once_is_bit_for_bit_one_at_a_time(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    a = a + a.T
    b = np.diag(rng.standard_normal(n)) if seed % 3 == 0 else rng.standard_normal((n, n))
    b = b + b.T  # a diagonal b finishes long before a: one lane runs on alone
    o1, o2 = np.empty(n), np.empty(n)
    assert la.eigvalsh2(a, b, o1, o2)
    np.testing.assert_array_equal(o1, _ours(a))
    np.testing.assert_array_equal(o2, _ours(b))
    # The inputs are left as they were.
    o3, o4 = np.empty(n), np.empty(n)
    assert la.eigvalsh2(a, b, o3, o4)
    np.testing.assert_array_equal(o1, o3)


def test_tridiagonalize_keeps_the_eigenvalues():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((12, 12))
    a = a + a.T
    d, e = np.empty(12), np.empty(12)
    la.tridiagonalize(a.copy(), d, e)
    assert e[-1] == 0.0
    t = np.diag(d) + np.diag(e[:-1], 1) + np.diag(e[:-1], -1)
    np.testing.assert_allclose(np.linalg.eigvalsh(t), np.linalg.eigvalsh(a), atol=1e-12)
    d2, e2, d3, e3 = np.empty(12), np.empty(12), np.empty(12), np.empty(12)
    la.tridiagonalize2(a.copy(), a[::-1, ::-1].copy(), d2, e2, d3, e3)
    np.testing.assert_array_equal(d2, d)
    np.testing.assert_array_equal(e2, e)


def test_nan_and_extreme_scales_are_reported_not_returned():
    """Outside the moderate range (sums of squares without scaling) the routines say so,
    and the caller hands the matrix to LAPACK."""
    a = np.eye(5)
    a[1, 2] = a[2, 1] = np.nan
    out, out2 = np.empty(5), np.empty(5)
    assert not la.eigvalsh(a, out)
    m = np.random.default_rng(1).standard_normal((5, 5))
    for scale in (1e-160, 1e160):
        assert not la.eigvalsh((m + m.T) * scale, out)
        assert not la.eigvalsh2(np.eye(5), (m + m.T) * scale, out, out2)
    assert la.eigvalsh(np.zeros((5, 5)), out) and not out.any()


def test_cholesky_solve_and_refusal():
    rng = np.random.default_rng(5)
    m = rng.standard_normal((9, 9))
    spd = m @ m.T + 9 * np.eye(9)
    b = rng.standard_normal(9)
    x = b.copy()
    work = np.empty((9, 9))
    assert la.chol_solve(spd, x, work)
    np.testing.assert_allclose(x, np.linalg.solve(spd, b), rtol=1e-12)
    np.testing.assert_allclose(np.tril(work), np.linalg.cholesky(spd), rtol=1e-12)
    indefinite = spd - 30 * np.eye(9)
    y = b.copy()
    assert not la.chol_solve(indefinite, y, work)
    np.testing.assert_array_equal(y, b)  # left as it was
    assert not la.cholesky(np.zeros((3, 3)), np.empty((3, 3)))
