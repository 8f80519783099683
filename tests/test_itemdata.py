"""acap.itemdata.numeric_items: the one item-table check shared by every analysis."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from acap.errors import AcapInputError
from acap.factor import efa, kmo, polychoric
from acap.factor._corr import as_corr, pinv, smc
from acap.itemdata import numeric_items
from acap.reliability import alpha, omega

FIX = Path(__file__).parent / "fixtures" / "itemdata"


def _base(**extra) -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 1, 4, 3, 5], **extra})


# ----------------------------------------------------------------------------- accepted
def test_numeric_frame_becomes_float_with_nan():
    x = _base(c=pd.array([3, None, 1, 2, 4], dtype="Int64"))
    out = numeric_items(x, "t")
    assert out.dtypes.eq(np.float64).all()
    assert out.columns.tolist() == ["a", "b", "c"]
    assert np.isnan(out.loc[1, "c"]) and out.loc[4, "c"] == 4.0
    out.iloc[0, 0] = 99.0  # the result is a copy: the caller's data is untouched
    assert x.iloc[0, 0] == 1


def test_numeric_text_is_converted():
    out = numeric_items(_base(c=["5", "4", None, "2.5", "1"]), "t")
    np.testing.assert_array_equal(out["c"].to_numpy(), [5.0, 4.0, np.nan, 2.5, 1.0])
    obj = numeric_items(_base(c=np.array([5, 4, 3, 2, None], dtype=object)), "t")
    assert obj["c"].iloc[0] == 5.0 and np.isnan(obj["c"].iloc[4])
    cat = numeric_items(_base(c=pd.Categorical([1, 2, 1, 2, 1])), "t")
    assert cat["c"].tolist() == [1.0, 2.0, 1.0, 2.0, 1.0]


def test_numeric_text_can_be_refused():
    with pytest.raises(AcapInputError, match=r"t, column 'c': text value '5' \(row 0\)"):
        numeric_items(_base(c=["5", "4", "3", "2", "1"]), "t", allow_text_numbers=False)


def test_arrays_get_v_names_and_keep_index():
    out = numeric_items(np.array([[1, 2, 3], [2, 1, 3], [3, 3, 1]]), "t")
    assert out.columns.tolist() == ["V1", "V2", "V3"]
    assert numeric_items([[1, 2], [2, 1], [3, 3]], "t").columns.tolist() == ["V1", "V2"]
    idx = pd.Index(["r1", "r2", "r3", "r4", "r5"])
    assert numeric_items(_base().set_axis(idx), "t").index.equals(idx)


def test_column_names_become_strings():
    out = numeric_items(pd.DataFrame({1: [1, 2, 3], 2: [3, 1, 2]}), "t")
    assert out.columns.tolist() == ["1", "2"]


def test_options_relax_the_rules():
    x = pd.DataFrame({"a": [1.0, np.nan, np.nan], "flat": [2, 2, 2]})
    out = numeric_items(x, "t", min_items=1, min_answers=1, allow_constant=True)
    assert out.shape == (3, 2)
    assert numeric_items(pd.DataFrame({"a": []}, dtype=float), "t", min_items=1, min_rows=0,
                         min_answers=0).shape == (0, 1)


# ----------------------------------------------------------------------------- refused
@pytest.mark.parametrize(("extra", "fragment"), [
    ({"c": [True, False, True, True, False]}, r"column 'c': True/False column"),
    ({"c": np.array([True, False, None, True, False], dtype=object)}, r"column 'c': True/False"),
    ({"c": ["5", "4", "lots", "2", None]}, r"column 'c': non-numeric value 'lots' \(row 2\)"),
    ({"c": pd.Categorical(["lo", "hi", "lo", "hi", "lo"])}, r"column 'c': non-numeric value 'lo'"),
    ({"c": [1, 2, np.inf, 3, 4]}, r"column 'c': infinite value inf \(row 2\)"),
    ({"c": [1, np.nan, np.nan, np.nan, np.nan]}, r"column 'c': fewer than 2 answers \(1 non-missing"),
    ({"c": [np.nan] * 5}, r"column 'c': fewer than 2 answers \(0 non-missing"),
    ({"c": [3, 3, np.nan, 3, 3]}, r"column 'c': constant column: no variance \(every answer is 3\)"),
])
def test_refusals_name_the_caller_and_column(extra, fragment):
    with pytest.raises(AcapInputError, match=f"^caller, {fragment}") as exc:
        numeric_items(_base(**extra), "caller")
    assert exc.value.where == "caller, column 'c'"


def test_first_offending_column_is_reported():
    x = _base(c=["1", "x", "2", "3", "4"], d=["y", "2", "3", "4", "5"])
    with pytest.raises(AcapInputError, match="column 'c'"):
        numeric_items(x, "t")


def test_duplicate_names_refused():
    x = pd.DataFrame([[1, 2, 3], [2, 1, 3], [3, 3, 1]], columns=["a", "b", "a"])
    with pytest.raises(AcapInputError, match="column 'a': appears more than once"):
        numeric_items(x, "t")
    # names equal only once made strings are duplicates as well
    with pytest.raises(AcapInputError, match="column '1'"):
        numeric_items(pd.DataFrame([[1, 2], [2, 1]], columns=[1, "1"]), "t")


@pytest.mark.parametrize(("data", "kwargs", "fragment"), [
    ("not a table", {}, "expected a DataFrame or 2-D array"),
    (np.arange(4.0), {}, "2-D"),
    (pd.DataFrame({"a": [1, 2, 3]}), {}, "needs at least 2 items, got 1"),
    (_base(), {"min_items": 3}, "needs at least 3 items, got 2"),
    (_base().head(1), {}, "needs at least 2 rows"),
    (_base(), {"min_rows": 6}, "needs at least 6 rows"),
])
def test_shape_and_type_refused(data, kwargs, fragment):
    with pytest.raises(AcapInputError, match=fragment):
        numeric_items(data, "t", **kwargs)


# ----------------------------------------------------------------------------- callers agree
BOOL = _base(c=[True, False, True, True, False], d=[1, 3, 2, 5, 4])
TEXT_NUMBERS = _base(c=["1", "3", "2", "5", "4"], d=[2, 3, 1, 5, 4])


@pytest.mark.parametrize("call", [
    lambda x: alpha(x),
    lambda x: kmo(x),
    lambda x: efa(x, 1),
    lambda x: as_corr(x),
    lambda x: polychoric(x),
])
def test_every_caller_refuses_bool_and_accepts_numeric_text(call):
    with pytest.raises(AcapInputError, match="column 'c': True/False"):
        call(BOOL)
    as_numbers = TEXT_NUMBERS.assign(c=TEXT_NUMBERS["c"].astype(float))
    got, want = call(TEXT_NUMBERS), call(as_numbers)
    # the same analysis as on the numbers themselves
    assert repr(got) == repr(want)


# ----------------------------------------------------------------------------- one SMC
def test_smc_is_inverse_rule_when_regular():
    rng = np.random.default_rng(4)
    r = np.corrcoef(rng.normal(size=(200, 5)), rowvar=False)
    want = 1 - 1 / np.diag(np.linalg.inv(r))
    np.testing.assert_allclose(smc(r), want, atol=1e-12)


def test_smc_uses_psych_pinv_cut_when_singular():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(100, 3))
    r = np.corrcoef(np.column_stack([x, x.sum(axis=1)]), rowvar=False)  # rank 3
    p = pinv(r)
    # a pseudo-inverse (Moore-Penrose conditions) dropping the one null direction
    np.testing.assert_allclose(r @ p @ r, r, atol=1e-10)
    assert np.linalg.matrix_rank(p) == 3
    s = smc(r)
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(s, np.clip(1 - 1 / np.diag(p), 0, 1))


# Golden: psych 2.2.9 on a near-singular matrix (tests/r/itemdata.R), where the plain inverse
# (SMC near 1 for the collinear items) and psych's Pinv (SMC 0 after clipping) disagree.
@pytest.fixture(scope="module")
def near_singular():
    x = pd.read_csv(FIX / "near_singular.csv")
    return x, json.loads((FIX / "smc.json").read_text())


def test_smc_matches_psych_on_near_singular_data(near_singular):
    x, ref = near_singular
    r = np.corrcoef(x.to_numpy(), rowvar=False)
    np.testing.assert_allclose(smc(r), ref["smc"], atol=1e-10)
    # the fixture does separate the two rules
    assert np.abs(np.asarray(ref["smc"]) - ref["inverse_smc"]).max() > 0.5


def test_alpha_and_omega_lambda6_match_psych_on_near_singular_data(near_singular):
    x, ref = near_singular
    assert alpha(x).g6 == pytest.approx(ref["g6"], abs=1e-10)
    for nf, want in zip((2, 3), ref["omega_g6"]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a near-singular fit warns, as psych does
            got = omega(x, nf).g6
        assert got == pytest.approx(want, abs=1e-10)  # the old inverse rule gave 0.79 and 0.80


def test_dates_are_refused():
    import pandas as pd
    import pytest

    from acap.errors import AcapInputError
    from acap.itemdata import numeric_items

    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "when": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"])})
    with pytest.raises(AcapInputError, match=r"column 'when'.*date or time"):
        numeric_items(df, "alpha")
