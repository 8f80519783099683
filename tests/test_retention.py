"""Parallel analysis and Velicer's MAP against psych::fa.parallel and psych::vss."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import acap.factor as af
from acap.errors import AcapInputError
from acap.factor.retention import _one_factor_values, _one_factor_values_exact, _wishart_corr

FIX = Path(__file__).parent / "fixtures" / "efa"


@pytest.fixture(scope="module")
def bfi():
    return pd.read_csv(FIX / "bfi25.csv")


@pytest.fixture(scope="module")
def sim():
    return pd.read_csv(FIX / "sim12.csv")


@pytest.mark.parametrize("tag,dataset", [("bfi", "bfi"), ("sim", "sim")])
def test_parallel_against_psych(tag, dataset, request):
    data = request.getfixturevalue(dataset)
    ref = pd.read_csv(FIX / f"parallel_{tag}.csv")
    info = json.loads((FIX / f"parallel_{tag}.json").read_text())
    res = af.parallel_analysis(data, n_iter=60, seed=11)
    ev = res.eigenvalues
    # Observed eigenvalues are deterministic: exact agreement.
    np.testing.assert_allclose(ev["pc_observed"], ref["pc_values"], atol=1e-10)
    np.testing.assert_allclose(ev["fa_observed"], ref["fa_values"], atol=1e-5)
    # Simulated and resampled means differ by simulation error only (R used 20 draws).
    for ours, theirs, tol in [("pc_simulated", "pc_sim", 0.03), ("pc_resampled", "pc_resampled", 0.03),
                              ("fa_simulated", "fa_sim", 0.06), ("fa_resampled", "fa_resampled", 0.06)]:
        np.testing.assert_allclose(ev[ours], ref[theirs], atol=tol, err_msg=ours)
    assert res.n_factors == info["nfact"]
    assert res.n_components == info["ncomp"]
    # Suggestions follow the rule: leading observed eigenvalues above the 95% quantile.
    above = ev["fa_observed"] > ev["fa_simulated_q"]
    assert above.iloc[: res.n_factors].all() and not above.iloc[res.n_factors]


def test_parallel_is_reproducible_and_options(sim):
    a = af.parallel_analysis(sim, n_iter=10, seed=5)
    b = af.parallel_analysis(sim, n_iter=10, seed=5)
    pd.testing.assert_frame_equal(a.eigenvalues, b.eigenvalues)
    pc = af.parallel_analysis(sim, n_iter=10, seed=5, fa="pc")
    assert pc.n_factors is None and "fa_observed" not in pc.eigenvalues
    fa = af.parallel_analysis(sim, n_iter=10, seed=5, fa="fa", solver="newton")
    assert fa.n_components is None and "pc_observed" not in fa.eigenvalues
    r = sim.corr()
    from_r = af.parallel_analysis(r, n_iter=10, seed=5, n_obs=len(sim))
    assert "pc_resampled" not in from_r.eigenvalues
    with pytest.raises(AcapInputError, match="n_obs"):
        af.parallel_analysis(r, n_iter=10)
    with pytest.raises(AcapInputError, match="fa must be"):
        af.parallel_analysis(sim, fa="components")


def test_wishart_correlations_match_normal_data():
    """The direct draw has the distribution of correlations of N independent normal rows."""
    rng = np.random.default_rng(0)
    n, p, reps = 60, 6, 4000
    direct = np.linalg.eigvalsh(_wishart_corr(rng, n, p, reps))[:, ::-1]
    x = rng.standard_normal((reps, n, p))
    x = x - x.mean(axis=1, keepdims=True)
    c = np.transpose(x, (0, 2, 1)) @ x
    d = 1 / np.sqrt(np.einsum("bii->bi", c))
    brute = np.linalg.eigvalsh(c * d[:, :, None] * d[:, None, :])[:, ::-1]
    se = np.sqrt(direct.var(0) / reps + brute.var(0) / reps)
    assert np.all(np.abs(direct.mean(0) - brute.mean(0)) < 4 * se)
    assert np.all(np.abs(direct.std(0) - brute.std(0)) < 0.05 * brute.std(0) + 0.01)


def test_newton_solver_matches_psych_path_on_most_replicates():
    rng = np.random.default_rng(2)
    rs = _wishart_corr(rng, 500, 10, 60)
    fast = _one_factor_values(rs)
    slow = _one_factor_values_exact(rs)
    same = np.abs(fast - slow).max(axis=1) < 1e-5
    assert same.mean() > 0.9


def test_map_against_psych(bfi, sim):
    ref = pd.read_csv(FIX / "map_bfi.csv")
    res = af.velicer_map(bfi, n_factors=8)
    np.testing.assert_allclose(res.values["map"], ref["map"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(res.values["map4"], ref["map4"], atol=1e-6, rtol=0)
    assert res.n_factors == int(ref["map"].idxmin()) + 1
    assert res.n_factors_map4 == int(ref["map4"].idxmin()) + 1
    ref = pd.read_csv(FIX / "map_sim.csv")
    res = af.velicer_map(sim, n_factors=6)
    np.testing.assert_allclose(res.values["map"], ref["map"], atol=1e-4, rtol=0)
    assert res.n_factors == int(ref["map"].idxmin()) + 1
