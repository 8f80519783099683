"""The command line: demo end to end, score, and one-line errors that write nothing."""

import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from acap.cli import app

runner = CliRunner()


@pytest.mark.slow
def test_demo_runs_end_to_end(demo_run):
    out, output = demo_run
    assert "Organisations: potential and realised ACAP" in output
    for rel in ["data/responses.csv", "organisations/results.csv",
                "organisations/by_role.csv", "organisations/knowledge_gaps.csv", "aggregation/icc.csv"]:
        assert (out / rel).stat().st_size > 0, rel
    results = pd.read_csv(out / "organisations/results.csv")
    assert results["organisation"].nunique() == 12
    # suppressed rows publish no numbers
    hidden = results[results["suppressed"]]
    assert hidden["mean"].isna().all()
    # advice networks: metrics, links and a Gephi file per organisation that parses as GEXF 1.3
    import xml.etree.ElementTree as ET

    metrics = pd.read_csv(out / "network/node_metrics.csv")
    assert {"betweenness_norm", "constraint", "in_degree"} <= set(metrics.columns)
    # nothing that leaves the demo carries respondent IDs or a suppressed organisation
    flags = results.groupby("organisation")["suppressed"].all()
    hidden = set(flags.index[flags])
    assert hidden  # the demo has an organisation below the minimum n
    responses = pd.read_csv(out / "data/responses.csv")
    for rel in ["network/ties.csv", "network/node_metrics.csv",
                "network/outside_contacts.csv", "network/link_dyadic.csv"]:
        text = (out / rel).read_text(encoding="utf-8-sig")
        assert not any(rid in text for rid in responses["respondent_id"].head(50)), rel
        assert not any(org in text for org in hidden), rel
    links = pd.read_csv(out / "network/link_individual.csv")
    assert {"pearson_r", "slope", "p_slope"} <= set(links.columns)
    for folder in ["network/gephi", "validation"]:  # every exported file, not just the CSVs
        for f in (out / folder).rglob("*"):
            if f.is_file() and f.suffix in (".gexf", ".graphml", ".csv", ".dl", ".svg", ".json", ".html"):
                text = f.read_text(encoding="utf-8-sig", errors="replace")
                assert not any(org in text for org in hidden), f
                assert not any(rid in text for rid in responses["respondent_id"]), f
    nodes_csv = next((out / "network/gephi").glob("*/*_nodes.csv"))
    assert "potential" not in nodes_csv.read_text(encoding="utf-8-sig")  # no individual scores in exports
    gexf = sorted((out / "network/gephi").glob("*/*.gexf"))
    assert len(gexf) == 12 - len(hidden)
    root = ET.parse(gexf[0]).getroot()
    assert root.tag == "{http://gexf.net/1.3}gexf"
    assert len(list(root.iter("{http://gexf.net/1.3/viz}color"))) > 0
    labels = [n.get("label") for n in root.iter("{http://gexf.net/1.3}node")]
    assert labels and all(lab.startswith("P") and lab[1:].isdigit() for lab in labels)  # pseudonymous


def test_score_command(tmp_path):
    from acap.simulate import simulate

    sim = simulate(n_organisations=4, seed=9)
    src = tmp_path / "responses.csv"
    sim.responses.to_csv(src, index=False)
    inv = tmp_path / "invited.csv"
    sim.organisations["invited"].reset_index().to_csv(inv, index=False)
    res = runner.invoke(app, ["score", str(src), "--out", str(tmp_path / "out"), "--invited", str(inv)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "out/organisations/results.csv")
    assert table["invited"].notna().any()
    assert not (tmp_path / "out/scores").exists()  # respondent-level scores only on request
    res = runner.invoke(app, ["score", str(src), "--out", str(tmp_path / "out2"), "--respondents"])
    assert res.exit_code == 0, res.output
    scores = pd.read_csv(tmp_path / "out2/scores/respondents.csv")
    assert len(scores) == len(sim.responses)
    # a later run without --respondents into the same folder clears them
    res = runner.invoke(app, ["score", str(src), "--out", str(tmp_path / "out2")])
    assert res.exit_code == 0 and not (tmp_path / "out2/scores/respondents.csv").exists()


@pytest.mark.parametrize("rows, message", [
    ("organisation,invited\nNowhere ICB,10\n", "row 2, column organisation: 'Nowhere ICB' has no responses"),
    ("organisation,invited\n{org},2.5\n", "row 2, column invited: '2.5' is not a whole number"),
    ("organisation,invited\n{org},0\n", "row 2, column invited: '0' is not a whole number of at least 1"),
    ("organisation,invited\n{org} ,30\n{org},30\n", "row 3, column organisation: '{org}' is listed twice"),
    ("org,invited\n{org},30\n", "needs columns organisation and invited"),
])
def test_bad_invited_file(tmp_path, rows, message):
    from acap.simulate import simulate

    sim = simulate(n_organisations=2, seed=9)
    org = sim.organisations.index[0]
    src = tmp_path / "responses.csv"
    sim.responses.to_csv(src, index=False)
    inv = tmp_path / "invited.csv"
    inv.write_text(rows.format(org=org))
    res = runner.invoke(app, ["score", str(src), "--out", str(tmp_path / "out"), "--invited", str(inv)])
    assert res.exit_code == 2
    assert message.format(org=org) in res.output and "invited.csv" in res.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.rename(columns={"AQ01": "AQ99"}), "column AQ99: unknown item ID"),
    (lambda d: d.assign(AQ02=d["AQ02"].where(d.index != 4, 12)), "row 6, column AQ02: value 12"),
    (lambda d: d.assign(bank_version=d["bank_version"].where(d.index != 2, "2.0")), "row 4, column bank_version"),
    (lambda d: d.assign(respondent_id=d["respondent_id"].where(d.index != 3, d["respondent_id"][0])),
     "duplicate respondent ID"),
    (lambda d: d.assign(organisation=d["organisation"].where(d.index != 7, None)), "row 9, column organisation"),
])
def test_bad_responses_one_line_no_traceback_nothing_written(tmp_path, edit, message):
    from acap.simulate import simulate

    df = edit(simulate(n_organisations=2, seed=1).responses)
    src = tmp_path / "bad.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "acap.cli", "score", str(src), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    if len(lines) == 1:  # one problem: one line, nothing written
        assert not out.exists()
        assert list(tmp_path.iterdir()) == [src]  # no staging folder left behind
    else:  # several: grouped, and the full list is the only file written
        assert lines[0].startswith("error: ") and "problems.csv" in lines[0]
        assert [p.name for p in out.rglob("*")] == ["problems.csv"]
        listed = pd.read_csv(out / "problems.csv")
        assert list(listed.columns[:4]) == ["row", "column", "value", "problem"] and len(listed) >= 2
        assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "out"]


def test_bad_bank_file_one_line(tmp_path):
    from acap.simulate import simulate

    src = tmp_path / "r.csv"
    simulate(n_organisations=2, seed=1).responses.to_csv(src, index=False)
    bank = tmp_path / "bank.yaml"
    bank.write_text("bank: acap\nversion: 1\n")
    res = runner.invoke(app, ["score", str(src), "--out", str(tmp_path / "o"), "--bank", str(bank)])
    assert res.exit_code == 2
    assert "bank.yaml" in res.output and "field" in res.output


def test_validate_command(tmp_path):
    from acap.simulate import simulate

    src = tmp_path / "responses.csv"
    simulate(n_organisations=6, seed=3, sizes=(20, 30)).responses.to_csv(src, index=False)
    res = runner.invoke(app, ["validate", str(src), "--out", str(tmp_path / "v"), "--seed", "1"])
    assert res.exit_code == 0, res.output
    assert "CFA" in res.output and "recognising_value" in res.output
    html = (tmp_path / "v/report.html").read_text()
    assert "<html lang=" in html and "Verdict per scale" in html
    bad = tmp_path / "model.yaml"
    bad.write_text("absorb: [AQ01, AQ02, ZZ99]\n")
    res = runner.invoke(app, ["validate", str(src), "--out", str(tmp_path / "w"), "--model", str(bad)])
    assert res.exit_code == 2 and "ZZ99" in res.output
    assert not (tmp_path / "w").exists()
