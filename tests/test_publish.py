"""The publication layer: what may leave acap about an organisation, and an attacker who tries
to get more out of every file a run writes (see tests/attacker.py)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from acap.cli import app
from acap.errors import AcapInputError
from acap.pipeline import score_and_aggregate
from acap.publish import (NOT_SHOWN, SmallMinimumWarning, check_min_n, feedback_for, publish_all,
                          results_tables, shown_scores)
from acap.scoring import score
from acap.simulate import simulate

from attacker import Truth, attack, read_outputs

runner = CliRunner()
MIN_N = 5


def _two_small(seed=11):
    """Five organisations, two of them small (3 and 4 respondents), as one responses table."""
    sim = simulate(n_organisations=5, seed=seed)
    r = sim.responses
    orgs = list(sim.organisations.index)
    keep = r.groupby("organisation").cumcount()
    small = {orgs[0]: 3, orgs[1]: 4}
    mask = r["organisation"].map(small).isna() | (keep < r["organisation"].map(small).fillna(0))
    return r[mask.to_numpy()].reset_index(drop=True), sim.organisations


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("two-small")
    data, orgs = _two_small()
    src = d / "responses.csv"
    data.to_csv(src, index=False)
    inv = d / "invited.csv"
    orgs[["invited", "type"]].reset_index().to_csv(inv, index=False)
    return src, inv, data


@pytest.fixture(scope="module")
def truth_small(small_file, bank):
    return Truth(score(small_file[2], bank), bank)


@pytest.fixture(scope="module")
def score_and_validate(small_file, tmp_path_factory):
    src, inv, _ = small_file
    d = tmp_path_factory.mktemp("runs")
    res = runner.invoke(app, ["score", str(src), "--out", str(d / "score"), "--invited", str(inv)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["validate", str(src), "--out", str(d / "validate"), "--seed", "1"])
    assert res.exit_code == 0, res.output
    return d


def _report(att, what):
    return (f"{what}: {len(att.facts)} facts, {len(att.targets)} suppressed cells and pools, "
            f"{att.span_tests} rank tests combining {att.facts_combined} facts")


@pytest.mark.slow
def test_attacker_recovers_nothing_from_score_and_validate(score_and_validate, truth_small, capsys):
    att = read_outputs([score_and_validate / "score", score_and_validate / "validate"], truth_small, MIN_N)
    attack(att, truth_small, MIN_N)
    with capsys.disabled():
        print("\n" + _report(att, "acap score + acap validate, two small organisations"))
    assert att.span_tests > 500 and len(att.facts) > 1000  # it really tried
    assert not att.row_problems, att.row_problems
    assert not att.leaks, att.leaks[:10]


@pytest.mark.slow
def test_attacker_catches_the_leak_when_the_validation_filter_is_removed(small_file, score_and_validate,
                                                                       truth_small, tmp_path, monkeypatch):
    # the rule removed: the validation report beside the results covers every respondent again
    import acap.publish

    monkeypatch.setattr(acap.publish, "shown_scores", lambda scores, bank, **kw: scores)
    res = runner.invoke(app, ["validate", str(small_file[0]), "--out", str(tmp_path / "v"), "--seed", "1"])
    assert res.exit_code == 0, res.output
    att = attack(read_outputs([score_and_validate / "score", tmp_path / "v"], truth_small, MIN_N), truth_small, MIN_N)
    found = [msg for kind, msg in att.leaks if kind == "subtraction"]
    # role-group sizes over every respondent, less the shown role cells, give a small group's size
    assert any("headcount" in m for m in found), "the attacker missed the leak of an unfiltered validation report"


@pytest.mark.slow
def test_attacker_finds_the_issues_leak_in_the_demo_with_an_all_respondent_report(
        demo_run, validation_demo_report, bank, tmp_path):
    # the issue's example: the demo's results beside a validation report over every respondent give
    # back the small organisation's knowledge-source items (all-respondent total less shown organisations)
    from acap.outputs import write_all
    from acap.report_html import validation_files

    out, _ = demo_run
    write_all(tmp_path / "validation-all", validation_files(validation_demo_report, prefix=""))
    truth = Truth(score(pd.read_csv(out / "data/responses.csv"), bank), bank)
    att = attack(read_outputs([out, tmp_path / "validation-all"], truth, MIN_N), truth, MIN_N)
    found = [msg for kind, msg in att.leaks if kind == "subtraction"]
    assert any(m.startswith("Fernhollow ICB/gathered:") or m.startswith("Fernhollow ICB/used:") for m in found), \
        found[:5]


@pytest.mark.slow
def test_attacker_catches_an_all_respondent_report_released_beside_results(small_file, score_and_validate,
                                                                         truth_small, tmp_path):
    res = runner.invoke(app, ["validate", str(small_file[0]), "--out", str(tmp_path / "all"), "--seed", "1",
                              "--all-respondents"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("NOT FOR RELEASE WITH ORGANISATION RESULTS")
    html = (tmp_path / "all/report.html").read_text(encoding="utf-8")
    body = html[html.index("<body"):]
    assert body.index("NOT FOR RELEASE") < body.index("<h1")  # the first thing on the page
    assert next(iter(json.loads((tmp_path / "all/report.json").read_text()))) == "release_warning"
    for f in ("items.csv", "verdicts.csv", "reliability.csv"):
        first = (tmp_path / "all" / f).read_text(encoding="utf-8-sig").splitlines()[0]
        assert first.startswith("# NOT FOR RELEASE"), f
    att = attack(read_outputs([score_and_validate / "score", tmp_path / "all"], truth_small, MIN_N), truth_small,
                 MIN_N)
    assert any(kind == "subtraction" for kind, _ in att.leaks)


@pytest.mark.slow
def test_attacker_catches_missing_role_rows(small_file, truth_small, tmp_path, monkeypatch):
    # the rule removed: role rows only where the group has respondents (as before the fix)
    import acap.publish

    def present_rows_only(scored, bank):
        br = scored.organisations.by_role.rename_axis(["organisation", "role_group", "scale"])
        return br.assign(label="")[["label", "n", "mean", "sd", "suppressed", "reason"]]

    monkeypatch.setattr(acap.publish, "_role_table", present_rows_only)
    res = runner.invoke(app, ["score", str(small_file[0]), "--out", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    att = read_outputs([tmp_path / "s"], truth_small, MIN_N)
    assert any("by_role.csv" in p for p in att.row_problems)


@pytest.mark.slow
def test_attacker_recovers_nothing_from_the_demo(demo_run, bank, capsys):
    out, _ = demo_run
    responses = pd.read_csv(out / "data/responses.csv")
    truth = Truth(score(responses, bank), bank)
    # data/ is the simulated input (what a user collects), not a result
    att = attack(read_outputs([out], truth, MIN_N), truth, MIN_N)
    with capsys.disabled():
        print("\n" + _report(att, "acap demo"))
    assert att.span_tests > 500
    assert not att.row_problems, att.row_problems
    assert not att.leaks, att.leaks[:10]


# ---- the feedback object -------------------------------------------------------------------


@pytest.fixture(scope="module")
def scored_small(small_file, bank):
    data, orgs = _two_small()
    return score_and_aggregate(data, bank, invited=orgs["invited"]), orgs


def test_every_organisation_has_the_same_rows_and_suppressed_ones_are_blank(scored_small):
    scored, orgs = scored_small
    fb = publish_all(scored, organisations=orgs)
    hidden = [f for f in fb.values() if f.status == "suppressed"]
    assert len(hidden) == 2
    first = next(iter(fb.values()))
    for f in fb.values():
        for attr in ("scales", "roles", "gaps", "items"):
            assert getattr(f, attr).index.equals(getattr(first, attr).index), attr
    for f in hidden:
        assert f.n is None and f.invited is None and f.response_rate is None
        assert f.reason == f"fewer than {MIN_N} respondents"
        assert f.scales["mean"].isna().all() and f.scales["suppressed"].all()
        assert f.roles["n"].isna().all() and f.items["n"].isna().all() and f.gaps["gap"].isna().all()
        assert pd.isna(f.headline["potential"]) and f.network is None
    roles = pd.concat([f.roles for f in fb.values()])
    assert roles.loc[roles["suppressed"], "reason"].nunique() == 1  # 0 people or 3: the same words


def test_feedback_holds_labels_shares_peers_and_meta(scored_small, bank):
    scored, orgs = scored_small
    shown = [o for o in orgs.index if feedback_for(scored, o).status == "shown"][0]
    f = scored.for_organisation(shown, organisations=orgs)
    assert f.scales.loc["acquisition", "label"] == bank.labels()["acquisition"]
    assert f.items.loc["AQ01", "label"] == bank.items["AQ01"]["text"]
    row = f.items.loc["AQ01"]
    shares = row[[f"share_{k}" for k in range(1, 8)] + ["share_dont_know"]].astype(float)
    assert shares.sum() == pytest.approx(1.0)
    # answers as given: a reverse-keyed item's shares are of the raw answers
    rev = bank.reverse_items[0]
    org_rows = scored.scores.background["organisation"] == shown
    raw = 8 - scored.scores.items.loc[org_rows, rev].dropna()
    n = org_rows.sum() - scored.scores.items.loc[org_rows, rev].isna().sum() + scored.scores.dont_know.loc[
        org_rows, rev].sum()
    assert f.items.loc[rev, "share_1"] == pytest.approx((raw == 1).sum() / n)
    assert f.scales.loc["acquisition", "mean_100"] == pytest.approx((f.scales.loc["acquisition", "mean"] - 1) / 6 * 100)
    assert f.meta.min_n == MIN_N and not f.meta.min_n_override and f.meta.bank_version == bank.version
    assert f.peers.empty or (f.peers["n_peers"] >= MIN_N).all()  # 3 shown organisations: no peer rows
    assert f.icc.loc["acquisition", "n_groups"] == 3


def test_result_tables_of_the_run_are_its_feedback_stacked(bank):
    # a run's files are cut from run-wide tables, each organisation's feedback from the same
    # tables: stacking every feedback object gives the files' tables back, row for row
    sim = simulate(n_organisations=14, seed=8, bank=bank, sizes=(2, 14))
    scored = score_and_aggregate(sim.responses, bank, invited=sim.organisations["invited"])
    pub = publish_all(scored, organisations=sim.organisations)
    assert 0 < sum(f.status == "suppressed" for f in pub.values()) < len(pub)
    whole, stacked = results_tables(pub), results_tables(dict(pub))
    assert set(whole) == set(stacked)
    for name in whole:
        pd.testing.assert_frame_equal(whole[name], stacked[name], obj=name)
    some = {o: pub[o] for o in list(pub)[3:7]}  # a selection stacks to its own rows only
    assert set(results_tables(some)["results"].index.get_level_values(0)) == set(some)
    with pytest.raises(KeyError):
        pub["no such organisation"]


def test_peer_quartiles_use_shown_organisations_and_types(bank):
    sim = simulate(n_organisations=14, seed=5, bank=bank)
    scored = score_and_aggregate(sim.responses, bank)
    fb = publish_all(scored, organisations=sim.organisations)
    shown = [f for f in fb.values() if f.status == "shown"]
    means = pd.DataFrame({f.organisation: f.scales["mean"] for f in shown}).T.astype(float)
    f = shown[0]
    peers = f.peers.loc["acquisition"]
    types = sim.organisations["type"]
    same = [o for o in means.index if types[o] == f.org_type]
    group = means.loc[same if peers["group"] == "type" else means.index, "acquisition"].dropna()
    assert len(group) >= MIN_N and peers["n_peers"] == len(group)
    assert peers["median"] == pytest.approx(group.median())
    assert peers["group"] == ("type" if len(same) >= MIN_N else "all")


def test_small_minimum_needs_an_explicit_option_and_is_recorded(scored_small, small_file, tmp_path):
    data, orgs = _two_small()
    with pytest.raises(AcapInputError, match="allow_small_n"):
        score_and_aggregate(data, None or scored_small[0].bank, min_n=3)
    with pytest.warns(SmallMinimumWarning):
        s = score_and_aggregate(data, scored_small[0].bank, min_n=3, allow_small_n=True)
    assert publish_all(s)[orgs.index[1]].meta.min_n_override  # 4 respondents: now shown, and it says so
    assert check_min_n(5) is False
    src = small_file[0]
    res = runner.invoke(app, ["score", str(src), "--out", str(tmp_path / "x"), "--min-n", "1"])
    assert res.exit_code == 2 and "--allow-small-n" in res.output and not (tmp_path / "x").exists()
    res = runner.invoke(app, ["score", str(src), "--out", str(tmp_path / "y"), "--min-n", "3", "--allow-small-n"])
    assert res.exit_code == 0 and "warning: minimum n 3" in res.output
    meta = json.loads((tmp_path / "y/run.json").read_text())
    assert meta["min_n"] == 3 and meta["min_n_override"] is True
    results = pd.read_csv(tmp_path / "y/organisations/results.csv", encoding="utf-8-sig")
    assert results["min_n_override"].all() and (results["min_n"] == 3).all()


def test_invited_is_blank_beside_a_suppressed_n(score_and_validate):
    results = pd.read_csv(score_and_validate / "score/organisations/results.csv", encoding="utf-8-sig")
    hidden = results[results["suppressed"]]
    assert len(hidden) and hidden[["n", "invited", "response_rate"]].isna().all().all()
    assert results.loc[~results["suppressed"], "invited"].notna().all()


def test_shown_scores_keeps_only_what_results_show(small_file, bank):
    s = score(small_file[2], bank)
    shown = shown_scores(s, bank, min_n=MIN_N)
    scored = score_and_aggregate(small_file[2], bank)
    fb = publish_all(scored)
    hidden = {o for o, f in fb.items() if f.status == "suppressed"}
    assert not set(shown.background["organisation"]) & hidden
    assert len(shown.background) == sum(f.n for f in fb.values() if f.n)
    # every answer kept is in a shown item row; every pooled person is in a suppressed role cell
    for org, f in fb.items():
        if org in hidden:
            continue
        rows = shown.background["organisation"] == org
        for iid in f.items.index[f.items["suppressed"]]:
            assert shown.items.loc[rows, iid].isna().all() and not shown.dont_know.loc[rows, iid].any()
        pooled = shown.background.loc[rows, "role_group"] == NOT_SHOWN
        groups = set(s.background.loc[rows[rows].index[pooled.to_numpy()], "role_group"])
        hid = f.roles["suppressed"].groupby(level="role_group").any()
        assert all(hid[g] for g in groups)
