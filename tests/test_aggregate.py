"""Tests of acap.aggregate: rwg, rwg(j), ICC(1)/ICC(2), organisation results, suppression.

Golden values come from R's multilevel package via tests/r/aggregate.R (fixtures in
tests/fixtures/aggregate/); hand-computed values are worked out in the tests from the
formulas; hypothesis checks the suppression rule's guarantees on random organisations.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from acap.aggregate import (
    ROLE_NOT_STATED,
    icc,
    organisation_results,
    rwg,
    rwg_j,
    suppress,
    uniform_null_variance,
)
from acap.errors import AcapInputError

FIX = Path(__file__).parent / "fixtures" / "aggregate"
TOL = 1e-6
ITEMS = ["item1", "item2", "item3", "item4"]


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return pd.read_csv(FIX / "sim_data.csv")


@pytest.fixture(scope="module")
def bh() -> pd.DataFrame:
    return pd.read_csv(FIX / "bh1996.csv")


def _assert_series_close(got: pd.Series, expected: pd.Series, tol: float = TOL) -> None:
    """Same groups, same NaNs, values within tol."""
    got = got.copy()
    got.index = got.index.astype(str)
    expected = expected.copy()
    expected.index = expected.index.astype(str)
    assert list(got.index) == list(expected.index)
    assert (got.isna().to_numpy() == expected.isna().to_numpy()).all()
    diff = (got - expected).abs().max()
    assert diff < tol or np.isnan(diff), diff


# ---------------------------------------------------------------------------------------------
# golden tests against R's multilevel
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("measure", "null_variance"), [("item1", 4), ("item1", 2), ("item2", 4), ("scale", 4)]
)
def test_rwg_matches_multilevel(sim, measure, null_variance):
    ref = pd.read_csv(FIX / "sim_rwg.csv")
    ref = ref[(ref["measure"] == measure) & (ref["null_variance"] == null_variance)].set_index("group")
    got = rwg(sim[measure], sim["organisation"], null_variance)
    _assert_series_close(got, ref["rwg"])
    # the fixture holds the cases the rule is about: truncation (org01) and a lone answer (org25)
    assert got["org01"] == 0.0
    if measure == "item1":
        assert np.isnan(got["org25"])


@pytest.mark.parametrize("n_points", [7, 5])
def test_rwg_j_matches_multilevel(sim, n_points):
    null = uniform_null_variance(n_points)
    ref = pd.read_csv(FIX / "sim_rwgj.csv")
    ref = ref[ref["null_variance"] == null].set_index("group")
    got = rwg_j(sim[ITEMS], sim["organisation"], null)
    _assert_series_close(got, ref["rwg_j"])


@pytest.mark.parametrize("measure", ["item1", "item3", "scale"])
def test_icc_matches_multilevel(sim, measure):
    ref = json.loads((FIX / "sim_icc.json").read_text())[measure]
    got = icc(sim[measure], sim["organisation"])
    for key, value in ref.items():
        assert getattr(got, key) == pytest.approx(value, rel=TOL, abs=TOL), key


@pytest.mark.parametrize("measure", ["COHES", "LEAD", "HRS", "WBEING"])
def test_icc_bh1996(bh, measure):
    ref = json.loads((FIX / "bh1996_icc.json").read_text())[measure]
    got = icc(bh[measure], bh["GRP"])
    for key, value in ref.items():
        if key == "p":  # p-values of 1e-166 compare on the log scale
            assert math.log(got.p) == pytest.approx(math.log(value), rel=1e-6)
        else:
            assert getattr(got, key) == pytest.approx(value, rel=TOL, abs=TOL), key
    assert got.n_groups == 99 and got.n == 7382
    assert got.k == pytest.approx(7382 / 99)


def test_icc1_of_wellbeing_is_the_textbook_value(bh):
    # Bliese (2000) reports ICC(1) of about .04 for well-being in these data
    assert icc(bh["WBEING"], bh["GRP"]).icc1 == pytest.approx(0.0434, abs=5e-4)


def test_rwg_bh1996(bh):
    ref = pd.read_csv(FIX / "bh1996_rwg.csv").set_index("group")
    _assert_series_close(rwg(bh["WBEING"], bh["GRP"], 2), ref["rwg_wbeing"])
    _assert_series_close(rwg_j(bh[["COHES", "LEAD", "WBEING"]], bh["GRP"], 2), ref["rwg_j"])


def test_organisation_results_agree_with_multilevel(sim):
    res = organisation_results(
        sim, scales=["scale", "item1"], items={"scale": ITEMS}, role="role", min_n=1
    )
    t = res.table
    # rwg(j) of the scale from its items = multilevel::rwg.j with the 7-point uniform null
    ref_j = pd.read_csv(FIX / "sim_rwgj.csv")
    ref_j = ref_j[ref_j["null_variance"] == 4].set_index("group")
    got = t.xs("scale", level="scale")
    _assert_series_close(got["rwg_j"].rename("rwg_j"), ref_j["rwg_j"])
    assert (got["rwg_n"].to_numpy() == ref_j["gsize"].to_numpy()).all()
    assert set(got["rwg_basis"]) == {"items"} and set(got["rwg_items"]) == {4}
    # item1 has no items: single-item rwg of the score = multilevel::rwg
    ref = pd.read_csv(FIX / "sim_rwg.csv")
    ref = ref[(ref["measure"] == "item1") & (ref["null_variance"] == 4)].set_index("group")
    got1 = t.xs("item1", level="scale")
    _assert_series_close(got1["rwg_j"], ref["rwg"])
    assert set(got1["rwg_basis"]) == {"scale score"}
    # reliability = multilevel::ICC1 / ICC2
    icc_ref = json.loads((FIX / "sim_icc.json").read_text())
    for scale in ["scale", "item1"]:
        row = res.private_reliability.loc[scale]
        assert row["icc1"] == pytest.approx(icc_ref[scale]["icc1"], abs=TOL)
        assert row["icc2"] == pytest.approx(icc_ref[scale]["icc2"], abs=TOL)
        assert row["F"] == pytest.approx(icc_ref[scale]["F"], rel=TOL)
        assert row["n_groups"] == icc_ref[scale]["df_between"] + 1
    # n, mean and SD per organisation = a plain groupby
    plain = sim.groupby("organisation")["scale"].agg(["count", "mean", "std"])
    assert (got["n"].to_numpy() == plain["count"].to_numpy()).all()
    np.testing.assert_allclose(got["mean"].to_numpy(dtype=float), plain["mean"], atol=1e-12)
    np.testing.assert_allclose(got["sd"].to_numpy(dtype=float), plain["std"], atol=1e-12)


# ---------------------------------------------------------------------------------------------
# hand-computed values
# ---------------------------------------------------------------------------------------------


def test_uniform_null_variance():
    assert uniform_null_variance(7) == 4.0
    assert uniform_null_variance(5) == 2.0
    assert uniform_null_variance(2) == 0.25  # (4 - 1) / 12
    for bad in [1, 0, 7.5, "7", True]:
        with pytest.raises(AcapInputError, match="n_points"):
            uniform_null_variance(bad)


def test_rwg_tiny_example_by_hand():
    values = [4, 5, 4, 3, 3, 3, 1, 7, 6, np.nan, 2]
    groups = ["a", "a", "a", "b", "b", "b", "c", "c", "d", "d", "e"]
    got = rwg(values, groups, 4.0)
    # a: mean 13/3, deviations (-1/3, 2/3, -1/3): s2 = (1/9 + 4/9 + 1/9) / 2 = 1/3
    assert got["a"] == pytest.approx(1 - (1 / 3) / 4)
    assert got["b"] == 1.0  # perfect agreement
    assert got["c"] == 0.0  # s2 = 18 > 4: truncated, not negative
    assert np.isnan(got["d"])  # one answer left after dropping the NaN
    assert np.isnan(got["e"])
    assert list(got.index) == ["a", "b", "c", "d", "e"]
    assert got.name == "rwg"


def test_rwg_drops_missing_groups_and_keeps_series_name():
    groups = pd.Series(["x", "x", None, "y", "y"], name="org")
    got = rwg([1, 2, 3, 4, 4], groups, 2.0)
    assert got.index.name == "org"
    assert list(got.index) == ["x", "y"]
    assert got["x"] == pytest.approx(1 - 0.5 / 2)


def test_rwg_j_tiny_example_by_hand():
    items = pd.DataFrame({"q1": [4, 5, 6, 2, 2, 2], "q2": [4, 4, 4, 1, 7, 4], "q3": [3, 5, 4, 2, 2, np.nan]})
    groups = ["a"] * 3 + ["b"] * 3
    got = rwg_j(items, groups, 4.0)
    # a: item variances 1, 0, 1 -> mean 2/3; J = 3
    s = (2 / 3) / 4
    assert got["a"] == pytest.approx(3 * (1 - s) / (3 * (1 - s) + s))
    # b, listwise: rows 4 and 5 only; variances 0, 18, 0 -> mean 6 > 4 -> truncated to 0
    assert got["b"] == 0.0
    # "available": q2 keeps all three rows (s2 = 9), q1 = 0, q3 = 0 -> mean 3
    s_b = 3 / 4
    got_av = rwg_j(items, groups, 4.0, missing="available")
    assert got_av["b"] == pytest.approx(3 * (1 - s_b) / (3 * (1 - s_b) + s_b))


def test_icc_by_hand():
    values = [2, 3, 4, 5, 6, 7, 7, 1, 2]
    groups = ["a", "a", "a", "b", "b", "b", "b", "c", "c"]
    got = icc(values, groups)
    x = np.array(values, float)
    g = np.array(groups)
    grand = x.mean()
    means = {k: x[g == k].mean() for k in "abc"}
    sizes = {k: (g == k).sum() for k in "abc"}
    ssb = sum(sizes[k] * (means[k] - grand) ** 2 for k in "abc")
    ssw = sum(((x[g == k] - means[k]) ** 2).sum() for k in "abc")
    msb, msw = ssb / 2, ssw / 6
    k = 9 / 3
    assert got.msb == pytest.approx(msb)
    assert got.msw == pytest.approx(msw)
    assert got.k == k
    assert got.icc1 == pytest.approx((msb - msw) / (msb + (k - 1) * msw))
    assert got.icc2 == pytest.approx((msb - msw) / msb)
    assert got.F == pytest.approx(msb / msw)
    assert got.p == pytest.approx(stats.f.sf(msb / msw, 2, 6))
    assert (got.n_groups, got.n, got.df_between, got.df_within) == (3, 9, 2, 6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.icc1 = 0.5


def _tiny_scores():
    return pd.DataFrame(
        {
            "organisation": ["A"] * 5 + ["B"] * 6,
            "role": ["r1"] * 11,
            "acq": [3, 4, 5, 6, 7, 2, 2, 3, 5, 5, 7],
        }
    )


def test_confidence_interval_without_fpc_by_hand():
    res = organisation_results(_tiny_scores())
    row = res.table.loc[("A", "acq")]
    mean, sd, n = 5.0, math.sqrt(2.5), 5  # 3..7: deviations -2..2, sum of squares 10
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    assert row["n"] == n and row["mean"] == pytest.approx(mean) and row["sd"] == pytest.approx(sd)
    assert row["ci_lower"] == pytest.approx(mean - half)
    assert row["ci_upper"] == pytest.approx(mean + half)
    assert row["fpc"] == 1.0 and pd.isna(row["invited"])
    narrower = organisation_results(_tiny_scores(), level=0.90).table.loc[("A", "acq")]
    assert narrower["ci_upper"] - narrower["ci_lower"] < 2 * half


def test_confidence_interval_with_fpc_by_hand():
    res = organisation_results(_tiny_scores(), invited={"A": 20, "B": 6})
    row = res.table.loc[("A", "acq")]
    fpc = math.sqrt((20 - 5) / (20 - 1))
    half = stats.t.ppf(0.975, 4) * math.sqrt(2.5) / math.sqrt(5) * fpc
    assert row["invited"] == 20
    assert row["fpc"] == pytest.approx(fpc)
    assert row["ci_lower"] == pytest.approx(5.0 - half)
    assert row["ci_upper"] == pytest.approx(5.0 + half)
    census = res.table.loc[("B", "acq")]  # everyone invited answered: no sampling error
    assert census["ci_lower"] == pytest.approx(census["mean"])
    assert census["ci_upper"] == pytest.approx(census["mean"])


def test_invited_below_respondents_is_refused():
    with pytest.raises(AcapInputError, match=r"invited\['B'\].*smaller than the 6"):
        organisation_results(_tiny_scores(), invited=pd.Series({"A": 5, "B": 4}))
    with pytest.raises(AcapInputError, match="positive whole number"):
        organisation_results(_tiny_scores(), invited={"A": 5.5})


# ---------------------------------------------------------------------------------------------
# suppression
# ---------------------------------------------------------------------------------------------


def _org(name, role_sizes, start=4.0):
    """Respondents of one organisation: role -> count, with distinct scores."""
    rows = []
    value = start
    for role, size in role_sizes.items():
        for _ in range(size):
            rows.append({"organisation": name, "role": role, "acq": value})
            value = 1 + (value % 7)
    return rows


def test_small_organisation_is_suppressed():
    df = pd.DataFrame(_org("big", {"a": 6}) + _org("small", {"a": 4}))
    t = organisation_results(df).table
    small = t.loc[("small", "acq")]
    assert small["suppressed"] and small["reason"] == "n < 5"
    for col in ["n", "mean", "sd", "ci_lower", "ci_upper", "rwg_j", "rwg_n"]:
        assert pd.isna(small[col]), col
    big = t.loc[("big", "acq")]
    assert not big["suppressed"] and big["reason"] == "" and big["n"] == 6


def test_fpc_of_a_suppressed_row_is_blanked():
    # with the invited count shown, fpc = sqrt((N - n) / (N - 1)) would give n back
    df = pd.DataFrame(_org("big", {"a": 6}) + _org("small", {"a": 4}))
    t = organisation_results(df, invited={"big": 10, "small": 9}).table
    small = t.loc[("small", "acq")]
    assert small["suppressed"] and small["invited"] == 9 and pd.isna(small["fpc"])
    assert t.loc[("big", "acq"), "fpc"] == pytest.approx(math.sqrt(4 / 9))


def test_one_small_role_group_forces_complementary_suppression():
    df = pd.DataFrame(_org("A", {"board": 3, "clinical": 6, "manager": 7}))
    res = organisation_results(df)
    assert not res.table.loc[("A", "acq"), "suppressed"]  # the total (16) is shown
    r = res.by_role.xs("acq", level="scale").loc["A"]
    assert r.loc["board", "suppressed"] and r.loc["board", "reason"] == "n < 5"
    # without this, board's n and mean follow from the total minus clinical and manager
    assert r.loc["clinical", "suppressed"] and r.loc["clinical", "reason"].startswith("complementary")
    assert not r.loc["manager", "suppressed"] and r.loc["manager", "n"] == 7
    assert pd.isna(r.loc["clinical", "mean"]) and pd.isna(r.loc["clinical", "n"])


def test_two_small_role_groups_with_too_few_people_need_a_complement():
    # board 1 + clinical 2 hidden, manager 9 and the total 12 shown would give the pooled
    # mean of those 3 people as (12 * total - 9 * manager) / 3: manager must go too
    df = pd.DataFrame(_org("A", {"board": 1, "clinical": 2, "manager": 9}))
    res = organisation_results(df)
    assert not res.table.loc[("A", "acq"), "suppressed"]
    r = res.by_role.xs("acq", level="scale").loc["A"]
    assert r["suppressed"].tolist() == [True, True, True]
    assert r.loc["manager", "reason"].startswith("complementary")
    assert r.loc[["board", "clinical"], "reason"].eq("n < 5").all()


def test_complements_stop_once_hidden_cells_hold_min_n_people():
    # 1 + 2 < 5, so the next smallest (5) is hidden; 1 + 2 + 5 = 8 >= 5, so 6 and 9 stay
    df = pd.DataFrame(_org("A", {"a": 1, "b": 2, "c": 6, "d": 5, "e": 9}))
    r = organisation_results(df).by_role.xs("acq", level="scale").loc["A"]
    assert r["suppressed"].tolist() == [True, True, False, True, False]
    hidden = r[r["suppressed"]]
    assert hidden["reason"].tolist() == ["n < 5", "n < 5", "complementary: protects small cells from subtraction"]


def test_two_small_role_groups_holding_min_n_people_need_no_complement():
    # 3 + 4 = 7 >= 5 hidden people: only their pooled mean (7 people) can be recovered
    df = pd.DataFrame(_org("A", {"board": 3, "clinical": 4, "manager": 7}))
    r = organisation_results(df).by_role.xs("acq", level="scale").loc["A"]
    assert r["suppressed"].tolist() == [True, True, False]


def test_complement_with_two_role_groups_hides_both():
    df = pd.DataFrame(_org("A", {"board": 2, "clinical": 9}))
    r = organisation_results(df).by_role.xs("acq", level="scale").loc["A"]
    assert r["suppressed"].all()


def test_complement_ties_break_by_role_order():
    df = pd.DataFrame(_org("A", {"board": 3, "clinical": 6, "finance": 6}))
    r = organisation_results(df).by_role.xs("acq", level="scale").loc["A"]
    assert r["suppressed"].tolist() == [True, True, False]


def test_suppressed_total_needs_no_complement():
    df = pd.DataFrame(_org("A", {"board": 2, "clinical": 2}) + _org("B", {"board": 5}))
    res = organisation_results(df)
    assert res.table.loc[("A", "acq"), "suppressed"]
    r = res.by_role.xs("acq", level="scale")
    assert r.loc["A", "reason"].eq("n < 5").all()
    assert not r.loc[("B", "board"), "suppressed"]


def test_missing_role_is_its_own_group_so_roles_add_up():
    df = pd.DataFrame(_org("A", {"board": 6, "clinical": 6}))
    df.loc[0, "role"] = None
    r = organisation_results(df).by_role.xs("acq", level="scale").loc["A"]
    assert ROLE_NOT_STATED in r.index
    # 'not stated' (1) is small, so it and board (5, the next smallest) are hidden
    assert r.loc[ROLE_NOT_STATED, "suppressed"] and r.loc["board", "suppressed"]
    assert not r.loc["clinical", "suppressed"]


def test_cell_n_counts_only_scored_respondents():
    df = pd.DataFrame(_org("A", {"board": 6, "clinical": 6}))
    df["exp"] = df["acq"]
    df.loc[df.index[:2], "exp"] = np.nan  # two board members skipped the scale
    res = organisation_results(df)
    r = res.by_role.xs("exp", level="scale").loc["A"]
    assert r["suppressed"].all()  # board has 4 scores on 'exp'; clinical complements it
    assert not res.by_role.xs("acq", level="scale").loc["A", "suppressed"].any()
    assert res.table.loc[("A", "exp"), "n"] == 10


def test_no_role_breakdown():
    res = organisation_results(_tiny_scores().drop(columns="role"), role=None)
    assert res.by_role.empty
    assert list(res.by_role.index.names) == ["organisation", "role", "scale"]


def test_suppress_generic_table_and_idempotent():
    t = pd.DataFrame(
        {
            "org": ["A", "A", "A", "B", "B"],
            "group": ["x", "y", "z", "x", "y"],
            "n": [3, 8, 6, 2, 20],
            "mean": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    ).set_index(["org", "group"])
    once = suppress(t, 5, within=["org"])
    assert once["suppressed"].tolist() == [True, False, True, True, True]
    assert once["mean"].isna().tolist() == [True, False, True, True, True]
    twice = suppress(once, 5, within=["org"])
    pd.testing.assert_frame_equal(once, twice)
    # A: 1 + 2 hidden people are too few; the 3 shown is hidden too, then 6 >= 5
    t3 = t.assign(n=[2, 3, 1, 2, 20])
    three = suppress(t3, 5, within=["org"])
    assert three["suppressed"].tolist() == [True, True, True, True, True]
    pd.testing.assert_frame_equal(three, suppress(three, 5, within=["org"]))
    # B's total is itself hidden elsewhere: no need to hide B/y
    hidden = pd.Series({"A": False, "B": True})
    part = suppress(t, 5, within=["org"], total_suppressed=hidden)
    assert part["suppressed"].tolist() == [True, False, True, True, False]
    # no breakdown: primary rule only
    assert suppress(t, 5)["suppressed"].tolist() == [True, False, False, True, False]
    with pytest.raises(AcapInputError, match="within"):
        suppress(t, 5, within=["nope"])


def test_public_reliability_equals_reliability_when_nothing_is_hidden(sim):
    res = organisation_results(sim, scales=["scale", "item1"], items={"scale": ITEMS}, min_n=1)
    pub = res.public_reliability()
    pd.testing.assert_frame_equal(pub.drop(columns="n_groups_suppressed"), res.private_reliability)
    assert (pub["n_groups_suppressed"] == 0).all()
    # and so equals multilevel's ICC1 / ICC2 (fixture from tests/r/aggregate.R)
    icc_ref = json.loads((FIX / "sim_icc.json").read_text())
    assert pub.loc["scale", "icc1"] == pytest.approx(icc_ref["scale"]["icc1"], abs=TOL)
    assert pub.loc["scale", "icc2"] == pytest.approx(icc_ref["scale"]["icc2"], abs=TOL)


def test_public_reliability_leaves_out_suppressed_organisations(sim):
    res = organisation_results(sim, scales=["scale", "item1"], items={"scale": ITEMS}, min_n=5)
    t, full, pub = res.table, res.private_reliability, res.public_reliability()
    for scale in ["scale", "item1"]:
        part = t.xs(scale, level="scale")
        shown = part.index[~part["suppressed"].to_numpy()]
        assert 0 < len(shown) < len(part)  # the case under test: some organisations hidden
        keep = sim[sim["organisation"].isin(shown)]
        ref = icc(keep[scale], keep["organisation"])  # the ANOVA of the shown organisations
        row = pub.loc[scale]
        for key in ["icc1", "icc2", "msb", "msw", "F", "p"]:
            assert row[key] == pytest.approx(getattr(ref, key), rel=1e-9), key
        assert row["n_groups"] == ref.n_groups == len(shown)
        assert row["n"] == ref.n == part.loc[shown, "n"].sum()  # nothing beyond the shown table
        assert row["n_groups_suppressed"] == part["suppressed"].sum()
        # the researcher's table (all organisations) is not for publication: from ICC(1) and
        # ICC(2) alone, F = 1 / (1 - ICC(2)) and k = (F - 1) / ICC(1) - F + 1 give N = G k,
        # and N minus the shown n is the hidden organisations' n
        f = 1 / (1 - full.loc[scale, "icc2"])
        k = (f - 1) / full.loc[scale, "icc1"] - f + 1
        hidden_n = k * full.loc[scale, "n_groups"] - part.loc[shown, "n"].sum()
        true_hidden = sim.loc[~sim["organisation"].isin(shown), scale].notna().sum()
        assert hidden_n == pytest.approx(true_hidden, abs=1e-6)
        assert row["icc1"] != pytest.approx(full.loc[scale, "icc1"], abs=1e-9)


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 12), min_size=1, max_size=6), min_size=1, max_size=5),
    st.lists(st.booleans(), min_size=5, max_size=5),
    st.integers(1, 7),
)
def test_suppress_protects_every_breakdown(breakdowns, totals_hidden, min_n):
    rows = [(f"g{b}", f"c{c}", n) for b, cells in enumerate(breakdowns) for c, n in enumerate(cells)]
    t = pd.DataFrame(rows, columns=["grp", "cell", "n"]).assign(mean=1.0).set_index(["grp", "cell"])
    hidden_totals = pd.Series({f"g{b}": totals_hidden[b] for b in range(len(breakdowns))})
    out = suppress(t, min_n, within=["grp"], total_suppressed=hidden_totals)
    assert (out.loc[out["suppressed"], ["n", "mean"]].isna()).all().all()
    assert (out.loc[~out["suppressed"], "n"] >= min_n).all()
    for grp, part in out.groupby(level="grp"):
        mask = part["suppressed"].to_numpy()
        people = t.loc[grp, "n"].to_numpy()[mask].sum()
        assert not mask.any() or (mask.sum() >= 2 and people >= min_n) or mask.all() or hidden_totals[grp]
        if not hidden_totals[grp]:
            # minimal: showing the largest hidden complement again would break the rule
            comp = part["reason"].str.startswith("complementary").to_numpy()
            if comp.any():
                j = np.flatnonzero(comp)[np.argmax(t.loc[grp, "n"].to_numpy()[comp])]
                rest = mask.copy()
                rest[j] = False
                rest_people = t.loc[grp, "n"].to_numpy()[rest].sum()
                assert rest.sum() < 2 or rest_people < min_n
    pd.testing.assert_frame_equal(out, suppress(out, min_n, within=["grp"], total_suppressed=hidden_totals))


@st.composite
def organisations(draw):
    n_orgs = draw(st.integers(1, 5))
    rows = []
    for o in range(n_orgs):
        n_roles = draw(st.integers(1, 4))
        sizes = draw(st.lists(st.integers(1, 9), min_size=n_roles, max_size=n_roles))
        for r, size in enumerate(sizes):
            for _ in range(size):
                role = None if draw(st.integers(0, 12)) == 0 else f"role{r}"
                a = draw(st.one_of(st.none(), st.integers(1, 7)))
                b = None if o == 0 and r == 0 else draw(st.integers(1, 7))  # a cell nobody scored
                rows.append({"organisation": f"org{o}", "role": role, "a": a, "b": b})
    return pd.DataFrame(rows).astype({"a": float, "b": float})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations(), st.integers(1, 6))
def test_no_suppressed_cell_can_be_recovered(df, min_n):
    res = organisation_results(df, scales=["a", "b"], min_n=min_n)
    full = organisation_results(df, scales=["a", "b"], min_n=1)
    t, r = res.table, res.by_role
    shown = r[~r["suppressed"]]
    assert (shown["n"] >= min_n).all()
    assert r.loc[r["suppressed"], ["n", "mean"]].isna().all().all()
    for (org, scale), part in r.groupby(level=["organisation", "scale"]):
        mask = part["suppressed"].to_numpy()
        hidden = int(mask.sum())
        total_hidden = bool(t.loc[(org, scale), "suppressed"])
        true_n = full.by_role.xs((org, scale), level=["organisation", "scale"])["n"]
        hidden_people = int(true_n.to_numpy()[mask].sum())
        # With the total shown, the hidden cells' pooled n and mean follow by subtraction:
        # there must be none, or at least two holding at least min_n people in all.
        assert hidden == 0 or (hidden >= 2 and hidden_people >= min_n) or total_hidden
        # the role groups partition the organisation: their n add up to its n
        assert true_n.sum() == full.table.loc[(org, scale), "n"]
        if hidden and not total_hidden:
            # what an outsider can work out from the shown figures: n and mean of the rest
            shown_part = part[~mask]
            total = t.loc[(org, scale)]
            rest_n = total["n"] - shown_part["n"].sum()
            assert rest_n == hidden_people and rest_n >= min_n
    # the total row is shown exactly when it has enough respondents
    assert (t["suppressed"] == (full.table["n"] < min_n)).all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcd"), st.integers(1, 7)), min_size=8, max_size=60),
    st.floats(0.5, 3.0),
    st.floats(-5, 5),
)
def test_index_bounds_and_icc_invariance(pairs, scale_factor, shift):
    groups = [g for g, _ in pairs]
    values = np.array([v for _, v in pairs], dtype=float)
    r = rwg(values, groups, 4.0).dropna()
    assert ((r >= 0) & (r <= 1)).all()
    rj = rwg_j(pd.DataFrame({"x": values, "y": values[::-1]}), groups, 4.0).dropna()
    assert ((rj >= 0) & (rj <= 1 + 1e-12)).all()
    if len(set(groups)) >= 2 and len(groups) > len(set(groups)):
        base = icc(values, groups)
        moved = icc(values * scale_factor + shift, groups)
        if np.isfinite(base.icc1) and base.msw > 1e-9:
            assert moved.icc1 == pytest.approx(base.icc1, abs=1e-9)
            assert moved.icc2 == pytest.approx(base.icc2, abs=1e-9)
            assert base.icc2 <= 1


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------


def test_bad_input_messages():
    df = _tiny_scores()
    with pytest.raises(AcapInputError, match=r"row 3, scale column 'acq'.*outside 1-7"):
        organisation_results(df.assign(acq=[3, 4, 5, 9, 7, 2, 2, 3, 5, 5, 7]))
    with pytest.raises(AcapInputError, match=r"row 1, column 'organisation'.*missing"):
        organisation_results(df.assign(organisation=["A", None] + ["A"] * 9))
    with pytest.raises(AcapInputError, match="no role column"):
        organisation_results(df.drop(columns="role"))
    with pytest.raises(AcapInputError, match="non-numeric value 'x'"):
        organisation_results(df.assign(acq=["x"] + [4] * 10), scales=["acq"])
    with pytest.raises(AcapInputError, match="not among the scales"):
        organisation_results(df, scales=["acq"], items={"other": ["acq"]})
    with pytest.raises(AcapInputError, match="no item column 'q9'"):
        organisation_results(df, items={"acq": ["q9"]})
    with pytest.raises(AcapInputError, match="min_n"):
        organisation_results(df, min_n=0)
    with pytest.raises(AcapInputError, match="has 2 entries"):
        rwg([1, 2, 3], ["a", "b"], 4)
    with pytest.raises(AcapInputError, match="null_variance"):
        rwg([1, 2, 3], ["a", "a", "b"], 0)
    with pytest.raises(AcapInputError, match="at least two groups"):
        icc([1, 2, 3], ["a", "a", "a"])
    with pytest.raises(AcapInputError, match="non-numeric"):
        icc(["a", 2, 3], ["a", "a", "b"])


def test_scale_nobody_answered_and_categorical_ids():
    df = pd.DataFrame(
        {
            "organisation": pd.Categorical([3] * 6 + [7] * 2),
            "role": pd.Categorical(["a", "b"] * 3 + ["a", None]),
            "x": [1, 2, 3, 4, 5, 6, 7, 1.0],
            "y": [np.nan] * 8,
        }
    )
    res = organisation_results(df, min_n=2)
    assert res.table["suppressed"].tolist() == [False, True, False, True]
    assert res.table.loc[(3, "x"), "n"] == 6
    assert np.isnan(res.private_reliability.loc["y", "icc1"]) and res.private_reliability.loc["y", "n_groups"] == 0
    assert res.private_reliability.loc["x", "n_groups"] == 2
    assert list(res.by_role.index.get_level_values("scale").unique()) == ["x"]
    assert res.by_role.loc[(7, ROLE_NOT_STATED, "x"), "suppressed"]


def test_docstring_examples_run():
    import doctest

    import acap.aggregate

    result = doctest.testmod(acap.aggregate, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 8 and result.failed == 0
