"""acap.reliability against psych::alpha / psych::splitHalf fixtures (tests/r/reliability.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from acap.errors import AcapInputError
from acap.reliability import _pairwise_cov, alpha, feldt_ci, split_half

FIX = Path(__file__).parent / "fixtures" / "reliability"
TOL = 1e-6  # the issue asks for 1e-4; we agree with psych to ~1e-13, so hold a tighter line

# Recodings the R script applies before calling psych (see tests/r/reliability.R).
RECODE = {"sim_keyed_narrow": lambda d: d.assign(item8=d["item8"].clip(lower=2))}


def _as_list(v):
    if v is None or v == {}:
        return []
    return [v] if isinstance(v, str) else list(v)


def _load(case):
    df = pd.read_csv(FIX / case["file"])[case["items_used"]]
    return RECODE.get(case["name"], lambda d: d)(df)


def _num(v):
    return np.nan if v is None else float(v)


ALPHA_CASES = json.loads((FIX / "alpha.json").read_text())
SPLIT_CASES = json.loads((FIX / "split_half.json").read_text())


@pytest.fixture(scope="module")
def alpha_results():
    out = {}
    for case in ALPHA_CASES:
        scale = case["scale"] or None
        out[case["name"]] = alpha(_load(case), reverse=_as_list(case["reverse"]), scale=scale)
    return out


@pytest.mark.parametrize("case", ALPHA_CASES, ids=[c["name"] for c in ALPHA_CASES])
def test_alpha_totals_match_psych(case, alpha_results):
    res = alpha_results[case["name"]]
    tot = case["total"]
    assert res.n == case["n"] and res.k == case["k"]
    for ours, theirs in [
        ("alpha", "alpha"),
        ("std_alpha", "std_alpha"),
        ("g6", "g6"),
        ("average_r", "average_r"),
        ("median_r", "median_r"),
        ("sn", "sn"),
        ("ase", "ase"),
        ("mean", "mean"),
        ("sd", "sd"),
    ]:
        assert getattr(res, ours) == pytest.approx(tot[theirs], abs=TOL), ours
    if tot["var_r"] is None:
        assert np.isnan(res.var_r)
    else:
        assert res.var_r == pytest.approx(tot["var_r"], abs=TOL)
    assert res.ci == pytest.approx((case["feldt"]["lower"], case["feldt"]["upper"]), abs=TOL)


@pytest.mark.parametrize("case", ALPHA_CASES, ids=[c["name"] for c in ALPHA_CASES])
def test_alpha_items_match_psych(case, alpha_results):
    res = alpha_results[case["name"]]
    expected = pd.DataFrame(case["items"]).set_index("item")
    assert list(res.items.index) == list(expected.index)
    for col in expected.columns:
        e = np.array([_num(v) for v in expected[col]])
        g = res.items[col].to_numpy(dtype=float)
        np.testing.assert_array_equal(np.isnan(g), np.isnan(e), err_msg=col)
        np.testing.assert_allclose(g, e, atol=TOL, rtol=0, err_msg=col)


def test_feldt_level():
    case = next(c for c in ALPHA_CASES if c["name"] == "sim_keyed")
    res = alpha(_load(case), reverse=["item8"], level=0.90)
    assert res.ci == pytest.approx((case["feldt90"]["lower"], case["feldt90"]["upper"]), abs=TOL)
    assert feldt_ci(res.alpha, res.n, res.k, 0.90) == res.ci


def test_reverse_uses_range_over_all_items():
    # psych's rule: min + max over all items (1 + 7 here), not the reversed item's own range.
    case = next(c for c in ALPHA_CASES if c["name"] == "sim_keyed_narrow")
    df = _load(case)
    assert df["item8"].min() == 2
    res = alpha(df, reverse=["item8"])
    assert res.reverse_constant == 8
    assert res.items.loc["item8", "mean"] == pytest.approx(8 - df["item8"].mean())
    explicit = alpha(df, reverse=["item8"], scale=(1, 7))
    pd.testing.assert_frame_equal(explicit.items, res.items)


def test_alpha_by_hand():
    # item variances 5/3, 4.75/3, 2.75/3; sum scores 5, 8, 10, 13 with variance 34/3:
    # alpha = 3/2 * (1 - 12.5/34) = 129/136
    x = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 3, 3, 5], "c": [2, 3, 4, 4]})
    res = alpha(x)
    assert res.alpha == pytest.approx(129 / 136, abs=1e-12)
    r = x.corr().to_numpy()
    rbar = (r.sum() - 3) / 6
    assert res.average_r == pytest.approx(rbar, abs=1e-12)
    assert res.std_alpha == pytest.approx(3 * rbar / (1 + 2 * rbar), abs=1e-12)
    # dropping c leaves a and b: alpha = 2 * (1 - (var_a + var_b) / var(a + b))
    ab = x["a"] + x["b"]
    expected = 2 * (1 - (x["a"].var() + x["b"].var()) / ab.var())
    assert res.items.loc["c", "alpha_if_deleted"] == pytest.approx(expected, abs=1e-12)
    # corrected item-total correlation of a: with b + c
    assert res.items.loc["a", "r_drop"] == pytest.approx(np.corrcoef(x["a"], x["b"] + x["c"])[0, 1], abs=1e-12)
    assert res.scores.tolist() == pytest.approx((x.sum(axis=1) / 3).tolist())


def test_alpha_accepts_array_and_keeps_index():
    x = np.array([[1, 2, 2], [2, 3, 3], [3, 3, 4], [4, 5, 4]], dtype=float)
    res = alpha(x)
    assert list(res.items.index) == ["V1", "V2", "V3"]
    df = pd.DataFrame(x, columns=list("abc"), index=["r1", "r2", "r3", "r4"])
    assert list(alpha(df).scores.index) == ["r1", "r2", "r3", "r4"]
    nullable = df.astype("Int64")
    nullable.iloc[0, 0] = pd.NA
    assert alpha(nullable).items.loc["a", "n"] == 3


@pytest.mark.parametrize(
    ("frame", "kwargs", "fragment"),
    [
        (pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}), {}, "column 'b'"),
        (pd.DataFrame({"a": [1, 2, 3]}), {}, "at least 2 items"),
        (pd.DataFrame({"a": [1, 2, 3], "b": [2, 2, 2]}), {}, "no variance"),
        (pd.DataFrame({"a": [1, 2, 3], "b": [1, 3, 2]}), {"reverse": ["c"]}, "c not among"),
        (pd.DataFrame({"a": [1, 2, 9], "b": [1, 3, 2]}), {"reverse": ["a"], "scale": (1, 5)}, "outside the scale"),
        (pd.DataFrame({"a": [1, 2, np.nan, np.nan], "b": [np.nan, np.nan, 1, 2]}), {}, "in common"),
        (pd.DataFrame({"a": [1, 2, 3], "b": [1, 3, 2]}), {"n_boot": 1}, "n_boot"),
        ("not a table", {}, "DataFrame"),
    ],
)
def test_alpha_bad_input(frame, kwargs, fragment):
    with pytest.raises(AcapInputError, match=fragment):
        alpha(frame, **kwargs)


@pytest.mark.parametrize(
    ("missing", "kind"),
    [
        (0.0, "likert"),
        (0.08, "likert"),  # whole numbers: sums formed exactly in single precision
        (0.08, "centred_likert"),  # negative whole numbers, same exact path
        (0.08, "offset_likert"),  # large whole numbers, exact after a whole-number shift
        (0.08, "continuous"),  # double-precision path
        (0.08, "large_integers"),  # whole numbers too large for exact single precision
    ],
)
def test_bootstrap_matches_resampling_loop(missing, kind):
    rng = np.random.default_rng(5)
    f = rng.normal(size=(150, 1))
    x = 4 + 0.7 * f + rng.normal(size=(150, 5))
    x = {
        "likert": np.round(x),
        "centred_likert": np.round(x) - 4,
        "offset_likert": np.round(x) + 100_000,
        "continuous": x,
        "large_integers": np.round(1000 * x),
    }[kind]
    x[rng.random(x.shape) < missing] = np.nan
    x[3] = np.nan  # a respondent who answered nothing
    df = pd.DataFrame(x, columns=list("abcde"))
    res = alpha(df, n_boot=40, seed=11)
    # the same resamples, drawn as the implementation draws them, computed one at a time
    idx = np.random.default_rng(11).integers(0, 150, size=(40, 150), dtype=np.int32)
    loop = []
    for rows in idx:
        c = _pairwise_cov(x[rows], "test", list("abcde"))
        loop.append((1 - np.trace(c) / c.sum()) * 5 / 4)
    np.testing.assert_allclose(res.boot, loop, atol=1e-10)
    assert res.boot_ci == pytest.approx(tuple(np.quantile(loop, [0.025, 0.975])), abs=1e-10)
    again = alpha(df, n_boot=40, seed=11)
    np.testing.assert_array_equal(again.boot, res.boot)


def test_bootstrap_does_not_depend_on_block_size(monkeypatch):
    import acap.reliability as rel

    rng = np.random.default_rng(8)
    x = np.round(3 + rng.normal(size=(300, 6)) + rng.normal(size=(300, 1)))
    x[rng.random(x.shape) < 0.1] = np.nan
    whole = rel._bootstrap_alpha(x, 50, 4)
    monkeypatch.setattr(rel, "_BOOT_BLOCK", 300 * 7)  # blocks of 7 resamples
    np.testing.assert_allclose(rel._bootstrap_alpha(x, 50, 4), whole, atol=1e-12)


# ---- split half ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", SPLIT_CASES, ids=[c["name"] for c in SPLIT_CASES])
def test_split_half_matches_psych(case):
    df = _load(case)
    res = split_half(df, reverse=_as_list(case["reverse"]), covar=case["covar"], odd_k="psych")
    ref = case["psych"]
    assert res.n_splits == ref["n_splits"]
    assert res.exhaustive
    for name in ("max", "min", "mean", "alpha", "lambda2", "lambda6", "average_r", "median_r"):
        assert getattr(res, name) == pytest.approx(ref[name], abs=TOL), name
    assert res.quantiles == pytest.approx(tuple(ref["ci"]), abs=TOL)
    assert res.max_split == (tuple(ref["max_halves"]["A"]), tuple(ref["max_halves"]["B"]))
    assert res.min_split == (tuple(ref["min_halves"]["A"]), tuple(ref["min_halves"]["B"]))
    for label in ("first_last", "odd_even"):
        for col in ("r_halves", "spearman_brown", "guttman"):
            assert res.splits.loc[label, col] == pytest.approx(case[label][col], abs=TOL), (label, col)
    assert res.first_last == res.splits.loc["first_last", "spearman_brown"]
    assert res.odd_even == res.splits.loc["odd_even", "spearman_brown"]


@pytest.mark.parametrize("case", SPLIT_CASES, ids=[c["name"] for c in SPLIT_CASES])
def test_split_half_all_splits(case):
    df = _load(case)
    res = split_half(df, reverse=_as_list(case["reverse"]), covar=case["covar"])
    ref = case["all"]
    assert res.n_splits == ref["n_splits"]
    for name in ("max", "min", "mean"):
        assert getattr(res, name) == pytest.approx(ref[name], abs=TOL), name
    assert res.quantiles == pytest.approx(tuple(ref["ci"]), abs=TOL)


def test_split_half_sampling_when_many_items():
    rng = np.random.default_rng(3)
    f = rng.normal(size=(400, 1))
    df = pd.DataFrame(f + rng.normal(size=(400, 18)), columns=[f"q{i}" for i in range(18)])
    full = split_half(df, brute=True)
    assert full.exhaustive and full.n_splits == 24310
    sampled = split_half(df, n_sample=2000, seed=9)
    assert not sampled.exhaustive and sampled.n_splits == 2000
    assert full.min <= sampled.min <= sampled.max <= full.max
    assert abs(sampled.mean - full.mean) < 0.01
    np.testing.assert_array_equal(split_half(df, n_sample=2000, seed=9).values, sampled.values)


def test_split_half_by_hand():
    # 4 items: 3 splits; first/last = {a, b} v {c, d}, odd/even = {a, c} v {b, d}
    x = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 4], "c": [1, 3, 3, 4, 5], "d": [2, 1, 4, 4, 5]})
    res = split_half(x, covar=True)
    assert res.n_splits == 3
    h1, h2 = x["a"] + x["b"], x["c"] + x["d"]
    r = np.corrcoef(h1, h2)[0, 1]
    assert res.first_last == pytest.approx(2 * r / (1 + r), abs=1e-12)
    assert res.splits.loc["first_last", "guttman"] == pytest.approx(4 * np.cov(h1, h2)[0, 1] / (h1 + h2).var(), abs=1e-12)
    o1, o2 = x["a"] + x["c"], x["b"] + x["d"]
    r = np.corrcoef(o1, o2)[0, 1]
    assert res.odd_even == pytest.approx(2 * r / (1 + r), abs=1e-12)


def test_split_half_bad_input():
    with pytest.raises(AcapInputError, match="odd_k"):
        split_half(pd.DataFrame({"a": [1, 2, 3], "b": [1, 3, 2]}), odd_k="some")
    with pytest.raises(AcapInputError, match="column 'b': non-numeric value 'x'"):
        split_half(pd.DataFrame({"a": [1, 2, 3], "b": ["1", "x", "3"]}))
    # numbers stored as text are read as numbers (acap.itemdata's common rule)
    as_text = split_half(pd.DataFrame({"a": [1, 2, 3, 4], "b": ["1", "3", "2", "4"]}))
    as_num = split_half(pd.DataFrame({"a": [1, 2, 3, 4], "b": [1, 3, 2, 4]}))
    assert as_text.first_last == as_num.first_last
    with pytest.raises(AcapInputError, match="at least 2 items"):
        split_half(pd.DataFrame({"a": [1, 2, 3]}))


def test_respondent_with_no_answers_counts_in_n_only():
    case = next(c for c in ALPHA_CASES if c["name"] == "sim_keyed")
    df = _load(case)
    base = alpha(df, reverse=["item8"])
    empty = pd.DataFrame([[np.nan] * df.shape[1]], columns=df.columns, index=[len(df)])
    res = alpha(pd.concat([df, empty]), reverse=["item8"])
    assert res.n == base.n + 1  # psych counts every row in n (Feldt interval, ase)
    assert res.alpha == pytest.approx(base.alpha, abs=1e-12)
    assert res.mean == pytest.approx(base.mean, abs=1e-12)
    assert np.isnan(res.scores.iloc[-1])
    assert res.ci == feldt_ci(base.alpha, base.n + 1, base.k)
    pd.testing.assert_series_equal(res.items["n"], base.items["n"])


def test_items_that_are_not_a_scale_give_nan_not_an_error():
    # Strongly opposed unreversed items make the sum of the SMC-diagonal correlation matrix
    # negative; psych reports NaN for r.cor there (R's sqrt of a negative), and so do we.
    rng = np.random.default_rng(7)
    z = rng.standard_normal(400)
    x = pd.DataFrame({"a": z + 0.2 * rng.standard_normal(400), "b": -z + 0.2 * rng.standard_normal(400),
                      "c": rng.standard_normal(400)})
    res = alpha(x)
    assert res.alpha < 0
    assert np.isnan(res.items["r_cor"]).all()
