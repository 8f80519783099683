"""Lay a :class:`~acap.report.model.Report` out as one self-contained, accessible HTML page.

The accessible twin of the PDF (ReportLab's open-source edition writes untagged PDF): the same
sections, figures and tables, with a language, one ``h1``, headings in order, a skip link and
contents, tables with captions and scoped headers, and charts as inline SVG with a title and a
text description (every figure's numbers are also in a table or its description). No external
resources; colours come from :mod:`acap.report.style` (text contrast at least 4.5:1).
"""

from __future__ import annotations

from html import escape

from acap.report.layout import ASPECT
from acap.report.model import Bullets, Chart, Heading, Paragraph, Report, Table
from acap.report.style import ANSWER_COLOURS, COLOURS, DARK_ANSWERS, DONT_KNOW_COLOUR

__all__ = ["render_html"]

_CSS = f"""
body {{ font-family: "DejaVu Sans", Verdana, Arial, sans-serif; color: {COLOURS['ink']}; margin: 0;
  line-height: 1.5; background: #fff; }}
main {{ max-width: 60rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }}
h1 {{ color: {COLOURS['accent']}; font-size: 1.9rem; margin-bottom: .3rem; }}
h2 {{ color: {COLOURS['accent']}; border-top: 2px solid {COLOURS['accent']}; padding-top: .6rem; margin-top: 2.2rem; }}
h3 {{ font-size: 1.05rem; margin: 1.2rem 0 .3rem; }}
.subtitle {{ font-size: 1.15rem; margin-top: 0; }}
.lead {{ font-size: 1.1rem; }}
.note {{ font-size: .9rem; color: {COLOURS['muted']}; }}
.callout {{ background: {COLOURS['faint']}; border-left: 4px solid {COLOURS['accent']}; padding: .6rem .9rem; }}
table {{ border-collapse: collapse; margin: .4rem 0 1.2rem; width: 100%; font-size: .92rem; }}
caption {{ text-align: left; font-weight: bold; padding: .3rem 0; }}
th, td {{ border-bottom: 1px solid {COLOURS['rule']}; padding: .3rem .45rem; text-align: left; vertical-align: top; }}
thead th {{ background: {COLOURS['accent']}; color: #fff; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
tr.emph th, tr.emph td {{ background: {COLOURS['highlight']}; }}
.cover th {{ width: 14rem; font-weight: normal; }}
figure {{ margin: 1rem 0 1.4rem; }}
figcaption {{ font-weight: bold; margin-bottom: .3rem; }}
svg {{ max-width: 100%; height: auto; display: block; }}
.legend {{ list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .3rem 1.2rem; font-size: .9rem; }}
.swatch {{ display: inline-block; width: 1rem; height: .8rem; margin-right: .35rem; vertical-align: middle;
  border: 1px solid {COLOURS['muted']}; }}
.skip {{ position: absolute; left: -999px; }} .skip:focus {{ left: 1rem; top: 1rem; background: #fff; padding: .3rem; }}
nav ol {{ columns: 2; }}
a {{ color: {COLOURS['accent']}; }}
footer {{ font-size: .85rem; color: {COLOURS['muted']}; border-top: 1px solid {COLOURS['rule']}; margin-top: 2rem;
  padding-top: .5rem; }}
"""

_FONT = 'font-family="DejaVu Sans, Verdana, Arial, sans-serif"'


def _e(text) -> str:
    return escape(str(text), quote=True)


class _Ids:
    def __init__(self):
        self.n = 0

    def __call__(self, stem: str) -> str:
        self.n += 1
        return f"{stem}-{self.n}"


def _svg(width: float, height: float, body: str, title: str, desc: str, ids: _Ids) -> str:
    t, d = ids("fig-title"), ids("fig-desc")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
            f'height="{height:.0f}" role="img" aria-labelledby="{t} {d}"><title id="{t}">{_e(title)}</title>'
            f'<desc id="{d}">{_e(desc)}</desc>{body}</svg>')


def _axis(x0, x1, y, top, lo, hi, ticks) -> str:
    out = [f'<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="{COLOURS["muted"]}"/>']
    for t in ticks:
        x = x0 + (t - lo) / (hi - lo) * (x1 - x0)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{y}" stroke="{COLOURS["faint"]}"/>'
                   f'<text x="{x:.1f}" y="{y + 16}" text-anchor="middle" font-size="12" {_FONT} '
                   f'fill="{COLOURS["muted"]}">{t}</text>')
    return "".join(out)


_W, _ROW_H, _TOP = 760, 30, 8


def _row_chart(ch: Chart, label_w: float):
    """Height, plot ends and scale of a one-row-per-label chart on the chart's axis."""
    lo, hi = ch.data["axis"]
    x0, x1 = label_w + 12, _W - 16
    return _TOP + _ROW_H * len(ch.data["rows"]) + 30, x0, x1, lambda v: x0 + (v - lo) / (hi - lo) * (x1 - x0)


def _intervals(ch: Chart, ids: _Ids) -> str:
    rows, (lo, hi), label_w = ch.data["rows"], ch.data["axis"], 260
    h, x0, x1, sx = _row_chart(ch, label_w)
    W, row_h, top = _W, _ROW_H, _TOP
    out = [_axis(x0, x1, top + row_h * len(rows), top, lo, hi, ch.data["ticks"])]
    for i, r in enumerate(rows):
        y = top + row_h * (i + 0.5)
        out.append(f'<text x="{label_w}" y="{y + 4:.1f}" text-anchor="end" font-size="13" {_FONT} '
                   f'fill="{COLOURS["ink"]}">{_e(r["label"])}</text>')
        if r.get("q1") is not None:
            out.append(f'<rect x="{sx(r["q1"]):.1f}" y="{y - 9:.1f}" width="{sx(r["q3"]) - sx(r["q1"]):.1f}" '
                       f'height="18" fill="{COLOURS["band"]}"/><line x1="{sx(r["median"]):.1f}" y1="{y - 10:.1f}" '
                       f'x2="{sx(r["median"]):.1f}" y2="{y + 10:.1f}" stroke="{COLOURS["median"]}" stroke-width="2"/>')
        if r.get("value") is None:
            out.append(f'<text x="{x0 + 6}" y="{y + 4:.1f}" font-size="12" font-style="italic" {_FONT} '
                       f'fill="{COLOURS["muted"]}">not shown: {_e(r.get("note") or "withheld")}</text>')
            continue
        out.append(f'<line x1="{sx(r["low"]):.1f}" y1="{y:.1f}" x2="{sx(r["high"]):.1f}" y2="{y:.1f}" '
                   f'stroke="{COLOURS["point"]}" stroke-width="2.5"/><circle cx="{sx(r["value"]):.1f}" cy="{y:.1f}" '
                   f'r="6" fill="{COLOURS["point"]}" stroke="#fff"/>')
    return _svg(W, h, "".join(out), ch.title, ch.alt, ids)


def _pairs(ch: Chart, ids: _Ids) -> str:
    rows, (lo, hi), label_w = ch.data["rows"], ch.data["axis"], 400
    h, x0, x1, sx = _row_chart(ch, label_w)
    W, row_h, top = _W, _ROW_H, _TOP
    out = []
    for i, r in enumerate(rows):
        if r.get("highlight"):
            out.append(f'<rect x="0" y="{top + row_h * i + 1}" width="{W}" height="{row_h - 2}" '
                       f'fill="{COLOURS["highlight"]}"/>')
    out.append(_axis(x0, x1, top + row_h * len(rows), top, lo, hi, ch.data["ticks"]))
    for i, r in enumerate(rows):
        y = top + row_h * (i + 0.5)
        weight = ' font-weight="bold"' if r.get("highlight") else ""
        out.append(f'<text x="{label_w}" y="{y + 4:.1f}" text-anchor="end" font-size="13"{weight} {_FONT} '
                   f'fill="{COLOURS["ink"]}">{_e(r["label"])}</text>')
        if r["a"] is None or r["b"] is None:
            continue
        out.append(f'<line x1="{sx(r["a"]):.1f}" y1="{y:.1f}" x2="{sx(r["b"]):.1f}" y2="{y:.1f}" '
                   f'stroke="{COLOURS["muted"]}" stroke-width="3"/>'
                   f'<circle cx="{sx(r["a"]):.1f}" cy="{y:.1f}" r="6.5" fill="{COLOURS["gathered"]}" '
                   f'stroke="{COLOURS["accent"]}"/><circle cx="{sx(r["b"]):.1f}" cy="{y:.1f}" r="6.5" '
                   f'fill="{COLOURS["used"]}" stroke="#fff"/>')
    return _svg(W, h, "".join(out), ch.title, ch.alt, ids)


def _sociogram(ch: Chart, ids: _Ids) -> str:
    W, H = 760, round(760 * ASPECT)
    nodes = ch.data["nodes"]
    out = [f'<rect x="0" y="0" width="{W}" height="{H}" fill="#fff" stroke="{COLOURS["rule"]}"/>']
    for a, b, w in ch.data["edges"]:
        na, nb = nodes[a], nodes[b]
        out.append(f'<line x1="{na["x"] * W:.1f}" y1="{(1 - na["y"]) * H:.1f}" x2="{nb["x"] * W:.1f}" '
                   f'y2="{(1 - nb["y"]) * H:.1f}" stroke="{COLOURS["edge"]}" stroke-opacity="0.55" '
                   f'stroke-width="{0.4 + 0.4 * w:.1f}"/>')
    for nd in nodes:
        x, y, r = nd["x"] * W, (1 - nd["y"]) * H, nd["r"] * W
        if nd["broker"]:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r + 3:.1f}" fill="none" stroke="{COLOURS["broker"]}" '
                       'stroke-width="4"/>')
        fill, text = (COLOURS["board"], "#fff") if nd["board"] else ("#fff", COLOURS["ink"])
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}" stroke="{COLOURS["ink"]}"/>'
                   f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle" font-size="11" font-weight="bold" '
                   f'{_FONT} fill="{text}">{_e(nd["label"])}</text>')
    return _svg(W, H, "".join(out), ch.title, ch.alt, ids)


def _bars(ch: Chart, ids: _Ids) -> str:
    rows = ch.data["rows"]
    W, label_w, row_h = 760, 220, 26
    vmax = max((r["value"] for r in rows), default=1) or 1
    span = W - label_w - 70
    out = []
    for i, r in enumerate(rows):
        y = row_h * i + 4
        bw = r["value"] / vmax * span
        out.append(f'<text x="{label_w}" y="{y + 14}" text-anchor="end" font-size="13" {_FONT} '
                   f'fill="{COLOURS["ink"]}">{_e(r["label"])}</text><rect x="{label_w + 10}" y="{y}" '
                   f'width="{bw:.1f}" height="18" fill="{COLOURS["bar"]}"/><text x="{label_w + 16 + bw:.1f}" '
                   f'y="{y + 14}" font-size="13" {_FONT} fill="{COLOURS["ink"]}">{r["value"]:.0f}</text>')
    return _svg(W, row_h * len(rows) + 8, "".join(out), ch.title, ch.alt, ids)


def _answer_bar(shares, label: str, points) -> str:
    out, x = [], 0.0
    for k, (v, col) in enumerate(zip(shares, ANSWER_COLOURS)):
        w = v * 300
        if w > 0:
            out.append(f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="20" fill="{col}" stroke="#fff" '
                       'stroke-width="0.5"/>')
            if v >= 0.09:
                fg = "#fff" if k in DARK_ANSWERS else COLOURS["ink"]
                out.append(f'<text x="{x + w / 2:.1f}" y="14" text-anchor="middle" font-size="11" {_FONT} '
                           f'fill="{fg}">{100 * v:.0f}</text>')
        x += w
    desc = ", ".join(f"{p.lower()} {100 * v:.0f}%" for p, v in zip(points, shares))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 20" width="300" height="20" role="img" '
            f'aria-label="{_e(label)}: {_e(desc)}">{"".join(out)}</svg>')


def _stacked(ch: Chart, ids: _Ids) -> str:
    points = ch.data["points"]
    legend = "".join(f'<li><span class="swatch" style="background:{c}"></span>{k + 1} {_e(p)}</li>'
                     for k, (p, c) in enumerate(zip(points, ANSWER_COLOURS)))
    legend += f'<li><span class="swatch" style="background:{DONT_KNOW_COLOUR}"></span>Don\'t know</li>'
    body = []
    for r in ch.data["rows"]:
        if r["shares"] is None:
            body.append(f'<tr><th scope="row">{_e(r["label"])}</th><td>not shown: {_e(r["note"])}</td><td></td></tr>')
        else:
            body.append(f'<tr><th scope="row">{_e(r["label"])}</th><td>{_answer_bar(r["shares"], r["label"], points)}'
                        f'</td><td class="num">{100 * r["dont_know"]:.0f}%</td></tr>')
    return (f'<ul class="legend" aria-label="Answer colours">{legend}</ul><div role="region" tabindex="0" '
            f'aria-label="{_e(ch.title)}"><table><caption>{_e(ch.title)}: answers to each statement (% of everyone '
            'answering it)</caption><thead><tr><th scope="col">Statement</th><th scope="col">Answers 1-7</th>'
            f'<th scope="col">Don\'t know</th></tr></thead><tbody>{"".join(body)}</tbody></table></div>')


_SWATCH = {"point": COLOURS["point"], "band": COLOURS["band"], "gathered": COLOURS["gathered"],
           "used": COLOURS["used"], "highlight": COLOURS["highlight"], "board": COLOURS["board"], "staff": "#ffffff",
           "broker": COLOURS["broker"], "size": "#ffffff"}


def _chart(ch: Chart, ids: _Ids) -> str:
    if ch.kind == "stacked":
        return f"<h3>{_e(ch.title)}</h3>" + _stacked(ch, ids)
    svg = {"intervals": _intervals, "pairs": _pairs, "sociogram": _sociogram, "bars": _bars}[ch.kind](ch, ids)
    legend = ""
    if ch.legend:
        legend = '<ul class="legend">' + "".join(
            f'<li><span class="swatch" style="background:{_SWATCH.get(k, "#fff")}"></span>{_e(t)}</li>'
            for k, t in ch.legend) + "</ul>"
    return f"<figure><figcaption>{_e(ch.title)}</figcaption>{svg}{legend}</figure>"


def _table(t: Table) -> str:
    numeric = t.numeric or (False,) * len(t.columns)
    head = "".join(f'<th scope="col">{_e(c)}</th>' for c in t.columns)
    body = []
    for i, row in enumerate(t.rows):
        cls = ' class="emph"' if i < len(t.emphasis) and t.emphasis[i] else ""
        cells = [f'<th scope="row">{_e(row[0])}</th>'] + [
            f'<td{" class=num" if numeric[j] else ""}>{_e(v)}</td>' for j, v in enumerate(row) if j > 0]
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return (f'<div role="region" tabindex="0" aria-label="{_e(t.caption)}"><table><caption>{_e(t.caption)}</caption>'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _block(b, ids: _Ids) -> str:
    if isinstance(b, Paragraph):
        return f'<p class="{b.kind}">{_e(b.text)}</p>'
    if isinstance(b, Heading):
        return f"<h3>{_e(b.text)}</h3>"
    if isinstance(b, Bullets):
        return "<ul>" + "".join(f"<li>{_e(x)}</li>" for x in b.items) + "</ul>"
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, Chart):
        return _chart(b, ids)
    raise TypeError(f"unknown block {type(b).__name__}")


def render_html(report: Report) -> str:
    """The report as one self-contained, accessible HTML page.

    Parameters
    ----------
    report : Report
        From :func:`acap.report.feedback`.

    Returns
    -------
    str
    """
    ids = _Ids()
    cover = "".join(f'<tr><th scope="row">{_e(k)}</th><td>{_e(v)}</td></tr>' for k, v in report.cover)
    toc = "".join(f'<li><a href="#{s.id}">{_e(s.title)}</a></li>' for s in report.sections)
    parts = []
    for i, s in enumerate(report.sections, 1):
        parts.append(f'<section aria-labelledby="{s.id}"><h2 id="{s.id}">{i}. {_e(s.title)}</h2>'
                     + "".join(_block(b, ids) for b in s.blocks) + "</section>")
    return (f'<!DOCTYPE html>\n<html lang="{_e(report.language)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="author" content="{_e(report.author)}"><title>{_e(report.title)}</title>'
            f"<style>{_CSS}</style></head><body><a class=\"skip\" href=\"#content\">Skip to the report</a>"
            f'<main id="content"><h1>{_e(report.title)}</h1><p class="subtitle">{_e(report.subtitle)}</p>'
            f'<table class="cover"><caption>About this report</caption><tbody>{cover}</tbody></table>'
            f'<nav aria-label="Contents"><h2 id="contents">Contents</h2><ol>{toc}</ol></nav>{"".join(parts)}'
            f"<footer>{_e(report.footer)}</footer></main></body></html>\n")


def network_svg(fb) -> str | None:
    """The organisation's sociogram as a self-contained SVG (as in the reports), or None without network data.

    For pages that show the network on its own (the app's results page).

    Parameters
    ----------
    fb : OrganisationFeedback

    Returns
    -------
    str or None
    """
    from acap.report.build import feedback

    for section in feedback(fb).sections:
        for block in getattr(section, "blocks", ()):
            if getattr(block, "kind", None) == "sociogram":
                return _sociogram(block, _Ids())
    return None
