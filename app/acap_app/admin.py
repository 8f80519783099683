"""The administrator's pages: waves, invitations, response rates, uploads, exports, retention, accounts.

Every file read here goes through the library's readers (``acap.online``, ``acap.scoring``), which
name each bad row; the page shows their problems and stores nothing unless all is well.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pandas as pd
import streamlit as st

from acap import online
from acap.errors import AcapInputError
from acap_app import context
from acap_app.ui import forbidden, page_heading, wave_choice

from acap.store import ORGANISATION_TYPES as ORG_TYPES  # noqa: E402


def page(section: str, user) -> None:
    if user.role != "admin":  # the router already refuses; a second check costs nothing
        forbidden(f"“{section}”")
        return
    {
        "Waves and organisations": _waves,
        "Invitations": _invitations,
        "Response rates": _rates,
        "Upload answers": _upload,
        "Exports": _exports,
        "Retention": _retention,
        "Accounts and audit": _accounts,
    }[section](user)


# ---- helpers ------------------------------------------------------------------------------
def _wave_picker(label: str = "Wave", key: str = "wave_pick"):
    """Choose a wave (newest first); returns (id, Wave) or (None, None) when there is none."""
    wid, _ = wave_choice(label, key)
    return (None, None) if wid is None else (wid, context.store().wave(wid))


def _org_picker(label: str = "Organisation", key: str = "org_pick"):
    orgs = context.store().organisations()
    if orgs.empty:
        st.info("There are no organisations yet.")
        return None
    ids = [int(i) for i in orgs["id"]]
    names = dict(zip(ids, orgs["name"]))
    return st.selectbox(label, ids, format_func=names.get, key=key)


def _saved_upload(upload) -> Path | None:
    """The uploaded file on disk (the library's readers take paths), or None when too large."""
    if upload is None:
        return None
    if upload.size > context.UPLOAD_LIMIT_MB * 1024 * 1024:
        st.error(f"{upload.name}: the file is larger than the {context.UPLOAD_LIMIT_MB} MB limit. "
                 "Split it, or remove columns that are not answers.")
        return None
    folder = Path(tempfile.mkdtemp(prefix="acap-upload-"))
    path = folder / Path(upload.name).name
    path.write_bytes(upload.getvalue())
    return path


def _problems(exc: AcapInputError) -> None:
    """One message for the refusal, and the full problem list when the library gives one."""
    st.error(f"Nothing was stored. {exc}")
    problems = getattr(exc, "problems", None)
    if isinstance(problems, pd.DataFrame) and len(problems):
        st.markdown(f"All {len(problems)} problems:")
        st.dataframe(problems, hide_index=True, width="stretch")


def _actor(user) -> str:
    return user.name


# ---- sections -----------------------------------------------------------------------------
def _waves(user) -> None:
    page_heading("Waves and organisations")
    s = context.store()
    st.subheader("Organisations")
    orgs = s.organisations()
    st.dataframe(orgs[["name", "type", "parent"]], hide_index=True, width="stretch")
    with st.form("add_org", clear_on_submit=True):
        st.markdown("**Add an organisation**")
        name = st.text_input("Name")
        kind = st.selectbox("Type", ORG_TYPES)
        parents = ["(none)"] + list(orgs["name"]) if len(orgs) else ["(none)"]
        parent = st.selectbox("Part of", parents)
        add = st.form_submit_button("Add organisation")
    if add:
        if not name.strip():
            st.error("Organisation name: please enter a name.")
        elif len(orgs) and name.strip().casefold() in {n.casefold() for n in orgs["name"]}:
            st.error(f"Organisation name: “{name.strip()}” already exists.")
        else:
            try:
                s.add_organisation(name.strip(), kind, parent=None if parent == "(none)" else parent,
                                   actor=_actor(user))
            except AcapInputError as exc:
                st.error(str(exc))
            else:
                st.success(f"Added {name.strip()}.")

    st.subheader("Waves")
    waves = s.waves()
    if not waves.empty:
        st.dataframe(waves[["id", "title", "opens", "closes", "min_n", "network", "retention", "closed"]],
                     hide_index=True, width="stretch")
    with st.form("add_wave", clear_on_submit=True):
        st.markdown("**Create a wave**")
        title = st.text_input("Title", placeholder="e.g. Spring 2027")
        c1, c2 = st.columns(2)
        opens = c1.date_input("Opens", value=date.today())
        closes = c2.date_input("Closes", value=None)
        retention = st.date_input("Delete answers on (retention date)", value=None)
        min_n = st.number_input("Minimum respondents before results are shown", min_value=1, value=5, step=1)
        network = st.checkbox("Ask about advice networks (needs a list of colleagues per organisation)")
        create = st.form_submit_button("Create wave")
    if create:
        errors = []
        if not title.strip():
            errors.append("Title: please enter a title.")
        if closes is not None and opens is not None and closes < opens:
            errors.append("Closes: the closing date is before the opening date.")
        if retention is not None and closes is not None and retention < closes:
            errors.append("Retention date: it is before the closing date.")
        if errors:
            st.error(" ".join(errors))
        else:
            try:
                s.create_wave(title.strip(), opens=opens, closes=closes, min_n=int(min_n), network=network,
                              retention=retention, actor=_actor(user))
            except AcapInputError as exc:
                st.error(str(exc))
            else:
                st.success(f"Created wave “{title.strip()}”.")

    if not waves.empty:
        st.subheader("Close a wave")
        wid, wave = _wave_picker("Wave to close", key="close_pick")
        if wave is not None and not wave.closed:
            sure = st.checkbox("I understand that a closed wave accepts no more answers", key="close_sure")
            if st.button("Close this wave", disabled=not sure):
                s.close_wave(wid, actor=_actor(user))
                st.success(f"Closed “{wave.title}”.")
                st.rerun()
        elif wave is not None:
            st.info(f"“{wave.title}” is closed.")


def _invitations(user) -> None:
    page_heading("Invitations")
    s = context.store()
    wid, wave = _wave_picker()
    if wave is None:
        return
    st.subheader("Invitation list and personal links")
    st.markdown("Upload a CSV or Excel file with the columns **organisation** and **email** (optionally "
                "**name**). Each row gets a personal link. E-mail addresses and names are not stored: they go "
                "only into the mail-merge file you download here.")
    up = st.file_uploader("Invitation list (CSV or XLSX)", type=["csv", "xlsx"], key="inv_upload")
    path = _saved_upload(up)
    if path is not None and st.button("Create personal links", type="primary"):
        try:
            rows = online.read_invitations(path, s.organisations())
        except AcapInputError as exc:
            _problems(exc)
        else:
            st.session_state["mailmerge"] = online.issue_links(s, wid, rows, context.base_url(), actor=_actor(user))
    st.markdown("Or issue a number of codes for one organisation (for handing out on paper or in a meeting):")
    with st.form("issue_codes"):
        org = _org_picker(key="codes_org")
        n = st.number_input("How many codes", min_value=1, max_value=5000, value=10, step=1)
        go = st.form_submit_button("Issue codes")
    if go and org is not None:
        orgs = s.organisations()
        name = orgs.loc[orgs["id"] == org, "name"].iloc[0]
        rows = pd.DataFrame({"organisation": [name] * int(n)})
        st.session_state["mailmerge"] = online.issue_links(s, wid, rows, context.base_url(), actor=_actor(user))
    mm = st.session_state.get("mailmerge")
    if mm is not None:
        st.warning(f"{len(mm)} personal links are ready. Download them now: codes are stored only in a "
                   "scrambled form and cannot be shown again.")
        st.download_button("Download links for mail merge (CSV)", mm.to_csv(index=False).encode("utf-8-sig"),
                           file_name=f"acap-wave{wid}-links.csv", mime="text/csv", on_click="ignore")

    if getattr(wave, "network", False):
        st.subheader("Lists of colleagues (advice network)")
        st.markdown("One file per organisation with the column **name** (optionally **role** and **board**, "
                    "yes/no). People are shuffled and given codes (P01, P02 ...) when imported.")
        org = _org_picker(key="roster_org")
        rup = st.file_uploader("List of colleagues (CSV or XLSX)", type=["csv", "xlsx"], key="roster_upload")
        rpath = _saved_upload(rup)
        if rpath is not None and org is not None and st.button("Import list"):
            try:
                rows = online.read_roster(rpath, context.bank())
            except AcapInputError as exc:
                _problems(exc)
            else:
                try:
                    n = s.import_roster(wid, org, rows, actor=_actor(user))
                except AcapInputError as exc:
                    _problems(exc)
                else:
                    st.success(f"Imported {n} people. They are shown in results only as P01, P02 ...")
        if org is not None and len(s.roster(wid, org)) and st.button("Personal links for everyone on this list"):
            st.session_state["mailmerge"] = online.roster_links(s, wid, org, context.base_url(), actor=_actor(user))

    st.subheader("Reminders")
    rates = s.response_rates(wid)
    if rates.empty:
        st.info("No invitations yet.")
        return
    st.markdown("Who has not submitted yet, by organisation:")
    st.dataframe(online.reminders(rates), hide_index=True, width="stretch")
    st.markdown("To get the list of people to remind, upload your mail-merge file (the one with the **code** "
                "column); you get back its rows whose code has not been submitted.")
    mup = st.file_uploader("Mail-merge file (CSV or XLSX)", type=["csv", "xlsx"], key="mm_upload")
    mpath = _saved_upload(mup)
    if mpath is not None:
        try:
            todo = online.reminder_list(s, mpath)
        except AcapInputError as exc:
            _problems(exc)
        else:
            st.markdown(f"{len(todo)} people to remind.")
            st.download_button("Download the reminders list (CSV)", todo.to_csv(index=False).encode("utf-8-sig"),
                               file_name=f"acap-wave{wid}-reminders.csv", mime="text/csv", on_click="ignore")


def _rates(user) -> None:
    page_heading("Response rates")
    wid, wave = _wave_picker()
    if wave is None:
        return

    @st.fragment(run_every=30)
    def live():
        rates = context.store().response_rates(wid)
        if rates.empty:
            st.info("No invitations yet.")
            return
        st.caption("Updates every 30 seconds. Role groups come from the role people gave; invitations carry "
                   "no role, so only the organisation's row has an invited count.")
        st.dataframe(online.rates_table(rates), hide_index=True, width="stretch")

    live()


def _upload(user) -> None:
    page_heading("Upload answers")
    s = context.store()
    wid, wave = _wave_picker()
    if wave is None:
        return
    st.markdown("Add answers collected elsewhere (CSV, Excel, SPSS .sav, or a survey tool's export). The file is "
                "checked in full first; if anything is wrong, every problem is listed and nothing is stored. "
                f"Largest file: {context.UPLOAD_LIMIT_MB} MB.")
    up = st.file_uploader("Answers file", type=["csv", "xlsx", "sav"], key="answers_upload")
    path = _saved_upload(up)
    if path is None:
        return
    try:
        frame, notes = online.check_upload(path, context.bank(), s.organisations())
    except AcapInputError as exc:
        _problems(exc)
        return
    for note in notes:
        st.warning(note)
    st.success(f"{len(frame)} answers from {frame['organisation'].nunique()} organisations passed every check.")
    if st.button(f"Add {len(frame)} answers to “{wave.title}”", type="primary"):
        try:
            n = s.upload_responses(wid, frame, actor=_actor(user))
        except AcapInputError as exc:
            _problems(exc)
        else:
            st.success(f"Added {n} answers.")


def _exports(user) -> None:
    page_heading("Exports")
    wid, wave = _wave_picker()
    if wave is None:
        return
    s = context.store()
    bank = context.bank()
    st.markdown("Respondent-level answers, for analysis by the survey team only. Each row is one respondent "
                "identified by a random ID; they contain no names or e-mail addresses.")
    stem = f"acap-wave{wid}-responses"
    st.download_button("Answers (CSV)", lambda: s.export_responses(wid).to_csv(index=False).encode("utf-8-sig"),
                       file_name=f"{stem}.csv", mime="text/csv", on_click="ignore")
    st.download_button("Answers (Excel)", lambda: online.xlsx_bytes(s.export_responses(wid), bank),
                       file_name=f"{stem}.xlsx", on_click="ignore",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    st.download_button("Answers (SPSS .sav, with variable and value labels)",
                       lambda: online.sav_bytes(s.export_responses(wid), bank), file_name=f"{stem}.sav",
                       mime="application/octet-stream", on_click="ignore")
    st.download_button("Codebook (CSV)", lambda: online.codebook(bank).to_csv(index=False).encode("utf-8-sig"),
                       file_name=f"acap-{bank.version}-codebook.csv", mime="text/csv", on_click="ignore")


def _retention(user) -> None:
    page_heading("Retention")
    s = context.store()
    waves = s.waves()
    st.markdown("Each wave's answers and advice-network nominations are deleted on its retention date. "
                "Results already downloaded are not affected.")
    st.dataframe(online.retention_table(waves, s.due_for_purge()), hide_index=True, width="stretch")
    if waves.empty:
        return
    wid, wave = _wave_picker("Wave to purge", key="purge_pick")
    if wave is None:
        return
    sure = st.checkbox(f"Delete every answer and nomination of “{wave.title}” now. This cannot be undone.",
                       key="purge_sure")
    if st.button("Purge this wave", disabled=not sure, type="primary"):
        s.purge_wave(wid, actor=_actor(user))
        st.success(f"Purged “{wave.title}”.")


def _accounts(user) -> None:
    page_heading("Accounts and audit")
    s = context.store()
    orgs = s.organisations()
    with st.form("new_account", clear_on_submit=True):
        st.markdown("**Create an account**")
        username = st.text_input("User name (or e-mail for single sign-on)")
        password = st.text_input("Password (at least 12 characters; not needed for single sign-on)",
                                 type="password")
        role = st.selectbox("Role", ["admin", "lead", "consultant"],
                            format_func={"admin": "Administrator", "lead": "Organisation lead",
                                         "consultant": "Consultant"}.get)
        chosen = st.multiselect("Organisations (leads: their own; consultants: those assigned)",
                                [int(i) for i in orgs["id"]], format_func=dict(zip(orgs["id"], orgs["name"])).get)
        ok = st.form_submit_button("Create account")
    if ok:
        errors = []
        if not username.strip():
            errors.append("User name: please enter one.")
        if password and len(password) < 12:
            errors.append("Password: use at least 12 characters.")
        if not password and "@" not in username:
            errors.append("Password: a local account needs one (only single sign-on accounts, named by "
                          "e-mail address, may leave it blank).")
        if role == "lead" and len(chosen) != 1:
            errors.append("Organisations: an organisation lead has exactly one organisation.")
        if role == "consultant" and not chosen:
            errors.append("Organisations: assign at least one organisation to a consultant.")
        if errors:
            st.error(" ".join(errors))
        else:
            try:
                # A single sign-on account gets a random password nobody knows: it signs in through OIDC only.
                s.create_account(username.strip(), password or online.unusable_password(), role,
                                 organisations=tuple(chosen), actor=_actor(user))
            except AcapInputError as exc:
                st.error(str(exc))
            else:
                st.success(f"Created {username.strip()}.")
    st.subheader("Accounts")
    st.dataframe(s.accounts(), hide_index=True, width="stretch")
    st.subheader("Audit log")
    st.dataframe(s.audit_log(), hide_index=True, width="stretch")
