"""Results pages: one organisation's ``OrganisationFeedback`` laid out, nothing re-derived.

Admins see every organisation; an organisation lead their own; a consultant those assigned.
Suppression is decided by the publication layer: a suppressed organisation or cell shows the
reason it carries, never a number.
"""

from __future__ import annotations


import pandas as pd
import streamlit as st

from acap_app import context
from acap_app.ui import page_heading, wave_choice


def _fmt_table(df: pd.DataFrame, columns: dict, digits: int = 2) -> pd.DataFrame:
    """Keep and rename the named columns; numbers rounded for reading."""
    keep = [c for c in columns if c in df.columns]
    out = df[keep].rename(columns=columns).copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(digits)
    return out


def page(user) -> None:
    page_heading("Results")
    wid, titles = wave_choice("Wave", key="res_wave")
    if wid is None:
        return
    ids = list(titles)
    res = context.wave_results(wid)
    names = [o for o in sorted(res.feedback) if user.may_see(o)]
    if not res.feedback:
        st.info("No answers have been submitted in this wave yet.")
        return
    if not names:
        st.info("None of your organisations has answers in this wave.")
        return
    org = st.selectbox("Organisation", names, key="res_org")
    fb = res.feedback[org]
    _show(fb)
    _previous(user, wid, org, fb, ids, titles)
    if user.role == "admin":
        _validation(wid)
    _reports(fb, wid, titles, org)


def _show(fb) -> None:
    st.header(fb.organisation, anchor=False)
    if fb.status != "shown":
        st.warning(f"Results for this organisation are not shown: {fb.reason}.")
        return
    rate = f", {fb.response_rate:.0%} of {fb.invited} invited" if fb.response_rate is not None else ""
    kind = f" Type: {fb.org_type}." if fb.org_type else ""
    st.markdown(f"**{fb.n} respondents**{rate}.{kind}")
    h = fb.headline
    c1, c2, c3 = st.columns(3)
    c1.metric("Potential ACAP (1-7)", _num(h.get("potential")))
    c2.metric("Realised ACAP (1-7)", _num(h.get("realised")))
    c3.metric("Realised / potential", _num(h.get("ratio")))
    if h.get("largest_gap_label"):
        st.markdown(f"Largest gap between knowledge gathered and used: **{h['largest_gap_label']}** "
                    f"({_num(h.get('largest_gap'))} points).")

    st.subheader("Scales", anchor=False)
    st.caption("Mean on 1-7 with its 95% confidence interval, the same on 0-100, and agreement within the "
               "organisation (rwg(j); .70 or more is usually taken as enough agreement to act on the mean).")
    st.dataframe(_fmt_table(fb.scales, {
        "label": "Scale", "n": "n", "mean": "Mean", "ci_low": "CI low", "ci_high": "CI high",
        "mean_100": "0-100", "rwg_j": "rwg(j)", "reason": "Not shown because"}), hide_index=True,
        width="stretch")

    if fb.peers is not None and len(fb.peers):
        st.subheader("Compared with peer organisations", anchor=False)
        peers = fb.peers.join(fb.scales[["label", "mean"]], how="left")
        st.dataframe(_fmt_table(peers, {"label": "Scale", "mean": "This organisation", "q1": "Peers: lower quartile",
                                        "median": "Peers: median", "q3": "Peers: upper quartile",
                                        "n_peers": "Peers", "group": "Peer group"}),
                     hide_index=True, width="stretch")

    st.subheader("Knowledge gathered and used", anchor=False)
    st.dataframe(_fmt_table(fb.gaps, {"label": "Source", "gathered": "Gathered", "used": "Used", "gap": "Gap"}),
                 hide_index=True, width="stretch")

    st.subheader("Role groups", anchor=False)
    roles = fb.roles.reset_index()
    cols = {"role_group": "Role group", "label": "Scale", "n": "n", "mean": "Mean", "sd": "SD",
            "reason": "Not shown because"}
    st.dataframe(_fmt_table(roles, cols), hide_index=True, width="stretch")

    with st.expander("Answers to each question"):
        shares = [c for c in fb.items.columns if c.startswith("share_")]
        t = fb.items[["label", "n", *shares]].copy()
        t[shares] = (t[shares] * 100).round(0)
        st.dataframe(t.rename(columns={"label": "Question", **{c: c.replace("share_", "% ") for c in shares}}),
                     hide_index=True, width="stretch")

    if fb.network is not None:
        _network(fb)


def _num(v) -> str:
    try:
        return "–" if v is None or pd.isna(v) else f"{float(v):.2f}"
    except (TypeError, ValueError):
        return str(v)


def _network(fb) -> None:
    net = fb.network
    st.subheader("Advice network", anchor=False)
    summ = net.summary.rename("value").to_frame()
    summ["value"] = pd.to_numeric(summ["value"], errors="coerce").round(3)
    st.dataframe(summ, width="stretch")
    svg = _sociogram_svg(fb)
    if svg is not None:
        st.image(svg, caption=f"Advice network of {fb.organisation}: each circle is a person (shown by a code, "
                 "not a name); arrows point to the person asked for advice.")
    st.dataframe(net.nodes, width="stretch")
    if len(net.outside):
        st.markdown("Contacts outside the organisation, by kind of organisation:")
        st.dataframe(net.outside, width="stretch")


def _sociogram_svg(fb):
    """The sociogram of the feedback report, as SVG."""
    from acap.report import network_svg

    return network_svg(fb)


def _previous(user, wid, org, fb, ids, titles) -> None:
    """The same organisation in the latest earlier wave, side by side (both from the publication layer)."""
    earlier = [w for w in ids if w < wid]
    for w in reversed(earlier):
        prev = context.wave_results(w).feedback.get(org)
        if prev is None:
            continue
        st.subheader(f"Change since {titles[w]}", anchor=False)
        if prev.status != "shown" or fb.status != "shown":
            st.info("A comparison needs results shown in both waves.")
            return
        both = fb.scales[["label", "mean", "ci_low", "ci_high"]].join(
            prev.scales[["mean", "ci_low", "ci_high"]], rsuffix="_prev")
        st.dataframe(_fmt_table(both, {"label": "Scale", "mean_prev": f"{titles[w]}: mean",
                                       "ci_low_prev": "CI low", "ci_high_prev": "CI high",
                                       "mean": f"{titles[wid]}: mean", "ci_low": "CI low ", "ci_high": "CI high "}),
                     hide_index=True, width="stretch")
        return


def _validation(wid) -> None:
    st.subheader("Validation report", anchor=False)
    st.markdown("The psychometric checks of the questionnaire (reliability, factor structure, agreement) "
                "over the respondents of organisations whose results are shown.")
    if st.button("Build the validation report", key="val_build"):
        from acap.report_html import render_html
        from acap.validate import validation_report

        with st.spinner("Building the report (this can take a minute)..."):
            with context.ANALYSIS_LOCK:
                frame = context.store().export_responses(wid)
                rep = validation_report(frame, bank=context.bank(), min_n=int(context.store().wave(wid).min_n))
                st.session_state[f"val_{wid}"] = render_html(rep)
    html = st.session_state.get(f"val_{wid}")
    if html:
        st.download_button("Download the validation report (HTML)", html.encode("utf-8"),
                           file_name=f"acap-wave{wid}-validation.html", mime="text/html", on_click="ignore")


def _reports(fb, wid, titles, org) -> None:
    if fb.status != "shown":
        return
    from acap import report

    st.subheader("Feedback report", anchor=False)
    st.download_button("Feedback report (PDF)", lambda: report.render_pdf(report.feedback(fb)),
                       file_name=f"acap-{org}.pdf", mime="application/pdf", on_click="ignore")
    st.download_button("Feedback report (HTML)", lambda: report.render_html(report.feedback(fb)).encode("utf-8"),
                       file_name=f"acap-{org}.html", mime="text/html", on_click="ignore")
