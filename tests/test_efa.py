"""Golden tests for acap.factor.efa / EFA / rotate against psych::fa (fixtures from tests/r/efa.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment

import acap.factor as af
from acap.errors import AcapInputError

FIX = Path(__file__).parent / "fixtures" / "efa"
TOL = 2e-3


@pytest.fixture(scope="module")
def bfi():
    return pd.read_csv(FIX / "bfi25.csv")


@pytest.fixture(scope="module")
def sim():
    return pd.read_csv(FIX / "sim12.csv")


def align(ref: np.ndarray, got: np.ndarray):
    """Column permutation and signs that best match ``got`` to ``ref`` (Tucker congruence)."""
    num = ref.T @ got
    den = np.sqrt(np.outer((ref * ref).sum(0), (got * got).sum(0)))
    cong = num / den
    rows, cols = linear_sum_assignment(-np.abs(cong))
    perm = cols[np.argsort(rows)]
    signs = np.sign(cong[np.arange(ref.shape[1]), perm])
    return perm, signs


CASES = [
    ("bfi_minres_oblimin", "bfi", 5, "minres", "oblimin"),
    ("bfi_ml_varimax", "bfi", 5, "ml", "varimax"),
    ("bfi_pa_promax", "bfi", 5, "pa", "promax"),
    ("bfi_minres_quartimin", "bfi", 5, "minres", "quartimin"),
    ("bfi_minres_geominQ", "bfi", 5, "minres", "geomin"),
    ("bfi_minres_none", "bfi", 5, "minres", "none"),
    ("sim_minres_oblimin", "sim", 3, "minres", "oblimin"),
    ("sim_ml_promax", "sim", 3, "ml", "promax"),
    ("sim_pa_varimax", "sim", 3, "pa", "varimax"),
    ("sim_minres_geominT", "sim", 3, "minres", "geomin_t"),
    ("sim_ml_geominQ", "sim", 3, "ml", "geomin"),
]


@pytest.mark.parametrize("tag,dataset,k,method,rotation", CASES, ids=[c[0] for c in CASES])
def test_against_psych(tag, dataset, k, method, rotation, request):
    data = request.getfixturevalue(dataset)
    res = af.efa(data, k, method=method, rotation=rotation)
    ref_l = pd.read_csv(FIX / f"{tag}_loadings.csv", index_col=0)
    ref_phi = pd.read_csv(FIX / f"{tag}_phi.csv", index_col=0).to_numpy()
    ref_items = pd.read_csv(FIX / f"{tag}_items.csv", index_col=0)
    ref_var = pd.read_csv(FIX / f"{tag}_variance.csv", index_col=0)
    stats = json.loads((FIX / f"{tag}_stats.json").read_text())

    assert list(res.loadings.index) == list(ref_l.index)
    assert list(res.loadings.columns) == [f"F{j + 1}" for j in range(k)]
    perm, signs = align(ref_l.to_numpy(), res.loadings.to_numpy())
    # psych orders factors by variance explained; so must we (no permutation needed).
    assert list(perm) == list(range(k))
    lam = res.loadings.to_numpy()[:, perm] * signs
    phi = res.phi.to_numpy()[np.ix_(perm, perm)] * np.outer(signs, signs)
    np.testing.assert_allclose(lam, ref_l.to_numpy(), atol=TOL)
    np.testing.assert_allclose(phi, ref_phi, atol=TOL)
    np.testing.assert_allclose(res.communalities.to_numpy(), ref_items["communality"], atol=TOL)
    np.testing.assert_allclose(res.uniquenesses.to_numpy(), ref_items["uniqueness"], atol=TOL)
    np.testing.assert_allclose(res.variance.to_numpy(), ref_var.to_numpy()[:, perm], atol=TOL)
    assert res.converged
    assert res.dof == stats["dof"]
    np.testing.assert_allclose(res.objective, stats["objective"], rtol=1e-3)
    np.testing.assert_allclose(res.rmsr, stats["rms"], rtol=1e-3)
    np.testing.assert_allclose(res.empirical_chi_square, stats["chi"], rtol=1e-3)
    np.testing.assert_allclose(res.chi_square, stats["STATISTIC"], rtol=1e-3)
    np.testing.assert_allclose(res.tli, stats["TLI"], rtol=1e-3)
    np.testing.assert_allclose(res.rmsea, stats["RMSEA"], rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(res.bic, stats["BIC"], rtol=1e-3)
    np.testing.assert_allclose(res.eigenvalues.to_numpy(), stats["e_values"], atol=1e-10)
    if method != "pa":  # psych's pa "values" come from the last-but-one iterate
        np.testing.assert_allclose(res.reduced_eigenvalues.to_numpy(), stats["values"], atol=1e-4)


@pytest.mark.parametrize("method", ["pa", "minres"])
def test_heywood_case(method):
    corr = pd.read_csv(FIX / "heywood_corr.csv", index_col=0)
    ref = pd.read_csv(FIX / f"heywood_{method}_varimax_items.csv", index_col=0)
    res = af.efa(corr, 2, method=method, rotation="varimax", n_obs=200)
    np.testing.assert_allclose(res.communalities.to_numpy(), ref["communality"], atol=TOL)
    expected = tuple(ref.index[ref["communality"] >= 1])
    assert expected == ("h1",)
    assert res.heywood == expected


@pytest.mark.parametrize("rotation", ["oblimin", "promax", "geomin", "varimax"])
def test_model_is_consistent(bfi, rotation):
    """L Phi L' + diag(u) reproduces the model; structure and communalities follow from Phi."""
    res = af.efa(bfi, 5, rotation=rotation)
    lam, phi = res.loadings.to_numpy(), res.phi.to_numpy()
    implied = lam @ phi @ lam.T + np.diag(res.uniquenesses.to_numpy())
    np.testing.assert_allclose(np.diag(implied), 1.0, atol=1e-10)
    np.testing.assert_allclose(np.diag(lam @ phi @ lam.T), res.communalities, atol=1e-10)
    np.testing.assert_allclose(res.structure.to_numpy(), lam @ phi, atol=1e-12)
    # Rotation does not change the fitted common part: same as the unrotated solution.
    unrot = af.efa(bfi, 5, rotation="none")
    lu = unrot.loadings.to_numpy()
    np.testing.assert_allclose(lam @ phi @ lam.T, lu @ lu.T, atol=1e-8)
    np.testing.assert_allclose(np.diag(phi), 1.0, atol=1e-10)
    # Columns ordered by variance accounted for, and each column's loadings sum positive.
    ss = res.variance.loc["SS loadings"].to_numpy()
    assert np.all(np.diff(ss) <= 1e-12)
    assert np.all(lam.sum(axis=0) > 0)


def test_correlation_matrix_input_matches_raw(sim):
    raw = af.efa(sim, 3)
    r = raw.correlation
    from_r = af.efa(r, 3, n_obs=len(sim))
    np.testing.assert_allclose(from_r.loadings, raw.loadings, atol=1e-8)
    np.testing.assert_allclose(from_r.phi, raw.phi, atol=1e-8)
    assert np.isfinite(from_r.chi_square)
    # Pairwise n differs from the row count, so the empirical statistics differ slightly.
    np.testing.assert_allclose(from_r.chi_square, raw.chi_square, rtol=1e-8)
    no_n = af.efa(r.to_numpy(), 3, is_corr=True)
    assert np.isnan(no_n.chi_square) and np.isfinite(no_n.rmsr)


def test_estimator_contract(sim):
    est = af.EFA(3, method="ml", rotation="promax")
    assert est.fit(sim) is est
    assert est.loadings_.shape == (12, 3)
    assert est.phi_.shape == (3, 3)
    assert est.result_.method == "ml" and est.result_.rotation == "promax"
    with pytest.raises(AttributeError):
        est.result_.loadings = None  # frozen


def test_package_attribute_is_callable_after_module_import(sim):
    import importlib

    importlib.import_module("acap.factor.efa")
    res = af.efa(sim, 2, rotation="varimax")
    assert res.loadings.shape == (12, 2)


def test_rotate_public_matches_efa(bfi):
    unrot = af.efa(bfi, 5, rotation="none")
    # psych rotates the unrotated solution as extracted; our unrotated table is that
    # solution up to column signs, and sign flips do not change the oblimin optimum.
    rot = af.rotate(unrot.loadings, "oblimin")
    ref = af.efa(bfi, 5, rotation="oblimin")
    perm, signs = align(ref.loadings.to_numpy(), rot.loadings.to_numpy())
    np.testing.assert_allclose(rot.loadings.to_numpy()[:, perm] * signs, ref.loadings, atol=1e-4)
    assert rot.converged and not rot.orthogonal
    lam, phi = rot.loadings.to_numpy(), rot.phi.to_numpy()
    lu = unrot.loadings.to_numpy()
    np.testing.assert_allclose(lam @ phi @ lam.T, lu @ lu.T, atol=1e-8)


def test_random_starts_keep_psych_solution_on_bfi(bfi):
    """Several starts find no better oblimin optimum than psych's identity start here."""
    one = af.efa(bfi, 5, rotation="oblimin")
    many = af.efa(bfi, 5, rotation="oblimin", n_starts=6, seed=1)
    np.testing.assert_allclose(many.loadings, one.loadings, atol=1e-4)
    np.testing.assert_allclose(many.phi, one.phi, atol=1e-4)


def test_random_starts_never_worse(sim):
    a = af.efa(sim, 3, rotation="none").loadings
    one = af.rotate(a, "geomin")
    many = af.rotate(a, "geomin", n_starts=8, seed=3)
    assert many.criterion <= one.criterion + 1e-10
    again = af.rotate(a, "geomin", n_starts=8, seed=3)
    np.testing.assert_array_equal(many.loadings, again.loadings)


def test_varimax_matches_stats_varimax_fixture(bfi):
    """ML + varimax fixture already checks stats::varimax; here check orthogonality."""
    rot = af.rotate(af.efa(bfi, 5, "ml", "none").loadings, "varimax")
    t = rot.rotation_matrix
    np.testing.assert_allclose(t.T @ t, np.eye(5), atol=1e-10)
    np.testing.assert_allclose(rot.phi, np.eye(5))


@pytest.mark.parametrize("kwargs,match", [
    ({"n_factors": 0}, "n_factors"),
    ({"n_factors": 12}, "smaller than"),
    ({"n_factors": 2, "method": "pca"}, "unknown method"),
    ({"n_factors": 2, "rotation": "equamax"}, "unknown rotation"),
])
def test_bad_arguments(sim, kwargs, match):
    with pytest.raises(AcapInputError, match=match):
        af.efa(sim, **kwargs)


def test_bad_data():
    df = pd.DataFrame({"a": [1, 2, 3, 4], "b": ["x", "y", "z", "w"], "c": [1, 3, 2, 4]})
    with pytest.raises(AcapInputError, match="column 'b': non-numeric value 'x'"):
        af.efa(df, 1)
    df = pd.DataFrame({"a": [1, 2, np.nan, np.nan], "b": [np.nan, np.nan, 1, 2],
                       "c": [1, 3, 2, 4], "d": [2, 1, 4, 3]})
    with pytest.raises(AcapInputError, match="'a' and 'b'"):
        af.efa(df, 1)
