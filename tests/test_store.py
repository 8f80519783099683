"""The survey store (acap.store) on SQLite and on a real PostgreSQL: migrations, codes, page
saves, submission rules, rosters and nominations, accounts, the audit log, exports, purge."""

import hashlib
import re

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import inspect, text

from acap.errors import AcapInputError
from acap.store import AlreadySubmitted, WaveClosed, WaveNotOpen, downgrade, make_engine, migrate, open_store
from acap.store.models import Base

ALL_TABLES = {"organisations", "waves", "invitations", "responses", "answers", "roster_people", "nominations",
              "outside_contacts", "accounts", "account_organisations", "audit_log"}


@pytest.fixture
def store(database_url):
    s = open_store(database_url)
    yield s
    s.close()


@pytest.fixture
def wave(store):
    org = store.add_organisation("Ashvale ICB", "ICB")
    w = store.create_wave("Spring 2027", network=True, actor="admin")
    return store, w, org


def _snapshot(store):
    """Every row of every acap table: what 'nothing changed' is checked against."""
    with store.engine.connect() as conn:
        return {t: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {t}")).all()), key=repr)
                for t in sorted(ALL_TABLES)}


# ---- migrations ---------------------------------------------------------------------------

def test_migrations_up_from_empty_and_back_down(empty_database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(empty_database_url)
    assert not ALL_TABLES & set(inspect(engine).get_table_names())
    migrate(engine)
    assert ALL_TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:  # the migration builds exactly what the models describe
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    migrate(engine)  # at head already: a no-op
    downgrade(engine)
    assert not ALL_TABLES & set(inspect(engine).get_table_names())
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM pg_proc WHERE proname = 'acap_audit_append_only'")) == 0
    migrate(engine)  # and up again from empty
    assert ALL_TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_sqlite_connections_get_wal_foreign_keys_and_busy_timeout(tmp_path):
    store = open_store(data_dir=tmp_path / "data")
    assert (tmp_path / "data" / "acap.sqlite").exists()
    for _ in range(2):  # every pooled connection, not only the first
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    store.close()


def test_environment_variable_chooses_the_database(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite'}"
    monkeypatch.setenv("ACAP_DATABASE_URL", url)
    store = open_store(data_dir=tmp_path / "unused")
    assert str(store.engine.url) == url and not (tmp_path / "unused").exists()
    store.close()


# ---- organisations and waves --------------------------------------------------------------

def test_organisations_types_and_parents(store):
    icb = store.add_organisation("Brackenford ICB", "icb")
    store.add_organisation("Brackenford North", "ICB place", parent="Brackenford ICB")
    store.add_organisation("Old CCG", "CCG (legacy)")  # acap.simulate's label
    orgs = store.organisations().set_index("name")
    assert orgs.loc["Brackenford North", "parent_id"] == icb
    assert orgs.loc["Brackenford North", "parent"] == "Brackenford ICB"
    assert orgs.loc["Old CCG", "type"] == "legacy CCG"
    with pytest.raises(AcapInputError, match="unknown organisation type 'hospital'"):
        store.add_organisation("X", "hospital")
    with pytest.raises(AcapInputError, match="exists already"):
        store.add_organisation("Brackenford ICB", "ICB")
    with pytest.raises(AcapInputError, match="no organisation 'Nowhere'"):
        store.add_organisation("Y", "ICB place", parent="Nowhere")
    assert len(store.organisations()) == 3


def test_wave_fields_and_bad_dates(store):
    w = store.create_wave("Autumn", opens="2027-01-01", closes="2027-02-01", min_n=7, retention="2028-01-01",
                          actor="admin")
    got = store.wave(w)
    assert (got.title, str(got.opens), str(got.closes), got.min_n, got.network, got.closed) == (
        "Autumn", "2027-01-01", "2027-02-01", 7, False, False)
    assert store.waves()["id"].tolist() == [w]
    with pytest.raises(AcapInputError, match="closes .* is before opens"):
        store.create_wave("Bad", opens="2027-02-01", closes="2027-01-01", actor="admin")
    with pytest.raises(AcapInputError, match="not a date"):
        store.create_wave("Bad", closes="next week", actor="admin")
    with pytest.raises(AcapInputError, match="no item bank acap 9.9"):
        store.create_wave("Bad", bank_version="9.9", actor="admin")
    assert len(store.waves()) == 1


# ---- codes -------------------------------------------------------------------------------

def test_codes_are_random_and_stored_only_as_hashes(wave):
    store, w, org = wave
    codes = store.issue_codes(w, org, 50, actor="admin")
    assert len(set(codes)) == 50
    for c in codes:
        assert re.fullmatch(r"([A-Z2-7]{4}-){7}[A-Z2-7]{4}", c)  # 32 base-32 characters = 160 bits
    with store.engine.connect() as conn:
        hashes = set(conn.scalars(text("SELECT code_hash FROM invitations")))
    dump = repr(_snapshot(store))
    assert hashes == {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes}
    for c in codes:  # no code, with or without dashes, is anywhere in the database
        assert c not in dump and c.replace("-", "") not in dump
    # typed in lower case or with spaces, a code still works
    assert store.invitation(codes[0].lower().replace("-", " ")).status == "sent"
    assert store.invitation("AAAA-BBBB") is None
    assert store.audit_log()["action"].tolist()[-1] == "issue_codes"
    assert codes[0] not in store.audit_log().to_string()


# ---- page saves and submission ---------------------------------------------------------------

def test_save_page_upserts_keeps_dont_know_and_skips(wave):
    store, w, org = wave
    [code] = store.issue_codes(w, org, 1, actor="admin")
    store.save_page(code, "background", {}, {"role": "Analyst", "years_in_role": 2.5})
    store.save_page(code, "acquisition", {"AQ01": 5, "AQ02": 8, "AQ03": None})
    store.save_page(code, "acquisition", {"AQ01": 6, "AQ04": np.int64(2)})
    assert store.answers(code) == {"AQ01": 6, "AQ02": 8, "AQ03": None, "AQ04": 2}
    inv = store.invitation(code)
    assert (inv.status, inv.page, inv.role, inv.years_in_role, inv.organisation) == (
        "started", "acquisition", "analyst", 2.5, "Ashvale ICB")


@pytest.mark.parametrize("answers, background, message", [
    ({"AQ01": 5, "ZZ99": 3}, None, "unknown item 'ZZ99'"),
    ({"AQ01": 5, "AQ02": 9}, None, "item AQ02: 9 is not an answer"),
    ({"AQ01": 5, "AQ02": 0}, None, "item AQ02: 0 is not an answer"),
    ({"AQ01": 5, "AQ02": "7"}, None, "item AQ02: '7' is not an answer"),
    ({"AQ01": 5, "AQ02": 3.5}, None, "item AQ02: 3.5 is not an answer"),
    ({"AQ01": 5}, {"role": "astronaut"}, "unknown role 'astronaut'"),
    ({"AQ01": 5}, {"years_in_role": 99}, "years in role 99"),
    ({"AQ01": 5}, {"organisation": "Elsewhere"}, "unknown background question 'organisation'"),
])
def test_bad_page_is_refused_whole(wave, answers, background, message):
    store, w, org = wave
    [code] = store.issue_codes(w, org, 1, actor="admin")
    store.save_page(code, "first", {"AQ01": 3})
    before = _snapshot(store)
    with pytest.raises(AcapInputError, match=re.escape(message)) as err:
        store.save_page(code, "second", answers, background)
    assert "page 'second'" in str(err.value)  # says where
    assert _snapshot(store) == before  # nothing half-way: AQ01 still 3, page still "first"
    assert store.answers(code) == {"AQ01": 3} and store.invitation(code).page == "first"


def test_submit_once_then_refused(wave):
    store, w, org = wave
    [code, other] = store.issue_codes(w, org, 2, actor="admin")
    with pytest.raises(AcapInputError, match="nothing has been answered"):
        store.submit(code)
    store.save_page(code, "acquisition", {"AQ01": 4})
    with pytest.raises(AcapInputError, match="role is missing"):
        store.submit(code)
    store.save_page(code, "background", {}, {"role": "finance"})
    store.submit(code)
    inv = store.invitation(code)
    assert inv.status == "submitted" and inv.submitted_at is not None
    assert store.last_submission(w) == inv.submitted_at
    before = _snapshot(store)
    with pytest.raises(AlreadySubmitted):
        store.submit(code)
    with pytest.raises(AlreadySubmitted):
        store.save_page(code, "acquisition", {"AQ01": 1})
    assert _snapshot(store) == before
    with pytest.raises(AcapInputError, match="not recognised"):
        store.submit("nonsense")
    assert len(store.export_responses(w)) == 1


def test_closed_and_not_yet_open_waves_refuse_answers(store):
    org = store.add_organisation("Dunmere Place", "ICB place")
    w = store.create_wave("Past", actor="admin")
    [code] = store.issue_codes(w, org, 1, actor="admin")
    store.save_page(code, "background", {}, {"role": "analyst"})
    store.close_wave(w, actor="admin")
    store.close_wave(w, actor="admin")  # harmless
    assert store.wave(w).closed
    with pytest.raises(WaveClosed, match="has closed"):
        store.save_page(code, "p", {"AQ01": 1})
    with pytest.raises(WaveClosed):
        store.submit(code)
    ended = store.create_wave("Ended", opens="2020-01-01", closes="2020-02-01", actor="admin")
    with pytest.raises(WaveClosed):
        store.save_page(store.issue_codes(ended, org, 1, actor="admin")[0], "p", {"AQ01": 1})
    future = store.create_wave("Future", opens="2999-01-01", actor="admin")
    with pytest.raises(WaveNotOpen, match="opens on 2999-01-01"):
        store.save_page(store.issue_codes(future, org, 1, actor="admin")[0], "p", {"AQ01": 1})
    assert store.audit_log()["action"].tolist().count("close_wave") == 1


# ---- rosters and nominations ---------------------------------------------------------------

def _names(n):
    return [f"{chr(65 + k % 26)}{k:02d} Person" for k in range(n)]


def test_roster_is_shuffled_before_pseudonyms(wave):
    store, w, org = wave
    names = _names(40)
    store.import_roster(w, org, pd.DataFrame({"name": names, "role": ["analyst"] * 40,
                                              "board": ["yes"] * 5 + ["no"] * 35}), actor="admin")
    r = store.roster(w, org)
    assert r["label"].tolist() == [f"P{k:02d}" for k in range(1, 41)]
    # P01..P40 do not follow the file's order or the alphabet (chance 2/40! that they would)
    assert r["name"].tolist() != names and r["name"].tolist() != sorted(names)
    assert r["board"].sum() == 5
    first = r.set_index("name")["label"]
    store.import_roster(w, org, pd.DataFrame({"name": names}), actor="admin")  # replaced, reshuffled
    assert len(store.roster(w, org)) == 40
    assert not store.roster(w, org).set_index("name")["label"].equals(first)


@pytest.mark.parametrize("rows, message", [
    (pd.DataFrame({"name": ["Ann", ""]}), "roster row 2: name is blank"),
    (pd.DataFrame({"name": ["Ann", "ann "]}), "roster row 2: name 'ann' is also in row 1"),
    (pd.DataFrame({"name": ["Ann"], "role": ["pilot"]}), "roster row 1: unknown role 'pilot'"),
    (pd.DataFrame({"name": ["Ann"], "board": ["sometimes"]}), "roster row 1: board 'sometimes'"),
    (pd.DataFrame({"who": ["Ann"]}), "no 'name' column"),
])
def test_bad_roster_is_refused_whole(wave, rows, message):
    store, w, org = wave
    with pytest.raises(AcapInputError, match=re.escape(message)):
        store.import_roster(w, org, rows, actor="admin")
    assert store.roster(w, org).empty


def test_nominations_and_network_export(wave):
    from acap.network import node_metrics, split_organisations, summary

    store, w, org = wave
    store.import_roster(w, org, pd.DataFrame({"name": _names(6), "board": [True, True, False, False, False, False]}),
                        actor="admin")
    links = store.issue_roster_codes(w, org, actor="admin")
    assert len(links) == 6 and links["code"].is_unique
    assert store.issue_roster_codes(w, org, actor="admin").empty  # everyone has one already
    ids = links["person_id"].tolist()
    code = dict(zip(ids, links["code"]))
    for k, me in enumerate(ids[:4]):  # four answer, two do not
        store.save_page(code[me], "background", {}, {"role": "commissioning_manager"})
        store.save_nominations(code[me], {ids[(k + 1) % 6]: 3, ids[(k + 2) % 6]: 5},
                               {"gp_practices": 2, "academia": (1, 4)})
        store.submit(code[me])
    # an answer saved but not submitted stays out of the export
    store.save_nominations(code[ids[4]], {ids[0]: 2}, {})
    assert store.nominations(code[ids[4]]) == ({ids[0]: 2}, {})
    ties, people, contacts = store.export_networks(w)
    assert len(ties) == 8 and set(ties["source"]) == set(ids[:4])
    assert list(ties.columns) == ["organisation", "source", "target", "weight"]
    assert people["responded"].sum() == 4 and "name" not in people.columns
    assert people["label"].tolist() == [f"P{k:02d}" for k in range(1, 7)]
    assert people.loc[people["responded"], "respondent_id"].isin(store.export_responses(w)["respondent_id"]).all()
    assert len(contacts) == 8 and contacts["frequency"].isna().sum() == 4
    nets = split_organisations(ties, people, contacts)
    net = nets["Ashvale ICB"]
    assert len(node_metrics(net.ties, net.nodes)) == 6
    assert summary(net.ties, net.nodes)["density"] > 0
    assert "name" in store.export_networks(w, names=True)[1].columns


@pytest.mark.parametrize("nominate, outside, message", [
    ("self", {}, "cannot name yourself"),
    (999999, {}, "person 999999 is not on this organisation's roster"),
    ("other:6", {}, "is not from 1 (yearly) to 5 (daily)"),
    ("other:3", {"pubs": 2}, "unknown category"),
    ("other:3", {"academia": -1}, "count -1 is negative"),
    ("other:3", {"academia": (2, 9)}, "frequency 9 is not from 1 to 5"),
])
def test_bad_nominations_are_refused_whole(wave, nominate, outside, message):
    store, w, org = wave
    store.import_roster(w, org, pd.DataFrame({"name": _names(3)}), actor="admin")
    links = store.issue_roster_codes(w, org, actor="admin")
    me, other = links["person_id"].iloc[0], links["person_id"].iloc[1]
    code = links["code"].iloc[0]
    store.save_nominations(code, {other: 1}, {"academia": 1})
    if nominate == "self":
        noms = {me: 3}
    elif isinstance(nominate, int):
        noms = {nominate: 3}
    else:
        noms = {other: int(nominate.split(":")[1])}
    before = _snapshot(store)
    with pytest.raises(AcapInputError, match=re.escape(message)):
        store.save_nominations(code, noms, outside)
    assert _snapshot(store) == before


def test_anonymous_code_names_itself_on_the_roster(wave):
    store, w, org = wave
    store.import_roster(w, org, pd.DataFrame({"name": _names(3)}), actor="admin")
    ids = store.roster(w, org)["id"].tolist()
    [a, b] = store.issue_codes(w, org, 2, actor="admin")
    with pytest.raises(AcapInputError, match="say who you are"):
        store.save_nominations(a, {ids[1]: 2})
    store.save_nominations(a, {ids[1]: 2}, person=ids[0])
    assert store.invitation(a).person_id == ids[0]
    with pytest.raises(AcapInputError, match="another code has answered for this roster person"):
        store.save_nominations(b, {ids[1]: 2}, person=ids[0])
    plain = store.create_wave("No network", actor="admin")
    [c] = store.issue_codes(plain, org, 1, actor="admin")
    with pytest.raises(AcapInputError, match="has no network questions"):
        store.save_nominations(c, {})


# ---- accounts and audit --------------------------------------------------------------------

def test_accounts_hash_passwords_with_argon2(store):
    org = store.add_organisation("Elmstead LA", "local authority")
    other = store.add_organisation("Fernhollow ICB", "ICB")
    store.create_account("lead1", "a long passphrase", "lead", organisations=["Elmstead LA"], actor="admin")
    with store.engine.connect() as conn:
        stored = conn.scalar(text("SELECT password_hash FROM accounts"))
    assert stored.startswith("$argon2id$") and "a long passphrase" not in stored
    acc = store.login("lead1", "a long passphrase")
    assert (acc.role, acc.organisations) == ("lead", (org,))
    assert acc.may_see(org) and not acc.may_see(other)
    assert store.login("lead1", "wrong password") is None and store.login("nobody", "x") is None
    with pytest.raises(AcapInputError, match="exists already"):
        store.create_account("lead1", "another long one", "lead", actor="admin")
    with pytest.raises(AcapInputError, match="at least 10 characters"):
        store.create_account("short", "abc", "admin", actor="admin")
    with pytest.raises(AcapInputError, match="unknown role 'owner'"):
        store.create_account("x", "a long passphrase", "owner", actor="admin")
    store.set_password("lead1", "a new long passphrase", actor="admin")
    assert store.login("lead1", "a long passphrase") is None and store.login("lead1", "a new long passphrase")
    assert store.accounts()["username"].tolist() == ["lead1"]


def test_audit_log_is_append_only(wave):
    store, w, org = wave
    store.close_wave(w, actor="someone")
    log = store.audit_log()
    assert log["action"].tolist() == ["add_organisation", "create_wave", "close_wave"]
    assert log["actor"].tolist()[-1] == "someone"
    for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"):
            with store.engine.begin() as conn:
                conn.execute(text(sql))
    assert store.audit_log().equals(log)
    with pytest.raises(AcapInputError, match="say who is acting"):
        store.close_wave(w, actor="")


# ---- rates, uploads, purge -----------------------------------------------------------------

def test_response_rates_by_organisation_and_role_group(wave):
    store, w, org = wave
    codes = store.issue_codes(w, org, 4, actor="admin")
    for c, role in zip(codes[:3], ["analyst", "analyst", "board_chair"]):
        store.save_page(c, "background", {}, {"role": role})
    store.submit(codes[0])
    store.submit(codes[2])
    rates = store.response_rates(w)
    assert rates.loc[("Ashvale ICB", "all")].tolist() == [4, 3, 2, 0.5]
    assert rates.loc[("Ashvale ICB", "analytical"), ["started", "submitted"]].tolist() == [2, 1]
    assert rates.loc[("Ashvale ICB", "board"), ["started", "submitted"]].tolist() == [1, 1]


def test_upload_responses_validated_and_not_twice(store):
    from acap.simulate import simulate

    sim = simulate(n_organisations=2, seed=3, sizes=(6, 8))
    for name, typ in sim.organisations["type"].items():
        store.add_organisation(name, typ)
    w = store.create_wave("Paper forms", actor="admin")
    n = store.upload_responses(w, sim.responses, actor="admin")
    assert n == len(sim.responses)
    out = store.export_responses(w)
    assert not set(out["respondent_id"]) & set(sim.responses["respondent_id"])  # fresh pseudonyms
    before = _snapshot(store)
    with pytest.raises(AcapInputError, match="row 0: these answers were uploaded to this wave already"):
        store.upload_responses(w, sim.responses.iloc[:3], actor="admin")
    renamed = sim.responses.iloc[3:5].assign(respondent_id=["new-1", "new-2"])  # new IDs, same rows
    with pytest.raises(AcapInputError, match="uploaded to this wave already"):
        store.upload_responses(w, renamed, actor="admin")
    bad = sim.responses.assign(organisation="Nowhere Trust")
    with pytest.raises(AcapInputError, match="organisation 'Nowhere Trust' is not in the store"):
        store.upload_responses(w, bad, actor="admin")
    with pytest.raises(AcapInputError):
        store.upload_responses(w, sim.responses.assign(AQ01=12), actor="admin")
    assert _snapshot(store) == before
    dump = repr(_snapshot(store))
    assert not any(rid in dump or hashlib.sha256(rid.encode()).hexdigest() in dump
                   for rid in sim.responses["respondent_id"])  # the file's own IDs are not kept
    twins = pd.concat([sim.responses.iloc[[0]]] * 2, ignore_index=True).assign(respondent_id=["t1", "t2"])
    other = store.create_wave("Twins", actor="admin")
    assert store.upload_responses(other, twins, actor="admin") == 2  # two alike in one file are two
    # same answers back (order aside)
    key = ["organisation", "role", "years_in_role", *sim.responses.columns[5:]]
    a = out[key].sort_values(key, ignore_index=True)
    b = sim.responses[key].sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_purge_removes_answers_and_nominations(wave):
    store, w, org = wave
    store.import_roster(w, org, pd.DataFrame({"name": _names(3)}), actor="admin")
    links = store.issue_roster_codes(w, org, actor="admin")
    ids = links["person_id"].tolist()
    code = links["code"].iloc[0]
    store.save_page(code, "background", {}, {"role": "analyst"})
    store.save_page(code, "acquisition", {"AQ01": 6})
    store.save_nominations(code, {ids[1]: 4}, {"academia": 2})
    store.submit(code)
    keep = store.create_wave("Other wave", actor="admin")
    [other] = store.issue_codes(keep, org, 1, actor="admin")
    store.save_page(other, "acquisition", {"AQ01": 2})
    with store.engine.begin() as conn:  # the retention date has passed
        conn.execute(text(f"UPDATE waves SET retention = '2000-01-01' WHERE id = {w}"))
    assert store.due_for_purge() == [w]
    store.purge_wave(w, actor="admin")
    assert store.due_for_purge() == []
    assert store.export_responses(w).empty and store.roster(w, org).empty
    assert all(len(t) == 0 for t in store.export_networks(w))
    with store.engine.connect() as conn:
        for table in ("answers", "nominations", "outside_contacts", "responses"):
            assert conn.scalar(text(f"SELECT count(*) FROM {table} WHERE "
                                    + ("response_id" if table != "responses" else "id")
                                    + f" IN (SELECT id FROM responses WHERE wave_id = {w})")) == 0
        assert conn.scalar(text("SELECT count(*) FROM roster_people")) == 0
    assert store.wave(w).purged_at is not None and store.wave(w).closed
    assert store.answers(other) == {"AQ01": 2}  # the other wave is untouched
    assert store.audit_log()["action"].iloc[-1] == "purge_wave"


# ---- the round trip: online answers -> export -> acap score = scoring the originals ----------

def _seed_wave_through_api(store, sim, bank):
    """Answer every simulated respondent's questionnaire through the store, page by page."""
    for name, typ in sim.organisations["type"].items():
        store.add_organisation(name, typ)
    w = store.create_wave("Round trip", actor="admin")
    orgs = dict(zip(store.organisations()["name"], store.organisations()["id"]))
    pages = {}
    for item, meta in bank.items.items():
        pages.setdefault(meta["scale"] or meta["kind"], []).append(item)
    for org, rows in sim.responses.groupby("organisation", sort=False):
        codes = store.issue_codes(w, orgs[org], len(rows) + 2, actor="admin")  # two never answer
        for code, (_, row) in zip(codes, rows.iterrows()):
            store.save_page(code, "background", {}, {"role": row["role"], "years_in_role": row["years_in_role"]})
            for page, items in pages.items():
                store.save_page(code, page, {i: (None if pd.isna(row[i]) else int(row[i])) for i in items})
            store.submit(code)
    return w


def test_round_trip_export_scores_like_the_original(database_url, tmp_path, bank):
    from typer.testing import CliRunner

    from acap.cli import app
    from acap.simulate import simulate

    sim = simulate(n_organisations=4, seed=11, sizes=(5, 12))
    store = open_store(database_url)
    w = _seed_wave_through_api(store, sim, bank)
    exported = store.export_responses(w)
    store.close()
    demo_columns = list(sim.responses.columns)
    assert list(exported.columns) == demo_columns
    assert not exported["respondent_id"].str.fullmatch(r"([A-Z2-7]{4}-?){8}").any()
    exported.to_csv(tmp_path / "online.csv", index=False)
    sim.responses.to_csv(tmp_path / "original.csv", index=False)
    runner = CliRunner()
    for name in ("online", "original"):
        res = runner.invoke(app, ["score", str(tmp_path / f"{name}.csv"), "--out", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
    for table in ("results", "by_role", "knowledge_gaps", "headline"):
        a = pd.read_csv(tmp_path / "online" / "organisations" / f"{table}.csv")
        b = pd.read_csv(tmp_path / "original" / "organisations" / f"{table}.csv")
        assert len(a) > 0
        key = list(a.columns[:2])
        pd.testing.assert_frame_equal(a.sort_values(key, ignore_index=True), b.sort_values(key, ignore_index=True),
                                      rtol=1e-9)


def test_seed_demo_stores_a_submitted_wave_with_unanswered_codes(database_url):
    from acap.simulate import simulate
    from acap.store.demo import seed_demo

    sim = simulate(n_organisations=3, seed=5, sizes=(5, 9))
    store = open_store(database_url)
    seeded = seed_demo(store, sim)
    assert seeded.respondents == len(sim.responses)
    exported = store.export_responses(seeded.wave_id)
    key = ["organisation", "role", "years_in_role", *sim.responses.columns[5:]]
    pd.testing.assert_frame_equal(exported[key].sort_values(key, ignore_index=True),
                                  sim.responses[key].sort_values(key, ignore_index=True), check_dtype=False)
    rates = store.response_rates(seeded.wave_id).xs("all", level="role_group")
    invited = sim.organisations["invited"]
    assert rates["invited"].to_dict() == invited.astype(float).to_dict()
    assert rates["submitted"].to_dict() == sim.organisations["respondents"].to_dict()
    for org, codes in seeded.unanswered.items():
        assert len(codes) == invited[org] - sim.organisations.loc[org, "respondents"]
        assert all(store.invitation(c).status == "sent" for c in codes)
    store.close()


def test_demo_writes_a_store_that_opens_again(tmp_path, bank):
    from acap.demo import store_writer
    from acap.simulate import simulate

    sim = simulate(n_organisations=2, seed=8, sizes=(5, 6))
    store_writer(sim, bank)(tmp_path / "store")
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["acap.sqlite", "unanswered_codes.csv"]
    codes = pd.read_csv(tmp_path / "store" / "unanswered_codes.csv", encoding="utf-8-sig")
    store = open_store(data_dir=tmp_path / "store")
    [wave] = store.waves()["id"].tolist()
    assert len(store.export_responses(wave)) == len(sim.responses)
    assert store.invitation(codes["code"].iloc[0]).status == "sent"
    store.close()


def test_unreachable_database_is_one_clear_error():
    with pytest.raises(AcapInputError, match=r"database postgresql\+psycopg://nobody@127.0.0.1:9/none: cannot open"):
        open_store("postgresql://nobody@127.0.0.1:9/none")
