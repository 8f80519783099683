"""WLSMV for ordered items against lavaan's cfa(..., ordered = TRUE) (tests/r/cfa_lavaan.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from acap.errors import AcapInputError
from acap.factor import cfa
from acap.factor.wlsmv import ordinal_statistics
from test_cfa_lavaan import FIX, check_fit, check_params

HS = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
SIM = "absorb =~ q1 + q2 + q3 + q4\nexploit =~ q5 + q6 + q7 + q8"
TOL = 2e-3  # the brief's tolerance; measured agreement is about 1e-7


@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(FIX / "hs_ordinal.csv")


@pytest.fixture(scope="module")
def sim():
    return pd.read_csv(FIX / "sim_ordinal.csv")


@pytest.fixture(scope="module")
def hs_fit(hs):
    return cfa(hs, HS, ordered=True)


def test_hs_wlsmv_fit_matches_lavaan(hs_fit):
    assert hs_fit.estimator == "WLSMV"
    check_fit(hs_fit.fit, "hs_wlsmv_fit.json", tol=TOL)
    # and much closer than the tolerance on the headline numbers
    assert hs_fit.fit["chisq_scaled"] == pytest.approx(74.1524845, rel=1e-6)
    assert hs_fit.fit["cfi_scaled"] == pytest.approx(0.9624781, abs=1e-6)


def test_hs_wlsmv_estimates_match_lavaan(hs_fit):
    check_params(hs_fit.params, "hs_wlsmv_params.csv", tol=TOL,
                 cols=("est", "se", "std_all", "std_lv"))
    assert list(hs_fit.loadings.columns) == ["factor", "item", "est", "se", "std"]
    th = hs_fit.thresholds
    assert list(th.columns) == ["item", "threshold", "est", "se"]
    assert len(th) == 27 and th.index[0] == "x1|t1"


def test_sim_wlsmv_matches_lavaan(sim):
    res = cfa(sim, SIM, ordered=True)
    check_fit(res.fit, "sim_wlsmv_fit.json", tol=TOL)
    check_params(res.params, "sim_wlsmv_params.csv", tol=TOL, cols=("est", "se", "std_all"))


def test_polychoric_and_gamma_basics(hs):
    st = ordinal_statistics(hs[[f"x{i}" for i in range(1, 10)]])
    # lavaan's sample statistics (lavInspect(fit, "sampstat")) for the first pair
    assert st.rho[0, 1] == pytest.approx(0.3067054, abs=1e-6)
    assert st.rho[0, 2] == pytest.approx(0.3836482, abs=1e-6)
    assert np.allclose(st.gamma, st.gamma.T)
    assert np.linalg.eigvalsh(st.gamma)[0] > 0


def test_wlsmv_invariant_to_category_labels(hs, hs_fit):
    # recoding 1..4 as 10, 20, 30, 40 changes nothing: only the order of categories counts
    recoded = hs.copy()
    for c in [f"x{i}" for i in range(1, 10)]:
        recoded[c] = recoded[c] * 10
    res = cfa(recoded, HS, ordered=True)
    assert res.fit["chisq_scaled"] == pytest.approx(hs_fit.fit["chisq_scaled"], rel=1e-10)


def test_ordered_refusals(hs):
    const = hs.assign(x1=1)
    with pytest.raises(AcapInputError, match="no variance"):
        cfa(const, HS, ordered=True)
    wide = hs.assign(x1=np.arange(len(hs)) % 12)
    with pytest.raises(AcapInputError, match="distinct values"):
        cfa(wide, HS, ordered=True)
    with pytest.raises(AcapInputError, match="every item"):
        cfa(hs, HS, ordered=["x1"])
    with pytest.raises(AcapInputError, match="ML fits only"):
        cfa(hs, HS, ordered=True).modification_indices


# --- ordered invariance (lavaan group.equal, delta parameterization) ------------------------------
@pytest.mark.parametrize("step, equal", [("configural", ()),
                                         ("thresholds", ("thresholds", "loadings")),
                                         ("intercepts", ("thresholds", "loadings", "intercepts"))])
def test_two_group_wlsmv_matches_lavaan(sim, step, equal):
    res = cfa(sim, SIM, ordered=True, group="org", group_equal=equal)
    check_fit(res.fit, f"sim_wlsmv_{step}_fit.json", tol=TOL)
    check_params(res.params, f"sim_wlsmv_{step}_params.csv", tol=TOL,
                 cols=("est", "se", "std_all"))
    assert list(res.thresholds.columns) == ["item", "threshold", "group", "est", "se"]


def test_ordered_invariance_table_matches_lavtestlrt(sim):
    from acap.factor import invariance

    tab = invariance(sim, SIM, "org", ordered=True)
    ref = pd.read_csv(FIX / "sim_wlsmv_lrt.csv")
    assert list(tab.index) == ["configural", "thresholds", "intercepts"]
    assert np.allclose(tab["chisq"], ref["chisq"], rtol=TOL)
    assert tab.loc["thresholds", "delta_chisq"] == pytest.approx(ref["delta_chisq"][1], rel=TOL)
    assert tab.loc["thresholds", "delta_pvalue"] == pytest.approx(ref["delta_pvalue"][1],
                                                                  abs=TOL)
    assert tab.loc["intercepts", "delta_df"] == 0  # lavaan 0.6 leaves y* intercepts at 0


def test_groups_need_the_same_categories(sim):
    bad = sim.copy()
    bad.loc[bad["org"] == "icb", "q1"] = bad.loc[bad["org"] == "icb", "q1"].clip(upper=4)
    with pytest.raises(AcapInputError, match="same observed categories"):
        cfa(bad, SIM, ordered=True, group="org")
