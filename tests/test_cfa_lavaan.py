"""lavaan's conventions in acap.factor.cfa: default mean structure, model syntax, two-stage ML.

Reference values: tests/r/cfa_lavaan.R (lavaan 0.6) -> tests/fixtures/cfa_lavaan/.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from acap.errors import AcapInputError
from acap.factor import cfa, invariance
from acap.factor.syntax import ModelSpec, parse_model

FIX = Path(__file__).parent / "fixtures" / "cfa_lavaan"
HS_SYNTAX = """
  # the tutorial model
  visual  =~ x1 + x2 + x3
  textual =~ x4 + x5 + x6
  speed   =~ x7 + x8 + x9
"""
HS_DICT = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
           "speed": ["x7", "x8", "x9"]}
# quantities that scale with N are compared relatively, the rest absolutely
LARGE = {"chisq", "baseline_chisq", "loglik", "unrestricted_loglik", "aic", "bic",
         "chisq_scaled", "baseline_chisq_scaled"}


def _ref_fit(name: str) -> dict:
    return json.loads((FIX / name).read_text())


def _key(lavaan_name: str) -> str:
    return {"logl": "loglik", "unrestricted.logl": "unrestricted_loglik", "ntotal": "n",
            "chisq.shift.parameters": "chisq_shift"}.get(lavaan_name,
                                                         lavaan_name.replace(".", "_"))


def check_fit(fit, name: str, tol: float = 2e-3, skip=()):
    ref = _ref_fit(name)
    bad = {}
    for lav, want in ref.items():
        key = _key(lav)
        if key in skip or key in ("cfi_robust", "tli_robust", "rmsea_robust",
                                  "baseline_df_scaled"):
            continue
        got = fit[key]
        relative = key in LARGE or (key.endswith("_scaled") and not key.startswith("pvalue"))
        ok = (np.isclose(got, want, rtol=tol, atol=0) if relative
              else np.isclose(got, want, rtol=0, atol=tol))
        if not ok:
            bad[key] = (got, want)
    assert not bad, bad


def check_params(params: pd.DataFrame, name: str, tol: float = 2e-3, cols=("est", "se")):
    ref = pd.read_csv(FIX / name, keep_default_na=False, na_values=["NA"])
    ref = ref[ref["op"] != "~*~"]
    params = params[params["op"] != "~*~"]
    merged = params.merge(ref, on=["lhs", "op", "rhs", "group"], how="right",
                          suffixes=("", "_lavaan"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged.loc[merged["_merge"] != "both",
                                                          ["lhs", "op", "rhs"]]
    assert len(params) == len(ref)
    for col in cols:
        other = {"std_all": "std.all", "std_lv": "std.lv"}.get(col, col + "_lavaan")
        diff = (merged[col] - merged[other]).abs()
        assert diff.max() < tol, merged.loc[diff.idxmax(), ["lhs", "op", "rhs", col, other]]


@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(FIX / "hs.csv")


@pytest.fixture(scope="module")
def hsm():
    return pd.read_csv(FIX / "hs_missing.csv")


# --- lavaan's default mean structure -------------------------------------------------------------
def test_default_has_no_mean_structure_and_srmr_is_lavaans(hs):
    res = cfa(hs, HS_SYNTAX)
    assert not res.meanstructure and res.srmr_kind == "srmr_bentler_nomean"
    assert res.fit["srmr"] == pytest.approx(0.065205, abs=1e-5)  # the tutorial's 0.065
    check_fit(res.fit, "hs_default_fit.json", tol=1e-5)
    check_params(res.params, "hs_default_params.csv", tol=1e-5, cols=("est", "se", "std_all"))
    assert "~1" not in set(res.params["op"])


def test_meanstructure_true(hs):
    res = cfa(hs, HS_DICT, meanstructure=True)
    assert res.meanstructure and res.srmr_kind == "srmr_bentler"
    check_fit(res.fit, "hs_meanstructure_fit.json", tol=1e-5)


def test_groups_get_a_mean_structure(hs):
    res = cfa(hs, HS_SYNTAX, group="school")
    assert res.meanstructure
    check_fit(res.fit, "hs_group_fit.json", tol=1e-4)
    check_params(res.params, "hs_group_params.csv", tol=1e-4, cols=("est", "se", "std_all"))


def test_fiml_gets_a_mean_structure(hsm):
    res = cfa(hsm, HS_SYNTAX, missing="fiml")
    assert res.meanstructure
    check_fit(res.fit, "hs_fiml_fit.json", tol=1e-5)
    check_params(res.params, "hs_fiml_params.csv", tol=1e-5)


def test_meanstructure_false_refused_where_lavaan_needs_means(hsm):
    with pytest.raises(AcapInputError, match="mean structure"):
        cfa(hsm, HS_SYNTAX, missing="fiml", meanstructure=False)


# --- model syntax ------------------------------------------------------------------------------
def test_syntax_with_freed_marker_fixed_variance_and_residual_covariance(hs):
    model = ("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ NA*x7 + x8 + x9\n"
             "x7 ~~ x8\nspeed ~~ 1*speed")
    res = cfa(hs, model)
    check_fit(res.fit, "hs_syntax_fit.json", tol=1e-5)
    check_params(res.params, "hs_syntax_params.csv", tol=1e-5, cols=("est", "se", "std_all"))


def test_syntax_and_mapping_give_the_same_fit(hs):
    a = cfa(hs, HS_SYNTAX)
    b = cfa(hs, HS_DICT)
    assert a.fit["chisq"] == pytest.approx(b.fit["chisq"], rel=1e-12)
    pd.testing.assert_frame_equal(a.loadings, b.loadings)


def test_invariance_accepts_syntax(hs):
    a = invariance(hs, HS_SYNTAX, "school")
    b = invariance(hs, HS_DICT, "school")
    pd.testing.assert_frame_equal(a, b)


def test_parse_model_reads_lavaan_syntax():
    spec = parse_model("""
        f1 =~ a + b +   # continued on the next line
              c
        f2 =~ d + e; f2 =~ g    ! a second comment style, ';' and a second line
        a ~~ d
        f1 ~~ 0*f2
        f1 =~ 0.5*h
    """)
    assert isinstance(spec, ModelSpec)
    assert spec.as_dict() == {"f1": ["a", "b", "c", "h"], "f2": ["d", "e", "g"]}
    assert spec.covariances == (("a", "d"),)
    assert spec.fixed == {("f1", "~~", "f2"): 0.0, ("f1", "=~", "h"): 0.5}
    assert spec.loading("f1", "a") == (False, 1.0)
    assert spec.loading("f1", "h") == (False, 0.5)
    assert spec.latent("f2", "f1") == (False, 0.0)
    assert parse_model({"f": "a + b + c"}).items == ("a", "b", "c")
    assert parse_model(spec) is spec


@pytest.mark.parametrize("text, line, token", [
    ("f =~ a + b\ng ~ f", "line 2", "'~'"),
    ("f =~ a + b\n\ny =~ c + 2x", "line 3", "'2x'"),
    ("f =~ a + lab*b", "line 1", "'lab'"),
    ("f =~ a + + b", "line 1", "a '+' too many"),
    ("f =~ a + b\nf a b", "line 2", "no operator"),
    ("f =~ a + b\ng =~ c + d\nc ~~ zz", "line 3", "'zz'"),
    ("f =~ a + b + a", "line 1", "'a' is listed twice"),
    ("f =~ a + b\n x | t1", "line 2", "'|'"),
])
def test_bad_syntax_names_line_and_token(text, line, token):
    with pytest.raises(AcapInputError) as err:
        parse_model(text)
    assert line in str(err.value) and token in str(err.value)


def test_bad_models_refused():
    with pytest.raises(AcapInputError, match="at least two items"):
        parse_model("f =~ a")
    with pytest.raises(AcapInputError, match="empty"):
        parse_model("  # nothing here\n")
    with pytest.raises(AcapInputError, match="no factor"):
        parse_model("a ~~ b")
    with pytest.raises(AcapInputError, match="lavaan model syntax"):
        parse_model(42)


# --- two-stage ML --------------------------------------------------------------------------------
def test_two_stage_matches_lavaan(hsm):
    res = cfa(hsm, HS_SYNTAX, missing="two.stage")
    assert res.meanstructure and res.fit["n"] == len(hsm)
    # lavaan's EM stops at a looser tolerance than acap's: agreement ~1e-5
    check_fit(res.fit, "hs_twostage_fit.json", tol=1e-4)
    check_params(res.params, "hs_twostage_params.csv", tol=1e-4, cols=("est", "se", "std_all"))
    assert res.fit["chisq_scaling_factor"] == pytest.approx(1.263597, abs=1e-5)


def test_two_stage_groups_match_lavaan(hsm):
    res = cfa(hsm, HS_SYNTAX, missing="two.stage", group="school")
    check_fit(res.fit, "hs_twostage_group_fit.json", tol=1e-4)
    check_params(res.params, "hs_twostage_group_params.csv", tol=1e-4)


def test_two_stage_without_missing_values_is_ml_with_unit_scaling(hs):
    # complete data: the EM moments are the sample moments and Gamma = W^-1, so the
    # estimates and chi-square are ML's and the Satorra-Bentler factor is exactly 1
    ml = cfa(hs, HS_SYNTAX, meanstructure=True)
    ts = cfa(hs, HS_SYNTAX, missing="two.stage")
    assert np.allclose(ts.params["est"], ml.params["est"], atol=1e-6)
    assert ts.fit["chisq"] == pytest.approx(ml.fit["chisq"], rel=1e-8)
    assert ts.fit["chisq_scaling_factor"] == pytest.approx(1.0, abs=1e-6)
