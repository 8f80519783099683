"""Small rendering helpers shared by the pages (layout only, no results logic)."""

from __future__ import annotations

import streamlit as st

# Narrow screens: keep the page padding small and let long radio labels wrap.
_CSS = """
<style>
@media (max-width: 640px) {
  .block-container { padding-left: 1rem; padding-right: 1rem; padding-top: 2rem; }
}
div[role="radiogroup"] label p { white-space: normal; }
/* Streamlit's captions are a pale grey (below 4.5:1); NHS secondary text colour instead. */
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
[data-testid="stWidgetLabel"] [data-testid="stCaptionContainer"] { color: #4C6272 !important; opacity: 1 !important; }
</style>
"""


def setup_page() -> None:
    st.html(_CSS)


def page_heading(text: str) -> None:
    """The page's one top-level heading."""
    st.title(text, anchor=False)


def forbidden(what: str = "this page") -> None:
    page_heading("Not permitted")
    st.error(f"Your account does not give access to {what}. If you need it, ask an administrator.")


def wave_choice(label: str = "Wave", key: str = "wave_pick") -> tuple[int | None, dict]:
    """Choose a wave, newest first; returns (id or None when there is none, {id: title})."""
    from acap_app import context

    waves = context.store().waves()
    if waves.empty:
        st.info("There are no waves yet.")
        return None, {}
    ids = [int(i) for i in waves["id"]]
    titles = dict(zip(ids, waves["title"]))
    return st.selectbox(label, ids, format_func=lambda i: f"{titles[i]} (wave {i})", key=key), titles
