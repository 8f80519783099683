"""Which page a visitor sees: a respondent's link, the staff sign-in, or a staff page by role."""

from __future__ import annotations

import streamlit as st

from acap_app import auth, respondent
from acap_app.ui import forbidden, page_heading, setup_page

#: Staff sections and the roles allowed in each (leads and consultants see results only).
SECTIONS = {
    "Results": ("admin", "lead", "consultant"),
    "Waves and organisations": ("admin",),
    "Invitations": ("admin",),
    "Response rates": ("admin",),
    "Upload answers": ("admin",),
    "Exports": ("admin",),
    "Retention": ("admin",),
    "Accounts and audit": ("admin",),
}


def _take_code() -> None:
    """Move a code from the address bar into the session and clear it from the address bar."""
    code = st.query_params.get("code")
    if code:
        st.session_state["code"] = code.strip()
        for k in ("r_code", "r_answers", "r_page", "r_noms", "r_outside"):
            st.session_state.pop(k, None)
        del st.query_params["code"]


def run() -> None:
    setup_page()
    _take_code()
    code = st.session_state.get("code")
    if code:
        respondent.run(code)
        return
    user = auth.current_user()
    if user is None:
        _landing()
        return
    _staff(user)


def _landing() -> None:
    page_heading("acap questionnaire")
    st.markdown("If you were invited to answer the questionnaire, open the personal link in your invitation, "
                "or enter the code from it here.")
    with st.form("code_form"):
        code = st.text_input("Your code", help="The code is the part of your link after “code=”.")
        go = st.form_submit_button("Open the questionnaire", type="primary")
    if go:
        if not code.strip():
            st.error("Please enter the code from your invitation.")
        else:
            st.session_state["code"] = code.strip()
            st.rerun()
    st.divider()
    with st.expander("Staff sign-in"):
        auth.sign_in(heading=False)


def _staff(user: auth.User) -> None:
    from acap_app import admin, results

    allowed = [s for s, roles in SECTIONS.items() if user.role in roles]
    # A deep link (?section=...) names a section; one outside the user's role is refused.
    asked = st.query_params.get("section")
    if asked is not None:
        del st.query_params["section"]
        if asked not in allowed:
            st.session_state["denied"] = asked
        else:
            st.session_state["section"] = asked
    with st.sidebar:
        st.markdown(f"Signed in as **{user.name}** ({user.role})")
        section = st.radio("Section", allowed, key="section")
        st.button("Sign out", on_click=auth.sign_out)
    denied = st.session_state.pop("denied", None)
    if denied is not None:
        forbidden(f"“{denied}”" if denied in SECTIONS else "that page")
        return
    if section == "Results":
        results.page(user)
    else:
        admin.page(section, user)
