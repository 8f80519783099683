"""Survey exports as the tools write them: each scores as the clean CSV does, or is refused whole.

Every fixture is built here from one simulated clean table, in the layout of the tool that
would have produced it (Microsoft Forms, Qualtrics, SmartSurvey, LimeSurvey, SPSS, a
European-locale spreadsheet); the scores must then equal those of the clean table.
"""

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from acap.cli import app
from acap.errors import AcapInputError
from acap.exports import read_mapping
from acap.readers import read_organisations, read_table
from acap.scoring import check_responses, score, validate_responses

runner = CliRunner()


@pytest.fixture(scope="module")
def clean():
    from acap.simulate import simulate

    df = simulate(n_organisations=3, seed=5, sizes=(6, 9)).responses
    # a few don't-knows and skips in every item type
    df.loc[0, "RV01"] = 8
    df.loc[1, "KS_RES_G"] = 8
    df.loc[2, "AQ02"] = np.nan
    return df.reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(clean, bank):
    return score(clean, bank)


def _items(bank):
    return list(bank.items)


def _label(bank, iid, v):
    rs = bank.response_scales[bank.items[iid]["response_scale"]]
    if pd.isna(v):
        return ""
    return rs.dont_know.label if int(v) == rs.dont_know.code else rs.labels[int(v)]


def _role_label(bank, role):
    return {r.id: r.label for r in bank.roles}[role]


def _assert_same_scores(result, reference):
    np.testing.assert_allclose(result.scales.to_numpy(), reference.scales.to_numpy(), equal_nan=True)
    np.testing.assert_array_equal(result.dont_know.to_numpy(), reference.dont_know.to_numpy())
    np.testing.assert_allclose(result.composites.to_numpy(), reference.composites.to_numpy(), equal_nan=True)
    assert list(result.background["organisation"]) == list(reference.background["organisation"])
    assert list(result.background["role"]) == list(reference.background["role"])


# ---- the tools' layouts --------------------------------------------------------------------

def microsoft_forms(clean, bank, path):
    """XLSX: ID, Start time, Completion time, Email, Name; question text headers; answer labels."""
    n = len(clean)
    df = pd.DataFrame({
        "ID": range(1, n + 1),
        "Start time": pd.Timestamp("2026-03-02 09:00") + pd.to_timedelta(range(n), unit="min"),
        "Completion time": pd.Timestamp("2026-03-02 09:20") + pd.to_timedelta(range(n), unit="min"),
        "Email": [f"person{i}@example.org" for i in range(n)],
        "Name": [f"Secret Person{i}" for i in range(n)],
        "Your organisation": clean["organisation"],
        "Your main role": [_role_label(bank, r) for r in clean["role"]],
        "Years in this role": clean["years_in_role"],
    })
    for iid, meta in bank.items.items():
        df[meta["text"]] = [_label(bank, iid, v) for v in clean[iid]]
    df.to_excel(path, index=False, sheet_name="Sheet1")
    return path


def qualtrics(clean, bank, path):
    """CSV: metadata, Q-numbered columns; row 2 the question text, row 3 ImportId; numeric codes."""
    n = len(clean)
    meta = {"StartDate": ["2026-03-02 09:00:00"] * n, "EndDate": ["2026-03-02 09:20:00"] * n,
            "Status": ["IP Address"] * n, "IPAddress": [f"10.0.0.{i}" for i in range(n)], "Progress": ["100"] * n,
            "Duration (in seconds)": ["1200"] * n, "Finished": ["True"] * n,
            "RecordedDate": ["2026-03-02 09:20:01"] * n, "ResponseId": list(clean["respondent_id"]),
            "RecipientLastName": [f"Surname{i}" for i in range(n)], "RecipientFirstName": [""] * n,
            "RecipientEmail": [f"r{i}@example.org" for i in range(n)], "ExternalReference": [""] * n,
            "LocationLatitude": ["51.5"] * n, "LocationLongitude": ["-0.1"] * n,
            "DistributionChannel": ["anonymous"] * n, "UserLanguage": ["EN-GB"] * n}
    header = list(meta) + ["Q1", "Q2", "Q3"]
    text = [{"ResponseId": "Response ID"}.get(h, h) for h in meta] + ["Your organisation", "Your main role",
                                                                      "Years in this role"]
    imports = [json.dumps({"ImportId": h.lower()}) for h in meta] + [
        json.dumps({"ImportId": f"QID{i}_TEXT"}) for i in (1, 2, 3)]
    body = [list(meta[h][i] for h in meta) + [clean["organisation"][i], clean["role"][i],
                                                 _num(clean["years_in_role"][i])] for i in range(n)]
    for k, (iid, m) in enumerate(bank.items.items()):
        header.append(f"Q{k + 4}_1")
        text.append(m["text"])
        imports.append(json.dumps({"ImportId": f"QID{k + 4}_1"}))
        for i in range(n):
            body[i].append(_num(clean[iid][i]))
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerows([header, text, imports, *body])
    return path


def _num(v):
    return "" if pd.isna(v) else (str(int(v)) if float(v).is_integer() else str(v))


def smartsurvey(clean, bank, path):
    """CSV: UserNo, Name, Email, IP Address, Unique ID, Started, Ended; numbered question texts; labels."""
    n = len(clean)
    df = pd.DataFrame({"UserNo": range(1, n + 1), "Name": [f"Secret Person{i}" for i in range(n)],
                       "Email": [f"person{i}@example.org" for i in range(n)], "IP Address": ["10.1.1.1"] * n,
                       "Unique ID": list(clean["respondent_id"]), "Started": ["02/03/2026 09:00"] * n,
                       "Ended": ["02/03/2026 09:20"] * n, "Organisation": clean["organisation"],
                       "Role": [_role_label(bank, r) for r in clean["role"]],
                       "Years in post": clean["years_in_role"]})
    for k, (iid, meta) in enumerate(bank.items.items()):
        df[f"{k + 4}. {meta['text']}"] = [_label(bank, iid, v) for v in clean[iid]]
    df.to_csv(path, index=False)
    return path


def limesurvey(clean, bank, path):
    """CSV: id, submitdate, lastpage, startlanguage, seed, token; "CODE. text" headers; lower-case labels."""
    n = len(clean)
    df = pd.DataFrame({"id": list(clean["respondent_id"]), "submitdate": ["2026-03-02 09:20:00"] * n,
                       "lastpage": ["5"] * n, "startlanguage": ["en"] * n, "seed": ["12345"] * n,
                       "token": [f"tok{i}" for i in range(n)], "organisation": clean["organisation"],
                       "role": clean["role"], "years_in_role": clean["years_in_role"]})
    for iid, meta in bank.items.items():
        df[f"{iid.lower()}. {meta['text']}"] = [_label(bank, iid, v).lower() for v in clean[iid]]
    df.to_csv(path, index=False)
    return path


def spss(clean, bank, path):
    """SAV: lower-case names, organisation coded with labels, don't know 99 and not answered -9 user-missing."""
    import pyreadstat

    orgs = {name: float(i + 1) for i, name in enumerate(pd.unique(clean["organisation"]))}
    df = pd.DataFrame({"respondent_id": clean["respondent_id"], "organisation": clean["organisation"].map(orgs),
                       "role": clean["role"], "years_in_role": clean["years_in_role"]})
    labels = {"organisation": {v: k for k, v in orgs.items()}}
    missing = {}
    for iid, meta in bank.items.items():
        rs = bank.response_scales[meta["response_scale"]]
        col = clean[iid].astype(float)
        col = col.where(col != rs.dont_know.code, 99.0).fillna(-9.0)
        df[iid.lower()] = col
        labels[iid.lower()] = {**{float(c): lab for c, lab in rs.labels.items()}, 99.0: "Don't know",
                               -9.0: "Not answered"}
        missing[iid.lower()] = [99.0, -9.0]
    pyreadstat.write_sav(df, str(path), variable_value_labels=labels, missing_ranges=missing)
    return path


def semicolon(clean, bank, path):
    """CSV as Excel saves it in many European locales: semicolons, decimal commas, a BOM."""
    text = clean.to_csv(index=False, sep=";", decimal=",")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    return path


TOOLS = {"forms.xlsx": microsoft_forms, "qualtrics.csv": qualtrics, "smartsurvey.csv": smartsurvey,
         "limesurvey.csv": limesurvey, "spss.sav": spss, "semicolon.csv": semicolon}


@pytest.mark.parametrize("name", list(TOOLS))
def test_each_export_scores_as_the_clean_table(tmp_path, bank, clean, reference, name):
    path = TOOLS[name](clean, bank, tmp_path / name)
    result = score(path, bank)
    _assert_same_scores(result, reference)
    assert not any("not in the table" in w for w in result.warnings)  # every item recognised


def test_forms_export_names_and_emails_reach_no_output(tmp_path, bank, clean):
    src = microsoft_forms(clean, bank, tmp_path / "forms.xlsx")
    out = tmp_path / "out"
    res = runner.invoke(app, ["score", str(src), "--out", str(out), "--respondents"])
    assert res.exit_code == 0, res.output
    assert "personal data dropped" in res.output and "Email" in res.output
    written = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"manifest.json", "results.csv", "respondents.csv"}
    for p in written:
        text = p.read_text(encoding="utf-8-sig")
        assert "@example.org" not in text and "Secret Person" not in text, p
    assert "Secret Person" not in res.output and "@example.org" not in res.output
    draft = tmp_path / "map.yaml"
    res = runner.invoke(app, ["map", str(src), "--out", str(draft)])
    assert res.exit_code == 0 and "Secret Person" not in draft.read_text()


def test_qualtrics_header_rows_keep_row_numbers(tmp_path, bank, clean):
    bad = clean.copy()
    bad.loc[4, "AQ03"] = 12
    path = qualtrics(bad, bank, tmp_path / "q.csv")
    with pytest.raises(AcapInputError, match=r"row 8, column AQ03: value 12") as exc:
        score(path, bank)
    assert exc.value.problems.loc[0, "row"] == 8  # header, two more header rows, then the 5th respondent


def test_spss_user_missing_read_as_dont_know_and_skip(tmp_path, bank, clean):
    res = check_responses(spss(clean, bank, tmp_path / "s.sav"), bank)
    assert res.ok
    assert any("user-missing codes read as don't know" in w for w in res.warnings)
    assert any("user-missing codes read as skipped" in w for w in res.warnings)


def test_cp1252_is_refused_with_its_message(tmp_path, bank, clean):
    p = tmp_path / "latin.csv"
    p.write_bytes(clean.head(3).assign(organisation="Société Générale ICB").to_csv(index=False).encode("cp1252"))
    with pytest.raises(AcapInputError, match=r"not UTF-8 text \(byte 0xe9 on line 2; in Windows-1252 it would be "
                                             r"'é'\); save it as CSV UTF-8"):
        score(p, bank)


def test_utf16_tab_delimited_is_read(tmp_path, bank, clean, reference):
    p = tmp_path / "unicode.txt"
    p.write_bytes(clean.to_csv(index=False, sep="\t").encode("utf-16"))
    _assert_same_scores(score(p, bank), reference)


def test_the_sheet_holding_items_is_found_or_chosen(tmp_path, bank, clean, reference):
    p = tmp_path / "book.xlsx"
    with pd.ExcelWriter(p) as xw:
        pd.DataFrame({"About": ["Exported for the board", "Do not edit"]}).to_excel(xw, sheet_name="Notes", index=False)
        clean.to_excel(xw, sheet_name="Responses", index=False)
    t = read_table(p, prefer=lambda rows: "AQ01" in rows[0])
    assert t.sheet == "Responses"
    _assert_same_scores(score(p, bank), reference)
    _assert_same_scores(score(validate_responses(p, bank, sheet="2"), bank), reference)
    with pytest.raises(AcapInputError, match=r"no sheet 'Answers' \(sheets: 'Notes', 'Responses'\)"):
        validate_responses(p, bank, sheet="Answers")
    with pd.ExcelWriter(p) as xw:
        clean.to_excel(xw, sheet_name="Wave 1", index=False)
        clean.to_excel(xw, sheet_name="Wave 2", index=False)
    with pytest.raises(AcapInputError, match="sheets 'Wave 1', 'Wave 2' all hold item columns; choose one with --sheet"):
        validate_responses(p, bank)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_missing_markers_are_skips_in_every_format(tmp_path, bank, clean, reference, fmt):
    marked = clean.astype(object)
    markers = ["NA", "#N/A", "NULL", "-", "  ", "na", "null"]
    k = 0
    for iid in _items(bank):
        for i in np.flatnonzero(clean[iid].isna().to_numpy()):
            marked.loc[i, iid] = markers[k % len(markers)]
            k += 1
    p = tmp_path / f"m.{fmt}"
    marked.to_csv(p, index=False) if fmt == "csv" else marked.to_excel(p, index=False)
    result = score(p, bank)
    _assert_same_scores(result, reference)
    assert any("marked as missing read as skipped" in w and "#N/A" in w for w in result.warnings)


def test_answer_labels_in_any_case_and_numbered(bank, clean, reference):
    df = clean.astype(object)
    for j, iid in enumerate(_items(bank)):
        rs = bank.response_scales[bank.items[iid]["response_scale"]]
        forms = [lambda v, lab: lab.upper(), lambda v, lab: f"{v} - {lab}", lambda v, lab: lab.lower()]
        df[iid] = [(_label(bank, iid, v) and forms[j % 3](int(v), _label(bank, iid, v))) if pd.notna(v) and
                   int(v) != rs.dont_know.code else ("DK" if pd.notna(v) else None) for v in clean[iid]]
    _assert_same_scores(score(df, bank), reference)


# ---- mapping files ----------------------------------------------------------------------------

def test_draft_mapping_marks_what_it_could_not_match_and_the_filled_file_scores(tmp_path, bank, clean, reference):
    items = _items(bank)
    words = {7: "Totally agree", 6: "Mostly agree", 5: "Sort of agree", 4: "Undecided", 3: "Sort of disagree",
             2: "Mostly disagree", 1: "Totally disagree"}
    df = pd.DataFrame({"Trust": clean["organisation"], "role": clean["role"], "Start time": "09:00"})
    for k, iid in enumerate(items):
        df[f"V{k + 1}"] = ["Can't say" if v == 8 else (words[int(v)] if pd.notna(v) else "") for v in clean[iid]]
    src = tmp_path / "custom.csv"
    df.to_csv(src, index=False)
    with pytest.raises(AcapInputError) as exc:
        score(src, bank)
    assert exc.value.problems["column"].str.startswith(("V", "Trust")).sum() == len(items) + 1
    draft = tmp_path / "map.yaml"
    res = runner.invoke(app, ["map", str(src), "--out", str(draft)])
    assert res.exit_code == 0, res.output
    text = draft.read_text()
    assert '"Start time": ignore  # metadata' in text and '"role": role' in text
    assert '"V1":  # NOT MATCHED' in text and '"Trust":  # NOT MATCHED' in text
    with pytest.raises(AcapInputError, match="not filled in"):
        read_mapping(draft, bank)
    filled = text.replace('"Trust":  # NOT MATCHED', '"Trust": organisation  #')
    for k, iid in enumerate(items):
        filled = filled.replace(f'"V{k + 1}":  # NOT MATCHED', f'"V{k + 1}": {iid}  #')
    codes = {v: k for k, v in words.items()} | {"Can't say": "dont_know"}
    for word, code in codes.items():
        filled = filled.replace(f'"{word}":  # NOT MATCHED', f'"{word}": {code}  #')
    draft.write_text(filled)
    assert "NOT MATCHED" not in filled.split("answers:")[1].replace("# NOT MATCHED", "")
    _assert_same_scores(score(validate_responses(src, bank, mapping=draft), bank), reference)


def test_bad_mapping_entries_are_named(tmp_path, bank):
    p = tmp_path / "m.yaml"
    p.write_text('columns:\n  "Q1": ZZ99\n')
    with pytest.raises(AcapInputError, match=r"m.yaml: columns, 'Q1': 'ZZ99' is not an item ID"):
        read_mapping(p, bank)
    p.write_text('answers:\n  "Often": lots\n')
    with pytest.raises(AcapInputError, match=r"answers, 'Often': 'lots' is not a whole-number code"):
        read_mapping(p, bank)


# ---- organisations ------------------------------------------------------------------------------

def test_spellings_of_one_organisation_are_merged_with_a_note(bank, clean, reference):
    df = clean.copy()
    first = df["organisation"][0]
    df.loc[1, "organisation"] = f"  {first.upper()}."
    res = check_responses(df, bank)
    assert res.ok and res.responses.background["organisation"].nunique() == clean["organisation"].nunique()
    assert any("merged" in n and first in n for n in res.notes)


def test_organisations_file_is_the_list_of_record(tmp_path, bank, clean):
    names = list(pd.unique(clean["organisation"]))
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("name,type,invited,aliases\n" + f"{names[0]},ICB,40,Old Name One; NHS One\n"
                    + f"{names[1]},place,30,\n")
    table = read_organisations(orgs)
    assert table.loc[names[0], "aliases"] == ("Old Name One", "NHS One")
    assert table["invited"].tolist() == [40, 30]
    df = clean.copy()
    df.loc[df["organisation"] == names[0], "organisation"] = "nhs one"  # an alias, in another case
    with pytest.raises(AcapInputError) as exc:
        validate_responses(df, bank, organisations=orgs)
    p = exc.value.problems
    unlisted = p[p["kind"] == "organisation not listed"]
    third = np.flatnonzero((clean["organisation"] == names[2]).to_numpy())
    assert list(unlisted["row"]) == list(third)  # index labels of an in-memory table
    assert f"organisation {names[2]!r} is not in the organisations file" in unlisted["problem"].iloc[0]
    ok = validate_responses(df[df["organisation"] != names[2]], bank, organisations=orgs)
    assert set(ok.background["organisation"]) == {names[0], names[1]}
    orgs.write_text(f"name,type,invited\n{names[0]},ICB,40\n{names[0].lower()},ICB,40\n")
    with pytest.raises(AcapInputError, match=r"row 3: .* is listed twice"):
        read_organisations(orgs)


def test_invited_names_match_merged_spellings(tmp_path, clean):
    df = clean.copy()
    name = df["organisation"][0]
    df.loc[df["organisation"] == name, "organisation"] = name.lower()
    src = tmp_path / "r.csv"
    df.to_csv(src, index=False)
    inv = tmp_path / "invited.csv"
    inv.write_text(f"organisation,invited\n{name},50\n")
    res = runner.invoke(app, ["score", str(src), "--out", str(tmp_path / "o"), "--invited", str(inv)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "o/organisations/results.csv")
    assert table.loc[table["organisation"] == name.lower(), "invited"].eq(50).all()


# ---- every problem at once, and nothing silent ---------------------------------------------------

def test_every_problem_is_listed(bank, clean):
    df = clean.astype(object)
    df.loc[[1, 3, 5], "AQ01"] = 12
    df.loc[2, "role"] = "wizard"
    df["Mystery"] = "x"
    with pytest.raises(AcapInputError) as exc:
        validate_responses(df, bank)
    p = exc.value.problems
    assert list(p.columns[:4]) == ["row", "column", "value", "problem"]
    assert len(p) == 5 and "(and 4 more problems)" in str(exc.value)
    assert set(p["kind"]) == {"column not recognised", "unknown role", "value not on the answer scale"}
    assert list(p.loc[p["column"] == "AQ01", "row"]) == [1, 3, 5]
    assert list(p.loc[p["column"] == "AQ01", "value"]) == ["12"] * 3
    res = check_responses(df, bank)
    assert not res.ok and len(res.problems) == 5


def test_missing_items_warn_and_rwg_counts_the_items_asked(tmp_path, bank, clean):
    from acap.pipeline import score_and_aggregate

    df = clean.drop(columns=["AQ05", "KS_RES_U"])
    res = check_responses(df, bank)
    assert any("scale acquisition scored on 4 of its 5 items (AQ05 not in the table); rwg(j) uses 4" in w
               for w in res.warnings)
    assert any("knowledge source research: used not asked" in w for w in res.warnings)
    scored = score_and_aggregate(res.responses, bank, min_n=3, allow_small_n=True)
    t = scored.organisations.table.xs("acquisition", level="scale")
    assert (t["rwg_items"] == 4).all() and t["rwg_j"].notna().any()


def test_check_command_writes_the_full_list(tmp_path, bank, clean):
    df = clean.astype(object)
    df.loc[range(0, 22), "RV02"] = 0
    src = tmp_path / "bad.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "problems.csv"
    res = runner.invoke(app, ["check", str(src), "--out", str(out)])
    assert res.exit_code == 2
    listed = pd.read_csv(out)
    assert len(listed) == 22 and list(listed.columns[:4]) == ["row", "column", "value", "problem"]
    assert "22 problems" in res.output and str(out) in res.output
    assert res.output.count("column RV02: value 0") == 20  # the terminal shows 20, the file every one
    clean.to_csv(src, index=False)
    res = runner.invoke(app, ["check", str(src), "--out", str(out)])
    assert res.exit_code == 0 and "No problems" in res.output and len(pd.read_csv(out)) == 0


def test_refused_run_marks_earlier_results_stale_and_a_good_run_clears_it(tmp_path, clean):
    src = tmp_path / "r.csv"
    clean.to_csv(src, index=False)
    out = tmp_path / "out"
    assert runner.invoke(app, ["score", str(src), "--out", str(out)]).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and len(manifest["input"]["sha256"]) == 64
    assert manifest["bank_version"] == "1.0" and "organisations/results.csv" in manifest["files"]
    before = (out / "organisations/results.csv").read_bytes()
    bad = clean.astype(object)
    bad.loc[[0, 1], "AQ01"] = 99
    bad.to_csv(src, index=False)
    res = runner.invoke(app, ["score", str(src), "--out", str(out)])
    assert res.exit_code == 2
    assert (out / "organisations/results.csv").read_bytes() == before  # results untouched ...
    assert "earlier run" in (out / "STALE.txt").read_text()  # ... but marked
    assert json.loads((out / "manifest.json").read_text())["status"] == "stale"
    assert len(pd.read_csv(out / "problems.csv")) == 2
    clean.to_csv(src, index=False)
    assert runner.invoke(app, ["score", str(src), "--out", str(out)]).exit_code == 0
    assert not (out / "STALE.txt").exists() and not (out / "problems.csv").exists()
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def test_score_summary_is_a_screen_long(tmp_path):
    from acap.simulate import simulate

    src = tmp_path / "r.csv"
    simulate(n_organisations=40, seed=2, sizes=(5, 6)).responses.to_csv(src, index=False)
    res = runner.invoke(app, ["score", str(src), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert len(res.output.splitlines()) < 30 and "median" in res.output and "headline.csv" in res.output


# ---- property: any delimiter, quoting, BOM and missing-marker mix scores the same ------------------

ITEMS = ["RV01", "RV02", "RV03", "RV04", "AQ01", "KS_PPI_G", "KS_PPI_U"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.fixed_dictionaries({i: st.one_of(st.integers(1, 8), st.none()) for i in ITEMS}),
                     min_size=1, max_size=8),
       delimiter=st.sampled_from([",", ";", "\t"]), quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
       bom=st.booleans(), markers=st.lists(st.sampled_from(["", "NA", "#N/A", "NULL", "-", " "]), min_size=1),
       data=st.data())
def test_any_csv_dialect_scores_the_same(tmp_path_factory, bank, rows, delimiter, quoting, bom, markers, data):
    n = len(rows)
    df = pd.DataFrame({"respondent_id": [f"r{i}" for i in range(n)], "organisation": ["Ynys Môn; \"ICB\""] * n,
                       "role": ["analyst"] * n, "years_in_role": [2.5] * n})
    df = pd.concat([df, pd.DataFrame(rows, columns=ITEMS)], axis=1)
    expected = score(df, bank)
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, quoting=quoting, lineterminator="\n")
    w.writerow(df.columns)
    for rec in df.itertuples(index=False):
        cells = []
        for col, v in zip(df.columns, rec):
            if col == "years_in_role":
                cells.append("2,5" if delimiter != "," else "2.5")
            elif v is None or (isinstance(v, float) and np.isnan(v)):
                cells.append(data.draw(st.sampled_from(markers)))
            else:
                cells.append(str(int(v)) if isinstance(v, (int, float)) else str(v))
        w.writerow(cells)
    p = tmp_path_factory.mktemp("dialect") / "r.csv"
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8"))
    got = score(p, bank)
    np.testing.assert_allclose(got.scales.to_numpy(), expected.scales.to_numpy(), equal_nan=True)
    np.testing.assert_array_equal(got.dont_know.to_numpy(), expected.dont_know.to_numpy())
    assert (got.background["years_in_role"] == 2.5).all()
    assert (got.background["organisation"] == "Ynys Môn; \"ICB\"").all()
