"""A researcher's own items: acap validate DATA --model MODEL, no bank (issue 10).

Reference values from tests/r/researcher.R (lavaan, psych) in tests/fixtures/researcher/.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from acap.cli import app
from acap.errors import AcapInputError
from acap.report_html import render_html
from acap.validate import validation_report

FIX = Path(__file__).parent / "fixtures" / "researcher"
BFI_REVERSE = ["A1", "C4", "C5", "E1", "E2", "O2", "O5"]


@pytest.fixture(scope="module")
def hs():
    return validation_report(FIX / "hs.csv", model=FIX / "hs.lav", group="school", n_iter=10)


@pytest.fixture(scope="module")
def bfi():
    return validation_report(FIX / "bfi.csv", model=FIX / "bfi.yaml", reverse=BFI_REVERSE, n_factors=5,
                             n_iter=10, cfa_missing="listwise")


def test_hs_cfa_equals_lavaan_defaults(hs):
    want = json.loads((FIX / "hs_fit.json").read_text())
    got = hs.cfa.values
    for key in ("chisq", "df", "cfi", "tli", "rmsea", "srmr"):
        assert got[key] == pytest.approx(want[key], rel=2e-3), key
    assert got["rmsea_ci_lower"] == pytest.approx(want["rmsea.ci.lower"], rel=2e-3)
    assert got["srmr_label"] == "SRMR (covariance residuals)"  # lavaan's cfa(): no mean structure
    assert "SRMR (covariance residuals) .065" in hs.key_findings.loc["CFA of the model", "value"]


def test_hs_yaml_model_gives_the_same_fit(hs):
    rep = validation_report(FIX / "hs.csv", model=FIX / "hs.yaml", n_iter=10)
    assert rep.cfa.values["chisq"] == pytest.approx(hs.cfa.values["chisq"], rel=1e-9)
    assert rep.invariance.status == "not requested" and rep.aggregation.status == "not requested"


def test_hs_invariance_table_equals_lavaan(hs):
    want = pd.read_csv(FIX / "hs_invariance.csv", index_col=0)
    fits = hs.invariance.tables["fits"]
    # one scale at a time in the report; lavaan's reference fits the three factors together, so
    # compare the per-model columns the report shows exist with the right differences
    assert {"chisq", "df", "cfi", "tli", "rmsea", "rmsea_ci_lower", "srmr", "delta_chisq", "delta_cfi",
            "delta_tli", "delta_rmsea", "delta_srmr"} <= set(fits.columns)
    vis = fits.xs("visual", level="scale")
    assert vis.loc["metric", "delta_srmr"] == pytest.approx(vis.loc["metric", "srmr"] - vis.loc["configural", "srmr"])
    assert list(want.index) == list(vis.index)


def test_hs_alpha_equals_psych(hs):
    want = json.loads((FIX / "hs_alpha.json").read_text())
    for f, a in want.items():
        assert hs.reliability.tables["scales"].loc[f, "alpha"] == pytest.approx(a, abs=1e-4)


def test_bfi_alpha_with_reverse_keys_equals_psych(bfi):
    want = json.loads((FIX / "bfi_alpha.json").read_text())
    for f, a in want.items():
        assert bfi.reliability.tables["scales"].loc[f, "alpha"] == pytest.approx(a, abs=1e-4)


def test_bfi_efa_fit_and_communalities_equal_psych(bfi):
    want = json.loads((FIX / "bfi_fa5_fit.json").read_text())
    fit = bfi.efa.tables["fit"].iloc[0]
    assert fit["rmsr"] == pytest.approx(want["rms"], abs=2e-3)
    assert fit["tli"] == pytest.approx(want["tli"], abs=2e-3)
    assert fit["rmsea"] == pytest.approx(want["rmsea"], abs=2e-3)
    assert fit["bic"] == pytest.approx(want["bic"], rel=2e-3)
    h2 = pd.read_csv(FIX / "bfi_fa5_communality.csv", index_col=0)["h2"]
    got = bfi.efa.tables["loadings"]["communality"]
    # psych fits the items as they are; reversing an item does not change its communality
    np.testing.assert_allclose(got.loc[h2.index], h2, atol=2e-3)
    # structure loadings: the same columns up to order and sign
    s_want = pd.read_csv(FIX / "bfi_fa5_structure.csv", index_col=0).abs()
    s_got = bfi.efa.tables["structure"].drop(columns="scale").abs()
    for c in s_want.columns:
        best = min(np.abs(s_got[g].loc[s_want.index].to_numpy() - s_want[c].to_numpy()).max() for g in s_got)
        assert best < 2e-3


def test_floor_ceiling_is_judged_on_scale_scores_only(bfi):
    desc = bfi.items.tables["descriptives"]
    assert "flag" not in desc.columns  # item shares listed, not flagged
    assert (bfi.verdicts["floor_ceiling"] == "none").all()


def test_sentences_are_true_of_the_data():
    rep = validation_report(FIX / "bfi.csv", model=FIX / "bfi.yaml", reverse=BFI_REVERSE, n_iter=10)
    note = " ".join(rep.cfa.notes)
    assert "discard some of the data (13%)" in note and "most" not in note
    html = render_html(rep)
    assert "organisation" not in html.split("<nav")[0].lower()  # the header: no organisations here
    assert 'id="aggregation"' not in html and 'id="invariance"' not in html


def test_bad_input_names_the_column(tmp_path):
    with pytest.raises(AcapInputError, match="factor 'f': unknown column 'x10'"):
        validation_report(FIX / "hs.csv", model={"f": ["x1", "x10"]})
    with pytest.raises(AcapInputError, match="outside the response range 1-5"):
        validation_report(FIX / "bfi.csv", model=FIX / "bfi.yaml", points=5)
    p = tmp_path / "d.csv"
    p.write_text("a,b,c\n1,2,3\n2,x,4\n", encoding="utf-8")
    with pytest.raises(AcapInputError, match="row 3, column b: 'x' is not a number"):
        validation_report(p, model={"f": ["a", "b", "c"]})
    with pytest.raises(AcapInputError, match="give a model"):
        validation_report(p)


def test_cli_runs_with_only_a_model_file(tmp_path):
    data = tmp_path / "hs.csv"
    data.write_bytes((FIX / "hs.csv").read_bytes())
    res = CliRunner().invoke(app, ["validate", str(data), "--model", str(FIX / "hs.lav"), "--n-iter", "5",
                                   "--cfa-missing", "listwise"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "hs-validation"  # --out defaults to a folder named after the data file
    assert (out / "report.html").exists() and "own items" in res.output
    assert "organisations" not in res.output


def test_cli_help_shows_the_model_format():
    res = CliRunner().invoke(app, ["validate", "--help"])
    text = " ".join(res.output.replace("│", " ").split())
    assert "[col1, col2, col3]" in text and "=~ col1 + col2" in text  # brackets not swallowed as markup
    for opt in ("--reverse", "--group", "--organisation", "--cfa-missing", "--n-factors", "--n-iter", "--ordinal",
                "--points", "--range"):
        assert opt in text


def test_custom_bank_loses_acap_only_limits(tmp_path):
    from acap.items import load_bank

    bank = tmp_path / "bfi-bank.yaml"
    bank.write_text(
        "bank: bfi\nversion: '1'\ntitle: Big Five Inventory items\n"
        "response_scales:\n  six:\n    points: 6\n    labels: {1: a, 2: b, 3: c, 4: d, 5: e, 6: f}\n"
        "scales:\n  - id: agreeableness\n    label: Agreeableness\n    response_scale: six\n    items:\n"
        "      - {id: A1, text: Indifferent to others, reverse: true}\n      - {id: A2, text: Inquires}\n"
        "      - {id: A3, text: Comforts}\n      - {id: A4, text: Loves children}\n      - {id: A5, text: At ease}\n"
        "  - id: extraversion\n    label: Extraversion\n    response_scale: six\n    items:\n"
        + "".join(f"      - {{id: {i}, text: item {i}, reverse: {str(i in ('E1', 'E2')).lower()}}}\n"
                  for i in ("E1", "E2", "E3", "E4", "E5")), encoding="utf-8")
    b = load_bank(bank)  # no family, no don't-know code, no roles, no organisation and role columns
    assert b.scale_map["agreeableness"][0] == "A1"
    rep = validation_report(FIX / "bfi.csv", bank=bank, n_iter=5, cfa_missing="listwise")
    want = json.loads((FIX / "bfi_alpha.json").read_text())
    assert rep.reliability.tables["scales"].loc["agreeableness", "alpha"] == pytest.approx(want["agreeableness"],
                                                                                          abs=1e-4)
    assert rep.meta["bank"] == "bfi" and rep.meta["n_organisations"] is None
    # acap's own bank keeps its limits
    text = Path(load_bank.__globals__["default_bank_path"]()).read_text(encoding="utf-8")
    (tmp_path / "acap.yaml").write_text(text.replace("id: AQ01", "id: aq01"), encoding="utf-8")
    with pytest.raises(AcapInputError, match="pattern"):
        load_bank(tmp_path / "acap.yaml")
