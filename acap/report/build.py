"""Build one organisation's feedback report from its ``OrganisationFeedback``.

:func:`feedback` reads only the organisation's ``OrganisationFeedback`` (and, when given, the
one from the previous wave): whatever the publication layer withheld is not there to show, so
suppression holds by construction. It computes no statistic: the change since the previous
wave comes from :mod:`acap.change`, cut-offs from :mod:`acap.thresholds`; here numbers are only
compared with those cut-offs, ranked and put into words.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from acap.change import scale_change
from acap.report.model import Bullets, Chart, Heading, Paragraph, Report, Section, Table
from acap.thresholds import THRESHOLDS

__all__ = ["feedback"]

_PROCESS, _COORD = "process", "coordination"
_FAMILY_TITLE = {_PROCESS: "The ACAP process", _COORD: "Co-ordination capabilities"}
_ROLE_LABELS = {"board": "Board", "clinical": "Clinical", "managerial": "Managerial", "analytical": "Analytical",
                "lay_partner": "Lay and partner", "other": "Other roles", "not stated": "Role not stated"}
_OUTSIDE_LABELS = {"gp_practices": "GP practices", "nhs_trusts_acute": "NHS trusts (acute)",
                   "community_providers": "Community providers", "local_authority": "Local authority",
                   "public_health": "Public health", "regional_nhs": "Regional NHS", "voluntary_sector": "Voluntary sector",
                   "academia": "Universities and research", "other": "Other"}
_AGREE_POINTS = ("Strongly disagree", "Disagree", "Slightly disagree", "Neither", "Slightly agree", "Agree",
                 "Strongly agree")
_EXTENT_POINTS = ("Not at all", "Very little", "A little", "To some extent", "Quite a lot", "A great deal",
                  "A very great deal")

# Concrete actions, in our own words, for each co-ordination capability that is a development area.
_ACTIONS = {
    "distributed_leadership": (
        "Name an evidence lead in each directorate and on each place committee, not one person for the "
        "whole organisation.",
        "Rotate who presents the evidence for a business case between clinical, managerial, lay and partner "
        "members.",
        "Ask each committee chair to record which evidence shaped a decision and who brought it."),
    "knowledge_systems": (
        "Keep one shared, searchable store of the evidence, data packs and evaluations used in decisions.",
        "Give analysts and library or knowledge services a standing place in commissioning teams.",
        "Agree with system partners how data and evaluations are shared, so they do not stay in one team."),
    "learning_relationships": (
        "Set up regular joint sessions with trusts, the local authority, public health and the voluntary sector "
        "on one shared priority.",
        "Build a link with a university or research collaboration that commissioners can call on.",
        "Pair teams across organisations to visit and learn from services elsewhere."),
    "staff_development": (
        "Fund training in finding and appraising evidence and in reading local data for commissioning staff.",
        "Protect time for learning, and count it in objectives.",
        "Use improvement methods training on a live project rather than as a course alone."),
    "organisational_strategy": (
        "Write into the strategy and business-case template that evidence must be shown, and of which kinds.",
        "Choose a few priorities each year where evidence use is reviewed by the board.",
        "Report back to the board when evidence changed, or did not change, a decision."),
    "participation": (
        "Give GPs, patient representatives and partners seats with a real say where decisions are made.",
        "Hold cross-functional forums before, not after, options are settled.",
        "Tell participants what changed because of their input."),
}
_GENERIC_ACTIONS = ("Agree one owner and one measurable step for this capability, and review it at the next wave.",)
_GAP_ACTIONS = {
    "patient_public": ("Put a short summary of what patients and the public said in every business case, with "
                       "what changed because of it.",
                       "Involve patient representatives before a pilot is scaled up, not only at its start."),
    "research": ("Ask for a one-page summary of research on effectiveness and cost-effectiveness with each "
                 "option appraisal.",),
    "guidance": ("List the national guidance that applies in each service specification and say how it is met.",),
    "local_data": ("Bring analysts into decision meetings so local data is read with the decision, not after it.",),
    "clinical_experience": ("Give frontline clinicians a structured way to feed their experience into "
                            "specifications and pilot reviews.",),
    "social_care": ("Make joint decisions with local-authority and social-care colleagues at the options stage.",),
    "other_organisations": ("When copying practice from elsewhere, write down what must be adapted and check it "
                            "after a set time.",),
}
_GENERIC_GAP_ACTIONS = ("Say in each business case how this kind of knowledge was weighed, and check at the next "
                        "wave whether it shapes decisions more.",)


# ---- formatting (text only: the numbers themselves come from the feedback) ---------------------------


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or (
        not isinstance(v, str) and pd.isna(v))


def _f(v, digits: int = 2) -> str:
    return "–" if _missing(v) else f"{float(v):.{digits}f}"


def _ci(lo, hi, digits: int = 2) -> str:
    return "–" if _missing(lo) or _missing(hi) else f"{float(lo):.{digits}f} to {float(hi):.{digits}f}"


def _pct(v) -> str:
    return "–" if _missing(v) else f"{100 * float(v):.0f}%"


def _signed(v, digits: int = 2) -> str:
    return "–" if _missing(v) else f"{float(v):+.{digits}f}".replace("-", "−")


def _join(words: list[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _reason(row) -> str:
    r = row.get("reason") if hasattr(row, "get") else None
    return r if isinstance(r, str) and r.strip() else "withheld to protect respondents"


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[~frame["suppressed"].astype(bool)] if "suppressed" in frame else frame


def _family(sc: pd.DataFrame, family: str) -> pd.DataFrame:
    return sc[sc["family"] == family]


# ---- sections ----------------------------------------------------------------------------------------


def _cover(fb) -> tuple[tuple[str, str], ...]:
    m = fb.meta
    rows = [("Organisation", fb.organisation), ("Type", fb.org_type or "not recorded")]
    if getattr(m, "wave", None):
        rows.append(("Survey wave", str(m.wave)))
    rows.append(("Results dated", str(m.date)))
    if fb.status == "shown":
        rows += [("People invited", "not recorded" if fb.invited is None else str(fb.invited)),
                 ("People who answered", str(fb.n)),
                 ("Response rate", "not known (invited count not given)" if fb.response_rate is None
                  else _pct(fb.response_rate))]
    else:
        rows.append(("Results", f"withheld: {fb.reason or 'too few respondents'}"))
    rows.append(("Questionnaire", f"{m.bank} version {m.bank_version}"))
    return tuple(rows)


def _strengths_and_areas(fb) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scales at or above the strength cut-off, and co-ordination capabilities that are development areas."""
    sc = _shown(fb.scales)
    core = sc[sc["family"].isin([_PROCESS, _COORD])]
    strong = core[core["mean"] >= THRESHOLDS["strength"]["value"]].sort_values("mean", ascending=False)
    coord = _family(core, _COORD)
    q1 = fb.peers["q1"].reindex(coord.index) if len(fb.peers) else pd.Series(np.nan, index=coord.index)
    weak = coord[(coord["mean"] < THRESHOLDS["development_area"]["value"]) | (coord["mean"] < q1)]
    return strong, weak.sort_values("mean")


def _large_gaps(fb) -> pd.DataFrame:
    g = fb.gaps.dropna(subset=["gap"])
    return g[g["gap"] >= THRESHOLDS["large_gap"]["value"]].sort_values("gap", ascending=False)


def _summary(fb, change: pd.DataFrame | None, previous) -> Section:
    sc = _shown(fb.scales)
    core = sc[sc["family"].isin([_PROCESS, _COORD])]
    strong, weak = _strengths_and_areas(fb)
    blocks: list = []
    rate = "" if fb.response_rate is None else f" ({_pct(fb.response_rate)} of the {fb.invited} invited)"
    blocks.append(Paragraph(
        f"{fb.n} people in {fb.organisation} answered the questionnaire{rate}. Each statement describes the "
        "organisation, and answers run from 1 (strongly disagree) to 7 (strongly agree); scores are shown on "
        "that 1-7 scale and on 0-100 (1 = 0, 4 = 50, 7 = 100).", "lead"))
    blocks.append(Heading("Strongest areas"))
    if len(strong):
        blocks.append(Bullets(tuple(f"{r.label}: {_f(r.mean)} out of 7 ({_f(r.mean_100, 0)}/100)"
                                    for r in strong.head(4).itertuples())))
    else:
        top = core.sort_values("mean", ascending=False).head(2)
        blocks.append(Paragraph(
            f"No scale reaches {THRESHOLDS['strength']['value']} out of 7. The highest are "
            + _join([f"{r.label} ({_f(r.mean)})" for r in top.itertuples()]) + "."))
    blocks.append(Heading("Areas to develop"))
    if len(weak):
        blocks.append(Bullets(tuple(f"{r.label}: {_f(r.mean)} out of 7 ({_f(r.mean_100, 0)}/100)"
                                    for r in weak.itertuples())))
        blocks.append(Paragraph("The Recommendations section suggests actions for each of these co-ordination capabilities."))
    else:
        low = _family(core, _COORD).sort_values("mean").head(2)
        blocks.append(Paragraph(
            "No co-ordination capability is below the development cut-off "
            f"({THRESHOLDS['development_area']['value']} out of 7, or below most peers). The lowest are "
            + _join([f"{r.label} ({_f(r.mean)})" for r in low.itertuples()]) + "."))
    h = fb.headline
    blocks.append(Heading("Taking knowledge in and putting it to use"))
    if not _missing(h.get("potential")) and not _missing(h.get("realised")):
        blocks.append(Paragraph(
            f"Potential absorptive capacity (recognising, acquiring and making sense of outside knowledge) is "
            f"{_f(h['potential'])} out of 7; realised absorptive capacity (combining it with what is known and "
            f"using it) is {_f(h['realised'])}. The ratio of realised to potential is {_f(h['ratio'])}: "
            + ("the organisation uses less than it takes in." if h["ratio"] < 1 else
               "the organisation puts to use at least as much as it takes in.")))
    if not _missing(h.get("largest_gap")):
        label = h.get("largest_gap_label") or "one knowledge source"
        blocks.append(Paragraph(
            f"The widest gap between knowledge gathered and knowledge that shapes decisions is for "
            f"{label}: {_f(h['largest_gap'])} points on the 7-point scale."))
    blocks.append(Heading("How far people agree"))
    rwg = core["rwg_j"].dropna()
    cut = THRESHOLDS["rwg_j"]["value"]
    low = core[core["rwg_j"] < cut]
    text = (f"People agreed with one another (rwg(j) of {cut:.2f} or more) on {int((rwg >= cut).sum())} of "
            f"{len(rwg)} scales.")
    if len(low):
        text += (" On " + _join(list(low["label"])) + " views differ widely, so the average hides real "
                 "differences: discuss them before acting on the score.")
    blocks.append(Paragraph(text))
    blocks.append(Heading("Since the last survey"))
    if change is None:
        blocks.append(Paragraph("This is the organisation's first survey wave here, so there is no change to "
                                "report yet."))
    else:
        moved = change[change["larger_than_uncertainty"].fillna(False).astype(bool)]
        if len(moved):
            blocks.append(Paragraph(
                "Changes larger than their uncertainty: " + _join(
                    [f"{fb.scales.loc[s, 'label']} ({'up' if r.change > 0 else 'down'} {_f(abs(r.change))})"
                     for s, r in moved.iterrows()]) + "."))
        else:
            blocks.append(Paragraph("No scale changed by more than its uncertainty since the previous wave."))
    return Section("summary", "Summary", tuple(blocks))


def _peer_text(fb) -> str:
    if not len(fb.peers):
        return ("Peer comparison is not shown: it needs at least 5 other organisations with published results.")
    grp = fb.peers["group"].iloc[0]
    n = int(fb.peers["n_peers"].max())
    who = (f"the {n} other organisations of the same type ({fb.org_type})" if grp == "type"
           else f"the {n} other organisations with published results")
    return (f"The grey band shows where the middle half of {who} lie (lower to upper quartile) and the dark "
            "tick their median.")


def _position(mean, q1, q3) -> str:
    if _missing(q1) or _missing(mean):
        return "no peer comparison"
    if mean < q1:
        return "below most peers"
    if mean > q3:
        return "above most peers"
    return "in the middle half"


def _interval_rows(fb, frame: pd.DataFrame) -> list[dict]:
    rows = []
    for s, r in frame.iterrows():
        p = fb.peers.loc[s] if s in fb.peers.index else None
        rows.append(dict(label=r["label"], value=None if r["suppressed"] else float(r["mean"]),
                         low=None if r["suppressed"] else float(r["ci_low"]),
                         high=None if r["suppressed"] else float(r["ci_high"]),
                         q1=None if p is None else float(p["q1"]), median=None if p is None else float(p["median"]),
                         q3=None if p is None else float(p["q3"]),
                         note=_reason(r) if r["suppressed"] else ""))
    return rows


def _profile(fb) -> Section:
    sc = fb.scales
    blocks: list = [Paragraph(
        "Each dot is the organisation's average on a scale, with a line showing its 95% confidence interval: "
        "the range the true average very probably lies in, given how many people answered. " + _peer_text(fb)
        + (" With few respondents the interval is wide: a difference from peers is firm only when the whole "
           "interval lies outside the grey band." if len(fb.peers) else ""))]
    table_rows, emph = [], []
    for fam in (_PROCESS, _COORD):
        part = _family(sc, fam)
        if not len(part):
            continue
        rows = _interval_rows(fb, part)
        blocks.append(Chart(
            "intervals", _FAMILY_TITLE[fam],
            f"{_FAMILY_TITLE[fam]}: average and 95% confidence interval of each scale on 1-7"
            + (" against the peers' middle half" if len(fb.peers) else "") + ". "
            + "; ".join(f"{r['label']} {_f(r['value'])} ({_ci(r['low'], r['high'])})" for r in rows) + ".",
            dict(axis=(1, 7), ticks=tuple(range(1, 8)), rows=rows),
            legend=(("point", "Organisation average, with 95% confidence interval"),)
            + ((("band", "Middle half of peers (quartiles), tick = median"),) if len(fb.peers) else ())))
        for s, r in part.iterrows():
            p = fb.peers.loc[s] if s in fb.peers.index else None
            if r["suppressed"]:
                table_rows.append((r["label"], "not shown", "", "", "", _reason(r)))
            else:
                table_rows.append((r["label"], _f(r["mean"]), _ci(r["ci_low"], r["ci_high"]), _f(r["mean_100"], 0),
                                   "–" if p is None else f"{_f(p['median'])} ({_f(p['q1'])} to {_f(p['q3'])})",
                                   "–" if p is None else _position(r["mean"], p["q1"], p["q3"])))
            emph.append(p is not None and not r["suppressed"] and r["mean"] < p["q1"])
    blocks.append(Table("Scale averages, 95% confidence intervals and peers",
                        ("Scale", "Average (1-7)", "95% CI", "0-100", "Peers: median (quartiles)", "Compared with peers"),
                        tuple(table_rows), tuple(emph), (False, True, True, True, True, False),
                        (2.8, 1.4, 1.8, 1.0, 2.6, 2.0)))
    return Section("profile", "Absorptive-capacity profile", tuple(blocks))


def _potential_realised(fb) -> Section:
    comp = _family(fb.scales, "composite").reindex([s for s in ("potential", "realised") if s in fb.scales.index])
    h = fb.headline
    blocks: list = [Paragraph(
        "Potential absorptive capacity is how well the organisation recognises the value of outside knowledge, "
        "acquires it and makes sense of it. Realised absorptive capacity is how well it combines that knowledge "
        "with what it knows and applies it in business cases, specifications, contracts and pilots. An "
        "organisation can be good at the first and still fall short on the second.")]
    if len(comp):
        rows = _interval_rows(fb, comp)
        blocks.append(Chart("intervals", "Potential and realised absorptive capacity",
                            "Potential and realised absorptive capacity on 1-7 with 95% confidence intervals: "
                            + "; ".join(f"{r['label']} {_f(r['value'])} ({_ci(r['low'], r['high'])})" for r in rows)
                            + ".", dict(axis=(1, 7), ticks=tuple(range(1, 8)), rows=rows),
                            legend=(("point", "Organisation average, with 95% confidence interval"),)
                            + ((("band", "Middle half of peers, tick = median"),) if len(fb.peers) else ())))
        blocks.append(Table("Potential and realised absorptive capacity",
                            ("Measure", "Average (1-7)", "95% CI", "0-100"),
                            tuple((r["label"], _f(r["mean"]), _ci(r["ci_low"], r["ci_high"]), _f(r["mean_100"], 0))
                                  if not r["suppressed"] else (r["label"], "not shown", "", _reason(r))
                                  for _, r in comp.iterrows()),
                            numeric=(False, True, True, True), widths=(3.0, 1.5, 2.0, 1.0)))
    if not _missing(h.get("ratio")):
        blocks.append(Paragraph(
            f"Ratio of realised to potential: {_f(h['ratio'])}. A ratio below 1 means that knowledge taken in is "
            "not all turned into decisions and services; the Recommendations section aims at closing that "
            "difference.", "callout"))
    return Section("potential", "Potential and realised absorptive capacity", tuple(blocks), new_page=False)


def _sources(fb) -> Section:
    g = fb.gaps
    large = set(_large_gaps(fb).index)
    cut = THRESHOLDS["large_gap"]["value"]
    blocks: list = [Paragraph(
        "For each kind of knowledge, people said how much the organisation gathers it and how much it actually "
        "shapes commissioning decisions (1 = not at all, 7 = a very great deal). Where gathering runs well "
        "ahead of use, knowledge is collected but not acted on: the research behind this questionnaire found "
        "this most often for patient and public involvement and for decisions to scale up pilots. "
        f"Gaps of {cut:.1f} point or more are highlighted.")]
    order = g.sort_values("gap", ascending=False, na_position="last")
    rows = [dict(label=r["label"], a=None if _missing(r["gathered"]) else float(r["gathered"]),
                 b=None if _missing(r["used"]) else float(r["used"]), highlight=s in large)
            for s, r in order.iterrows()]
    blocks.append(Chart("pairs", "Knowledge gathered and used",
                        "Knowledge sources, how much each is gathered and how much it is used, on 1-7: "
                        + "; ".join(f"{r['label']} gathered {_f(r['a'])}, used {_f(r['b'])}" for r in rows) + ".",
                        dict(axis=(1, 7), ticks=tuple(range(1, 8)), rows=rows, a="Gathered", b="Used"),
                        legend=(("gathered", "Gathered"), ("used", "Used in decisions"),
                                ("highlight", f"Gap of {cut:.1f} point or more"))))
    blocks.append(Table("Knowledge sources: gathered, used and the gap",
                        ("Knowledge source", "Gathered (1-7)", "Used (1-7)", "Gap (gathered − used)"),
                        tuple((r["label"], _f(r["gathered"]), _f(r["used"]), _signed(r["gap"]))
                              for _, r in order.iterrows()),
                        tuple(s in large for s in order.index), (False, True, True, True), (4.2, 1.4, 1.4, 1.8)))
    return Section("sources", "Knowledge sources: gathered against used", tuple(blocks))


def _agreement(fb) -> Section:
    cut = THRESHOLDS["rwg_j"]["value"]
    sc = fb.scales[fb.scales["family"].isin([_PROCESS, _COORD, "composite"])]
    rows, emph = [], []
    for _, r in sc.iterrows():
        if r["suppressed"] or _missing(r["rwg_j"]):
            rows.append((r["label"], "–", "not shown" if r["suppressed"] else "not computed"))
            emph.append(False)
            continue
        ok = r["rwg_j"] >= cut
        rows.append((r["label"], _f(r["rwg_j"]), "agree" if ok else "views differ: read the average with care"))
        emph.append(not ok)
    blocks = (Paragraph(
        "An average only describes the organisation when its people see it in a similar way. rwg(j) measures "
        "that agreement, from 0 (answers as scattered as if given at random) to 1 (everyone gave the same "
        f"answers). Below {cut:.2f} views differ widely: the average hides real differences between people, "
        "so talk about why before acting on the score (the role-group section may show where views part)."),
        Table("Agreement within the organisation (rwg(j))", ("Scale", "rwg(j)", "Reading"), tuple(rows),
              tuple(emph), (False, True, False), (3.6, 1.2, 4.6)))
    return Section("agreement", "How far people agree", blocks)


def _roles(fb) -> Section:
    r = fb.roles
    scales = [s for s in fb.scales.index if fb.scales.loc[s, "family"] in (_PROCESS, _COORD)]
    groups = list(dict.fromkeys(r.index.get_level_values(0)))
    cut = fb.meta.min_n
    blocks: list = [Paragraph(
        f"Averages by role group, each shown only when at least {cut} people of the group answered; other cells "
        "are left out, and so is any cell from which a left-out one could be worked out.")]
    shown_any = len(r) and not r["suppressed"].astype(bool).all()
    if not shown_any:
        blocks.append(Paragraph(
            f"No role group is shown: every group had fewer than {cut} people answering, or showing it would let a "
            "smaller group's answers be worked out.", "callout"))
        return Section("roles", "Role groups", tuple(blocks), new_page=False)
    rows = []
    reasons = {}
    for s in scales:
        cells = [fb.scales.loc[s, "label"]]
        for g in groups:
            if (g, s) not in r.index:
                cells.append("–")
                continue
            row = r.loc[(g, s)]
            if row["suppressed"]:
                mark = "*" * (list(reasons).index(_reason(row)) + 1 if _reason(row) in reasons else len(reasons) + 1)
                reasons.setdefault(_reason(row), mark)
                cells.append(f"not shown{reasons[_reason(row)]}")
            else:
                cells.append(_f(row["mean"]))
        rows.append(tuple(cells))
    blocks.append(Table("Scale averages (1-7) by role group",
                        ("Scale", *[_ROLE_LABELS.get(g, str(g).replace("_", " ").capitalize()) for g in groups]),
                        tuple(rows), numeric=(False, *[True] * len(groups)),
                        widths=(3.2, *[1.3] * len(groups))))
    if reasons:
        blocks.append(Paragraph(" ".join(f"{m} Not shown: {why}." for why, m in reasons.items()), "note"))
    return Section("roles", "Role groups", tuple(blocks), new_page=False)


def _items(fb) -> Section:
    it = fb.items
    blocks: list = [Paragraph(
        "How people answered each statement, as a percentage of everyone who answered it: the coloured bar "
        "shows the answers from 1 to 7, and the grey bar at the right the share who said they did not know or "
        "that it did not apply. Many "
        "'don't know' answers point to something people cannot see, itself worth acting on.")]
    fam_of = fb.scales["family"].to_dict()
    # knowledge-source items go together (gathered, used); items outside every scale last
    key = it["scale"].map(lambda s: fam_of.get(s) if fam_of.get(s) in ("gathered", "used") else s)
    titles = {"gathered": "Knowledge gathered", "used": "Knowledge used in decisions"}
    for s in dict.fromkeys(key):
        part = it[key == s] if s is not None and not _missing(s) else it[key.isna()]
        label = (titles.get(s) or (fb.scales.loc[s, "label"] if s in fb.scales.index else None)
                 or "How knowledge reaches the organisation")
        points = _EXTENT_POINTS if s in titles else _AGREE_POINTS
        rows = []
        for _, r in part.iterrows():
            shares = [r.get(f"share_{k}") for k in range(1, 8)]
            if bool(r.get("suppressed", False)) or any(_missing(v) for v in shares):
                rows.append(dict(label=r["label"], shares=None, dont_know=None, n=None, note=_reason(r)))
                continue
            rows.append(dict(label=r["label"], shares=[float(v) for v in shares],
                             dont_know=float(r["share_dont_know"]), n=None if _missing(r["n"]) else int(r["n"]),
                             note=""))
        blocks.append(Chart(
            "stacked", label,
            f"{label}: answers to each statement. " + " ".join(
                f"'{x['label']}': " + (x["note"] if x["shares"] is None else
                                       ", ".join(f"{p.lower()} {_pct(v)}" for p, v in zip(points, x["shares"]))
                                       + f"; don't know {_pct(x['dont_know'])}.") for x in rows),
            dict(points=points, rows=rows)))
    return Section("items", "Answers to each statement", tuple(blocks))


def _network(fb) -> Section | None:
    net = fb.network
    if net is None:
        return None
    from acap.report.layout import sociogram_data

    s = net.summary
    blocks: list = [Paragraph(
        "Who goes to whom for advice on commissioning decisions. Each circle is one person on the roster, "
        "labelled with a code (not their name); a line joins two people when one goes to the other for advice, "
        "thicker when more often. Filled blue circles are board members, white circles other staff. Bigger "
        "circles are people more colleagues go to. Orange rings mark brokers: people who link colleagues who "
        "would otherwise not be connected, so a lot of advice passes through them.")]
    data = sociogram_data(net, _ROLE_LABELS)
    blocks.append(Chart("sociogram", "Advice network",
                        f"Advice network of {data['n']} people with {data['n_ties']} advice ties. "
                        f"Board members: {_join(data['board_labels']) or 'none'}. "
                        f"Brokers: {_join(data['broker_labels']) or 'none'}.",
                        data, legend=(("board", "Board member"), ("staff", "Other staff"),
                                      ("broker", "Broker (links otherwise separate colleagues)"),
                                      ("size", "Bigger circle: more colleagues come for advice"))))
    facts = []
    for key, label, fmt in (("n_nodes", "People on the roster", "int"), ("response_rate", "Answered the network questions", "pct"),
                            ("density", "Density: share of all possible advice ties that exist", "pct"),
                            ("board_density", "Board density: the same among board members", "pct"),
                            ("reciprocity", "Ties that run both ways", "pct")):
        if key in s.index and not _missing(s[key]):
            v = s[key]
            facts.append((label, str(int(v)) if fmt == "int" else _pct(v)))
    peers = getattr(net, "peers", None)
    if peers is not None and len(peers) and "board_density" in peers.index:
        p = peers.loc["board_density"]
        facts.append(("Board density of peers: median (quartiles)",
                      f"{_pct(p['median'])} ({_pct(p['q1'])} to {_pct(p['q3'])})"))
    elif "board_density" in s.index:
        facts.append(("Board density of peers", "not shown: fewer than 5 peer networks"))
    blocks.append(Table("The advice network in figures", ("Measure", "Value"), tuple(facts), numeric=(False, True),
                        widths=(6.0, 2.0)))
    blocks.append(Paragraph(
        "For comparison, the two commissioning boards studied by Zachariadis and colleagues (BMJ Open 2013) had "
        "board densities of 74% and 62%. A dense board shares advice widely; a sparse one relies on a few people.",
        "note"))
    if data["brokers"]:
        blocks.append(Table("Brokers: people advice passes through most", ("Person", "Role group", "Board member",
                                                                          "Come to them for advice"),
                            tuple(data["brokers"]), numeric=(False, False, False, True), widths=(1.5, 2.5, 1.5, 2.5)))
    out = getattr(net, "outside", None)
    if out is not None and len(out):
        col = "ties" if "ties" in out.columns else out.columns[0]
        rows = [dict(label=_OUTSIDE_LABELS.get(k, str(k).replace("_", " ").capitalize()), value=float(v))
                for k, v in out[col].items()]
        blocks.append(Chart("bars", "Outside contacts by kind of organisation",
                            "Advice contacts outside the organisation by category: "
                            + "; ".join(f"{r['label']} {int(r['value'])}" for r in rows) + ".",
                            dict(rows=rows, unit="contacts")))
    return Section("network", "Advice network", tuple(blocks))


def _change(fb, previous, change: pd.DataFrame) -> Section:
    sc = fb.scales
    keep = [s for s in change.index if sc.loc[s, "family"] in (_PROCESS, _COORD, "composite")]
    rows, emph = [], []
    for s in keep:
        r = change.loc[s]
        verdict = r["larger_than_uncertainty"]
        if _missing(verdict):
            rows.append((sc.loc[s, "label"], _f(r["before"]), _f(r["now"]), "–", "–", "not available in both waves"))
            emph.append(False)
            continue
        rows.append((sc.loc[s, "label"], _f(r["before"]), _f(r["now"]), _signed(r["change"]),
                     _ci(r["ci_low"], r["ci_high"]).replace("-", "−"),
                     ("up" if r["change"] > 0 else "down") + ", larger than its uncertainty" if verdict
                     else "within its uncertainty"))
        emph.append(bool(verdict))
    wave = getattr(previous.meta, "wave", None) or "the previous wave"
    blocks = (Paragraph(
        f"Each scale's average now against {wave} ({previous.meta.date}). A change is larger than its "
        "uncertainty when its 95% confidence interval does not include zero; a smaller change may be chance: "
        "different people answering, or too few of them."),
        Table(f"Change since {wave}", ("Scale", "Before", "Now", "Change", "95% CI of change", "Reading"),
              tuple(rows), tuple(emph), (False, True, True, True, True, False), (2.7, 1.1, 0.9, 1.1, 1.8, 2.7)))
    return Section("change", "Change since the previous wave", blocks)


def _recommendations(fb) -> Section:
    _, weak = _strengths_and_areas(fb)
    gaps = _large_gaps(fb)
    blocks: list = [Paragraph(
        "Suggestions for the board to discuss, one group for each co-ordination capability that is a development "
        "area and each knowledge source gathered much more than it is used. They are starting points: choose "
        "what fits local circumstances, name an owner and check progress at the next survey wave.")]
    for s, r in weak.iterrows():
        blocks.append(Heading(f"{r['label']} ({_f(r['mean'])} out of 7)"))
        blocks.append(Bullets(_ACTIONS.get(s, _GENERIC_ACTIONS)))
    for s, r in gaps.iterrows():
        blocks.append(Heading(f"{r['label']}: gathered {_f(r['gathered'])}, used {_f(r['used'])}"))
        blocks.append(Bullets(_GAP_ACTIONS.get(s, _GENERIC_GAP_ACTIONS)))
    if not len(weak) and not len(gaps):
        blocks.append(Paragraph("No co-ordination capability is a development area and no knowledge source has a "
                                "large gap. Keep what works, and look at the lowest-scoring statements in "
                                "'Answers to each statement' for smaller improvements."))
    return Section("recommendations", "Recommendations", tuple(blocks))


def _methods(fb) -> Section:
    m = fb.meta
    keys = ("rwg_j", "icc1", "icc2", "change", "strength", "development_area", "large_gap")
    blocks: list = [
        Heading("Scoring"),
        Paragraph("Each respondent's scale score is the average of the statements they answered on that scale "
                  "(reverse-worded statements turned round; 'don't know' counts as not answered, and a score "
                  "needs enough of the scale's statements). The organisation's score is the average of its "
                  "respondents' scores; 0-100 is (score − 1) / 6 × 100. Potential absorptive capacity combines "
                  "recognising value, acquisition and assimilation; realised combines transformation and "
                  "exploitation."),
        Heading("Confidence intervals"),
        Paragraph("95% confidence intervals use the t distribution with n − 1 degrees of freedom; when the "
                  "number invited is known, the standard error has a finite-population correction, so an "
                  "organisation where most people answered gets a narrower interval. Changes since the previous "
                  "wave use the two waves' standard errors with Welch's degrees of freedom."),
        Heading("Agreement and reliability"),
        Paragraph("rwg(j) compares the spread of answers within the organisation with the spread expected if "
                  "people answered at random (LeBreton and Senter 2008). ICC(1) is the share of answer variation "
                  "that lies between organisations; ICC(2) is how reliably the organisation averages tell "
                  "organisations apart (Bliese 2000). Both are computed over the organisations with published "
                  "results only."),
    ]
    icc = fb.icc.reindex([s for s in fb.scales.index if fb.scales.loc[s, "family"] in (_PROCESS, _COORD, "composite")
                          and s in fb.icc.index])
    if len(icc) and fb.status == "shown":
        blocks.append(Table("Between-organisation reliability (ICC) of each scale", ("Scale", "ICC(1)", "ICC(2)"),
                            tuple((fb.scales.loc[s, "label"], _f(r["icc1"], 3), _f(r["icc2"], 2))
                                  for s, r in icc.iterrows()), numeric=(False, True, True), widths=(4.0, 1.5, 1.5)))
    blocks.append(Table("Cut-offs used in this report", ("Statistic", "Rule", "Source"),
                        tuple((THRESHOLDS[k]["statistic"], THRESHOLDS[k]["rule"], THRESHOLDS[k]["source"])
                              for k in keys), widths=(2.6, 3.4, 3.4)))
    override = (f" This run was asked to use a minimum of {m.min_n}, below the usual 5: treat its small cells "
                "with extra care." if getattr(m, "min_n_override", False) else "")
    blocks += [
        Heading("Protecting respondents"),
        Paragraph(f"No result is shown for fewer than {m.min_n} people: an organisation, role group or statement "
                  "below that number is left out, and so is any further cell from which a left-out one could be "
                  "worked out by subtraction. Peer comparisons use only organisations whose results are "
                  "published and are shown only when at least 5 peers exist. People in the advice network are "
                  "shown by code, never by name, and role groups with few people are merged." + override),
        Heading("Questionnaire and software"),
        Paragraph(f"Questionnaire: {m.bank} item bank, version {m.bank_version}. Analysis: acap {m.acap_version}, "
                  f"results dated {m.date}. The statements are written for acap; the constructs follow Zahra and "
                  "George (2002), Todorova and Durisin (2007) and the co-ordination capabilities studied in "
                  "English commissioning by Currie and colleagues (2018)."),
        Heading("How to cite"),
        Paragraph(f"{fb.organisation}. Absorptive capacity feedback report"
                  + (f", {m.wave}" if getattr(m, "wave", None) else "")
                  + f". acap {m.acap_version}, item bank {m.bank} {m.bank_version}; {m.date}."),
    ]
    return Section("methods", "Methods", tuple(blocks))


def _withheld(fb) -> Section:
    return Section("withheld", "Results withheld", (
        Paragraph(f"No results are shown for {fb.organisation}: {fb.reason or 'too few people answered'}. "
                  "Showing averages from so few people could reveal how individuals answered.", "callout"),
        Paragraph("To receive a full report at the next wave, invite more people across the board, clinical, "
                  "managerial and partner roles, and send a reminder before the survey closes."),
    ), new_page=False)


def feedback(current, previous=None) -> Report:
    """Build the feedback report for one organisation.

    Parameters
    ----------
    current : OrganisationFeedback
        What may be published about the organisation in this wave
        (:func:`acap.publish.feedback_for`).
    previous : OrganisationFeedback, optional
        The same organisation in the previous wave; adds the change section.

    Returns
    -------
    Report
        Cover facts and numbered sections of headings, paragraphs, tables and chart data,
        every number formatted, ready for :func:`acap.report.render_pdf` or
        :func:`acap.report.render_html`. A suppressed organisation gets a short report saying
        its results are withheld and why, with the methods section.
    """
    fb = current
    meta = fb.meta
    if fb.status != "shown":
        sections = (_withheld(fb), _methods(fb))
    else:
        change = None
        if previous is not None and previous.status == "shown":
            change = scale_change(fb.scales[["n", "mean", "ci_low", "ci_high"]].where(~fb.scales["suppressed"].astype(bool)),
                                  previous.scales[["n", "mean", "ci_low", "ci_high"]].where(
                                      ~previous.scales["suppressed"].astype(bool)))
        parts = [_summary(fb, change, previous), _profile(fb), _potential_realised(fb), _sources(fb), _agreement(fb),
                 _roles(fb), _items(fb), _network(fb),
                 _change(fb, previous, change) if change is not None else None,
                 _recommendations(fb), _methods(fb)]
        sections = tuple(s for s in parts if s is not None)
    wave = f" · {meta.wave}" if getattr(meta, "wave", None) else ""
    return Report(
        title=f"Absorptive capacity feedback: {fb.organisation}",
        subtitle=f"How the organisation takes in outside knowledge and puts it to use{wave}",
        author=f"acap {meta.acap_version}", language="en-GB", organisation=fb.organisation, status=fb.status,
        cover=_cover(fb), sections=sections,
        footer=f"{fb.organisation} · acap feedback report · {meta.date}",
        keywords=("absorptive capacity", "commissioning", "feedback"))
