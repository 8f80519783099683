"""acap.network.link against sna (netlm, qaptest) and against direct computations.

Fixtures come from tests/r/network_link.R (sna 2.7): the seeded matrices, netlm
coefficients and t-values (deterministic, 1e-8), and permutation p-values from 5,000
permutations (compared within Monte-Carlo error: both sides are estimates, so the tolerance
is 4 standard errors of the difference of two independent estimates).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from acap.errors import AcapInputError
from acap.network.link import (abs_difference, adjacency_matrix, link_individual,
                               link_organisation, mrqap, qap, receiver_matrix, same_attribute,
                               sender_matrix)

FIX = Path(__file__).parent / "fixtures" / "network_link"
N_PERM = 5000
CASES = {"a": ["a_absdiff", "a_samerole", "a_recv"], "b": ["b_x1", "b_x2", "b_x3"]}
METHODS = {"qapspp": ("dekker", "t"), "qapy": ("y", "t"), "qapspp_beta": ("dekker", "beta")}


def mat(name: str) -> pd.DataFrame:
    return pd.read_csv(FIX / f"{name}.csv", index_col=0)


@pytest.fixture(scope="module")
def netlm_ref() -> pd.DataFrame:
    return pd.read_csv(FIX / "netlm.csv")


def mc_close(p_py: float, p_r: float, n_py: int, n_r: int) -> bool:
    """|p_py - p_r| within 4 standard errors of the difference of two MC estimates."""
    p = min(max((p_py + p_r) / 2, 1.0 / n_r), 1 - 1.0 / n_r)
    return abs(p_py - p_r) <= 4 * math.sqrt(p * (1 - p) * (1 / n_py + 1 / n_r))


@pytest.fixture(scope="module")
def fits():
    out = {}
    for case, xs in CASES.items():
        y = mat(f"{case}_y")
        xm = {x: mat(x) for x in xs}
        for nh, (method, ts) in METHODS.items():
            out[case, nh] = mrqap(y, xm, n_perm=N_PERM, seed=20240 + len(out), method=method,
                                  test_statistic=ts)
    return out


@pytest.mark.parametrize("case", ["a", "b"])
def test_netlm_coefficients_exact(case, netlm_ref, fits):
    ref = netlm_ref[(netlm_ref.case == case) & (netlm_ref.nullhyp == "qapspp")]
    fit = fits[case, "qapspp"]
    assert list(fit.table.index) == ["intercept"] + CASES[case]
    np.testing.assert_allclose(fit.table["estimate"].to_numpy(), ref["estimate"].to_numpy(),
                               rtol=0, atol=1e-8)
    np.testing.assert_allclose(fit.table["t"].to_numpy(), ref["tstat"].to_numpy(),
                               rtol=0, atol=1e-8)
    assert fit.n_dyads == int(ref["n"].iloc[0])


@pytest.mark.parametrize("case,nullhyp", [(c, h) for c in CASES for h in METHODS
                                          if not (c == "a" and h == "qapspp_beta")])
def test_netlm_pvalues_within_monte_carlo_error(case, nullhyp, netlm_ref, fits):
    ref = netlm_ref[(netlm_ref.case == case) & (netlm_ref.nullhyp == nullhyp)]
    fit = fits[case, nullhyp]
    n_r = int(ref["reps"].iloc[0])
    for col in ("p_greater", "p_less", "p_two_sided"):
        for term, p_py, p_r in zip(fit.table.index, fit.table[col], ref[col]):
            assert mc_close(p_py, p_r, N_PERM, n_r), (case, nullhyp, term, col, p_py, p_r)
            if p_r == 0:  # clearly significant in sna: clearly so here too
                assert p_py < 2e-3


def test_qaptest_gcor_matches_sna():
    ref = pd.read_csv(FIX / "qaptest.csv")
    for k, row in ref.iterrows():
        xname, _, _ = row.case.rpartition("_")
        yname = row.case.split("_")[0] + "_y"
        res = qap(mat(xname), mat(yname), n_perm=N_PERM, seed=500 + k)
        assert res.statistic == pytest.approx(row.statistic, abs=1e-10)
        for col in ("p_greater", "p_less", "p_two_sided"):
            assert mc_close(getattr(res, col), row[col], N_PERM, int(row.reps)), (row.case, col)


def test_qap_ties_counted_with_tolerance():
    # Binary-binary correlations take few distinct values: many permutations tie with the
    # observed one, and sna counts them on both sides (p_greater + p_less > 1).
    ref = pd.read_csv(FIX / "qaptest.csv").set_index("case").loc["a_noise_y"]
    assert ref.p_greater + ref.p_less > 1.05
    res = qap(mat("a_noise"), mat("a_y"), n_perm=N_PERM, seed=9)
    assert res.p_greater + res.p_less > 1.05
    exact = np.mean(res.dist >= res.statistic)
    assert res.p_greater >= exact


def test_seeded_and_reproducible():
    a = mrqap(mat("a_y"), [mat("a_absdiff")], n_perm=300, seed=3)
    b = mrqap(mat("a_y"), [mat("a_absdiff")], n_perm=300, seed=3)
    c = mrqap(mat("a_y"), [mat("a_absdiff")], n_perm=300, seed=4)
    pd.testing.assert_frame_equal(a.dist, b.dist)
    assert not a.dist.equals(c.dist)
    assert list(a.table.index) == ["intercept", "x1"]


def test_mrqap_drops_missing_rows_and_matches_ols():
    rng = np.random.default_rng(5)
    n = 15
    ids = [f"p{i}" for i in range(n)]
    score = pd.Series(rng.normal(size=n), index=ids)
    role = pd.Series(rng.choice(["gp", "mgr"], size=n), index=ids)
    pairs = [(s, t) for s in ids for t in ids if s != t and rng.random() < 0.3]
    edges = pd.DataFrame(pairs, columns=["source", "target"])
    y = adjacency_matrix(edges, nodes=ids, missing_rows=["p0", "p3"])
    xs = {"absdiff": abs_difference(score), "same_role": same_attribute(role),
          "receiver": receiver_matrix(score)}
    fit = mrqap(y, xs, n_perm=50, seed=1)
    # direct OLS on the observed off-diagonal cells
    Y = y.to_numpy()
    mask = ~np.eye(n, dtype=bool) & ~np.isnan(Y)
    X = np.column_stack([np.ones(mask.sum())] + [v.to_numpy()[mask] for v in xs.values()])
    beta = np.linalg.lstsq(X, Y[mask], rcond=None)[0]
    np.testing.assert_allclose(fit.table["estimate"].to_numpy(), beta, atol=1e-10)
    assert fit.n_dyads == mask.sum() == (n - 2) * (n - 1)
    # labels are aligned: shuffling a DataFrame's order changes nothing
    order = list(reversed(ids))
    shuffled = {k: v.loc[order, order] for k, v in xs.items()}
    fit2 = mrqap(y, shuffled, n_perm=50, seed=1)
    np.testing.assert_allclose(fit2.table["estimate"], fit.table["estimate"], atol=1e-12)


def test_dyadic_helpers():
    s = pd.Series([1.0, 4.0, 2.5], index=["a", "b", "c"])
    assert abs_difference(s).loc["b", "c"] == 1.5
    assert sender_matrix(s).loc["b", "a"] == 4.0
    assert receiver_matrix(s).loc["b", "a"] == 1.0
    same = same_attribute(pd.Series(["x", "y", None, "x"], index=list("abcd")))
    assert same.loc["a", "d"] == 1 and same.loc["a", "b"] == 0 and np.isnan(same.loc["c", "a"])
    e = pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"], "weight": [3, 5]})
    m = adjacency_matrix(e, nodes=["a", "b", "c", "d"], weight="weight")
    assert m.loc["b", "c"] == 5 and m.loc["d"].sum() == 0 and m.shape == (4, 4)


def test_bad_input():
    x = np.zeros((5, 5))
    with pytest.raises(AcapInputError):
        qap(x, np.zeros((4, 4)))
    with pytest.raises(AcapInputError):
        mrqap(np.random.default_rng(0).random((5, 5)), [np.ones((5, 5))])  # collinear
    with pytest.raises(AcapInputError):
        mrqap(x, [x], method="nope")
    with pytest.raises(AcapInputError):
        qap(x, x, n_perm=0)
    with pytest.raises(AcapInputError):
        adjacency_matrix(pd.DataFrame({"source": ["a"], "target": ["z"]}), nodes=["a"])


# ---------------------------------------------------------------------------------------
# individual and organisation level


def _people(seed, effect, n_org=6, size=25):
    rng = np.random.default_rng(seed)
    n = n_org * size
    ids = [f"r{i}" for i in range(n)]
    org = np.repeat([f"org{k}" for k in range(n_org)], size)
    org_shift = np.repeat(rng.normal(0, 2, n_org), size)  # organisation differences in degree
    acq = rng.normal(size=n) + 0.5 * np.repeat(rng.normal(size=n_org), size)
    deg = 5 + org_shift + effect * acq + rng.normal(size=n)
    scores = pd.DataFrame({"respondent_id": ids, "acquisition": acq,
                           "exploitation": rng.normal(size=n)})
    metrics = pd.DataFrame({"in_degree": deg, "betweenness": rng.gamma(2, 3, n),
                            "organisation": org}, index=ids)
    return scores, metrics


def test_link_individual_statistics_match_direct_computation():
    from scipy import stats
    scores, metrics = _people(1, 0.8)
    scores.loc[3, "acquisition"] = np.nan
    metrics.iloc[7, 0] = np.nan
    res = link_individual(scores, metrics, organisation="organisation", n_perm=999, seed=2)
    t = res.table
    assert set(t.index) == {(s, m) for s in ("acquisition", "exploitation")
                            for m in ("in_degree", "betweenness")}
    row = t.loc[("acquisition", "in_degree")]
    d = scores.set_index("respondent_id").join(metrics).dropna(subset=["acquisition", "in_degree"])
    assert row["n"] == len(d) == 148 and row["n_organisations"] == 6
    assert row["pearson_r"] == pytest.approx(stats.pearsonr(d.acquisition, d.in_degree)[0], abs=1e-12)
    assert row["spearman_rho"] == pytest.approx(stats.spearmanr(d.acquisition, d.in_degree)[0],
                                                abs=1e-12)
    # fixed effects by explicit dummies
    X = np.column_stack([d.acquisition, pd.get_dummies(d.organisation).to_numpy(float)])
    beta, res_ss, *_ = np.linalg.lstsq(X, d.in_degree.to_numpy(), rcond=None)
    assert row["slope"] == pytest.approx(beta[0], abs=1e-10)
    se = math.sqrt(res_ss[0] / (len(d) - X.shape[1]) * np.linalg.inv(X.T @ X)[0, 0])
    assert row["std_error"] == pytest.approx(se, rel=1e-8)
    assert row["p_slope"] == pytest.approx(1 / 1000)  # planted: no permutation as extreme
    assert t.loc[("exploitation", "in_degree"), "p_slope"] > 0.05


def test_link_individual_permutes_within_organisations():
    # Scores constant within organisation: every within-organisation permutation leaves
    # them in place, so every permuted statistic equals the observed one and p = 1.
    scores, metrics = _people(3, 0.0)
    scores["acquisition"] = np.repeat(np.arange(6.0), 25)
    res = link_individual(scores, metrics, organisation="organisation",
                          scales=["acquisition"], measures=["in_degree"], n_perm=200, seed=1)
    row = res.table.iloc[0]
    assert row["p_pearson"] == 1.0 and row["p_spearman"] == 1.0
    assert np.isnan(row["slope"])  # no within-organisation variation


def test_link_individual_reproducible_and_null_uniformish():
    scores, metrics = _people(4, 0.0)
    a = link_individual(scores, metrics, organisation="organisation", n_perm=400, seed=7)
    b = link_individual(scores, metrics, organisation="organisation", n_perm=400, seed=7)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert (a.table["p_slope"] > 0.01).all()


def test_link_organisation_exact_and_caution():
    s = pd.DataFrame({"acap": [1.0, 2.0, 3.0, 4.0]}, index=list("ABCD"))
    net = pd.DataFrame({"density": [0.4, 0.5, 0.6, 0.7],
                        "betweenness_centralization": [0.3, 0.1, 0.4, 0.2]}, index=list("ABCD"))
    res = link_organisation(s, net)
    row = res.table.loc[("acap", "density")]
    # only the identity and the reversal of 4 points reach |rho| = 1: 2 of 24
    assert row["spearman_rho"] == pytest.approx(1.0)
    assert row["p_spearman"] == pytest.approx(2 / 24)
    assert row["p_method"] == "exact" and "descriptive only" in row["caution"]
    # p-value of the second measure by brute force
    x = net["betweenness_centralization"].to_numpy()
    r_obs = np.corrcoef(s.acap, x)[0, 1]
    perms = [np.corrcoef(s.acap, x[list(p)])[0, 1] for p in itertools.permutations(range(4))]
    p = np.mean(np.abs(perms) >= abs(r_obs) - 1e-12)
    assert res.table.loc[("acap", "betweenness_centralization"), "p_pearson"] == pytest.approx(p)


def test_link_organisation_many_orgs_and_mapping_input():
    rng = np.random.default_rng(0)
    orgs = [f"o{k}" for k in range(14)]
    acap = rng.normal(size=14)
    net = {o: {"density": 0.5 + 0.1 * a + 0.02 * rng.normal(), "warning": "text"}
           for o, a in zip(orgs, acap)}
    res = link_organisation(pd.DataFrame({"acap": acap}, index=orgs), net, n_perm=2000, seed=1)
    row = res.table.loc[("acap", "density")]
    assert row["n"] == 14 and row["p_method"] == "monte carlo" and row["caution"] == ""
    assert row["p_pearson"] == pytest.approx(1 / 2001)


def test_link_dyadic_builds_the_documented_model():
    from acap.network.link import link_dyadic
    rng = np.random.default_rng(3)
    n = 14
    nodes = pd.DataFrame({"id": [f"p{i}" for i in range(n)], "acap": rng.normal(size=n),
                          "role": rng.choice(["gp", "mgr", "lay"], size=n),
                          "responded": [True] * 12 + [False] * 2})
    pairs = [(a, b) for a in nodes.id[:12] for b in nodes.id if a != b and rng.random() < 0.35]
    edges = pd.DataFrame(pairs, columns=["source", "target"])
    fit = link_dyadic(edges, nodes, "acap", n_perm=100, seed=2)
    v = nodes.set_index("id")["acap"]
    y = adjacency_matrix(edges, nodes=list(nodes.id), missing_rows=["p12", "p13"])
    ref = mrqap(y, {"acap_absdiff": abs_difference(v), "acap_sender": sender_matrix(v),
                    "acap_receiver": receiver_matrix(v),
                    "same_role": same_attribute(nodes.set_index("id")["role"])},
                n_perm=100, seed=2)
    pd.testing.assert_frame_equal(fit.table, ref.table)
    assert fit.n_dyads == 12 * 13
