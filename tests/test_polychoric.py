"""Polychoric correlations and EFA on them against psych (fixtures from tests/r/adequacy.R)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from scipy.special import ndtr

import acap.factor
from acap.errors import AcapInputError
from acap.factor.polychoric import _neg_loglik, bvn_cdf, cor_smooth, polychoric

FIX = __import__("pathlib").Path(__file__).parent / "fixtures" / "adequacy"


def _load(name):
    data = pd.read_csv(FIX / f"{name}.csv")
    rho = pd.read_csv(FIX / f"{name}_rho.csv", index_col=0)
    tau_path = FIX / f"{name}_tau.csv"
    tau = pd.read_csv(tau_path, index_col=0) if tau_path.exists() else None
    return data, rho, tau


# ----------------------------------------------------------------------------- golden
@pytest.mark.parametrize("name", ["ordinal_sim", "ordinal_unequal", "ordinal_edge", "lsat6"])
def test_matches_psych(name):
    data, rho, tau = _load(name)
    res = polychoric(data)
    assert list(res.rho.index) == list(rho.index) == list(res.rho.columns)
    np.testing.assert_allclose(res.rho.to_numpy(), rho.to_numpy(), atol=1e-4, rtol=0)
    assert list(res.thresholds.index) == list(tau.index)
    assert list(res.thresholds.columns) == [int(c) for c in tau.columns]
    np.testing.assert_allclose(res.thresholds.to_numpy(), tau.to_numpy(), atol=1e-8, rtol=0)
    assert res.n_obs == len(data)


def test_sim_data_exercises_missing_and_sparse_category():
    data, _, _ = _load("ordinal_sim")
    assert data.isna().any().all()
    assert (data["v8"] == 5).sum() <= 2  # sparse top category
    res = polychoric(data)
    assert res.global_thresholds and res.n_corrected_pairs == 0 and not res.smoothed
    assert res.pairwise_n.loc["v1", "v2"] == data[["v1", "v2"]].dropna().shape[0]
    assert res.categories == (1, 2, 3, 4, 5)


def test_unequal_categories_use_per_pair_thresholds_with_correction():
    data, rho, _ = _load("ordinal_unequal")
    res = polychoric(data)
    assert not res.global_thresholds
    assert res.n_corrected_pairs > 0
    assert np.isinf(res.thresholds.loc["w5", 4])
    # without the correction the answer moves away from psych's
    plain = polychoric(data, correct=0)
    assert np.abs(plain.rho.to_numpy() - rho.to_numpy()).max() > 1e-3


def test_non_positive_definite_is_smoothed_like_psych():
    data = pd.read_csv(FIX / "ordinal_nonpd.csv")
    smoothed = polychoric(data)
    raw = polychoric(data, smooth=False)
    assert smoothed.smoothed and not raw.smoothed
    np.testing.assert_allclose(smoothed.rho, pd.read_csv(FIX / "ordinal_nonpd_rho.csv", index_col=0),
                               atol=1e-4)
    np.testing.assert_allclose(raw.rho, pd.read_csv(FIX / "ordinal_nonpd_rho_unsmoothed.csv",
                                                    index_col=0), atol=1e-4)
    assert np.linalg.eigvalsh(smoothed.rho.to_numpy()).min() > 0


def test_cor_smooth_matches_psych():
    bad = pd.read_csv(FIX / "smooth_input.csv", index_col=0)
    out, changed = cor_smooth(bad)
    assert changed
    np.testing.assert_allclose(out, pd.read_csv(FIX / "smooth_output.csv", index_col=0), atol=1e-10)
    same, changed = cor_smooth(np.eye(3))
    assert not changed and np.array_equal(same, np.eye(3))


def test_tight_tolerance_gives_the_likelihood_maximum():
    # psych stops R's optimize at ~1e-4; a tight tol gives the exact ML estimate nearby,
    # with a likelihood at least as high.
    data, rho, _ = _load("ordinal_sim")
    exact = polychoric(data, tol=1e-10)
    diff = np.abs(exact.rho.to_numpy() - rho.to_numpy())
    assert diff.max() < 2e-4 and diff.max() > 0
    codes = data[["v1", "v2"]].dropna().astype(int).to_numpy() - 1
    tab = np.zeros((1, 5, 5))
    np.add.at(tab[0], (codes[:, 1], codes[:, 0]), 1.0)
    tab /= tab.sum()
    tau = exact.thresholds.to_numpy()
    h, k = tau[[1]], tau[[0]]
    f_exact = _neg_loglik(np.array([exact.rho.loc["v2", "v1"]]), h, k, tab)[0]
    f_psych = _neg_loglik(np.array([rho.loc["v2", "v1"]]), h, k, tab)[0]
    assert f_exact <= f_psych + 1e-12
    step = 1e-3
    for r in (exact.rho.loc["v2", "v1"] - step, exact.rho.loc["v2", "v1"] + step):
        assert _neg_loglik(np.array([r]), h, k, tab)[0] > f_exact


# ----------------------------------------------------------------------------- ordinal EFA
def test_ordinal_efa_matches_psych_fa_poly():
    from acap.factor.polychoric import ordinal_efa  # builds on acap.factor.efa: an import error fails

    data = pd.read_csv(FIX / "ordinal_sim.csv")
    ref = pd.read_csv(FIX / "ordinal_sim_fa_loadings.csv", index_col=0)
    ref_phi = pd.read_csv(FIX / "ordinal_sim_fa_phi.csv", index_col=0).to_numpy()
    res = ordinal_efa(data, 2, method="minres", rotation="oblimin")
    got = res.loadings.to_numpy()
    want = ref.to_numpy()
    # align factor order and sign by the best-matching columns
    order = [int(np.argmax(np.abs(got.T @ want[:, j]))) for j in range(want.shape[1])]
    assert sorted(order) == list(range(want.shape[1]))
    signs = np.sign(np.sum(got[:, order] * want, axis=0))
    aligned = got[:, order] * signs
    np.testing.assert_allclose(aligned, want, atol=2e-3)
    phi = res.phi.to_numpy()[np.ix_(order, order)] * np.outer(signs, signs)
    np.testing.assert_allclose(phi, ref_phi, atol=2e-3)


# ----------------------------------------------------------------------------- internals
def _bvn_quad(h, k, r):
    s = np.sqrt(1 - r * r)
    f = lambda x: stats.norm.pdf(x) * ndtr((k - r * x) / s)  # noqa: E731
    edges = sorted({-40.0, min(h, r * k), h})
    return sum(integrate.quad(f, a, b, epsabs=1e-15, epsrel=1e-13, limit=400)[0]
               for a, b in zip(edges[:-1], edges[1:]))


@pytest.mark.parametrize("r", [-0.999, -0.95, -0.93, -0.6, -0.1, 0.0, 0.2, 0.7, 0.924, 0.926,
                               0.97, 0.9999])
def test_bvn_cdf_accuracy(r):
    pts = [(-1.3, 0.4), (2.1, -0.7), (0.0, 0.0), (-2.5, -2.2), (3.1, 2.9), (0.6, 0.61)]
    got = bvn_cdf([p[0] for p in pts], [p[1] for p in pts], r)
    want = [_bvn_quad(h, k, r) for h, k in pts]
    np.testing.assert_allclose(got, want, atol=1e-12, rtol=0)


def test_bvn_cdf_limits():
    assert bvn_cdf(0.0, 0.0, 0.5) == pytest.approx(1 / 3, abs=1e-15)
    assert bvn_cdf(np.inf, 0.3, 0.4) == pytest.approx(ndtr(0.3), abs=1e-15)
    assert bvn_cdf(0.3, np.inf, -0.4) == pytest.approx(ndtr(0.3), abs=1e-15)
    assert bvn_cdf(-np.inf, 2.0, 0.9) == 0.0 and bvn_cdf(1.0, -np.inf, 0.9) == 0.0
    assert bvn_cdf(np.inf, np.inf, 0.2) == 1.0
    assert bvn_cdf(0.5, -0.2, 1.0) == pytest.approx(ndtr(-0.2), abs=1e-15)
    assert bvn_cdf(0.5, 0.2, -1.0) == pytest.approx(ndtr(0.5) - ndtr(-0.2), abs=1e-15)


def test_column_order_is_equivariant():
    data, _, _ = _load("ordinal_sim")
    cols = list(data.columns)[::-1]
    a = polychoric(data).rho.loc[cols, cols]
    b = polychoric(data[cols]).rho
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), atol=1e-4)


def test_package_exports_functions_and_result_frozen():
    import importlib

    importlib.import_module("acap.factor.polychoric")  # importing the submodule must not shadow the function
    data, _, _ = _load("lsat6")
    res = acap.factor.polychoric(data)
    assert callable(acap.factor.ordinal_efa) and res.rho.shape == (5, 5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.rho = None


# ----------------------------------------------------------------------------- bad input
def test_bad_input_messages():
    base = pd.DataFrame({"a": [1, 2, 3, 2, 1], "b": [2, 3, 1, 1, 2]})
    with pytest.raises(AcapInputError, match="'c'.*whole numbers"):
        polychoric(base.assign(c=[1.5, 2, 3, 1, 2]))
    with pytest.raises(AcapInputError, match="'c'.*constant"):
        polychoric(base.assign(c=[4, 4, 4, 4, 4]))
    with pytest.raises(AcapInputError, match="'c'.*non-numeric"):
        polychoric(base.assign(c=["low", "high", "low", "mid", "mid"]))
    with pytest.raises(AcapInputError, match="max_categories"):
        polychoric(base.assign(c=[1, 20, 3, 4, 5]))
    with pytest.raises(AcapInputError, match="correct"):
        polychoric(base, correct=-1)
