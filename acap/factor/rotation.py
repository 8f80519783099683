"""Factor rotations: varimax, promax, and gradient-projection oblimin/quartimin/geomin.

The gradient-projection algorithms follow Jennrich (2001, 2002) and Bernaards & Jennrich
(2005) with the step-size rules, stopping rule (gradient norm below ``eps``) and identity
start that R's GPArotation uses, so that a single start reproduces psych/GPArotation.
``n_starts > 1`` adds random orthonormal starts and keeps the lowest criterion value.
Kaiser (row) normalisation defaults to what psych::fa applies for each rotation:
none for the GPArotation rotations, on for varimax (stats::varimax) and promax
(psych's ``kaiser`` wrapper around ``Promax`` with power 4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from acap.errors import AcapInputError

ORTHOGONAL = {"varimax", "geomin_t", "quartimax"}
OBLIQUE = {"oblimin", "quartimin", "geomin", "promax"}
METHODS = ORTHOGONAL | OBLIQUE | {"none"}


@dataclass(frozen=True)
class RotationResult:
    """Rotated loadings.

    Attributes
    ----------
    loadings : pandas.DataFrame
        Rotated (pattern) loadings, items x factors, in the input's column order.
    phi : pandas.DataFrame
        Factor correlations (identity for orthogonal rotations).
    rotation_matrix : numpy.ndarray
        ``T`` with ``loadings = A @ inv(T).T`` (oblique) or ``A @ T`` (orthogonal); for
        promax, the matrix ``U`` with ``loadings = A @ U``.
    criterion : float
        Value of the rotation criterion at the solution (NaN for promax/varimax).
    converged : bool
        Whether the algorithm met its stopping rule.
    orthogonal : bool
    method : str
    """

    loadings: pd.DataFrame
    phi: pd.DataFrame
    rotation_matrix: np.ndarray
    criterion: float
    converged: bool
    orthogonal: bool
    method: str


# ---- criteria: value and gradient with respect to the rotated loadings -----------------

def _vgq_oblimin(lam: np.ndarray, gamma: float = 0.0):
    k = lam.shape[1]
    l2 = lam * lam
    x = l2 @ (1.0 - np.eye(k))
    if gamma != 0:
        p = lam.shape[0]
        x = x - (gamma / p) * x.sum(axis=0, keepdims=True)
    return float(np.sum(l2 * x) / 4.0), lam * x


def _vgq_geomin(lam: np.ndarray, delta: float = 0.01):
    k = lam.shape[1]
    l2 = lam * lam + delta
    pro = np.exp(np.log(l2).sum(axis=1) / k)
    return float(pro.sum()), (2.0 / k) * (lam / l2) * pro[:, None]


def _vgq_quartimax(lam: np.ndarray):
    l2 = lam * lam
    return float(-np.sum(l2 * l2) / 4.0), -lam ** 3


def _gpf_oblique(a, tmat, vgq, eps=1e-5, maxit=1000):
    """Oblique gradient projection (as GPArotation::GPFoblq)."""
    al = 1.0
    tinv = np.linalg.inv(tmat)
    lam = a @ tinv.T
    f, gq = vgq(lam)
    g = -(lam.T @ gq @ tinv).T
    s = np.inf
    for _ in range(maxit + 1):
        gp = g - tmat * np.sum(tmat * g, axis=0)
        s = float(np.sqrt(np.sum(gp * gp)))
        if s < eps:
            break
        al *= 2.0
        for _ in range(11):
            x = tmat - al * gp
            tmatt = x / np.sqrt(np.sum(x * x, axis=0))
            tinv = np.linalg.inv(tmatt)
            lam = a @ tinv.T
            ft, gqt = vgq(lam)
            if f - ft > 0.5 * s * s * al:
                break
            al /= 2.0
        tmat = tmatt
        f = ft
        g = -(lam.T @ gqt @ tinv).T
    return lam, tmat, f, s < eps


def _gpf_orth(a, tmat, vgq, eps=1e-5, maxit=1000):
    """Orthogonal gradient projection (as GPArotation::GPForth)."""
    al = 1.0
    lam = a @ tmat
    f, gq = vgq(lam)
    g = a.T @ gq
    s = np.inf
    for _ in range(maxit + 1):
        m = tmat.T @ g
        gp = g - tmat @ ((m + m.T) / 2.0)
        s = float(np.sqrt(np.sum(gp * gp)))
        if s < eps:
            break
        al *= 2.0
        for _ in range(11):
            x = tmat - al * gp
            u, _, vt = np.linalg.svd(x)
            tmatt = u @ vt
            lam = a @ tmatt
            ft, gqt = vgq(lam)
            if ft < f - 0.5 * s * s * al:
                break
            al /= 2.0
        tmat = tmatt
        f = ft
        g = a.T @ gqt
    return lam, tmat, f, s < eps


def _varimax(a: np.ndarray, normalize: bool = True, eps: float = 1e-5):
    """Kaiser's varimax with the SVD iteration and stopping rule of R's stats::varimax."""
    p, k = a.shape
    sc = np.sqrt(np.sum(a * a, axis=1)) if normalize else np.ones(p)
    x = a / sc[:, None]
    tt = np.eye(k)
    d = 0.0
    converged = False
    for _ in range(1000):
        z = x @ tt
        b = x.T @ (z ** 3 - z * (np.sum(z * z, axis=0) / p))
        u, sv, vt = np.linalg.svd(b)
        tt = u @ vt
        dpast, d = d, float(sv.sum())
        if d < dpast * (1 + eps):
            converged = True
            break
    z = (x @ tt) * sc[:, None]
    return z, tt, converged


def _promax(a: np.ndarray, power: float = 4.0, normalize: bool = True):
    """Promax as psych::fa applies it: Kaiser-normalise rows, varimax, then power target."""
    h = np.sqrt(np.sum(a * a, axis=1)) if normalize else np.ones(a.shape[0])
    x, tv, conv = _varimax(a / h[:, None], normalize=True)
    q = x * np.abs(x) ** (power - 1)
    u = np.linalg.lstsq(x, q, rcond=None)[0]
    utu = u.T @ u
    try:
        d = np.diag(np.linalg.inv(utu))
    except np.linalg.LinAlgError:
        d = np.diag(np.linalg.pinv(utu))
    u = u * np.sqrt(d)
    z = (x @ u) * h[:, None]
    utot = tv @ u
    ui = np.linalg.inv(utot)
    phi = ui @ ui.T
    return z, utot, phi, conv


def _rotate_array(a, method, *, normalize=None, gamma=0.0, delta=0.01, power=4.0,
                  n_starts=1, seed=None, eps=1e-5, maxit=1000):
    """Rotate a loading array; returns (loadings, phi, T, criterion, converged)."""
    k = a.shape[1]
    if method == "none" or k < 2:
        return a.copy(), np.eye(k), np.eye(k), float("nan"), True
    if method == "varimax":
        z, tt, conv = _varimax(a, normalize=True if normalize is None else normalize, eps=eps)
        return z, np.eye(k), tt, float("nan"), conv
    if method == "promax":
        z, u, phi, conv = _promax(a, power=power, normalize=True if normalize is None else normalize)
        return z, phi, u, float("nan"), conv
    if method in ("oblimin", "quartimin"):
        g = gamma if method == "oblimin" else 0.0
        vgq, oblique = (lambda lam: _vgq_oblimin(lam, g)), True
    elif method == "geomin":
        vgq, oblique = (lambda lam: _vgq_geomin(lam, delta)), True
    elif method == "geomin_t":
        vgq, oblique = (lambda lam: _vgq_geomin(lam, delta)), False
    elif method == "quartimax":
        vgq, oblique = _vgq_quartimax, False
    else:  # pragma: no cover - checked by callers
        raise AcapInputError(f"unknown rotation {method!r}", "rotation")
    w = np.sqrt(np.sum(a * a, axis=1)) if normalize else np.ones(a.shape[0])
    an = a / w[:, None]
    rng = np.random.default_rng(seed)
    best = None
    for start in range(max(1, int(n_starts))):
        # The first start is the identity (GPArotation's default); the others are random
        # orthonormal matrices, as GPArotation::Random.Start draws them.
        t0 = np.eye(k) if start == 0 else np.linalg.qr(rng.standard_normal((k, k)))[0]
        fn = _gpf_oblique if oblique else _gpf_orth
        lam, t, f, conv = fn(an, t0, vgq, eps=eps, maxit=maxit)
        # Keep the identity start unless another is better by more than numerical noise.
        if best is None or f < best[3] - 1e-8 * max(1.0, abs(best[3])):
            best = (lam, t, f, conv)
    lam, t, f, conv = best
    lam = lam * w[:, None]
    phi = t.T @ t if oblique else np.eye(k)
    return lam, phi, t, f, conv


def rotate(loadings, method: str = "oblimin", *, normalize: bool | None = None,
           gamma: float = 0.0, delta: float = 0.01, power: float = 4.0, n_starts: int = 1,
           seed: int | None = None, eps: float = 1e-5, max_iter: int = 1000) -> RotationResult:
    """Rotate a factor loading matrix.

    Parameters
    ----------
    loadings : pandas.DataFrame or array-like
        Unrotated loadings, items x factors.
    method : {"none", "varimax", "promax", "oblimin", "quartimin", "geomin", "geomin_t", "quartimax"}
        ``"geomin"`` is oblique geomin (GPArotation's geominQ), ``"geomin_t"`` orthogonal.
    normalize : bool, optional
        Kaiser row normalisation. Default: as psych::fa (on for varimax and promax, off for
        the gradient-projection rotations).
    gamma : float
        Oblimin parameter (0 gives quartimin).
    delta : float
        Geomin constant.
    power : float
        Promax power (psych's ``m``).
    n_starts : int
        Number of starts for gradient-projection rotations; the first is the identity,
        the others random orthonormal matrices. The solution with the lowest criterion is kept.
    seed : int, optional
        Seed for the random starts.
    eps, max_iter : float, int
        Stopping rule of the gradient-projection algorithm (gradient norm below ``eps``).

    Returns
    -------
    RotationResult

    References
    ----------
    Bernaards, C. A., & Jennrich, R. I. (2005). Gradient projection algorithms and software for
    arbitrary rotation criteria in factor analysis. *Educational and Psychological
    Measurement*, 65, 676-696.

    Examples
    --------
    >>> import numpy as np
    >>> from acap.factor import rotate
    >>> a = np.array([[.7, .3], [.6, .35], [.65, .3], [.3, -.6], [.35, -.55], [.3, -.6]])
    >>> rotate(a, "varimax").loadings.round(2).shape
    (6, 2)
    """
    method = str(method).lower()
    if method == "geominq":
        method = "geomin"
    if method == "geomint":
        method = "geomin_t"
    if method not in METHODS:
        raise AcapInputError(f"unknown rotation {method!r}; choose one of {sorted(METHODS)}",
                             "rotation")
    if isinstance(loadings, pd.DataFrame):
        idx, cols = loadings.index, loadings.columns
        a = loadings.to_numpy(dtype=float)
    else:
        a = np.asarray(loadings, dtype=float)
        if a.ndim != 2:
            raise AcapInputError("loadings must be a 2-D items x factors matrix", "rotation")
        idx = pd.RangeIndex(a.shape[0])
        cols = [f"F{j + 1}" for j in range(a.shape[1])]
    if not np.all(np.isfinite(a)):
        raise AcapInputError("loadings contain missing or infinite values", "rotation")
    lam, phi, t, f, conv = _rotate_array(a, method, normalize=normalize, gamma=gamma,
                                         delta=delta, power=power, n_starts=n_starts,
                                         seed=seed, eps=eps, maxit=max_iter)
    return RotationResult(
        loadings=pd.DataFrame(lam, index=idx, columns=cols),
        phi=pd.DataFrame(phi, index=cols, columns=cols),
        rotation_matrix=t, criterion=f, converged=bool(conv),
        orthogonal=method in ORTHOGONAL or method == "none", method=method)
