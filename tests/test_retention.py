"""Parallel analysis and Velicer's MAP against psych::fa.parallel and psych::vss.

Fixtures: tests/r/efa.R (data, MAP) and tests/r/retention.R (fa.parallel with 100 iterations,
every replicate kept; paired one-factor minres fits of random correlation matrices).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import acap.factor as af
from acap.errors import AcapInputError
from acap.factor import retention
from acap.factor.retention import (_ColumnResampler, _one_factor_values,
                                   _one_factor_values_exact, _wishart_build, _wishart_corr,
                                   _wishart_draw)

FIX = Path(__file__).parent / "fixtures" / "efa"
RET = Path(__file__).parent / "fixtures" / "retention"
N_ITER = 100


@pytest.fixture(scope="module")
def bfi():
    return pd.read_csv(FIX / "bfi25.csv")


@pytest.fixture(scope="module")
def sim():
    return pd.read_csv(FIX / "sim12.csv")


def _psych_replicates(tag, p):
    """psych's per-replicate eigenvalues: resampled pc, resampled fa, simulated pc, simulated fa."""
    v = pd.read_csv(RET / f"parallel_{tag}_replicates.csv").to_numpy()
    return {"pc_resampled": v[:, :p], "fa_resampled": v[:, p:2 * p],
            "pc_simulated": v[:, 2 * p:3 * p], "fa_simulated": v[:, 3 * p:]}


@pytest.mark.parametrize("tag,dataset", [("bfi", "bfi"), ("sim", "sim")])
def test_parallel_against_psych(tag, dataset, request):
    data = request.getfixturevalue(dataset)
    obs = pd.read_csv(RET / f"parallel_{tag}_observed.csv")
    info = json.loads((RET / f"parallel_{tag}.json").read_text())
    res = af.parallel_analysis(data, n_iter=N_ITER, seed=11, resample=True)
    ev = res.eigenvalues
    # Observed eigenvalues are deterministic: exact agreement.
    np.testing.assert_allclose(ev["pc_observed"], obs["pc_values"], atol=1e-10)
    np.testing.assert_allclose(ev["fa_observed"], obs["fa_values"], atol=1e-6)
    # Simulated and resampled means: two independent Monte-Carlo means of the same quantity
    # (psych 100 draws, acap 100 draws). Their difference has standard error
    # sd * sqrt(1/100 + 1/100), sd from psych's replicates; allow 4 standard errors
    # (plus 1e-4 for eigenvalues that barely vary).
    p = len(ev)
    for col, reps in _psych_replicates(tag, p).items():
        se = reps.std(axis=0, ddof=1) * np.sqrt(1 / len(reps) + 1 / N_ITER)
        diff = np.abs(ev[col].to_numpy() - reps.mean(axis=0))
        assert np.all(diff <= 4 * se + 1e-4), (col, np.max(diff / (se + 1e-12)))
    assert res.n_factors == info["nfact"]
    assert res.n_components == info["ncomp"]
    # Suggestions follow the rule: leading observed eigenvalues above the 95% quantile.
    above = ev["fa_observed"] > ev["fa_simulated_q"]
    assert above.iloc[: res.n_factors].all() and not above.iloc[res.n_factors]
    assert res.settings["compared_with"] == "simulated" and res.settings["resample"]


def _paired(tag, p):
    low = pd.read_csv(RET / f"minres1_{tag}_r.csv").to_numpy()
    rs = np.zeros((len(low), p, p))
    i, j = np.tril_indices(p, -1)
    # R writes the lower triangle column by column; numpy's tril_indices go row by row.
    order = np.lexsort((i, j))
    rs[:, i[order], j[order]] = low
    rs = rs + np.transpose(rs, (0, 2, 1))
    rs[:, np.arange(p), np.arange(p)] = 1.0
    return rs, pd.read_csv(RET / f"minres1_{tag}_values.csv").to_numpy()


@pytest.mark.parametrize("tag,p", [("p8n150", 8), ("p12n600", 12), ("p30n10000", 30)])
def test_batched_minres_matches_psych_per_replicate(tag, p):
    """The same random matrices fitted by psych::fa and by the batched Newton solver."""
    rs, ref = _paired(tag, p)
    ours = _one_factor_values(rs)
    diff = np.abs(ours - ref).max(axis=1)
    # psych stops L-BFGS-B at a loose tolerance (differences up to ~3e-3 on flat criteria),
    # and very rarely ends in another local minimum: most replicates agree closely...
    assert np.mean(diff < 1e-4) >= 0.9, np.mean(diff < 1e-4)
    assert np.mean(diff < 1e-3) >= 0.97, np.mean(diff < 1e-3)
    # ...and what the parallel analysis uses, the mean over replicates, is psych's (one
    # replicate in another local minimum moves a mean of 150 by up to ~0.006).
    np.testing.assert_allclose(ours.mean(axis=0), ref.mean(axis=0), atol=0.01)


def test_batched_minres_equals_one_at_a_time_fits():
    rng = np.random.default_rng(2)
    rs = _wishart_corr(rng, 150, 8, 40)  # small n: many one-item (Heywood) solutions
    fast = _one_factor_values(rs)
    slow = _one_factor_values_exact(rs)
    same = np.abs(fast - slow).max(axis=1) < 1e-4
    assert same.mean() >= 0.9


def test_batched_solver_equals_compiled_solver():
    """The numpy solver (no compilation) and the compiled one find the same minima."""
    from acap.factor.retention import _one_factor_values_batched

    rng = np.random.default_rng(7)
    for n, p in ((264, 43), (150, 8), (2800, 25)):
        rs = _wishart_corr(rng, n, p, 30)
        np.testing.assert_allclose(_one_factor_values_batched(rs), _one_factor_values(rs), atol=1e-6)


def test_auto_solver_is_compiled_only_for_many_iterations_or_once_loaded(sim, monkeypatch):
    monkeypatch.setattr(retention, "_compiled_loaded", False)  # as in a fresh process
    a = af.parallel_analysis(sim, n_iter=20, seed=3)
    b = af.parallel_analysis(sim, n_iter=20, seed=3, solver="newton")
    assert a.settings["solver"] == "batched" and b.settings["solver"] == "newton"
    # same draws, same minima: the same table up to the solvers' tolerance
    pd.testing.assert_frame_equal(a.eigenvalues, b.eigenvalues, atol=1e-6)
    # the compiled code is loaded now: nothing left to pay for, so the default uses it
    c = af.parallel_analysis(sim, n_iter=20, seed=3)
    assert c.settings["solver"] == "newton"
    pd.testing.assert_frame_equal(c.eigenvalues, b.eigenvalues)


def test_parallel_is_reproducible_and_options(sim, monkeypatch):
    monkeypatch.setattr(retention, "_compiled_loaded", False)  # as in a fresh process
    a = af.parallel_analysis(sim, n_iter=10, seed=5)
    b = af.parallel_analysis(sim, n_iter=10, seed=5)
    pd.testing.assert_frame_equal(a.eigenvalues, b.eigenvalues)
    # Resampling is off by default (psych's suggestions with sim=TRUE ignore it).
    assert "pc_resampled" not in a.eigenvalues and a.settings["resample"] is False
    # below 200 iterations nothing is compiled: the batched numpy solver
    assert a.settings["solver"] == "batched" and a.settings["seed"] == 5
    only_r = af.parallel_analysis(sim, n_iter=10, seed=5, sim=False)
    assert "pc_simulated" not in only_r.eigenvalues
    assert only_r.settings["compared_with"] == "resampled"
    pc = af.parallel_analysis(sim, n_iter=10, seed=5, fa="pc")
    assert pc.n_factors is None and "fa_observed" not in pc.eigenvalues
    fa = af.parallel_analysis(sim, n_iter=10, seed=5, fa="fa", solver="lbfgsb")
    assert fa.n_components is None and "pc_observed" not in fa.eigenvalues
    r = sim.corr()
    from_r = af.parallel_analysis(r, n_iter=10, seed=5, n_obs=len(sim))
    assert "pc_resampled" not in from_r.eigenvalues
    with pytest.raises(AcapInputError, match="n_obs"):
        af.parallel_analysis(r, n_iter=10)
    with pytest.raises(AcapInputError, match="resampling needs raw data"):
        af.parallel_analysis(r, n_iter=10, n_obs=600, resample=True)
    with pytest.raises(AcapInputError, match="fa must be"):
        af.parallel_analysis(sim, fa="components")
    with pytest.raises(AcapInputError, match="solver"):
        af.parallel_analysis(sim, solver="magic")


def test_parallel_results_do_not_depend_on_threads(sim):
    """Two threads (early start on raw data, halves for resampling) give the serial numbers."""
    kw = {"n_iter": 40, "seed": 7, "resample": True}
    one = af.parallel_analysis(sim, n_jobs=1, **kw)
    two = af.parallel_analysis(sim, n_jobs=2, **kw)
    pd.testing.assert_frame_equal(one.eigenvalues, two.eigenvalues, check_exact=True)
    assert (one.n_factors, one.n_components) == (two.n_factors, two.n_components)
    # The same seed through a correlation-matrix input (no early start) draws the same
    # simulated matrices.
    from_r = af.parallel_analysis(sim.corr(), n_obs=len(sim), n_iter=40, seed=7, n_jobs=2)
    np.testing.assert_allclose(from_r.eigenvalues["pc_simulated"],
                               one.eigenvalues["pc_simulated"], rtol=0, atol=1e-12)


def test_more_threads_than_chunks_and_cores_change_nothing(sim):
    kw = {"n_iter": 30, "seed": 3}
    one = af.parallel_analysis(sim, n_jobs=1, **kw)
    for n_jobs in (3, 8):
        many = af.parallel_analysis(sim, n_jobs=n_jobs, **kw)
        pd.testing.assert_frame_equal(one.eigenvalues, many.eigenvalues, check_exact=True)


def test_bad_data_found_after_the_threads_started_leaves_no_thread(sim):
    """Raw data start the simulated replicates before the data are checked: a refusal must
    stop them, not leave them running or hanging."""
    import threading

    before = threading.active_count()
    bad = sim.copy()
    bad["x02"] = 3.0  # a constant column, found by the data check
    with pytest.raises(AcapInputError, match="constant"):
        af.parallel_analysis(bad, n_iter=400, seed=1, n_jobs=2)
    assert threading.active_count() == before


def test_usable_cores_respect_a_container_quota(tmp_path):
    quota = tmp_path / "cpu.max"
    quota.write_text("150000 100000\n")  # 1.5 CPUs: 2 threads at most
    assert 1 <= retention._usable_cores(str(quota)) <= 2
    quota.write_text("max 100000\n")
    assert retention._usable_cores(str(quota)) == retention._usable_cores(str(tmp_path / "none"))
    quota.write_text("garbage")
    assert retention._usable_cores(str(quota)) >= 1


def test_interrupt_while_the_threads_start_cancels_them(sim, monkeypatch):
    """A failure (here Ctrl-C) between starting the threads and drawing the rest of the
    normals must not leave threads waiting for numbers that never come."""
    import threading

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(retention._SimulatedDraws, "fill", interrupted)
    before = threading.active_count()
    caught = []

    def call():
        try:
            af.parallel_analysis(sim, n_iter=200, seed=1, n_jobs=2)
        except KeyboardInterrupt:
            caught.append(True)

    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(timeout=60)
    assert not t.is_alive(), "parallel_analysis hung after an interrupt"
    assert caught == [True]
    assert threading.active_count() == before


def test_resampling_accepts_any_generator(sim):
    """A Generator whose bit generator cannot spawn children still seeds the resampling."""
    def legacy():
        return np.random.Generator(np.random.RandomState(3)._bit_generator)

    a = af.parallel_analysis(sim, n_iter=12, seed=legacy(), resample=True, n_jobs=1)
    b = af.parallel_analysis(sim, n_iter=12, seed=legacy(), resample=True, n_jobs=2)
    pd.testing.assert_frame_equal(a.eigenvalues, b.eigenvalues, check_exact=True)
    assert a.settings["seed"] == "Generator"


def test_compiled_wishart_matrices_equal_the_numpy_construction():
    z, chi = _wishart_draw(np.random.default_rng(8), 500, 9, 12)
    rs = retention._compiled().wishart_matrices(z, chi)
    np.testing.assert_allclose(rs, _wishart_build(z, chi), rtol=0, atol=1e-14)
    pcv, fav, ok = retention._compiled().replicates(rs, True)
    assert ok.all()
    np.testing.assert_allclose(pcv, np.linalg.eigvalsh(rs)[:, ::-1], rtol=0, atol=1e-13)
    np.testing.assert_allclose(fav, _one_factor_values(rs), rtol=0, atol=1e-9)


def test_replicates_the_kernels_leave_are_computed_another_way(monkeypatch):
    """What the compiled routines report unsolved gets LAPACK's eigenvalues and psych's
    optimiser: the same numbers, up to the optimiser's tolerance."""
    rs = _wishart_corr(np.random.default_rng(6), 300, 6, 7)
    kernels = retention._compiled()
    good_pc, good_fa, _ = kernels.replicates(rs, True)

    class Failing:
        def __getattr__(self, name):
            return getattr(kernels, name)

        @staticmethod
        def replicates(rs, want_fa):
            pcv, fav, ok = kernels.replicates(rs, want_fa)
            pcv[1::2] = np.nan  # garbage where unsolved, as the kernels may leave it
            ok[1::2] = False
            return pcv, fav, ok

        @staticmethod
        def one_factor_batch(rs, top):
            values, ok = kernels.one_factor_batch(rs, top)
            ok[:] = False
            return values, ok

    monkeypatch.setattr(retention, "_compiled", lambda: Failing())
    pcv, fav = retention._replicate_values(rs, want_fa=True, solver="newton")
    np.testing.assert_allclose(pcv, good_pc, rtol=0, atol=1e-13)
    np.testing.assert_allclose(fav, good_fa, rtol=0, atol=1e-4)
    np.testing.assert_allclose(_one_factor_values(rs), good_fa, rtol=0, atol=1e-4)


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


def test_column_resampler_is_a_column_bootstrap():
    """Single-precision batched draws equal the double-precision correlation of the same draw."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((500, 5)) + 10.0  # an offset, so centring matters
    s = _ColumnResampler(x)
    c = s.draw_many(np.random.default_rng(9), 3, chunk=2)
    idx = np.random.default_rng(9).integers(0, 500, size=(2, 5, 500), dtype=np.int32)
    cols = np.stack([x[idx[0, j], j] for j in range(5)], axis=1)
    np.testing.assert_allclose(c[0], np.corrcoef(cols.T), atol=1e-5)
    assert np.allclose(np.diagonal(c, axis1=1, axis2=2), 1.0)


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
