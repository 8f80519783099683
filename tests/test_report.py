"""Feedback reports: numbers in the PDF match the published feedback, suppression holds in every
section, the same input gives the same bytes, edge cases render, and every page is rendered to
PNG under test-artifacts/report/ to be looked at."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from acap.change import scale_change
from acap.items import load_bank
from acap.pipeline import score_and_aggregate
from acap.publish import publish_all
from acap.report import feedback, render_html, render_pdf
from acap.report.batch import report_files
from acap.simulate import simulate, simulate_previous_wave
from report_inputs import demo_feedback
from test_report_a11y import _Tree

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "report"
FULL, SMALL, HIDDEN, ONE_ITEM_HIDDEN = ("Ashvale Local authority", "Brackenford ICB", "Fernhollow ICB",
                                        "Ivystone ICB place")


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(p.extract_text() for p in reader.pages)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def run():
    bank, sim, scored, current = demo_feedback(networks=True)
    prev_scored = score_and_aggregate(simulate_previous_wave(sim.responses, bank, seed=5), bank)
    previous = publish_all(prev_scored, organisations=sim.organisations)
    return dict(bank=bank, sim=sim, current=current, previous=previous)


@pytest.fixture(scope="module")
def pdfs(run):
    out = {}
    for org in (FULL, SMALL, HIDDEN, ONE_ITEM_HIDDEN):
        prev = run["previous"].get(org) if org == FULL else None
        out[org] = render_pdf(feedback(run["current"][org], prev))
    return out


@pytest.fixture(scope="module")
def texts(pdfs):
    return {k: _flat(_text(v)) for k, v in pdfs.items()}


def test_pdf_metadata_font_and_language(pdfs):
    reader = PdfReader(io.BytesIO(pdfs[FULL]))
    meta = reader.metadata
    assert meta.title == f"Absorptive capacity feedback: {FULL}" and meta.author.startswith("acap")
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"
    fonts = {str(f["/BaseFont"]) for p in reader.pages for f in p["/Resources"]["/Font"].values()}
    assert fonts and all("DejaVuSans" in f for f in fonts), fonts
    assert not any("/Image" in str(x.get("/Subtype")) for p in reader.pages
                   for x in (p["/Resources"].get("/XObject") or {}).values())  # charts are vector


def test_scale_numbers_match_the_feedback(run, texts):
    fb, text = run["current"][FULL], texts[FULL]
    for s, r in fb.scales[fb.scales["family"].isin(["process", "coordination", "composite"])].iterrows():
        row = f"{r['label']} {r['mean']:.2f} {r['ci_low']:.2f} to {r['ci_high']:.2f}"
        assert row in text or f"{r['mean']:.2f} {r['ci_low']:.2f} to {r['ci_high']:.2f}" in text, row
        assert f"{r['rwg_j']:.2f}" in text
        assert f"{r['mean_100']:.0f}" in text
    for _, g in fb.gaps.iterrows():
        assert f"{g['gathered']:.2f} {g['used']:.2f} {g['gap']:+.2f}".replace("-", "−") in text, g["label"]
    assert f"{fb.n} people in {FULL} answered" in text and f"of the {fb.invited} invited" in text
    assert f"{fb.headline['ratio']:.2f}" in text
    for s, p in fb.peers.loc[["acquisition", "participation"]].iterrows():
        assert f"{p['median']:.2f} ({p['q1']:.2f} to {p['q3']:.2f})" in text


def test_change_section_numbers_come_from_acap_change(run, texts):
    fb, prev = run["current"][FULL], run["previous"][FULL]
    cols = ["n", "mean", "ci_low", "ci_high"]
    ch = scale_change(fb.scales[cols], prev.scales[cols])
    text = texts[FULL]
    assert "Change since the previous wave" in text
    for s in ["acquisition", "exploitation", "participation"]:
        r = ch.loc[s]
        assert f"{r['before']:.2f} {r['now']:.2f} {r['change']:+.2f}".replace("-", "−") in text
    moved = ch["larger_than_uncertainty"].astype("boolean").fillna(False)
    assert moved.any(), "fixture should show at least one real change"
    assert text.count("larger than its uncertainty") >= int(moved.sum())


def test_network_page(run, texts):
    text = texts[FULL]
    assert "Advice network" in text and "Broker" in text
    labels = set(run["current"][FULL].network.nodes.index)
    assert sum(lab in text for lab in labels) == len(labels)  # every pseudonym drawn on the sociogram
    assert "board_" not in text and "R024" not in text  # no exact roles or respondent IDs


def test_suppressed_organisation_shows_no_results(run, texts):
    text = texts[HIDDEN]
    assert "Results withheld" in text and "fewer than 5 respondents" in text
    assert not re.search(r"\d\.\d\d to \d\.\d\d", text)  # no confidence interval
    for label in run["current"][HIDDEN].scales["label"]:
        assert not re.search(re.escape(label) + r" \d\.\d\d", text)


def test_suppressed_role_cells_and_items_say_so(run, texts):
    fb, text = run["current"][FULL], texts[FULL]
    roles = fb.roles[fb.roles.index.get_level_values("scale").isin(
        fb.scales.index[fb.scales["family"].isin(["process", "coordination"])])]
    hidden = int(roles["suppressed"].sum())
    assert hidden > 0 and text.count("not shown*") == hidden
    # a role group shown beside one hidden one would give the hidden one away: never exactly one
    per_scale = roles["suppressed"].groupby(level="scale").sum()
    assert not (per_scale == 1).any()
    assert "No role group is shown" in texts[SMALL]
    it = run["current"][ONE_ITEM_HIDDEN].items
    assert it["suppressed"].sum() == 1
    assert texts[ONE_ITEM_HIDDEN].count("not shown: ") >= 1


def test_every_label_is_a_label_not_an_id(run, texts):
    fb = run["current"][FULL]
    for sid in fb.scales.index:
        if "_" in sid or ":" in sid:
            assert sid not in texts[FULL], sid


def test_organisation_without_network_data_renders_without_the_page(run, texts):
    fb = run["current"][SMALL]
    no_net = type(fb)(**{**fb.__dict__, "network": None})
    text = _flat(_text(render_pdf(feedback(no_net))))
    assert "Advice network" not in text and "Recommendations" in text


def test_same_input_same_bytes_across_processes(run):
    current = {k: run["current"][k] for k in (FULL, SMALL, HIDDEN)}
    one = report_files(current, processes=1)
    two = report_files(current, processes=2)
    tmp = ARTIFACTS / "bytes"
    shutil.rmtree(tmp, ignore_errors=True)
    for name, files in (("one", one), ("two", two)):
        for rel, write in files.items():
            path = tmp / name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            write(path)
    for rel in one:
        assert (tmp / "one" / rel).read_bytes() == (tmp / "two" / rel).read_bytes(), rel
    assert set(one) == {"reports/index.html", *(f"reports/{s}.{e}" for s in
                                                 ("ashvale-local-authority", "brackenford-icb", "fernhollow-icb")
                                                 for e in ("pdf", "html"))}


def test_fewer_than_five_peers_renders_without_peer_bands():
    bank = load_bank()
    sim = simulate(4, seed=11, bank=bank)
    fbs = publish_all(score_and_aggregate(sim.responses, bank), organisations=sim.organisations)
    shown = [f for f in fbs.values() if f.status == "shown"]
    assert shown and all(len(f.peers) == 0 for f in shown)
    text = _flat(_text(render_pdf(feedback(shown[0]))))
    assert "Peer comparison is not shown" in text and "Peers: median" in text


def test_html_twin_has_the_same_numbers_and_is_structurally_accessible(run):
    fb = run["current"][FULL]
    page = render_html(feedback(fb, run["previous"][FULL]))
    tree = _Tree(page).root
    assert [h.attrs.get("lang") for h in tree.iter("html")] == ["en-GB"]
    assert len(list(tree.iter("h1"))) == 1
    for t in tree.iter("table"):
        assert len(list(t.iter("caption"))) == 1
        assert all(th.attrs.get("scope") in ("col", "row") for th in t.iter("th"))
    for svg in tree.iter("svg"):
        assert svg.attrs.get("role") == "img"
        assert svg.attrs.get("aria-label") or list(svg.iter("title"))
    assert not re.search(r'(src|href)="(https?:)?//', page)  # self-contained
    for s, r in fb.scales[fb.scales["family"] == "coordination"].iterrows():
        assert f"{r['mean']:.2f}" in page and f"{r['ci_low']:.2f} to {r['ci_high']:.2f}" in page


def test_every_page_rendered_to_png(pdfs):
    for org, pdf in pdfs.items():
        folder = ARTIFACTS / org.lower().replace(" ", "-")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        (folder / "report.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "50", "-png", str(folder / "report.pdf"), str(folder / "page")], check=True)
        pages = sorted(folder.glob("page-*.png"))
        assert len(pages) == len(PdfReader(io.BytesIO(pdf)).pages)
        assert all(p.stat().st_size > 2000 for p in pages)


def test_cli_report_writes_every_organisation_and_refuses_bad_input(tmp_path, run):
    from acap.cli import app

    sim = run["sim"]
    resp, orgs = tmp_path / "responses.csv", tmp_path / "organisations.csv"
    small = sim.responses[sim.responses["organisation"].isin([SMALL, HIDDEN, ONE_ITEM_HIDDEN])]
    small.to_csv(resp, index=False)
    sim.organisations.reset_index()[["organisation", "type", "invited"]].to_csv(orgs, index=False)
    res = CliRunner().invoke(app, ["report", str(resp), "--out", str(tmp_path / "out"), "--organisations", str(orgs),
                                   "--jobs", "1"])
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in (tmp_path / "out" / "reports").iterdir())
    assert files == ["brackenford-icb.html", "brackenford-icb.pdf", "fernhollow-icb.html", "fernhollow-icb.pdf",
                     "index.html", "ivystone-icb-place.html", "ivystone-icb-place.pdf"]
    index = (tmp_path / "out" / "reports" / "index.html").read_text()
    assert "results withheld" in index and "ICB place" in index
    bad = tmp_path / "bad.csv"
    bad.write_text("organisation,type,invited\nBrackenford ICB,ICB,zero\n")
    res = CliRunner().invoke(app, ["report", str(resp), "--out", str(tmp_path / "out2"), "--organisations", str(bad)])
    assert res.exit_code == 2 and "invited" in res.output and not (tmp_path / "out2").exists()
