"""The questionnaire as a respondent sees it: consent, background, scales, sources, network, review.

Answers are kept in the store, page by page, as each page is left; the session only holds the
code and a copy of the answers. A reload, a closed browser or a server restart therefore loses
nothing: the same link opens the page where the respondent stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import streamlit as st

from acap.errors import AcapInputError
from acap.store import AlreadySubmitted, WaveClosed

from acap_app import context
from acap_app.ui import page_heading

CONSENT, BACKGROUND, NETWORK, REVIEW = "consent", "background", "network", "review"


@dataclass(frozen=True)
class Page:
    id: str
    title: str
    intro: str
    items: tuple  # (item id, label) pairs, in bank order
    response_scale: str | None = None
    required: bool = True


def pages_for(bank, network: bool) -> list[Page]:
    """The questionnaire's pages, built from the bank (and the wave's network module)."""
    out = [Page(CONSENT, "About this questionnaire", "", ()),
           Page(BACKGROUND, "About you", "", ())]
    for s in bank.scales:
        out.append(Page(s.id, s.label, "The statements describe your organisation, not you personally. "
                        "How far do you agree with each?",
                        tuple((it.id, it.text) for it in s.items), s.response_scale))
    if bank.sources:
        src = bank.sources
        out.append(Page("sources_gathered", "Knowledge your organisation gathers", src.gathered_stem,
                        tuple((x.gathered, x.label) for x in src.items), src.response_scale))
        out.append(Page("sources_used", "Knowledge that shapes decisions", src.used_stem,
                        tuple((x.used, x.label) for x in src.items), src.response_scale))
    if bank.conduits:
        c = bank.conduits
        out.append(Page("conduits", "How knowledge reaches you", c.stem,
                        tuple((x.id, x.label) for x in c.items), c.response_scale, required=not c.optional))
    if network:
        out.append(Page(NETWORK, "Whom you go to for advice", "", ()))
    out.append(Page(REVIEW, "Check and submit", "", ()))
    return out


# ---- session bookkeeping ------------------------------------------------------------------
def _ss():
    return st.session_state


def _load(code: str, inv, pages: list[Page]):
    """First visit in this session: copy the stored answers and resume at the stored page."""
    ss = _ss()
    if ss.get("r_code") == code:
        return
    ss["r_code"] = code
    ss["r_answers"] = dict(context.store().answers(code) or {})
    ss["r_answers"].update({k: v for k, v in (("role", inv.role), ("years_in_role", inv.years_in_role))
                            if v is not None})
    ids = [p.id for p in pages]
    ss["r_page"] = inv.page if inv.page in ids else ids[0]
    ss["r_started"] = inv.page is not None
    ss["r_noms"], ss["r_outside"] = {}, {}
    if inv.wave.network:
        noms, outside = context.store().nominations(code)
        ss["r_noms"] = dict(noms)
        ss["r_outside"] = {k: (v[0] if isinstance(v, tuple) else v) for k, v in outside.items()}


def _widget_value(key: str, default):
    return st.session_state.get(key, default)


# ---- pages --------------------------------------------------------------------------------
def run(code: str) -> None:
    """Render the respondent's current page for ``code``."""
    s = context.store()
    inv = s.invitation(code)
    if inv is None:
        page_heading("Link not recognised")
        st.error("This link or code is not recognised. Please check that you copied the whole link from "
                 "your invitation, or ask the person who invited you for a new one.")
        _forget()
        return
    wave = inv.wave
    if inv.status == "submitted":
        _thanks(wave, code, already=st.session_state.get("r_just_submitted") != code)
        return
    if not wave.accepting():
        if wave.opens is not None and date.today() < wave.opens and not wave.closed:
            page_heading("This questionnaire has not opened yet")
            st.info(f"Thank you for your interest. The questionnaire “{wave.title}” opens on "
                    f"{wave.opens:%d %B %Y}. Please use the same link then.")
        else:
            page_heading("This questionnaire has closed")
            st.info(f"Thank you for your interest. The questionnaire “{wave.title}” is now closed and no longer "
                    "accepts answers. Nothing you saved earlier has been lost; if you think it should still be "
                    "open, please contact the person who invited you.")
        return
    bank = context.bank()
    pages = pages_for(bank, wave.network)
    _load(code, inv, pages)
    ids = [p.id for p in pages]
    i = ids.index(st.session_state["r_page"])
    page = pages[i]
    _progress(i, pages)
    if page.id == CONSENT:
        _consent(code, pages, i)
    elif page.id == BACKGROUND:
        _background(code, inv, pages, i)
    elif page.id == NETWORK:
        _network(code, inv, pages, i)
    elif page.id == REVIEW:
        _review(code, wave, pages, i)
    else:
        _items_page(code, page, pages, i)


def _forget():
    for k in ("r_code", "r_answers", "r_page", "r_noms", "r_outside", "r_started", "code"):
        st.session_state.pop(k, None)


def _progress(i: int, pages: list[Page]) -> None:
    n = len(pages)
    st.progress(i / (n - 1), text=f"Page {i + 1} of {n}: {pages[i].title}")


def _go(pages, i, delta):
    st.session_state["r_page"] = pages[max(0, min(len(pages) - 1, i + delta))].id


def _save(code: str, page_id: str, answers: dict, background: dict | None = None) -> bool:
    """Save one page; False (with a message shown) when the store refuses."""
    try:
        context.store().save_page(code, page_id, answers, background)
    except WaveClosed:
        st.error("This questionnaire has just closed, so this page could not be saved.")
        return False
    except AlreadySubmitted:
        st.error("These answers have already been submitted and can no longer be changed.")
        return False
    except AcapInputError as exc:
        st.error(f"This page could not be saved: {exc}.")
        return False
    st.session_state["r_answers"].update(answers)
    if background:
        st.session_state["r_answers"].update(background)
    return True


def _nav(back: bool = True, next_label: str = "Save and continue"):
    """Back / next buttons, with a slot above them for the page's one error message."""
    slot = st.container()
    cols = st.columns([1, 1, 2]) if back else st.columns([1, 3])
    go_back = cols[0].button("Back", key="nav_back", width="stretch") if back else False
    go_next = cols[1 if back else 0].button(next_label, key="nav_next", type="primary", width="stretch")
    return go_back, go_next, slot


def _consent(code, pages, i):
    page_heading("About this questionnaire")
    bank = context.bank()
    st.markdown(
        f"This questionnaire, *{bank.title}*, asks how your organisation finds, makes sense of and uses "
        "knowledge from outside. It takes about 15 minutes. You can stop at any time: every page is saved "
        "when you leave it, and your personal link brings you back to where you stopped.")
    st.markdown("## How your answers are used")
    st.markdown(
        "- Your answers are stored against a code, not your name.\n"
        "- Your organisation sees only summaries of groups of people, and only when enough people have "
        "answered that no one can be singled out.\n"
        "- Nobody at your organisation can see your individual answers.\n"
        "- The answers are deleted on the retention date set for this survey wave.")
    agreed = bool(st.session_state.get("r_started"))
    ok = st.checkbox("I have read this and agree to take part", value=agreed, key="consent_box")
    _, go_next, slot = _nav(back=False, next_label="Start")
    if go_next:
        if not ok:
            slot.error("Please tick the box to say you agree to take part before you start.")
            return
        # Starting is the consent: the store records the first page saved (consent is its condition).
        if _save(code, pages[i + 1].id, {}):
            st.session_state["r_started"] = True
            _go(pages, i, +1)
            st.rerun()


def _background(code, inv, pages, i):
    page_heading("About you")
    bank = context.bank()
    org_name = inv.organisation
    st.markdown(f"**Your organisation:** {org_name}")
    st.caption("Your organisation comes from your personal link. If it is wrong, please tell the person who "
               "invited you before you go on.")
    saved = st.session_state["r_answers"]
    role_ids = [r.id for r in bank.roles]
    labels = {r.id: r.label for r in bank.roles}
    role_bg = next(b for b in bank.background if b.id == "role")
    role = st.radio(role_bg.label, role_ids, format_func=labels.get, key="bg_role",
                    index=role_ids.index(saved["role"]) if saved.get("role") in role_ids else None)
    years_bg = next((b for b in bank.background if b.id == "years_in_role"), None)
    years = None
    if years_bg is not None:
        prev = saved.get("years_in_role")
        years = st.number_input(f"{years_bg.label} (optional)", min_value=float(years_bg.min or 0),
                                max_value=float(years_bg.max or 60), step=0.5, key="bg_years",
                                value=float(prev) if prev is not None else None)
    go_back, go_next, slot = _nav()
    bg = {"role": role, "years_in_role": years}
    if go_back:
        if _save(code, pages[i - 1].id, {}, {k: v for k, v in bg.items() if v is not None}):
            _go(pages, i, -1)
            st.rerun()
    if go_next:
        if role is None:
            slot.error(f"Please answer before you continue: {role_bg.label}.")
            _save(code, pages[i].id, {}, {k: v for k, v in bg.items() if v is not None})
            return
        if _save(code, pages[i + 1].id, {}, {k: v for k, v in bg.items() if v is not None}):
            _go(pages, i, +1)
            st.rerun()


def _items_page(code, page: Page, pages, i):
    bank = context.bank()
    rs = bank.response_scales[page.response_scale]
    options = list(range(1, rs.points + 1)) + [rs.dont_know.code]
    labels = {**rs.labels, rs.dont_know.code: rs.dont_know.label}
    page_heading(page.title)
    if page.intro:
        st.markdown(page.intro)
    if not page.required:
        st.caption("The questions on this page are optional.")
    saved = st.session_state["r_answers"]
    values = {}
    for k, (iid, text) in enumerate(page.items, start=1):
        prev = saved.get(iid)
        prev = int(prev) if prev is not None and prev == prev else None
        values[iid] = st.radio(f"{k}. {text}", options, format_func=labels.get, horizontal=True,
                               index=options.index(prev) if prev in options else None, key=f"q_{iid}")
    go_back, go_next, slot = _nav()
    if go_back:
        if _save(code, pages[i - 1].id, values):
            _clear_widgets(page)
            _go(pages, i, -1)
            st.rerun()
    if go_next:
        missing = [f"question {k}" for k, (iid, _) in enumerate(page.items, start=1) if values[iid] is None]
        if page.required and missing:
            _save(code, page.id, {k: v for k, v in values.items() if v is not None})
            slot.error("Please answer every question on this page before you continue (choose "
                     f"“{rs.dont_know.label}” if you cannot say). Not yet answered: " + ", ".join(missing) + ".")
            return
        if _save(code, pages[i + 1].id, values):
            _clear_widgets(page)
            _go(pages, i, +1)
            st.rerun()


def _clear_widgets(page: Page):
    # Widget state is only a mirror of the saved answers; drop it so a revisit shows what is stored.
    for iid, _ in page.items:
        st.session_state.pop(f"q_{iid}", None)


def _network(code, inv, pages, i):
    from acap.network.model import FREQUENCY_LABELS, OUTSIDE_CATEGORIES

    page_heading("Whom you go to for advice")
    s = context.store()
    roster = s.roster(inv.wave_id, inv.organisation_id)
    st.markdown("Think about the last six months. Whom in your organisation do you go to for advice or "
                "information about commissioning decisions? Names are used only to link answers: results show "
                "codes such as P07, never names.")
    noms = st.session_state["r_noms"]
    names = dict(zip([int(x) for x in roster["id"]], roster["name"].astype(str)))
    me = inv.person_id
    chosen, freqs = [], {}
    if names:
        if me is None:
            ids = list(names)
            me = st.selectbox("First, which name on the list is yours?", ids, format_func=names.get, index=None,
                              key="net_me", placeholder="Choose your name")
        others = [p for p in names if p != me]
        chosen = st.multiselect("People you go to for advice (choose as many as apply)", others,
                                format_func=names.get, default=[p for p in noms if p in others], key="net_people",
                                placeholder="Type a name to search")
        freq_opts = list(FREQUENCY_LABELS)
        for p in chosen:
            prev = noms.get(p)
            freqs[p] = st.radio(f"How often do you go to {names[p]} for advice?", freq_opts,
                                format_func=FREQUENCY_LABELS.get, horizontal=True, key=f"net_f_{p}",
                                index=freq_opts.index(prev) if prev in freq_opts else None)
    else:
        st.info("No list of colleagues has been loaded for your organisation, so this part is skipped.")
    st.markdown("## Contacts outside your organisation")
    st.markdown("How many people in each of these kinds of organisation do you go to for advice? "
                "Enter 0 where there is no one.")
    outside = {}
    for cat, label in OUTSIDE_CATEGORIES.items():
        prev = st.session_state["r_outside"].get(cat)
        outside[cat] = st.number_input(label, min_value=0, max_value=200, step=1, key=f"net_o_{cat}",
                                       value=int(prev) if prev is not None else 0)
    go_back, go_next, slot = _nav()
    if not (go_back or go_next):
        return
    missing = [names[p] for p, f in freqs.items() if f is None]
    if go_next and names and me is None:
        slot.error("Please choose your own name on the list first, so that your answers can be linked.")
        return
    if go_next and missing:
        slot.error("Please say how often you go to: " + ", ".join(missing) + ".")
        return
    done = {p: int(f) for p, f in freqs.items() if f is not None}
    counts = {k: int(v or 0) for k, v in outside.items()}
    if names and me is not None:
        try:
            s.save_nominations(code, done, counts, person=me if inv.person_id is None else None)
        except AcapInputError as exc:
            slot.error(f"This page could not be saved: {exc}.")
            return
        st.session_state["r_noms"], st.session_state["r_outside"] = done, counts
    if _save(code, pages[i + (1 if go_next else -1)].id, {}):
        _go(pages, i, 1 if go_next else -1)
        st.rerun()


def _review(code, wave, pages, i):
    page_heading("Check and submit")
    bank = context.bank()
    saved = st.session_state["r_answers"]
    st.markdown("Here is how far you have got. You can go back to any page to change an answer. "
                "Once you submit, your answers can no longer be changed.")
    problems = []
    rows = []
    for p in pages:
        if not p.items:
            continue
        answered = sum(saved.get(iid) is not None for iid, _ in p.items)
        if p.required and answered < len(p.items):
            problems.append(p.title)
        rows.append((p, answered))
    if saved.get("role") is None:
        problems.insert(0, "About you")
    for p, answered in rows:
        c1, c2 = st.columns([3, 1])
        c1.markdown(f"**{p.title}**: {answered} of {len(p.items)} answered")
        if c2.button(f"Change {p.title.lower()}", key=f"goto_{p.id}"):
            st.session_state["r_page"] = p.id
            st.rerun()
    go_back, go_submit, slot = _nav(next_label="Submit my answers")
    if go_back:
        if _save(code, pages[i - 1].id, {}):
            _go(pages, i, -1)
            st.rerun()
    if go_submit:
        if problems:
            slot.error("Some pages still have questions without an answer: " + ", ".join(problems) +
                     ". Please complete them before you submit.")
            return
        try:
            context.store().submit(code)
        except AlreadySubmitted:
            slot.error("These answers were already submitted. Thank you.")
            return
        except WaveClosed:
            slot.error("This questionnaire closed before you submitted, so your answers could not be added.")
            return
        except AcapInputError as exc:
            slot.error(f"Your answers could not be submitted: {exc}.")
            return
        st.session_state["r_just_submitted"] = code
        st.rerun()


def _thanks(wave, code, already: bool):
    if already:
        page_heading("Your answers are already in")
        st.info("This link has already been used to submit answers, so it cannot be used again. Thank you for "
                "taking part.")
    else:
        page_heading("Thank you")
        st.success("Your answers have been submitted.")
    closes = getattr(wave, "closes", None)
    when = f" on {closes:%d %B %Y}" if closes else ""
    st.markdown("## What happens next")
    st.markdown(
        f"- When the survey closes{when}, your organisation's results are put together from everyone's answers.\n"
        f"- Results are shown only for groups of at least {getattr(wave, 'min_n', 5)} people, so no one's "
        "answers can be picked out.\n"
        "- Your organisation's lead receives a feedback report with its strengths, where knowledge is gathered "
        "but not used, and suggested actions.\n"
        "- You can close this page now.")
    with st.expander("See your own answers"):
        _own_answers(code)


def _own_answers(code):
    """The respondent's own answers (the one thing a respondent may see)."""
    bank = context.bank()
    saved = context.store().answers(code) or {}
    rows = []
    for iid, meta in bank.items.items():
        v = saved.get(iid)
        if v is None or v != v:
            shown = "not answered"
        else:
            rs = bank.response_scales[meta["response_scale"]]
            shown = rs.dont_know.label if int(v) == rs.dont_know.code else rs.labels.get(int(v), str(v))
        rows.append({"Question": meta["text"], "Your answer": shown})
    st.table(rows)
