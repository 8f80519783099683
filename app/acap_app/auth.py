"""Who is signed in: a local account (argon2, checked by the store) or OIDC through ``st.login``.

Roles: ``admin`` (everything), ``lead`` (their own organisation's results), ``consultant`` (the
organisations assigned to them). Respondents never sign in: their link's code is their key.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from acap_app import context
from acap_app.ui import page_heading

ROLES = ("admin", "lead", "consultant")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    organisations: tuple = ()

    def may_see(self, organisation: str) -> bool:
        return self.role == "admin" or organisation in self.organisations


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all
        return False


def current_user() -> User | None:
    """The signed-in user, from the session (local account) or from the OIDC identity."""
    u = st.session_state.get("user")
    if u is not None:
        return u
    if _oidc_configured() and getattr(st.user, "is_logged_in", False):
        return _oidc_user()
    return None


def _oidc_user() -> User | None:
    """Map an OIDC identity (e-mail) to its account in the store; unknown identities get nothing."""
    email = str(st.user.get("email") or "").strip().lower()
    if not email:
        return None
    accounts = context.store().accounts()
    row = accounts[(accounts["username"].str.lower() == email) & accounts["active"]]
    if row.empty:
        return None
    r = row.iloc[0]
    return User(email, r["role"], tuple(_org_names(r["organisations"])))


def _org_names(orgs) -> list[str]:
    """Accounts may hold organisation ids or names; pages compare names."""
    table = context.store().organisations()
    names = dict(zip(table["id"], table["name"]))
    return [names.get(o, o) for o in orgs]


def sign_in(heading: bool = True) -> None:
    """The staff sign-in form (local accounts), plus the single sign-on button when configured."""
    if heading:
        page_heading("Staff sign-in")
    st.markdown("For administrators, organisation leads and consultants. If you were sent a link to answer the "
                "questionnaire, open that link instead.")
    if _oidc_configured():
        if getattr(st.user, "is_logged_in", False):
            st.error("Your single sign-on account has no acap role yet. Ask an administrator to add it.")
            st.button("Sign out", on_click=st.logout)
        else:
            st.button("Sign in with your organisation account", type="primary", on_click=st.login)
        st.markdown("Or use a local account:")
    with st.form("login"):
        username = st.text_input("User name", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        ok = st.form_submit_button("Sign in", type="primary")
    if ok:
        acct = context.store().login(username.strip(), password) if username.strip() and password else None
        if acct is None:
            st.error("The user name or password is not right. Please try again.")
            return
        st.session_state["user"] = User(acct.username, acct.role, tuple(_org_names(acct.organisations)))
        st.rerun()


def sign_out() -> None:
    st.session_state.pop("user", None)
    if _oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()
