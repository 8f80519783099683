"""Golden tests for acap.factor.cfa / invariance against lavaan 0.6 (fixtures: tests/r/cfa.R)."""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import acap.factor
from acap.errors import AcapInputError
from acap.factor import CFA, invariance, modification_indices
from acap.factor.cfa import CFAResult, cfa

FIX = Path(__file__).parent / "fixtures" / "cfa"
TOL = 2e-3

HS_MODEL = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
            "speed": ["x7", "x8", "x9"]}
SIM_MODEL = {"absorb": ["item1", "item2", "item3", "item4"],
             "exploit": ["item5", "item6", "item7", "item8"]}

# acap fit key -> lavaan fitMeasures name
FIT_KEYS = {"npar": "npar", "fmin": "fmin", "chisq": "chisq", "df": "df", "pvalue": "pvalue",
            "baseline_chisq": "baseline.chisq", "baseline_df": "baseline.df", "cfi": "cfi",
            "tli": "tli", "loglik": "logl", "unrestricted_loglik": "unrestricted.logl",
            "aic": "aic", "bic": "bic", "n": "ntotal", "rmsea": "rmsea",
            "rmsea_ci_lower": "rmsea.ci.lower", "rmsea_ci_upper": "rmsea.ci.upper",
            "srmr": "srmr"}
# quantities that scale with N: compare relatively
LARGE = {"chisq", "baseline_chisq", "loglik", "unrestricted_loglik", "aic", "bic"}


def _read(name: str) -> pd.DataFrame:
    # lavaan writes "" for the rhs of intercepts; keep it as an empty string, not NaN
    return pd.read_csv(FIX / name, keep_default_na=False, na_values=["NA"])


def _close(ours: float, ref: float, key: str = "") -> bool:
    if key in LARGE:
        return abs(ours - ref) <= TOL * max(1.0, abs(ref)) * 1e-3 + TOL
    return abs(ours - ref) <= TOL


@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(FIX / "hs.csv")


@pytest.fixture(scope="module")
def sim():
    return pd.read_csv(FIX / "sim.csv")


@pytest.fixture(scope="module")
def hs_fit(hs):
    return cfa(hs, HS_MODEL, meanstructure=True)


@pytest.fixture(scope="module")
def sim_fit(sim):
    return cfa(sim, SIM_MODEL, meanstructure=True)


def _check_fit(res: CFAResult, fixture: str):
    ref = json.loads((FIX / fixture).read_text())
    bad = {k: (res.fit[k], ref[r]) for k, r in FIT_KEYS.items()
           if not _close(res.fit[k], ref[r], k)}
    assert not bad, bad


def _check_params(params: pd.DataFrame, fixture: str):
    ref = _read(fixture)
    merged = params.merge(ref, on=["lhs", "op", "rhs", "group"], how="outer",
                          suffixes=("", "_r"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    for ours, theirs in [("est", "est_r"), ("se", "se_r"), ("std_lv", "std.lv"),
                         ("std_all", "std.all")]:
        diff = (merged[ours] - merged[theirs]).abs()
        assert diff.max() <= TOL, (ours, merged.loc[diff.idxmax(), ["lhs", "op", "rhs"]].tolist())
    # z and p only where lavaan has them (free parameters)
    z = merged["z_r"].notna()
    assert np.allclose(merged.loc[z, "z"], merged.loc[z, "z_r"], atol=TOL * 10, rtol=TOL)
    assert np.allclose(merged.loc[z, "pvalue"], merged.loc[z, "pvalue_r"], atol=TOL)
    assert merged.loc[~z, "z"].isna().all()


def _check_mi(mi: pd.DataFrame, fixture: str):
    ref = _read(fixture)
    assert len(mi) == len(ref)
    merged = mi.merge(ref, on=["lhs", "op", "rhs"], suffixes=("", "_r"))
    assert len(merged) == len(ref)
    # mi is a chi-square statistic: relative tolerance when large (lavaan's optimiser stops
    # about 1e-6 short of the optimum, which moves an mi of 400 by ~0.01)
    diff = (merged["mi"] - merged["mi_r"]).abs()
    assert (diff <= np.maximum(TOL, 1e-4 * merged["mi_r"].abs())).all()
    for ours, theirs in [("epc", "epc_r"), ("sepc_lv", "sepc.lv"), ("sepc_all", "sepc.all")]:
        assert (merged[ours] - merged[theirs]).abs().max() <= TOL, ours
    assert mi["mi"].is_monotonic_decreasing
    # the leading suggestions are the same, in the same order
    top = ref.head(5)
    assert list(zip(mi["lhs"].head(5), mi["op"].head(5), mi["rhs"].head(5))) == \
        list(zip(top["lhs"], top["op"], top["rhs"]))


def _check_invariance(tab: pd.DataFrame, fixture: str):
    ref = _read(fixture).set_index("model")
    assert list(tab.index) == ["configural", "metric", "scalar"]
    cols = {"chisq": "chisq", "df": "df", "pvalue": "pvalue", "cfi": "cfi", "tli": "tli",
            "rmsea": "rmsea", "srmr": "srmr", "rmsea_ci_lower": "rmsea.ci.lower",
            "rmsea_ci_upper": "rmsea.ci.upper", "npar": "npar", "aic": "aic", "bic": "bic",
            "delta_chisq": "delta_chisq", "delta_df": "delta_df",
            "delta_pvalue": "delta_pvalue", "delta_cfi": "delta_cfi",
            "delta_rmsea": "delta_rmsea"}
    for ours, theirs in cols.items():
        for row in tab.index:
            a, b = tab.loc[row, ours], ref.loc[row, theirs]
            if pd.isna(b):
                assert pd.isna(a), (row, ours)
            else:
                assert _close(a, b, ours if ours in ("aic", "bic", "chisq") else ""), \
                    (row, ours, a, b)


# --- Holzinger & Swineford ----------------------------------------------------------------
def test_hs_fit_measures(hs_fit):
    assert hs_fit.converged
    _check_fit(hs_fit, "hs_fit.json")


def test_hs_parameters(hs_fit):
    _check_params(hs_fit.params, "hs_params.csv")
    assert list(hs_fit.params.columns) == ["lhs", "op", "rhs", "group", "est", "se", "z",
                                           "pvalue", "std_lv", "std_all"]


def test_hs_loadings_table(hs_fit):
    lo = hs_fit.loadings
    assert list(lo.columns) == ["factor", "item", "est", "se", "std"]
    assert lo.index[0] == "visual=~x1"
    ref = _read("hs_params.csv")
    ref = ref[ref["op"] == "=~"]
    assert np.allclose(lo["est"], ref["est"], atol=TOL)
    assert np.allclose(lo["se"], ref["se"], atol=TOL)
    assert np.allclose(lo["std"], ref["std.all"], atol=TOL)


def test_hs_modification_indices(hs_fit):
    _check_mi(hs_fit.modification_indices, "hs_modindices.csv")
    # the function form agrees with the property and filters
    top = modification_indices(hs_fit, minimum=10)
    assert (top["mi"] > 10).all() and len(top) == (hs_fit.modification_indices["mi"] > 10).sum()


def test_hs_invariance(hs):
    _check_invariance(invariance(hs, HS_MODEL, "school"), "hs_invariance.csv")


def test_hs_invariance_matches_semtools(hs):
    tab = invariance(hs, HS_MODEL, "school")
    st = _read("hs_invariance_semtools.csv")
    assert np.allclose(tab["delta_cfi"].iloc[1:], st["cfi"], atol=TOL)
    assert np.allclose(tab["delta_rmsea"].iloc[1:], st["rmsea"], atol=TOL)


@pytest.mark.parametrize("step,equal", [("configural", ()), ("metric", ("loadings",)),
                                        ("scalar", ("loadings", "intercepts"))])
def test_hs_multigroup_parameters(hs, step, equal):
    res = cfa(hs, HS_MODEL, group="school", group_equal=equal)
    assert res.groups == ("Pasteur", "Grant-White")
    _check_params(res.params, f"hs_{step}_params.csv")
    assert set(res.loadings["group"]) == {"Pasteur", "Grant-White"}


# --- simulated 1-7 responses with missing values, two organisation types ----------------------
def test_sim_listwise_deletion(sim, sim_fit):
    assert sim_fit.fit["n"] == len(sim.dropna()) < len(sim)
    assert sim_fit.nobs == {"all": len(sim.dropna())}


def test_sim_fit_parameters_mi(sim_fit):
    _check_fit(sim_fit, "sim_fit.json")
    _check_params(sim_fit.params, "sim_params.csv")
    _check_mi(sim_fit.modification_indices, "sim_modindices.csv")


def test_sim_invariance(sim):
    _check_invariance(invariance(sim, SIM_MODEL, "org"), "sim_invariance.csv")


@pytest.mark.parametrize("step,equal", [("metric", ("loadings",)),
                                        ("scalar", ("loadings", "intercepts"))])
def test_sim_multigroup_parameters(sim, step, equal):
    _check_params(cfa(sim, SIM_MODEL, group="org", group_equal=equal).params,
                  f"sim_{step}_params.csv")


# --- properties -----------------------------------------------------------------------------
def test_duplicated_data_doubles_chisq_keeps_estimates(hs, hs_fit):
    twice = cfa(pd.concat([hs, hs], ignore_index=True), HS_MODEL, meanstructure=True)
    assert twice.fit["chisq"] == pytest.approx(2 * hs_fit.fit["chisq"], rel=1e-8)
    assert np.allclose(twice.params["est"], hs_fit.params["est"], atol=1e-7)
    assert np.allclose(twice.params["se"] * np.sqrt(2), hs_fit.params["se"], atol=1e-7)


def test_row_order_and_item_scale(hs, hs_fit):
    shuffled = hs.sample(frac=1.0, random_state=3)
    shuffled["x5"] = shuffled["x5"] * 10  # rescaling an item rescales its loading only
    res = cfa(shuffled, HS_MODEL, meanstructure=True)
    assert res.fit["chisq"] == pytest.approx(hs_fit.fit["chisq"], rel=1e-8)
    a = res.loadings.loc["textual=~x5", "est"]
    b = hs_fit.loadings.loc["textual=~x5", "est"]
    assert a == pytest.approx(10 * b, rel=1e-6)
    assert np.allclose(res.loadings["std"], hs_fit.loadings["std"], atol=1e-7)


def test_result_is_frozen_and_fit_is_a_mapping(hs_fit):
    with pytest.raises(dataclasses.FrozenInstanceError):
        hs_fit.converged = False
    assert hs_fit.fit.cfi == hs_fit.fit["cfi"]
    assert set(FIT_KEYS) <= set(hs_fit.fit)
    with pytest.raises(AttributeError):
        hs_fit.fit.cfi = 1.0
    again = pickle.loads(pickle.dumps(hs_fit))
    assert again.fit == hs_fit.fit
    assert again.modification_indices.equals(hs_fit.modification_indices)


def test_estimator_and_package_entry_point(hs, hs_fit):
    est = CFA(HS_MODEL).fit(hs)
    assert isinstance(est, CFA)
    assert est.fit_["chisq"] == pytest.approx(hs_fit.fit["chisq"])
    assert est.loadings_.equals(hs_fit.loadings)
    assert len(est.modification_indices_) == len(hs_fit.modification_indices)
    # acap.factor.cfa works as a function whether the name holds the function or the module
    res = acap.factor.cfa(hs, HS_MODEL, meanstructure=True)
    assert res.fit["df"] == 24


def test_residual_covariance_and_cross_loading(hs, hs_fit):
    # freeing lavaan's top suggestion lowers chi-square by about its modification index
    res = cfa(hs, HS_MODEL, covariances=[("x7", "x8")])
    mi = hs_fit.modification_indices
    top = mi[(mi["lhs"] == "x7") & (mi["rhs"] == "x8")]["mi"].iloc[0]
    drop = hs_fit.fit["chisq"] - res.fit["chisq"]
    assert res.fit["df"] == 23 and 0.5 * top < drop < 2 * top
    cross = cfa(hs, {**HS_MODEL, "visual": ["x1", "x2", "x3", "x9"]})
    assert cross.fit["df"] == 23 and cross.fit["chisq"] < hs_fit.fit["chisq"]


# --- bad input ------------------------------------------------------------------------------
def test_unknown_item(hs):
    with pytest.raises(AcapInputError, match="x10"):
        cfa(hs, {"visual": ["x1", "x2", "x10"]})


def test_single_item_factor(hs):
    with pytest.raises(AcapInputError, match="single item"):
        cfa(hs, {"visual": ["x1", "x2", "x3"], "lonely": ["x4"]})


def test_group_with_too_few_rows(hs):
    small = pd.concat([hs, hs.head(4).assign(school="Tiny")], ignore_index=True)
    with pytest.raises(AcapInputError, match="Tiny"):
        invariance(small, HS_MODEL, "school")


@pytest.mark.parametrize("model,match", [
    ({}, "non-empty"),
    ({"visual": ["x1", "x1", "x2"]}, "twice"),
    ({"x1": ["x1", "x2", "x3"]}, "same name"),
])
def test_bad_models(hs, model, match):
    with pytest.raises(AcapInputError, match=match):
        cfa(hs, model)


def test_bad_data_and_options(hs):
    bad = hs.copy()
    bad["x3"] = bad["x3"].astype(object)
    bad.loc[5, "x3"] = "n/a"
    with pytest.raises(AcapInputError, match="x3"):
        cfa(bad, HS_MODEL)
    const = hs.assign(x2=1.0)
    with pytest.raises(AcapInputError, match="x2"):
        cfa(const, HS_MODEL)
    with pytest.raises(AcapInputError, match="group"):
        invariance(hs, HS_MODEL, "district")
    with pytest.raises(AcapInputError, match="group_equal"):
        cfa(hs, HS_MODEL, group="school", group_equal=("residuals",))
    with pytest.raises(AcapInputError, match="missing"):
        cfa(hs, HS_MODEL, missing="pairwise")


# --- psych::bfi: reverse-keyed items (negative loadings), 25 items, listwise deletion -------
BFI_MODEL = {name: [f"{letter}{i}" for i in range(1, 6)]
             for name, letter in [("agree", "A"), ("consc", "C"), ("extra", "E"),
                                  ("neuro", "N"), ("open", "O")]}


@pytest.fixture(scope="module")
def bfi():
    return pd.read_csv(FIX / "bfi.csv")


def test_bfi_fit_parameters_mi(bfi):
    res = cfa(bfi, BFI_MODEL, meanstructure=True)
    assert res.fit["n"] == 2436
    _check_fit(res, "bfi_fit.json")
    _check_params(res.params, "bfi_params.csv")
    _check_mi(res.modification_indices, "bfi_modindices.csv")


def test_bfi_invariance(bfi):
    _check_invariance(invariance(bfi, BFI_MODEL, "gender"), "bfi_invariance.csv")


# --- full-information ML (lavaan missing = "ml") --------------------------------------------
def test_sim_fiml(sim):
    res = cfa(sim, SIM_MODEL, missing="fiml")
    assert res.fit["n"] == len(sim)  # no row is dropped
    _check_fit(res, "sim_fiml_fit.json")
    _check_params(res.params, "sim_fiml_params.csv")
    _check_mi(res.modification_indices, "sim_fiml_modindices.csv")


def test_sim_fiml_invariance(sim):
    _check_invariance(invariance(sim, SIM_MODEL, "org", missing="fiml"),
                      "sim_fiml_invariance.csv")
    res = cfa(sim, SIM_MODEL, group="org", group_equal=("loadings", "intercepts"),
              missing="fiml")
    _check_params(res.params, "sim_fiml_scalar_params.csv")


def test_fiml_drops_only_empty_rows(sim):
    blank = pd.concat([sim, pd.DataFrame({"org": ["icb"]})], ignore_index=True)
    res = cfa(blank, SIM_MODEL, missing="fiml")
    assert res.fit["n"] == len(sim)


def test_fiml_equals_ml_without_missing_values(hs, hs_fit):
    res = cfa(hs, HS_MODEL, missing="fiml")
    assert res.fit["chisq"] == pytest.approx(hs_fit.fit["chisq"], rel=1e-7)
    assert np.allclose(res.params["est"], hs_fit.params["est"], atol=1e-6)


def test_bfi_fiml(bfi):
    res = cfa(bfi, BFI_MODEL, missing="fiml")
    _check_fit(res, "bfi_fiml_fit.json")
    _check_params(res.params, "bfi_fiml_params.csv")
