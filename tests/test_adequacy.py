"""KMO and Bartlett's test against psych (fixtures from tests/r/adequacy.R)."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from acap.errors import AcapInputError
from acap.factor import bartlett, kmo

FIX = __import__("pathlib").Path(__file__).parent / "fixtures" / "adequacy"


@pytest.fixture(scope="module")
def bfi():
    return pd.read_csv(FIX / "bfi25.csv")


@pytest.fixture(scope="module")
def ref():
    return json.loads((FIX / "bfi_kmo_bartlett.json").read_text())


def test_bfi_has_missing_values(bfi):
    # The golden comparison only exercises pairwise deletion if NA are really present.
    assert bfi.isna().any().any()
    assert bfi.shape == (2800, 25)


def test_kmo_bfi_matches_psych(bfi, ref):
    res = kmo(bfi)
    assert res.overall == pytest.approx(ref["kmo_overall"], abs=1e-8)
    expected = pd.Series(ref["kmo_per_item"])
    assert list(res.per_item.index) == list(bfi.columns)
    np.testing.assert_allclose(res.per_item.loc[expected.index], expected, atol=1e-8, rtol=0)
    assert res.label == "meritorious"  # psych's 0.85 on bfi


def test_kmo_from_correlation_matrix_matches_raw(bfi, ref):
    r = bfi.corr(min_periods=2)
    res = kmo(r)
    assert res.overall == pytest.approx(ref["kmo_overall_from_r"], abs=1e-8)
    np.testing.assert_allclose(res.per_item, kmo(bfi).per_item, atol=1e-12)
    # a plain ndarray correlation matrix is detected too
    assert kmo(r.to_numpy()).overall == pytest.approx(res.overall, abs=1e-12)


def test_bartlett_bfi_matches_psych(bfi, ref):
    res = bartlett(bfi)
    assert res.chi2 == pytest.approx(ref["bartlett_chi2"], rel=1e-8)
    assert res.df == ref["bartlett_df"] == 300
    assert res.p_value == pytest.approx(ref["bartlett_p"], abs=1e-300)
    assert res.n_obs == ref["n"]


def test_bartlett_from_correlation_needs_n_obs(bfi, ref):
    r = bfi.corr(min_periods=2)
    res = bartlett(r, n_obs=ref["n"])
    assert res.chi2 == pytest.approx(ref["bartlett_chi2_from_r"], rel=1e-8)
    with pytest.raises(AcapInputError, match="n_obs"):
        bartlett(r)
    with pytest.raises(AcapInputError, match="n_obs"):
        bartlett(bfi, n_obs=100)
    with pytest.raises(AcapInputError, match="n_obs"):
        bartlett(r, n_obs=1.5)


def test_small_sample_pvalue_and_kmo():
    data = pd.read_csv(FIX / "bfi_small.csv")
    ref = json.loads((FIX / "bfi_small.json").read_text())
    res = bartlett(data)
    assert res.chi2 == pytest.approx(ref["bartlett_chi2"], rel=1e-8)
    assert res.df == ref["bartlett_df"]
    assert res.p_value == pytest.approx(ref["bartlett_p"], rel=1e-6)
    k = kmo(data)
    assert k.overall == pytest.approx(ref["kmo_overall"], abs=1e-8)
    np.testing.assert_allclose(k.per_item, pd.Series(ref["kmo_per_item"]), atol=1e-8)


def test_identity_matrix_kmo_is_undefined_and_bartlett_zero():
    eye = pd.DataFrame(np.eye(4), index=list("abcd"), columns=list("abcd"))
    res = kmo(eye)
    # psych gives NaN (0/0): no correlations and no partial correlations at all.
    assert np.isnan(res.overall) and res.per_item.isna().all()
    assert res.label == "undefined"
    b = bartlett(eye, n_obs=50)
    assert b.chi2 == pytest.approx(0.0, abs=1e-12) and b.p_value == pytest.approx(1.0)


def test_uncorrelated_data_gives_kmo_near_half():
    rng = np.random.default_rng(5)
    x = pd.DataFrame(rng.normal(size=(5000, 6)), columns=list("abcdef"))
    res = kmo(x)
    assert 0.35 < res.overall < 0.65
    assert bartlett(x).p_value > 0.001


def test_results_are_frozen(bfi):
    res = kmo(bfi.iloc[:, :5])
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.overall = 1.0


def test_non_numeric_column_named():
    x = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 1, 4, 3], "c": ["x", "y", "z", "w"]})
    with pytest.raises(AcapInputError, match="'c'.*non-numeric|non-numeric.*'x'") as exc:
        kmo(x)
    assert "'c'" in str(exc.value)
    with pytest.raises(AcapInputError, match="'c'"):
        bartlett(x)


def test_constant_column_named():
    x = pd.DataFrame({"a": [1, 2, 3, 4, 5], "flat": [3, 3, 3, np.nan, 3], "b": [2, 1, 4, 3, 5]})
    with pytest.raises(AcapInputError, match="'flat'.*constant"):
        kmo(x)
    with pytest.raises(AcapInputError, match="'flat'"):
        bartlett(x)


def test_singular_matrix_refused():
    rng = np.random.default_rng(2)
    x = pd.DataFrame(rng.normal(size=(50, 3)), columns=list("abc"))
    x["total"] = x.sum(axis=1)
    with pytest.raises(AcapInputError, match="singular"):
        kmo(x)
    with pytest.raises(AcapInputError, match="positive definite"):
        bartlett(x)


def test_too_few_items_and_bad_type():
    with pytest.raises(AcapInputError, match="at least 2 items"):
        kmo(pd.DataFrame({"a": [1.0, 2.0, 3.0]}))
    with pytest.raises(AcapInputError, match="DataFrame"):
        kmo("not a table")


def test_no_common_rows_named():
    x = pd.DataFrame({"a": [1, 2, 3, np.nan, np.nan, np.nan],
                      "b": [np.nan, np.nan, np.nan, 1, 3, 2],
                      "c": [1, 3, 2, 2, 1, 3]})
    with pytest.raises(AcapInputError, match="'a' and 'b'"):
        kmo(x)


def test_correlation_input_is_recognised_as_efa_does():
    """A correlation matrix with a 1e-10 asymmetry is a correlation matrix to kmo, bartlett and efa alike."""
    from acap.factor import efa

    x = pd.read_csv(FIX / "bfi25.csv").iloc[:, :10]
    r = x.corr().to_numpy().copy()
    r[0, 1] += 1e-10  # as a matrix read back from a text file may be
    r = pd.DataFrame(r, index=x.columns, columns=x.columns)
    want = kmo(x).overall
    assert kmo(r).overall == pytest.approx(want, abs=1e-8)
    b_raw = bartlett(x)
    assert bartlett(r, n_obs=len(x)).chi2 == pytest.approx(b_raw.chi2, rel=1e-6)
    assert efa(r, 2).loadings.shape == (10, 2)  # efa takes it as a correlation matrix too
    with pytest.raises(AcapInputError, match="n_obs"):
        bartlett(r)  # a correlation matrix needs the sample size
    # forcing the raw reading is the same keyword everywhere
    assert kmo(x, is_corr=False).overall == pytest.approx(want)
