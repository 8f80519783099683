"""Scoring: validation of responses tables and the scoring rules, by hand-computed values."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acap.errors import AcapInputError
from acap.readers import read_table
from acap.scoring import score, validate_responses


def _frame(bank, n=3, **cols):
    base = {"respondent_id": [f"r{i}" for i in range(n)], "bank_version": ["1.0"] * n,
            "organisation": ["Ashvale ICB"] * n, "role": ["analyst"] * n}
    base.update(cols)
    return pd.DataFrame(base)


def test_scale_mean_reverse_keys_and_dont_know(bank):
    # recognising value: RV01..RV03 forward, RV04 reversed (8 - x); 8 = don't know
    df = _frame(bank, n=3, RV01=[7, 6, 8], RV02=[5, None, 8], RV03=[6, 6, 4], RV04=[2, "DK", 3])
    r = score(df, bank)
    # r0: 7, 5, 6, 8-2=6 -> 6.0 ; r1: 6, 6 answered of 4 (1/2 < 2/3) -> missing; r2: 4, 8-3=5 -> 2 of 4 -> missing
    assert r.scales.loc["r0", "recognising_value"] == pytest.approx(6.0)
    assert math.isnan(r.scales.loc["r1", "recognising_value"])
    assert math.isnan(r.scales.loc["r2", "recognising_value"])
    assert r.scales_100.loc["r0", "recognising_value"] == pytest.approx((6 - 1) / 6 * 100)
    assert r.dont_know.loc["r1", "RV04"] and r.dont_know.loc["r2", "RV01"]
    assert not r.dont_know.loc["r1", "RV02"]  # skipped, not don't know
    assert r.items.loc["r0", "RV04"] == 6


def test_min_share_is_configurable(bank):
    df = _frame(bank, n=1, RV01=[7], RV02=[5])
    assert math.isnan(score(df, bank).scales.loc["r0", "recognising_value"])
    assert score(df, bank, min_share=0.5).scales.loc["r0", "recognising_value"] == pytest.approx(6.0)
    with pytest.raises(AcapInputError, match="min_share"):
        score(df, bank, min_share=0)


def test_composites_ratio_and_source_gap(bank):
    cols = {}
    for s, v in [("recognising_value", 6), ("acquisition", 5), ("assimilation", 4),
                 ("transformation", 3), ("exploitation", 4)]:
        for it in bank.scale(s).items:
            cols[it.id] = [8 - v if it.reverse else v]
    cols.update(KS_PPI_G=[6], KS_PPI_U=[2], KS_RES_G=[5])
    r = score(_frame(bank, n=1, **cols), bank)
    assert r.composites.loc["r0", "potential"] == pytest.approx(5.0)
    assert r.composites.loc["r0", "realised"] == pytest.approx(3.5)
    assert r.composites.loc["r0", "ratio"] == pytest.approx(0.7)
    assert r.gap.loc["r0", "patient_public"] == 4
    assert math.isnan(r.gap.loc["r0", "research"])  # used not answered
    wide = r.table()
    assert {"organisation", "acquisition", "acquisition_100", "ratio", "gap_patient_public"} <= set(wide.columns)


@pytest.mark.parametrize("change, pattern", [
    (lambda d: d.assign(XX99=[1, 2, 3]), r"column XX99: unknown item ID 'XX99'"),
    (lambda d: d.assign(AQ01=[1, 2, 3], aq01=[1, 2, 3]), r"columns 'AQ01', 'aq01' are all read as 'AQ01'"),
    (lambda d: d.assign(AQ01=[1, 9, 3]), r"row 3, column AQ01: value 9 is not on the 1-7 scale"),
    (lambda d: d.assign(AQ01=[1, 2, "often"]), r"row 4, column AQ01: value 'often' is not on"),
    (lambda d: d.assign(AQ01=[1, 2.5, 3]), r"row 3, column AQ01: value 2.5"),
    (lambda d: d.assign(bank_version=["1.0", "0.9", "1.0"]), r"row 3, column bank_version: answers bank version '0.9'"),
    (lambda d: d.assign(respondent_id=["a", "b", "a"]), r"row 2, column respondent_id: duplicate respondent ID 'a' \(also at row 4\)"),
    (lambda d: d.assign(organisation=["X", None, "X"]), r"row 3, column organisation: organisation is missing"),
    (lambda d: d.drop(columns="organisation"), r"required column 'organisation' is missing"),
    (lambda d: d.assign(role=["analyst", "wizard", "finance"]), r"row 3, column role: unknown role 'wizard'"),
    (lambda d: d.assign(years_in_role=[1, -2, 3]), r"row 3, column years_in_role"),
])
def test_bad_csv_gets_one_error_naming_row_and_column(tmp_path, bank, change, pattern):
    df = change(_frame(bank, n=3, AQ01=[1, 2, 3]))
    p = tmp_path / "responses.csv"
    df.to_csv(p, index=False)
    with pytest.raises(AcapInputError, match=pattern) as exc:
        score(p, bank)
    assert "\n" not in str(exc.value) and str(p) in str(exc.value)


def test_several_problems_are_counted(bank):
    df = _frame(bank, n=3, AQ01=[0, 9, 10])
    with pytest.raises(AcapInputError, match=r"row 0, column AQ01: value 0 .*\(and 2 more problems\)"):
        validate_responses(df, bank)


def test_roles_by_label_and_legacy_ccg_names(bank):
    df = _frame(bank, n=2, role=["Finance", "GP or clinical lead"], organisation=["NHS Oldtown CCG", "Oldtown ICB"])
    r = validate_responses(df, bank)
    assert list(r.background["role"]) == ["finance", "gp_clinical_lead"]
    assert list(r.background["role_group"]) == ["managerial", "clinical"]


def test_csv_xlsx_and_sav_give_the_same_scores(tmp_path, bank):
    pyreadstat = pytest.importorskip("pyreadstat")
    from acap.simulate import simulate

    df = simulate(n_organisations=3, seed=5).responses
    df.to_csv(tmp_path / "r.csv", index=False)
    df.to_excel(tmp_path / "r.xlsx", index=False)
    pyreadstat.write_sav(df, str(tmp_path / "r.sav"))
    results = [score(tmp_path / f"r.{ext}", bank) for ext in ("csv", "xlsx", "sav")]
    for other in results[1:]:
        pd.testing.assert_frame_equal(results[0].scales, other.scales)
        pd.testing.assert_frame_equal(results[0].dont_know, other.dont_know)
    assert results[0].scales.shape[0] == len(df)


def test_sav_error_names_case(tmp_path, bank):
    pyreadstat = pytest.importorskip("pyreadstat")
    df = _frame(bank, n=3, AQ01=[1.0, 2.0, 12.0])
    pyreadstat.write_sav(df, str(tmp_path / "r.sav"))
    with pytest.raises(AcapInputError, match=r"case 3, column AQ01: value 12"):
        score(tmp_path / "r.sav", bank)


def test_unreadable_files(tmp_path, bank):
    with pytest.raises(AcapInputError, match="unsupported file type .json"):
        score(tmp_path / "r.json", bank)
    p = tmp_path / "r.csv"
    p.write_bytes("respondent_id,organisation\n\xff\xfe,x\n".encode("latin-1"))
    with pytest.raises(AcapInputError, match="not UTF-8"):
        read_table(p)


# ---- property tests of the validator -------------------------------------------------

ITEMS = ["RV01", "RV02", "RV03", "RV04", "EX01", "KS_PPI_G"]
cell = st.one_of(st.integers(1, 7), st.just(8), st.just("DK"), st.none())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.fixed_dictionaries({i: cell for i in ITEMS}), min_size=1, max_size=12))
def test_valid_tables_always_score_within_range(bank, rows):
    df = pd.concat([_frame(bank, n=len(rows)), pd.DataFrame(rows)], axis=1)
    r = score(df, bank)
    vals = r.items[ITEMS].to_numpy()
    ok = np.isnan(vals) | ((vals >= 1) & (vals <= 7))
    assert ok.all()
    s = r.scales["recognising_value"].dropna()
    assert ((s >= 1) & (s <= 7)).all()
    dk_given = pd.DataFrame(rows)[ITEMS].isin([8, "DK"]).to_numpy()
    assert (r.dont_know[ITEMS].to_numpy() == dk_given).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.integers(1, 8), data=st.data(),
       bad=st.one_of(st.integers().filter(lambda v: not 1 <= v <= 8), st.floats(1.1, 6.9).filter(lambda v: v != int(v)),
                     st.text(alphabet="abcxyz?!", min_size=1, max_size=5).filter(lambda t: t.lower() != "dk")))
def test_any_single_bad_cell_is_found_and_named(bank, rows, data, bad):
    df = _frame(bank, n=rows, **{i: [4] * rows for i in ITEMS}).astype(object)
    r = data.draw(st.integers(0, rows - 1))
    c = data.draw(st.sampled_from(ITEMS))
    df.loc[r, c] = bad
    with pytest.raises(AcapInputError) as exc:
        validate_responses(df, bank)
    assert f"row {r}, column {c}: value" in str(exc.value)
    assert "more problem" not in str(exc.value)


def test_blank_rows_in_spreadsheets_are_skipped_and_rows_keep_their_numbers(tmp_path, bank):
    df = _frame(bank, n=3, AQ01=[1, 2, 3], organisation=["Ynys Môn ICB", "Saint-Étienne", "Ynys Môn ICB"])
    text = df.to_csv(index=False).splitlines()
    text.insert(2, ",,  ,,")  # an empty row (spaces only) after the first respondent
    text.append(" ,,,,")      # and a trailing one
    p = tmp_path / "r.csv"
    p.write_text("\n".join(text) + "\n", encoding="utf-8")
    r = score(p, bank)
    assert len(r.background) == 3 and r.background["organisation"].iloc[1] == "Saint-Étienne"
    bad = df.assign(AQ01=[1, 2, 30]).to_csv(index=False).splitlines()
    bad.insert(2, ",,,,")
    p.write_text("\n".join(bad) + "\n", encoding="utf-8")
    with pytest.raises(AcapInputError, match=r"row 5, column AQ01: value 30"):
        score(p, bank)


def test_sav_value_labels_name_organisations_and_roles(tmp_path, bank):
    pyreadstat = pytest.importorskip("pyreadstat")
    df = pd.DataFrame({"respondent_id": ["a", "b", "c"], "organisation": [1.0, 2.0, 1.0],
                       "role": [11.0, 12.0, 11.0], "AQ01": [5.0, 6.0, 8.0]})
    p = tmp_path / "coded.sav"
    pyreadstat.write_sav(df, str(p), variable_value_labels={
        "organisation": {1.0: "Ashvale ICB", 2.0: "Dunmere Council"}, "role": {11.0: "analyst", 12.0: "Finance"},
        "AQ01": {5.0: "Slightly agree", 6.0: "Agree", 8.0: "Don't know"}})
    r = score(p, bank)
    assert list(r.background["organisation"]) == ["Ashvale ICB", "Dunmere Council", "Ashvale ICB"]
    assert list(r.background["role"]) == ["analyst", "finance", "analyst"]
    assert r.items.loc["a", "AQ01"] == 5 and r.dont_know.loc["c", "AQ01"]


def test_sav_codes_without_labels_read_as_typed(tmp_path, bank):
    pyreadstat = pytest.importorskip("pyreadstat")
    df = pd.DataFrame({"respondent_id": ["a", "b"], "organisation": [3.0, 4.0], "role": ["analyst", "finance"],
                       "AQ01": [5.0, 6.0]})
    p = tmp_path / "codes.sav"
    pyreadstat.write_sav(df, str(p))
    r = score(p, bank)
    assert list(r.background["organisation"]) == ["3", "4"]
