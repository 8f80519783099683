"""The validation report (acap.validate, acap.report_html).

Builds the report on simulated data, checks that its JSON holds every section, that the
verdicts follow the thresholds the report states, that a scale of random items is judged
poor, that bad input is refused, that a failing analysis degrades to a note, and that the
two-stage CFA used for incomplete data agrees with lavaan (fixtures from tests/r/validate.R).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from acap.errors import AcapInputError
from acap.items import load_bank
from acap.report_html import render_html, report_to_json, validation_files
from acap.simulate import simulate
from acap.validate import (SECTIONS, THRESHOLDS, load_model,
                           validation_report)

FIX = Path(__file__).parent / "fixtures" / "validate"
RANDOM_SCALE = "knowledge_systems"
BLANK_SCALE = "knowledge_systems"
SMALL_ORG = "Fernhollow ICB"  # 4 respondents in simulate(12, seed=2024)


@pytest.fixture(scope="module")
def bank():
    return load_bank()


@pytest.fixture(scope="module")
def demo(demo_responses):
    """The demo data written to CSV, as a researcher would hand it in (shared, conftest.py)."""
    return demo_responses


@pytest.fixture(scope="module")
def report(validation_demo_report):
    return validation_demo_report  # every respondent: the report's own small-cell rules are under test


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
    return validation_report(data, seed=2024, n_iter=5, date="2026-01-01 00:00 UTC", respondents="all")


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
    # 12 organisations, of which Fernhollow ICB (4 respondents) enters no across-organisation figure
    assert agg["n_organisations"].eq(11).all()
    assert agg["n_organisations_left_out"].eq(1).all()
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


def test_verdict_combinations():
    """The verdict is the worst part; organisation-level use counts the checks passed (hand-worked)."""
    from acap.validate import Section, _verdicts

    ok_r, low_r = ITEM_REST + 0.05, ITEM_REST - 0.05
    ok_fc, high_fc = FLOOR_CEILING_PCT - 5, FLOOR_CEILING_PCT + 5
    #        alpha, omega, item-rest, floor, ceiling, rwg(j), ICC(1), ICC(2) -> verdict, organisation level
    cases = {
        "good": (0.85, 0.90, ok_r, ok_fc, 0.0, 0.75, 0.10, 0.80, "good", "supported"),
        "omega_lower": (0.85, 0.75, ok_r, ok_fc, 0.0, 0.75, 0.10, 0.60, "acceptable", "partly supported"),
        "weak_items": (0.85, np.nan, low_r, ok_fc, 0.0, 0.75, 0.01, 0.60, "questionable", "weak"),
        "ceiling": (0.72, np.nan, ok_r, 0.0, high_fc, 0.50, 0.01, 0.60, "questionable", "not supported"),
        "poor_wins": (0.55, np.nan, low_r, high_fc, 0.0, 0.50, 0.10, 0.80, "poor", "partly supported"),
        "no_alpha": (np.nan, np.nan, ok_r, ok_fc, 0.0, np.nan, 0.10, 0.80, "not computed", "not computed"),
    }
    model = {k: ["x", "y", "z"] for k in cases}
    idx = pd.Index(list(cases), name="scale")
    col = {name: [c[i] for c in cases.values()] for i, name in enumerate(
        ["alpha", "omega_total", "min_item_rest", "pct_floor", "pct_ceiling", "rwg_j_median", "icc1", "icc2"])}
    scales = pd.DataFrame({k: col[k] for k in ("alpha", "omega_total", "min_item_rest", "pct_floor",
                                               "pct_ceiling")}, index=idx).assign(n_items_low_r=1)
    agg = pd.DataFrame({k: col[k] for k in ("rwg_j_median", "icc1", "icc2")}, index=idx).assign(n_organisations=11)
    v = _verdicts(model, {}, Section("ok", tables={"scales": scales}),
                  Section("ok", tables={"scales": agg}, values={"min_n": 5}), Section("ok"), Section("ok"))
    for k, c in cases.items():
        assert (v.loc[k, "verdict"], v.loc[k, "organisation_level"]) == (c[8], c[9]), k
    assert v.loc["ceiling", "floor_ceiling"] == "ceiling"
    assert v.loc["poor_wins", "floor_ceiling"] == "floor"
    assert "over the 11 organisations with at least 5 respondents" in v.loc["good", "summary"]


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


def _same_numbers(a, b, path="report"):
    """Equal JSON documents, numbers to 1e-9 (relative): a worker process with one BLAS thread
    may sum in another order than a multithreaded BLAS, which moves the last binary digits."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _same_numbers(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (u, v) in enumerate(zip(a, b)):
            _same_numbers(u, v, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-12), path
    else:
        assert a == b, path


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the worker process forks (Linux)")
def test_worker_process_gives_the_same_report(monkeypatch):
    from acap import validate

    data = simulate(5, seed=7).responses
    serial = validation_report(data, seed=5, n_iter=5, date="x")
    assert serial.invariance.status == "ok" and serial.reliability.status == "ok"
    forked = validation_report(data, seed=5, n_iter=5, date="x", processes=2)
    _same_numbers(json.loads(report_to_json(serial)), json.loads(report_to_json(forked)))
    assert render_html(forked) == render_html(serial)
    # a worker that dies without an answer: the sections are computed in this process instead
    monkeypatch.setattr(validate, "_run_forked", lambda conn, fn, args: os._exit(3))
    died = validation_report(data, seed=5, n_iter=5, date="x", processes=2)
    assert report_to_json(died) == report_to_json(serial)


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


def test_figures_cropped_as_savefig_tight(report):
    """The report measures each figure's tight bounding box itself (savefig's own "tight" first
    draws the whole figure once to measure it): the SVG must be the one savefig's "tight" gives,
    to the rounding of the last printed digit and the clip-path ids hashed from it."""
    import base64
    import io
    import re

    import matplotlib

    from acap.report_html import _svg, figure_item_distributions, figure_loadings, figure_scree

    def normal(svg):
        svg = re.sub(r'(url\(#|id=")p[0-9a-f]{10}', r"\1clip", svg)
        return re.sub(r"-?\d+\.\d+", lambda m: f"{float(m.group()):.4f}", svg)

    for make in (figure_item_distributions, figure_scree, figure_loadings):
        ours = base64.b64decode(_svg(make(report)).split(",", 1)[1]).decode("utf-8")
        buf = io.StringIO()
        with matplotlib.rc_context({"svg.hashsalt": "acap", "svg.fonttype": "path"}):
            make(report).savefig(buf, format="svg", metadata={"Date": None, "Creator": None},
                                 bbox_inches="tight")
        assert normal(ours) == normal(buf.getvalue()), make.__name__


def test_validation_files_write(report, tmp_path):
    from acap.outputs import write_all

    written = write_all(tmp_path / "out", validation_files(report))
    names = {p.relative_to(tmp_path / "out").as_posix() for p in written}
    assert {"validation/report.html", "validation/report.json", "validation/verdicts.csv"} <= names
    doc = json.loads((tmp_path / "out" / "validation" / "report.json").read_text(encoding="utf-8"))
    assert doc == json.loads(report_to_json(report))
    text = (tmp_path / "out" / "validation" / "verdicts.csv").read_text(encoding="utf-8-sig")
    assert text.startswith("# NOT FOR RELEASE")  # every respondent: the table says so on its first line
    verdicts = pd.read_csv(tmp_path / "out" / "validation" / "verdicts.csv", index_col="scale", comment="#")
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
    rep = validation_report(demo, model=model, group="organisation", min_group_n=2, seed=1, n_iter=2,
                            respondents="all")
    assert rep.invariance.values["min_group_n"] == 5  # raised to min_n for organisations
    assert SMALL_ORG.split()[0] not in report_to_json(rep)
    assert SMALL_ORG.split()[0] not in render_html(rep)
    sizes = rep.meta["group_sizes"]
    shown = {k: v for k, v in sizes.items() if v is not None}
    assert 4 not in shown.values()
    # the total less the sizes shown is not the small organisation's 4: the next smallest
    # (Ivystone ICB place, 6) is withheld with it
    assert rep.meta["n_respondents"] - sum(shown.values()) == 4 + 6
    assert "Ivystone ICB place" not in sizes
    assert [k for k, v in sizes.items() if v is None] == [
        "1 group of fewer than 5 left out, and 1 other group withheld so that the total less the groups shown "
        "does not give its size"]
    notes = " ".join(rep.invariance.notes)
    assert "not named" in notes
    assert "(n = 6)" not in notes


def _numbers(obj):
    """Every number in a JSON document (bools excluded)."""
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield obj


@pytest.fixture(scope="module")
def hidden(demo, bank):
    """The small organisation's own figures, per scale: rwg(j) and respondents with a scale score."""
    from acap.aggregate import rwg_j, uniform_null_variance
    from acap.scoring import score

    s = score(demo, bank)
    orgs = s.background["organisation"].reset_index(drop=True)
    out = {}
    for f, its in bank.scale_map.items():
        r = rwg_j(s.items[its].reset_index(drop=True), orgs, uniform_null_variance(7))
        n = int(s.scales[f].notna().reset_index(drop=True)[orgs == SMALL_ORG].sum())
        out[f] = (float(r[SMALL_ORG]), n, r.drop(SMALL_ORG))
    return out


def test_no_figure_of_the_small_organisation(report, hidden):
    doc = json.loads(report_to_json(report))
    agg = doc["sections"]["aggregation"]
    rwg = report.aggregation.tables["rwg_j"]
    scales = report.aggregation.tables["scales"]
    everything = list(_numbers(doc))
    for f, (own, n, others) in hidden.items():
        # the summaries are of the organisations listed, not of all twelve
        listed = rwg[f].dropna()
        assert scales.loc[f, "rwg_j_min"] == pytest.approx(listed.min(), abs=1e-12), f
        assert scales.loc[f, "rwg_j_median"] == pytest.approx(listed.median(), abs=1e-12), f
        assert scales.loc[f, "pct_orgs_rwg_ok"] == pytest.approx((listed >= RWG_J).mean() * 100), f
        assert np.allclose(np.sort(listed), np.sort(others.dropna())), f
        # its rwg(j) appears nowhere (unless another organisation happens to share it)
        if not np.isclose(others, own, rtol=0, atol=1e-12).any():
            row = [v for v in _numbers(agg["tables"]["scales"]["records"][list(scales.index).index(f)])]
            assert not np.isclose(row, own, rtol=0, atol=1e-12).any(), f
            if own not in (0.0, 1.0):  # a distinctive value: nowhere in the whole report
                assert not np.isclose(everything, own, rtol=0, atol=1e-12).any(), f
        assert n < 5, f
    # the demo case this test is about: its rwg(j) on recognising value (0, truncated) was the minimum
    own, _, others = hidden["recognising_value"]
    assert own == 0.0 and others.min() > 0.7
    assert scales.loc["recognising_value", "rwg_j_min"] > 0.7
    assert (scales["pct_orgs_rwg_ok"] == 100).all()  # every organisation listed is at .70 or above
    # nor its n: no count in the section is the small organisation's
    small_n = {n for _, n, _ in hidden.values()} | {4}
    assert not small_n & {v for v in _numbers(agg) if float(v).is_integer()}


def test_icc_k_times_organisations_is_the_shown_n(report, demo, bank):
    from acap.pipeline import score_and_aggregate

    org = score_and_aggregate(demo, bank).organisations
    table = org.table  # what organisations/results.csv holds
    shown_n = table.loc[~table["suppressed"], "n"].groupby(level="scale").sum()
    scales = report.aggregation.tables["scales"]
    public = org.public_reliability()  # what aggregation/icc.csv holds
    for f in scales.index:
        assert scales.loc[f, "k"] * scales.loc[f, "n_organisations"] == pytest.approx(shown_n[f], abs=1e-9), f
        for ours, theirs in (("icc1", "icc1"), ("icc2", "icc2"), ("icc_F", "F"), ("icc_p", "p"),
                             ("k", "mean_group_size"), ("n_organisations", "n_groups")):
            assert scales.loc[f, ours] == pytest.approx(public.loc[f, theirs], rel=1e-9, abs=1e-12), (f, ours)
    # over all twelve the ICCs would differ: the small organisation really is left out
    assert not np.allclose(org.private_reliability.loc[scales.index, "icc1"], scales["icc1"], rtol=0, atol=1e-9)


def test_verdict_uses_the_shown_organisations(report):
    agg = report.aggregation.tables["scales"]
    v = report.verdicts
    for col in ("rwg_j_median", "icc1", "icc2"):
        assert v[col].tolist() == agg.loc[v.index, col].tolist(), col
    assert "over the 11 organisations with at least 5 respondents" in v.loc["acquisition", "summary"]
    notes = " ".join(report.aggregation.notes)
    assert "1 organisation with fewer than 5 respondents with a score on the scale is left out" in notes


def test_group_sizes_never_give_a_small_group():
    from acap.validate import _group_sizes

    # a single small group: neither its count nor the total less the shown sizes gives it
    g = pd.Series(["a"] * 6 + ["b"] * 7 + ["c"] * 9 + ["d"] * 3)
    sizes = _group_sizes(g, True, 5)
    assert sizes == {"c": 9, "b": 7, "1 group of fewer than 5 left out, and 1 other group withheld so that the "
                                     "total less the groups shown does not give its size": None}
    # two small groups with 5 together are pooled, with their count
    g2 = pd.Series(["a"] * 6 + ["b"] * 7 + ["c"] * 2 + ["d"] * 3)
    assert _group_sizes(g2, True, 5) == {"b": 7, "a": 6, "2 groups of fewer than 5, not named": 5}
    # two small groups with 3 together: the count would be a small cell; one more group is withheld
    g3 = pd.Series(["a"] * 6 + ["b"] * 7 + ["c"] * 1 + ["d"] * 2)
    assert list(_group_sizes(g3, True, 5).values()) == [7, None]
    # role groups are not subject to the rule
    assert _group_sizes(g, False, 5)["d"] == 3
    # any configuration: what is withheld is at least two groups holding min_n or more (or everyone)
    rng = np.random.default_rng(11)
    for _ in range(300):
        min_n = int(rng.integers(2, 8))
        n = rng.integers(1, 15, size=int(rng.integers(1, 7)))
        labels = np.repeat([f"g{i}" for i in range(len(n))], n)
        sizes = _group_sizes(pd.Series(labels), True, min_n)
        named = {k: v for k, v in sizes.items() if k.startswith("g")}
        assert all(v >= min_n for v in named.values())
        held = [c for i, c in enumerate(n) if f"g{i}" not in named]
        pooled = [v for k, v in sizes.items() if not k.startswith("g")]
        if not held:
            assert not pooled
            continue
        assert pooled and len(pooled) == 1
        assert len(held) >= 2 and sum(held) >= min_n or len(named) == 0, (n, min_n, sizes)
        # a count is shown only for two or more small groups holding min_n or more
        if pooled[0] is not None:
            assert len(held) >= 2 and sum(held) >= min_n and max(held) < min_n
            assert pooled[0] == sum(held)
        # no small group's own n is shown when it is the only one
        if (n < min_n).sum() == 1:
            assert pooled[0] is None


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

def test_two_stage_cfa_matches_lavaan():
    from acap.factor import cfa

    d = pd.read_csv(FIX / "hs_missing.csv")
    model = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
    res = cfa(d, model, missing="two.stage")
    ref = json.loads((FIX / "hs_two_stage_fit.json").read_text())
    for key in ("chisq", "cfi", "tli", "rmsea", "rmsea_ci_lower", "rmsea_ci_upper", "srmr"):
        assert res.fit[key] == pytest.approx(ref[key.replace("_", ".")], abs=2e-3), key
    lo = pd.read_csv(FIX / "hs_two_stage_loadings.csv")
    ours = res.loadings.set_index(["factor", "item"])
    for r in lo.itertuples():
        assert ours.loc[(r.lhs, r.rhs), "est"] == pytest.approx(r.est, abs=2e-3)
        # (the fixture's SEs are naive ML SEs on the EM moments; acap's two-stage SEs are
        # lavaan's sandwich ones, tested in tests/test_cfa_lavaan.py)
        assert ours.loc[(r.lhs, r.rhs), "std"] == pytest.approx(r._6, abs=2e-3)
