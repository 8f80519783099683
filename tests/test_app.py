"""The Streamlit app driven by Streamlit's AppTest, on SQLite and on PostgreSQL.

Every page of the respondent flow and every staff section is rendered for each role, including
the ones a role may not open; answers are checked in the store, not in widget state.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

from app_support import MAIN, any_store

from streamlit.testing.v1 import AppTest  # noqa: E402

from acap_app import auth, context, router  # noqa: E402


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    with any_store(request.param, tmp_path) as s:
        context.STORE_OVERRIDE = s
        context.clear_results()
        yield s
        context.STORE_OVERRIDE = None
        context.clear_results()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def seeded_store(request, tmp_path_factory):
    """One demo-seeded store per database for the tests that only read (seeding takes seconds)."""
    from acap.online import seed_demo

    with any_store(request.param, tmp_path_factory.mktemp("seeded")) as s:
        seeded = seed_demo(s, "http://test", n_organisations=3, admin_password="a long passphrase")
        yield s, seeded


@pytest.fixture
def seeded(seeded_store):
    s, info = seeded_store
    context.STORE_OVERRIDE = s
    context.clear_results()
    yield s, info
    context.STORE_OVERRIDE = None


@pytest.fixture
def wave(store):
    org = store.add_organisation("Ashvale ICB", "ICB")
    wid = store.create_wave("Spring 2027", min_n=5, actor="test")
    return wid, org


def _app(code: str | None = None, user: auth.User | None = None, section: str | None = None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=120)
    if code:
        at.query_params["code"] = code
    if section:
        at.query_params["section"] = section
    if user is not None:
        at.session_state["user"] = user
    return at.run()


def _title(at) -> str:
    assert not at.exception, at.exception
    return at.title[0].value


def _answer_all(at, value: int = 5) -> None:
    for r in at.radio:
        if r.key and r.key.startswith("q_"):
            r.set_value(value)


def _next(at) -> AppTest:
    return at.button(key="nav_next").click().run()


def _start(at) -> AppTest:
    at.checkbox(key="consent_box").check()
    _next(at)
    at.radio(key="bg_role").set_value("analyst")
    return _next(at)


# ---- respondent ------------------------------------------------------------------------------
def test_respondent_completes_the_questionnaire(store, wave):
    wid, org = wave
    [code] = store.issue_codes(wid, org, 1, actor="test")
    at = _app(code)
    assert _title(at) == "About this questionnaire"
    assert "code" not in at.query_params  # the code leaves the address bar
    # consent is required
    _next(at)
    assert at.error and "tick the box" in at.error[0].value
    _start(at)
    assert _title(at) == "Recognising value"
    # items: one labelled radio per item with no default, text from the bank, don't-know separate
    bank = context.bank()
    radios = [r for r in at.radio if r.key.startswith("q_")]
    assert [r.key[2:] for r in radios] == bank.scale_items("recognising_value")
    assert all(r.value is None for r in radios)
    assert radios[0].label.endswith(bank.items["RV01"]["text"])
    assert radios[0].options[-1] == "Don't know / not applicable" and len(radios[0].options) == 8
    assert "Page 3 of" in at.get("progress")[0].proto.text
    # one error listing what is missing, and the partial answers kept
    radios[1].set_value(8)
    _next(at)
    assert len(at.error) == 1 and "question 1, question 3, question 4" in at.error[0].value
    assert store.answers(code)["RV02"] == 8
    pages = 0
    while _title(at) != "Check and submit":
        _answer_all(at)
        _next(at)
        assert not at.error, at.error[0].value
        pages += 1
    assert pages == 14  # 11 scales, two source pages, channels; the wave has no network page
    at.button(key="nav_next").click().run()
    assert _title(at) == "Thank you"
    assert store.invitation(code).status == "submitted"
    row = store.export_responses(wid).iloc[0]
    assert row["role"] == "analyst" and row["RV02"] == 5 and row["KS_RES_U"] == 5 and row["CO_PROD"] == 5


def test_reload_resumes_where_the_respondent_stopped(store, wave):
    wid, org = wave
    [code] = store.issue_codes(wid, org, 1, actor="test")
    at = _start(_app(code))
    _answer_all(at, 6)
    _next(at)
    assert _title(at) == "Acquisition"
    at.radio(key="q_AQ01").set_value(3)
    at.button(key="nav_back").click().run()  # leaving by Back saves the page too
    assert _title(at) == "Recognising value"
    # a reload is a new session: the same link opens the saved page with the saved answers
    again = _app(code)
    assert _title(again) == "Recognising value"
    assert [r.value for r in again.radio if r.key.startswith("q_")] == [6] * 4
    _next(again)
    assert again.radio(key="q_AQ01").value == 3


def test_submitted_code_cannot_submit_again(store, wave):
    wid, org = wave
    [code] = store.issue_codes(wid, org, 1, actor="test")
    store.save_page(code, "review", {"RV01": 4}, {"role": "finance"})
    store.submit(code)
    at = _app(code)
    assert _title(at) == "Your answers are already in"
    assert not at.button  # nothing left to submit
    with pytest.raises(Exception):
        store.submit(code)


def test_closed_wave_is_refused_politely(store, wave):
    wid, org = wave
    [code] = store.issue_codes(wid, org, 1, actor="test")
    store.close_wave(wid, actor="test")
    at = _app(code)
    assert _title(at) == "This questionnaire has closed"
    assert at.info and "no longer accepts answers" in at.info[0].value
    assert not at.error


def test_unknown_code(store, wave):
    at = _app("not-a-real-code")
    assert _title(at) == "Link not recognised"


def test_review_lists_unanswered_pages_and_change_goes_back(store, wave):
    wid, org = wave
    [code] = store.issue_codes(wid, org, 1, actor="test")
    store.save_page(code, "review", {}, {"role": "finance"})
    at = _app(code)
    assert _title(at) == "Check and submit"
    at.button(key="nav_next").click().run()
    assert len(at.error) == 1 and "Recognising value" in at.error[0].value
    assert store.invitation(code).status == "started"
    at.button(key="goto_exploitation").click().run()
    assert _title(at) == "Exploitation"


def test_network_page_saves_nominations_and_outside_contacts(store, wave):
    _, org = wave
    wid = store.create_wave("Network wave", network=True, actor="test")
    store.import_roster(wid, org, pd.DataFrame({"name": ["Ann Lee", "Bo Chan", "Cy Dee"]}), actor="test")
    links = store.issue_roster_codes(wid, org, actor="test")
    me = links.iloc[0]
    answers = {i: 4 for i in context.bank().item_ids}
    store.save_page(me["code"], "network", answers, {"role": "finance"})
    at = _app(me["code"])
    assert _title(at) == "Whom you go to for advice"
    people = at.multiselect(key="net_people")
    roster = store.roster(wid, org)
    others = set(roster.loc[roster["name"] != me["name"], "label"])
    assert len(people.options) == 2  # everyone but yourself
    other = int(roster.loc[roster["name"] != me["name"], "id"].iloc[0])
    people.set_value([other]).run()
    assert others
    _next(at)
    assert len(at.error) == 1 and "how often" in at.error[0].value
    at.radio(key=f"net_f_{other}").set_value(4)
    at.number_input(key="net_o_academia").set_value(2)
    _next(at)
    assert _title(at) == "Check and submit"
    ties, outside = store.nominations(me["code"])
    assert ties == {other: 4} and outside["academia"][0] == 2


# ---- staff -----------------------------------------------------------------------------------
def test_sign_in_with_a_local_account(store, wave):
    store.create_account("olivia", "a long passphrase", "admin", actor="test")
    at = _app()
    assert _title(at) == "acap questionnaire"
    at.text_input[1].input("olivia")
    at.text_input[2].input("wrong password!")
    at.button[1].click().run()
    assert any("not right" in e.value for e in at.error)
    at.text_input[2].input("a long passphrase")
    at.button[1].click().run()
    assert _title(at) == "Results"
    assert at.session_state["user"].role == "admin"


def test_staff_pages_need_a_sign_in(store, wave):
    at = _app(section="Exports")
    assert _title(at) == "acap questionnaire"  # the landing page, not the export
    assert not at.sidebar.radio


@pytest.mark.parametrize("section", list(router.SECTIONS))
def test_admin_renders_every_section(seeded, section):
    at = _app(user=auth.User("admin", "admin"), section=section)
    assert _title(at) == section
    assert not at.error


def test_admin_results_come_from_the_publication_layer(seeded):
    from acap.online import wave_feedback

    store, seeded = seeded
    at = _app(user=auth.User("admin", "admin"), section="Results")
    fb = wave_feedback(store, seeded.wave_id, context.bank()).feedback
    orgs = at.selectbox(key="res_org")
    assert set(orgs.options) == set(fb)
    shown = next(o for o, f in fb.items() if f.status == "shown")
    orgs.set_value(shown).run()
    assert at.header[0].value == shown
    table = at.dataframe[0].value
    assert list(table["Scale"]) == list(fb[shown].scales["label"])
    assert table["Mean"].round(2).tolist() == fb[shown].scales["mean"].round(2).tolist()


@pytest.mark.parametrize("role", ["lead", "consultant"])
def test_leads_and_consultants_see_only_their_organisations(seeded, role):
    store, seeded = seeded
    names = sorted(store.organisations()["name"])
    mine = tuple(names[:1] if role == "lead" else names[:2])
    user = auth.User("someone", role, mine)
    at = _app(user=user)
    assert _title(at) == "Results"
    assert at.sidebar.radio[0].options == ["Results"]
    assert set(at.selectbox(key="res_org").options) <= set(mine)
    for section in router.SECTIONS:
        if section == "Results":
            continue
        denied = _app(user=user, section=section)
        assert _title(denied) == "Not permitted"
    assert seeded.n_submitted > 0


def test_lead_never_sees_validation_or_exports(seeded):
    store, _ = seeded
    name = sorted(store.organisations()["name"])[0]
    at = _app(user=auth.User("lead", "lead", (name,)))
    labels = [b.label for b in at.button]
    assert "Build the validation report" not in labels


def test_invitation_list_with_bad_rows_names_each_and_stores_nothing(store, wave, tmp_path):
    wid, _ = wave
    path = tmp_path / "invite.csv"
    path.write_text("organisation,email,name\nAshvale ICB,ann@example.nhs.uk,Ann\nNowhere,bo@example,Bo\n"
                    "Ashvale ICB,,Cy\nAshvale ICB,ann@example.nhs.uk,Ann again\n")
    from acap import online
    from acap.errors import AcapInputError

    with pytest.raises(AcapInputError) as exc:
        online.read_invitations(path, store.organisations())
    problems = exc.value.problems
    assert list(problems["row"]) == ["row 3", "row 3", "row 4", "row 5"]
    assert store.invitations(wid).empty
    path.write_text("organisation,email\nashvale icb,ann@example.nhs.uk\nAshvale ICB,bo@example.nhs.uk\n")
    mm = online.issue_links(store, wid, online.read_invitations(path, store.organisations()), "http://x",
                            actor="test")
    assert list(mm.columns) == ["organisation", "email", "name", "code", "link"]
    assert mm["link"].str.startswith("http://x/?code=").all() and len(store.invitations(wid)) == 2
    assert set(store.code_status(mm["code"])["status"]) == {"sent"}


def test_upload_refuses_a_bad_file_whole_and_takes_a_good_one(store, wave, tmp_path):
    from acap import online
    from acap.errors import AcapInputError
    from acap.simulate import simulate

    wid, _ = wave
    sim = simulate(2, seed=5).responses
    for org in sim["organisation"].unique():
        store.add_organisation(org, "ICB")
    bad = sim.copy()
    bad.loc[bad.index[2], "RV01"] = 12
    bad.loc[bad.index[4], "role"] = "wizard"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(AcapInputError) as exc:
        online.check_upload(tmp_path / "bad.csv", context.bank(), store.organisations())
    assert "row" in str(exc.value)
    assert store.export_responses(wid).empty
    sim.to_csv(tmp_path / "good.csv", index=False)
    frame, _ = online.check_upload(tmp_path / "good.csv", context.bank(), store.organisations())
    assert store.upload_responses(wid, frame, actor="test") == len(sim)
    assert len(store.export_responses(wid)) == len(sim)


def test_exports_carry_labels(seeded):
    import pyreadstat

    from acap import online

    store, seeded = seeded
    frame = store.export_responses(seeded.wave_id)
    bank = context.bank()
    data = online.sav_bytes(frame, bank)
    path = io.BytesIO(data)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "x.sav"
        p.write_bytes(path.getvalue())
        df, meta = pyreadstat.read_sav(str(p), user_missing=True)
    assert len(df) == len(frame)
    assert meta.column_names_to_labels["RV01"] == bank.items["RV01"]["text"]
    assert meta.variable_value_labels["RV01"][8.0] == "Don't know / not applicable"
    book = online.codebook(bank)
    assert list(book["variable"]) == list(frame.columns)
    xl = pd.read_excel(io.BytesIO(online.xlsx_bytes(frame, bank)), sheet_name=None)
    assert set(xl) == {"responses", "codebook"} and len(xl["responses"]) == len(frame)


def test_network_results_reach_the_results_page(store):
    """Nominations made online go through the library's network stage into the feedback."""
    from acap.online import wave_feedback

    org = store.add_organisation("Ashvale ICB", "ICB")
    wid = store.create_wave("Network wave", network=True, actor="test")
    names = [f"Person {k}" for k in range(8)]
    store.import_roster(wid, org, pd.DataFrame({"name": names, "role": ["finance"] * 8}), actor="test")
    links = store.issue_roster_codes(wid, org, actor="test")
    ids = list(store.roster(wid, org)["id"])
    answers = {i: 5 for i in context.bank().item_ids}
    for k, row in links.iterrows():
        store.save_page(row["code"], "review", answers, {"role": "finance"})
        me = int(row["person_id"])
        store.save_nominations(row["code"], {p: 3 for p in ids if p != me and (p + me) % 3 == 0}, {"academia": 1})
        store.submit(row["code"])
    fb = wave_feedback(store, wid, context.bank()).feedback["Ashvale ICB"]
    assert fb.status == "shown" and fb.network is not None
    assert fb.network.summary["n_nodes"] == 8
    assert set(fb.network.nodes.index) == {f"P{k:02d}" for k in range(1, 9)} or len(fb.network.nodes) == 8
    at = _app(user=auth.User("admin", "admin"), section="Results")
    assert any(h.value == "Advice network" for h in at.subheader)
