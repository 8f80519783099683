"""The validation report (acap.validate, acap.report_html).

Builds the report on simulated data, checks that its JSON holds every section, that the
verdicts follow the thresholds the report states, that a scale of random items is judged
poor, that bad input is refused, that a failing analysis degrades to a note, and that the
two-stage CFA used for incomplete data agrees with lavaan (fixtures from tests/r/validate.R).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from acap.errors import AcapInputError
from acap.items import load_bank
from acap.report_html import render_html, report_to_json, validation_files
from acap.simulate import simulate
from acap.validate import (SECTIONS, THRESHOLDS, em_moments, load_model, moment_matched_data,
                           validation_report)

FIX = Path(__file__).parent / "fixtures" / "validate"
RANDOM_SCALE = "knowledge_systems"
BLANK_SCALE = "knowledge_systems"
SMALL_ORG = "Fernhollow ICB"  # 4 respondents in simulate(12, seed=2024)


@pytest.fixture(scope="module")
def bank():
    return load_bank()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo data written to CSV, as a researcher would hand it in."""
    path = tmp_path_factory.mktemp("validate") / "responses.csv"
    simulate(12, seed=2024).responses.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def report(demo):
    return validation_report(demo, seed=2024, n_iter=20, date="2026-01-01 00:00 UTC")


@pytest.fixture(scope="module")
def bad_scale_report(bank):
    """Demo data whose knowledge-systems items are replaced by independent random answers."""
    data = simulate(12, seed=2024).responses.copy()
    rng = np.random.default_rng(99)
    for iid in bank.scale_map[RANDOM_SCALE]:
        data[iid] = rng.integers(1, 8, size=len(data))
    # three scales keep the (non-converging) CFA of a model with a random factor quick
    model = {s: bank.scale_map[s] for s in ("acquisition", RANDOM_SCALE, "exploitation")}
    return validation_report(data, model=model, seed=1, n_iter=10)


@pytest.fixture(scope="module")
def blank_scale_report(bank):
    """Demo data in which every answer to the knowledge-systems items is skipped (blank)."""
    data = simulate(12, seed=2024).responses.copy()
    for iid in bank.scale_map[BLANK_SCALE]:
        data[iid] = np.nan
    return validation_report(data, seed=2024, n_iter=5, date="2026-01-01 00:00 UTC")


# ---- structure ----------------------------------------------------------------------------------

def test_json_has_every_section(report, bank):
    doc = json.loads(report_to_json(report))
    assert set(doc["sections"]) == set(SECTIONS)
    for name, sec in doc["sections"].items():
        assert sec["status"] in ("ok", "partial", "not computed"), name
        assert sec["notes"], f"section {name} says nothing about how it was computed"
    assert doc["meta"]["bank_version"] == bank.version
    assert len(doc["meta"]["data_sha256"]) == 64
    assert doc["settings"]["seed"] == 2024
    assert [r["scale"] for r in doc["verdicts"]["records"]] == bank.scale_ids
    for key in ("alpha", "cfi", "rwg_j", "icc1", "icc2", "floor_ceiling", "kmo", "delta_cfi"):
        assert key in [r["key"] for r in doc["thresholds"]["records"]]


def test_sections_hold_the_statistics(report, bank):
    assert report.reliability.tables["scales"].index.tolist() == bank.scale_ids
    assert report.reliability.tables["scales"]["omega_total"].notna().all()
    assert 0 < report.adequacy.values["kmo"] <= 1
    assert report.retention.values["pa_n_factors"] >= 1
    assert report.efa.values["n_factors"] == report.retention.values["pa_n_factors"]
    items = [i for its in bank.scale_map.values() for i in its]
    assert report.efa.tables["loadings"].index.tolist() == items
    assert report.cfa.status == "ok"
    assert report.cfa.values["df"] > 0
    assert report.cfa.tables["modification_indices"]["mi"].is_monotonic_decreasing
    assert len(report.cfa.tables["modification_indices"]) == 10
    agg = report.aggregation.tables["scales"]
    assert agg["n_organisations"].eq(12).all()
    assert agg[["icc1", "icc2", "rwg_j_median"]].notna().all().all()


def test_data_hash_is_of_the_file(report, demo):
    import hashlib

    assert report.meta["data_sha256"] == hashlib.sha256(demo.read_bytes()).hexdigest()


def test_item_descriptives_match_the_data(report, demo, bank):
    from acap.scoring import score

    s = score(demo, bank)
    desc = report.items.tables["descriptives"]
    iid = "AQ03"
    col = s.items[iid]
    assert desc.loc[iid, "n"] == col.notna().sum()
    assert desc.loc[iid, "mean"] == pytest.approx(col.mean())
    assert desc.loc[iid, "pct_dont_know"] == pytest.approx(s.dont_know[iid].mean() * 100)
    assert desc.loc[iid, "pct_ceiling"] == pytest.approx((col.dropna() == 7).mean() * 100)


# ---- verdicts follow the thresholds ----------------------------------------------------------------

# The published cut-offs, written out here rather than read from acap.validate.THRESHOLDS, so
# that a wrong threshold in the code fails these tests.
ALPHA_GOOD, ALPHA_ACCEPTABLE, ALPHA_QUESTIONABLE = 0.80, 0.70, 0.60  # Nunnally 1978
ITEM_REST = 0.30  # Nunnally & Bernstein 1994
FLOOR_CEILING_PCT = 15.0  # Terwee et al. 2007
RWG_J, ICC1, ICC2 = 0.70, 0.05, 0.70  # LeBreton & Senter 2008; Bliese 2000
CFI, TLI, RMSEA, SRMR = 0.95, 0.95, 0.06, 0.08  # Hu & Bentler 1999
DELTA_CFI = 0.01  # Cheung & Rensvold 2002: CFI may drop by at most .01
ORDER = ("good", "acceptable", "questionable", "poor")


def _band(value):
    if not np.isfinite(value):
        return "not computed"
    return ("good" if value >= ALPHA_GOOD else "acceptable" if value >= ALPHA_ACCEPTABLE else
            "questionable" if value >= ALPHA_QUESTIONABLE else "poor")


def _check_verdicts(rep):
    inv = rep.invariance.tables["summary"]
    for scale, r in rep.verdicts.iterrows():
        coefs = [c for c in (r.alpha, r.omega_total) if np.isfinite(c)]
        reliability = _band(min(coefs) if coefs else np.nan)
        assert r.reliability == reliability, scale
        items = ("not computed" if not np.isfinite(r.min_item_rest)
                 else "good" if r.min_item_rest >= ITEM_REST else "questionable")
        assert r.items_verdict == items, scale
        if not (np.isfinite(r.pct_floor) or np.isfinite(r.pct_ceiling)):
            fc = "not computed"
        else:
            fc = "questionable" if np.nanmax([r.pct_floor, r.pct_ceiling]) > FLOOR_CEILING_PCT else "good"
        if reliability == "not computed":
            assert r.verdict == "not computed", scale
        else:
            known = [p for p in (reliability, items, fc) if p in ORDER]
            assert r.verdict == max(known, key=ORDER.index), scale
        stats = [r.rwg_j_median, r.icc1, r.icc2]
        if not np.isfinite(stats).all():
            assert r.organisation_level == "not computed", scale
        else:
            met = sum([r.rwg_j_median >= RWG_J, r.icc1 >= ICC1, r.icc2 >= ICC2])
            assert r.organisation_level == {3: "supported", 2: "partly supported", 1: "weak",
                                            0: "not supported"}[met], scale
        if scale in inv.index and inv.loc[scale, "level"] != "not tested":
            metric = inv.loc[scale, "delta_cfi_metric"] >= -DELTA_CFI
            scalar = metric and inv.loc[scale, "delta_cfi_scalar"] >= -DELTA_CFI
            assert r.invariance == ("scalar" if scalar else "metric" if metric else "configural only"), scale


def test_thresholds_are_the_published_ones():
    # the values printed in every report's threshold table
    expected = {"alpha": ALPHA_ACCEPTABLE, "omega_total": ALPHA_ACCEPTABLE, "item_rest": ITEM_REST,
                "floor_ceiling": FLOOR_CEILING_PCT / 100, "rwg_j": RWG_J, "icc1": ICC1, "icc2": ICC2,
                "cfi": CFI, "tli": TLI, "rmsea": RMSEA, "srmr": SRMR, "delta_cfi": -DELTA_CFI}
    for key, value in expected.items():
        assert THRESHOLDS[key]["value"] == pytest.approx(value), key


def test_verdict_bands_at_the_cutoffs():
    """Reliability exactly at a cut-off gets the better band; just below it, the worse one."""
    from acap.validate import Section, _verdicts

    cases = {"a80": (0.80, "good"), "a7999": (0.7999, "acceptable"), "a70": (0.70, "acceptable"),
             "a6999": (0.6999, "questionable"), "a60": (0.60, "questionable"), "a5999": (0.5999, "poor")}
    model = {k: ["x", "y", "z"] for k in cases}
    scales = pd.DataFrame({"alpha": [v for v, _ in cases.values()], "omega_total": np.nan,
                           "min_item_rest": ITEM_REST, "n_items_low_r": 0, "pct_floor": FLOOR_CEILING_PCT,
                           "pct_ceiling": 0.0}, index=pd.Index(list(cases), name="scale"))
    agg = pd.DataFrame({"rwg_j_median": RWG_J, "icc1": ICC1, "icc2": ICC2}, index=scales.index)
    v = _verdicts(model, {}, Section("ok", tables={"scales": scales}), Section("ok", tables={"scales": agg}),
                  Section("ok"), Section("ok"))
    for k, (_, band) in cases.items():
        assert v.loc[k, "reliability"] == band, k
        assert v.loc[k, "verdict"] == band, k  # item-rest .30 and 15% floor are not flagged
        assert v.loc[k, "organisation_level"] == "supported", k
    # just past the item-rest, floor and organisation cut-offs
    scales["min_item_rest"] = ITEM_REST - 1e-4
    scales["pct_floor"] = FLOOR_CEILING_PCT + 1e-4
    agg[["rwg_j_median", "icc1", "icc2"]] = [RWG_J - 1e-4, ICC1 - 1e-4, ICC2 - 1e-4]
    v = _verdicts(model, {}, Section("ok", tables={"scales": scales}), Section("ok", tables={"scales": agg}),
                  Section("ok"), Section("ok"))
    assert (v["items_verdict"] == "questionable").all()
    assert (v["floor_ceiling"] == "floor").all()
    assert v.loc["a80", "verdict"] == "questionable"
    assert v.loc["a5999", "verdict"] == "poor"
    assert (v["organisation_level"] == "not supported").all()


def test_verdicts_follow_thresholds(report, bad_scale_report):
    _check_verdicts(report)
    _check_verdicts(bad_scale_report)


def test_cfa_verdict_counts_hu_bentler(report):
    fit = report.cfa.values
    met = sum([fit["cfi"] >= CFI, fit["tli"] >= TLI, fit["rmsea"] <= RMSEA, fit["srmr"] <= SRMR])
    assert fit["criteria_met"] == met
    assert report.cfa.tables["criteria"]["met"].sum() == met


def test_scale_with_no_answers_is_not_computed(blank_scale_report, report):
    v = blank_scale_report.verdicts
    row = v.loc[BLANK_SCALE]
    assert row["verdict"] == "not computed"
    assert row["reliability"] == "not computed"
    assert row["floor_ceiling"] == "not computed"
    assert row["organisation_level"] == "not computed"
    # the other scales keep the verdicts they get on the full data
    others = [s for s in v.index if s != BLANK_SCALE]
    for col in ("verdict", "reliability", "items_verdict", "floor_ceiling", "organisation_level"):
        assert v.loc[others, col].tolist() == report.verdicts.loc[others, col].tolist(), col
    _check_verdicts(blank_scale_report)
    notes = " ".join(blank_scale_report.reliability.notes)
    assert f"Alpha of {BLANK_SCALE} could not be computed" in notes and "KM01" in notes
    assert blank_scale_report.cfa.status == "not computed"
    page = render_html(blank_scale_report)
    assert ">nan<" not in page.lower()
    json.loads(report_to_json(blank_scale_report))


def test_random_items_get_a_poor_verdict(bad_scale_report, report):
    v = bad_scale_report.verdicts
    assert v.loc[RANDOM_SCALE, "verdict"] == "poor"
    a = v.loc[RANDOM_SCALE, "alpha"]
    assert a < 0.3
    assert v.loc[RANDOM_SCALE, "omega_total"] < 0.3
    assert "Not reliable" in v.loc[RANDOM_SCALE, "summary"]
    # the random items are flagged in the item analysis, the other scales keep their verdicts
    flags = bad_scale_report.reliability.tables["items"].xs(RANDOM_SCALE, level="scale")["flag"]
    assert flags.str.contains("item-rest").all()
    others = [s for s in v.index if s != RANDOM_SCALE]
    assert (v.loc[others, "verdict"] != "poor").all()
    assert (report.verdicts["verdict"] != "poor").all()
    # random answers carry no organisation effect either
    assert v.loc[RANDOM_SCALE, "icc2"] < 0.5


# ---- reproducibility and rendering ---------------------------------------------------------------------

def test_reproducible_with_the_same_seed():
    data = simulate(5, seed=7).responses
    a = validation_report(data, seed=5, n_iter=5, date="x")
    b = validation_report(data, seed=5, n_iter=5, date="x")
    assert report_to_json(a) == report_to_json(b)
    assert render_html(a) == render_html(b)


def test_html_is_complete_and_accessible(report):
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
    for anchor in ("summary", *SECTIONS, "thresholds"):
        assert f'id="{anchor}"' in page
    assert page.count("<img ") == 3 and page.count('alt="') == 3
    assert 'alt=""' not in page
    assert '<th scope="col">' in page and "<caption>" in page
    assert ">nan<" not in page.lower() and ">None<" not in page
    assert report.meta["data_sha256"] in page and report.meta["acap_version"] in page
    for source in ("Nunnally", "Hu L, Bentler PM", "Cheung GW", "LeBreton", "Terwee", "Kaiser HF"):
        assert source in page


def test_validation_files_write(report, tmp_path):
    from acap.outputs import write_all

    written = write_all(tmp_path / "out", validation_files(report))
    names = {p.relative_to(tmp_path / "out").as_posix() for p in written}
    assert {"validation/report.html", "validation/report.json", "validation/verdicts.csv"} <= names
    doc = json.loads((tmp_path / "out" / "validation" / "report.json").read_text(encoding="utf-8"))
    assert doc == json.loads(report_to_json(report))
    verdicts = pd.read_csv(tmp_path / "out" / "validation" / "verdicts.csv", index_col="scale")
    assert verdicts["verdict"].tolist() == report.verdicts["verdict"].tolist()


# ---- graceful degradation ------------------------------------------------------------------------------

def test_failing_cfa_is_reported_not_raised(demo):
    # the demo data have few complete cases: listwise CFA cannot be fitted, the report carries on
    rep = validation_report(demo, seed=1, n_iter=5, cfa_missing="listwise", min_group_n=10_000)
    assert rep.cfa.status == "not computed"
    assert any("could not be computed" in n for n in rep.cfa.notes)
    assert rep.invariance.status == "not computed"
    assert any("Left out for too few" in n for n in rep.invariance.notes)
    assert (rep.invariance.tables["summary"]["level"] == "not tested").all()
    assert rep.reliability.status == "ok"
    page = render_html(rep)
    assert "Not computed" in page


def test_small_groups_are_dropped_and_named(report):
    notes = " ".join(report.invariance.notes)
    sizes = report.meta["group_sizes"]
    small = [g for g, n in sizes.items() if n < 30]
    for g in small:
        assert g in notes
        assert all(g not in str(groups) for groups in report.invariance.tables["summary"]["groups"])


def test_programming_errors_are_not_swallowed(monkeypatch):
    # a bug in an estimator must surface, not become "not computed"
    import acap.factor

    def broken(*args, **kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(acap.factor, "kmo", broken)
    with pytest.raises(TypeError, match="a bug"):
        validation_report(simulate(3, seed=1).responses, seed=1, n_iter=2)


def test_no_warning_filters_are_changed(monkeypatch):
    """acap code never calls catch_warnings/simplefilter (process-wide, not thread-safe)."""
    import traceback
    import warnings

    callers = []
    real_catch, real_simple = warnings.catch_warnings, warnings.simplefilter

    class Spy(real_catch):
        def __enter__(self):
            callers.append(traceback.extract_stack()[-2].filename)
            return super().__enter__()

    def simple(*args, **kwargs):
        callers.append(traceback.extract_stack()[-2].filename)
        return real_simple(*args, **kwargs)

    monkeypatch.setattr(warnings, "catch_warnings", Spy)
    monkeypatch.setattr(warnings, "simplefilter", simple)
    validation_report(simulate(3, seed=1).responses, seed=1, n_iter=2)
    acap_dir = str(Path(__import__("acap").__file__).parent)
    assert not [c for c in callers if c.startswith(acap_dir)]


# ---- privacy: no figure of an organisation below min_n ---------------------------------------------------

def test_small_organisation_is_not_published(report, demo):
    sizes = pd.read_csv(demo)["organisation"].value_counts()
    assert sizes[SMALL_ORG] == 4  # the case this test is about
    shown = sizes[sizes >= 5].index
    assert report.settings["min_n"] == 5
    rwg = report.aggregation.tables["rwg_j"]
    assert SMALL_ORG not in rwg.index
    assert sorted(rwg.index) == sorted(shown)
    assert rwg.notna().all().all()
    assert SMALL_ORG.split()[0] not in report_to_json(report)
    assert SMALL_ORG.split()[0] not in render_html(report)
    notes = " ".join(report.aggregation.notes)
    assert "No small-cell suppression" not in notes
    assert "1 organisation with fewer than 5 respondents is not listed" in notes


def test_small_organisation_is_not_named_as_a_group(demo, bank):
    model = {"acquisition": bank.scale_map["acquisition"]}
    rep = validation_report(demo, model=model, group="organisation", min_group_n=2, seed=1, n_iter=2)
    assert rep.invariance.values["min_group_n"] == 5  # raised to min_n for organisations
    assert SMALL_ORG.split()[0] not in report_to_json(rep)
    assert SMALL_ORG.split()[0] not in render_html(rep)
    assert sum(rep.meta["group_sizes"].values()) == rep.meta["n_respondents"]
    assert "not named" in " ".join(rep.invariance.notes)


# ---- bad input is refused ------------------------------------------------------------------------------

def test_unknown_item_is_refused():
    data = simulate(3, seed=1).responses.rename(columns={"AQ01": "AQ99"})
    with pytest.raises(AcapInputError, match="unknown item ID 'AQ99'"):
        validation_report(data)


def test_value_off_scale_is_refused():
    data = simulate(3, seed=1).responses.copy()
    data["AQ01"] = data["AQ01"].astype(object)
    data.loc[data.index[2], "AQ01"] = 12
    with pytest.raises(AcapInputError, match="column AQ01: value 12"):
        validation_report(data)


def test_bad_model_file_is_refused(tmp_path, bank):
    data = simulate(3, seed=1).responses
    p = tmp_path / "model.yaml"
    p.write_text("acap:\n  - AQ01\n  - XX01\n", encoding="utf-8")
    with pytest.raises(AcapInputError, match=r"model\.yaml: factor 'acap': unknown item ID 'XX01'"):
        validation_report(data, model=p)
    p.write_text("one: [AQ01]\n", encoding="utf-8")
    with pytest.raises(AcapInputError, match="at least two"):
        validation_report(data, model=p)
    p.write_text("a: [AQ01, AQ02]\nb: [AQ02, AQ03]\n", encoding="utf-8")
    with pytest.raises(AcapInputError, match="listed under both"):
        load_model(p, bank)
    with pytest.raises(AcapInputError, match="no such file"):
        load_model(tmp_path / "absent.json", bank)


def test_bad_settings_are_refused():
    data = simulate(3, seed=1).responses
    for seed in (-1, 1.5, "1", True):
        with pytest.raises(AcapInputError, match="^seed: "):
            validation_report(data, seed=seed)
    with pytest.raises(AcapInputError, match="^min_n: "):
        validation_report(data, min_n=0)
    with pytest.raises(AcapInputError, match="cfa_missing"):
        validation_report(data, cfa_missing="pairwise")
    with pytest.raises(AcapInputError, match="group"):
        validation_report(data, group="department")


def test_model_file_is_used(tmp_path):
    data = simulate(6, seed=3).responses
    p = tmp_path / "model.json"
    p.write_text(json.dumps({"potential": ["RV01", "RV02", "AQ01", "AQ02", "AS01", "AS02"],
                             "realised": ["TR01", "TR02", "EX01", "EX02", "EX03"]}), encoding="utf-8")
    rep = validation_report(data, model=p, seed=3, n_iter=5)
    assert list(rep.verdicts.index) == ["potential", "realised"]
    assert set(rep.cfa.tables["loadings"].index.get_level_values("factor")) == {"potential", "realised"}
    assert rep.settings["model"] == str(p)


# ---- two-stage CFA against lavaan -------------------------------------------------------------------------

def test_em_moments_match_lavaan_h1():
    d = pd.read_csv(FIX / "hs_missing.csv")
    mean, cov, _, ok = em_moments(d.to_numpy(float))
    assert ok
    r_mean = pd.read_csv(FIX / "hs_em_mean.csv").set_index("item")["mean"].loc[d.columns]
    r_cov = pd.read_csv(FIX / "hs_em_cov.csv").set_index("item").loc[d.columns, d.columns]
    np.testing.assert_allclose(mean, r_mean.to_numpy(), atol=1e-5)
    np.testing.assert_allclose(cov, r_cov.to_numpy(), atol=1e-5)


def test_em_without_missing_is_the_sample_moments():
    x = np.random.default_rng(0).normal(size=(50, 4))
    mean, cov, _, ok = em_moments(x)
    assert ok
    np.testing.assert_allclose(mean, x.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(cov, np.cov(x.T, bias=True), atol=1e-12)


def test_moment_matched_data_reproduce_the_moments():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(6, 6))
    cov = a @ a.T + np.eye(6)
    mean = rng.normal(size=6)
    x = moment_matched_data(mean, cov, 40, list("abcdef"), seed=3).to_numpy()
    np.testing.assert_allclose(x.mean(axis=0), mean, atol=1e-10)
    np.testing.assert_allclose(np.cov(x.T, bias=True), cov, atol=1e-10)


def test_two_stage_cfa_matches_lavaan():
    from acap.factor import cfa

    d = pd.read_csv(FIX / "hs_missing.csv")
    model = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
    mean, cov, _, _ = em_moments(d.to_numpy(float))
    res = cfa(moment_matched_data(mean, cov, len(d), d.columns), model)
    ref = json.loads((FIX / "hs_two_stage_fit.json").read_text())
    for key in ("chisq", "cfi", "tli", "rmsea", "rmsea_ci_lower", "rmsea_ci_upper", "srmr"):
        assert res.fit[key] == pytest.approx(ref[key.replace("_", ".")], abs=2e-3), key
    lo = pd.read_csv(FIX / "hs_two_stage_loadings.csv")
    ours = res.loadings.set_index(["factor", "item"])
    for r in lo.itertuples():
        assert ours.loc[(r.lhs, r.rhs), "est"] == pytest.approx(r.est, abs=2e-3)
        assert ours.loc[(r.lhs, r.rhs), "se"] == pytest.approx(r.se, abs=2e-3)
        assert ours.loc[(r.lhs, r.rhs), "std"] == pytest.approx(r._6, abs=2e-3)
