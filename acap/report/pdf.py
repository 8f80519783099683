"""Lay a :class:`~acap.report.model.Report` out as an A4 PDF with ReportLab.

Charts are drawn with ReportLab's own graphics (vector, small and fast: no rasterised images),
text is set in DejaVu Sans embedded in the file (the font ships with matplotlib), and the
document's title, author, subject and language are set. ``reportlab.rl_config.invariant`` is
on, so the same report gives the same bytes. ReportLab's open-source edition writes untagged
PDF: :func:`acap.report.render_html` is the accessible twin.
"""

from __future__ import annotations

import io
from pathlib import Path

from reportlab import rl_config

rl_config.invariant = 1  # no creation date or random document ID: same input, same bytes
rl_config.shapeChecking = 0  # our shapes are built right; attribute validation was a third of the time

from reportlab.graphics.shapes import STATE_DEFAULTS, Circle, Drawing, Group, Line, Rect, String  # noqa: E402
from reportlab.lib import colors  # noqa: E402
from reportlab.lib.enums import TA_LEFT  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.styles import ParagraphStyle  # noqa: E402
from reportlab.lib.units import mm  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.pdfmetrics import stringWidth  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402
from reportlab.platypus import (BaseDocTemplate, CondPageBreak, Frame, KeepTogether, NextPageTemplate,  # noqa: E402
                                PageBreak, PageTemplate, Spacer)
from reportlab.platypus import Paragraph as RLParagraph  # noqa: E402
from reportlab.platypus import Table as RLTable  # noqa: E402
from reportlab.platypus import TableStyle  # noqa: E402
from reportlab.platypus.flowables import Flowable  # noqa: E402
from xml.sax.saxutils import escape  # noqa: E402

from acap.report.layout import ASPECT  # noqa: E402
from acap.report.model import Bullets, Chart, Heading, Paragraph, Report, Table  # noqa: E402
from acap.report.style import ANSWER_COLOURS, COLOURS, DARK_ANSWERS, DONT_KNOW_COLOUR  # noqa: E402

__all__ = ["render_pdf"]

_FONT, _BOLD, _ITALIC = "DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique"
PAGE_W, PAGE_H = A4
MARGIN = 18 * mm
WIDTH = PAGE_W - 2 * MARGIN


def _register_fonts() -> None:
    if _FONT in pdfmetrics.getRegisteredFontNames():
        return
    import matplotlib

    here = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    debian = Path("/usr/share/fonts/truetype/dejavu")
    for name, file in ((_FONT, "DejaVuSans.ttf"), (_BOLD, "DejaVuSans-Bold.ttf"), (_ITALIC, "DejaVuSans-Oblique.ttf")):
        path = here / file if (here / file).exists() else debian / file
        pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(_FONT, normal=_FONT, bold=_BOLD, italic=_ITALIC, boldItalic=_BOLD)
    # drawings start from this state; left at Helvetica it would be named in every page's fonts
    STATE_DEFAULTS["fontName"] = _FONT


def _c(key: str):
    return colors.HexColor(COLOURS.get(key, key))


def _styles() -> dict:
    ink = _c("ink")
    base = dict(fontName=_FONT, textColor=ink, alignment=TA_LEFT)
    return {
        "title": ParagraphStyle("title", fontName=_BOLD, fontSize=24, leading=29, textColor=_c("accent"), spaceAfter=8),
        "subtitle": ParagraphStyle("subtitle", fontSize=13, leading=17, spaceAfter=18, **base),
        "h1": ParagraphStyle("h1", fontName=_BOLD, fontSize=16, leading=20, textColor=_c("accent"), spaceBefore=4,
                             spaceAfter=8),
        "h2": ParagraphStyle("h2", fontName=_BOLD, fontSize=11.5, leading=15, textColor=ink, spaceBefore=8,
                             spaceAfter=4),
        "body": ParagraphStyle("body", fontSize=10, leading=14, spaceAfter=6, **base),
        "lead": ParagraphStyle("lead", fontSize=11.5, leading=16, spaceAfter=8, **base),
        "note": ParagraphStyle("note", fontSize=8.5, leading=11.5, spaceAfter=6, fontName=_FONT,
                               textColor=_c("muted")),
        "callout": ParagraphStyle("callout", fontSize=10, leading=14, spaceAfter=8, spaceBefore=4, borderPadding=7,
                                  backColor=_c("faint"), borderColor=_c("rule"), borderWidth=0.5, leftIndent=7,
                                  rightIndent=7, **base),
        "bullet": ParagraphStyle("bullet", fontSize=10, leading=14, leftIndent=14, bulletIndent=3, spaceAfter=3,
                                 bulletFontName=_FONT, **base),
        "cell": ParagraphStyle("cell", fontSize=8.5, leading=10.5, **base),
        "cellnum": ParagraphStyle("cellnum", fontSize=8.5, leading=10.5, fontName=_FONT, textColor=ink,
                                  alignment=2),
        "head": ParagraphStyle("head", fontSize=8.5, leading=10.5, fontName=_BOLD, textColor=colors.white),
        "caption": ParagraphStyle("caption", fontName=_BOLD, fontSize=9.5, leading=12, textColor=ink, spaceBefore=6,
                                  spaceAfter=4),
        "cover": ParagraphStyle("cover", fontSize=11, leading=15, **base),
    }


def _p(text: str, style) -> RLParagraph:
    return RLParagraph(escape(text), style)


class _Bookmark(Flowable):
    """Zero-size flowable that adds a PDF outline entry where it lands."""

    def __init__(self, key: str, title: str):
        super().__init__()
        self.key, self.title = key, title
        self.width = self.height = 0

    def draw(self):
        self.canv.bookmarkPage(self.key)
        self.canv.addOutlineEntry(self.title, self.key, level=0)


# ---- charts ----------------------------------------------------------------------------------------


def _wrap(text: str, font: str, size: float, width: float, max_lines: int = 2) -> list[str]:
    words, lines, cur = text.split(), [], ""
    for w in words:
        trial = f"{cur} {w}".strip()
        if stringWidth(trial, font, size) <= width or not cur:
            cur = trial
        else:
            lines.append(cur)
            cur = w
    lines.append(cur)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        while stringWidth(lines[-1] + "…", font, size) > width and " " in lines[-1]:
            lines[-1] = lines[-1].rsplit(" ", 1)[0]
        lines[-1] += "…"
    return lines


def _axis(d: Drawing, x0: float, x1: float, y: float, lo: float, hi: float, ticks, top: float, fmt=str) -> None:
    def sx(v):
        return x0 + (v - lo) / (hi - lo) * (x1 - x0)

    d.add(Line(x0, y, x1, y, strokeColor=_c("muted"), strokeWidth=0.6))
    for t in ticks:
        d.add(Line(sx(t), y, sx(t), top, strokeColor=_c("faint"), strokeWidth=0.6))
        d.add(Line(sx(t), y - 3, sx(t), y, strokeColor=_c("muted"), strokeWidth=0.6))
        d.add(String(sx(t), y - 12, fmt(t), fontName=_FONT, fontSize=8, fillColor=_c("muted"), textAnchor="middle"))


_ROW_H, _TOP_PAD, _BOTTOM = 24, 6, 24


def _row_chart(ch: Chart, label_w: float):
    """Drawing, height, scale and row centre of a one-row-per-label chart on the chart's axis."""
    rows = ch.data["rows"]
    lo, hi = ch.data["axis"]
    h = _BOTTOM + _ROW_H * len(rows) + _TOP_PAD
    x0, x1 = label_w + 8, WIDTH - 12

    def sx(v):
        return x0 + (v - lo) / (hi - lo) * (x1 - x0)

    def row_y(i):
        return h - _TOP_PAD - _ROW_H * (i + 0.5)

    return Drawing(WIDTH, h), h, x0, x1, sx, row_y


def _row_label(d: Drawing, text: str, y: float, width: float, bold: bool = False) -> None:
    lines = _wrap(text, _FONT, 8.5, width)
    for k, line in enumerate(lines):
        d.add(String(width, y - 3 + (len(lines) - 1) * 5 - 10 * k, line, fontName=_BOLD if bold else _FONT,
                     fontSize=8.5, fillColor=_c("ink"), textAnchor="end"))


def _chart_intervals(ch: Chart) -> Drawing:
    rows, label_w = ch.data["rows"], 175
    d, h, x0, x1, sx, row_y = _row_chart(ch, label_w)
    _axis(d, x0, x1, _BOTTOM, *ch.data["axis"], ch.data["ticks"], h - _TOP_PAD)
    for i, r in enumerate(rows):
        y = row_y(i)
        _row_label(d, r["label"], y, label_w)
        if r.get("q1") is not None:
            d.add(Rect(sx(r["q1"]), y - 7, sx(r["q3"]) - sx(r["q1"]), 14, fillColor=_c("band"), strokeColor=None))
            d.add(Line(sx(r["median"]), y - 8, sx(r["median"]), y + 8, strokeColor=_c("median"), strokeWidth=1.6))
        if r.get("value") is None:
            d.add(String(x0 + 4, y - 3, "not shown: " + (r.get("note") or "withheld"), fontName=_ITALIC, fontSize=8,
                         fillColor=_c("muted")))
            continue
        d.add(Line(sx(r["low"]), y, sx(r["high"]), y, strokeColor=_c("point"), strokeWidth=1.8))
        for end in (r["low"], r["high"]):
            d.add(Line(sx(end), y - 3.5, sx(end), y + 3.5, strokeColor=_c("point"), strokeWidth=1.2))
        d.add(Circle(sx(r["value"]), y, 4.2, fillColor=_c("point"), strokeColor=colors.white, strokeWidth=0.8))
    return d


def _chart_pairs(ch: Chart) -> Drawing:
    rows, label_w = ch.data["rows"], 190
    d, h, x0, x1, sx, row_y = _row_chart(ch, label_w)
    for i, r in enumerate(rows):
        if r.get("highlight"):
            d.add(Rect(0, row_y(i) - _ROW_H / 2 + 1, WIDTH, _ROW_H - 2, fillColor=_c("highlight"), strokeColor=None))
    _axis(d, x0, x1, _BOTTOM, *ch.data["axis"], ch.data["ticks"], h - _TOP_PAD)
    for i, r in enumerate(rows):
        y = row_y(i)
        _row_label(d, r["label"], y, label_w, bold=bool(r.get("highlight")))
        if r["a"] is None or r["b"] is None:
            d.add(String(x0 + 4, y - 3, "not shown", fontName=_ITALIC, fontSize=8, fillColor=_c("muted")))
            continue
        d.add(Line(sx(r["a"]), y, sx(r["b"]), y, strokeColor=_c("muted"), strokeWidth=2))
        d.add(Circle(sx(r["a"]), y, 4.6, fillColor=_c("gathered"), strokeColor=_c("accent"), strokeWidth=0.8))
        d.add(Circle(sx(r["b"]), y, 4.6, fillColor=_c("used"), strokeColor=colors.white, strokeWidth=0.8))
    return d


def _legend(items, width: float = WIDTH) -> Drawing:
    # lay the entries out in rows that fit the width
    placed, x, line = [], 0.0, 0
    for key, text in items:
        w = 20 + stringWidth(text, _FONT, 8) + 14
        if x > 0 and x + w - 14 > width:
            x, line = 0.0, line + 1
        placed.append((key, text, x, line))
        x += w
    d = Drawing(width, 16 * (line + 1))
    for key, text, x, row in placed:
        d2 = Group()
        _legend_entry(d2, key, text, x)
        d2.translate(0, 16 * (line - row))
        d.add(d2)
    return d


def _legend_entry(d: Drawing, key: str, text: str, x: float) -> None:
    if True:
        if key == "band":
            d.add(Rect(x, 3, 16, 9, fillColor=_c("band"), strokeColor=None))
            d.add(Line(x + 8, 2, x + 8, 13, strokeColor=_c("median"), strokeWidth=1.4))
        elif key == "highlight":
            d.add(Rect(x, 2, 16, 11, fillColor=_c("highlight"), strokeColor=_c("rule"), strokeWidth=0.4))
        elif key == "size":
            d.add(Circle(x + 4, 7.5, 3, fillColor=colors.white, strokeColor=_c("ink"), strokeWidth=0.8))
            d.add(Circle(x + 12, 7.5, 5, fillColor=colors.white, strokeColor=_c("ink"), strokeWidth=0.8))
        elif key == "broker":
            d.add(Circle(x + 8, 7.5, 5, fillColor=colors.white, strokeColor=_c("broker"), strokeWidth=2.2))
        elif key == "staff":
            d.add(Circle(x + 8, 7.5, 5, fillColor=colors.white, strokeColor=_c("ink"), strokeWidth=0.8))
        elif key in ("gathered", "used", "point", "board"):
            d.add(Circle(x + 8, 7.5, 4.5, fillColor=_c(key), strokeColor=_c("accent"), strokeWidth=0.6))
        else:
            d.add(Rect(x, 3, 16, 9, fillColor=_c(key), strokeColor=None))
        d.add(String(x + 20, 4, text, fontName=_FONT, fontSize=8, fillColor=_c("ink")))


def _answer_legend(points) -> Drawing:
    d = Drawing(WIDTH, 28)
    seg = (WIDTH - 70) / 7
    for k, (p, col) in enumerate(zip(points, ANSWER_COLOURS)):
        x = k * seg
        d.add(Rect(x, 14, seg - 2, 10, fillColor=colors.HexColor(col), strokeColor=None))
        d.add(String(x + (seg - 2) / 2, 3, f"{k + 1} {p}", fontName=_FONT, fontSize=6.6, fillColor=_c("ink"),
                     textAnchor="middle"))
    x = 7 * seg + 6
    d.add(Rect(x, 14, 60, 10, fillColor=colors.HexColor(DONT_KNOW_COLOUR), strokeColor=None))
    d.add(String(x + 30, 3, "Don't know", fontName=_FONT, fontSize=6.6, fillColor=_c("ink"), textAnchor="middle"))
    return d


def _bar(shares, width: float, height: float = 13) -> Drawing:
    d = Drawing(width, height)
    x = 0.0
    for k, (v, col) in enumerate(zip(shares, ANSWER_COLOURS)):
        w = v * width
        if w <= 0:
            continue
        d.add(Rect(x, 0, w, height, fillColor=colors.HexColor(col), strokeColor=colors.white, strokeWidth=0.3))
        if v >= 0.09:
            d.add(String(x + w / 2, 3.6, f"{100 * v:.0f}", fontName=_FONT, fontSize=6.8, textAnchor="middle",
                         fillColor=colors.white if k in DARK_ANSWERS else _c("ink")))
        x += w
    return d


def _dk_bar(v: float, width: float, height: float = 13) -> Drawing:
    d = Drawing(width, height)
    d.add(Rect(0, 0, width - 22, height, fillColor=_c("faint"), strokeColor=None))
    d.add(Rect(0, 0, max(v, 0) * (width - 22), height, fillColor=colors.HexColor(DONT_KNOW_COLOUR), strokeColor=None))
    d.add(String(width, 3.6, f"{100 * v:.0f}%", fontName=_FONT, fontSize=6.8, textAnchor="end", fillColor=_c("ink")))
    return d


def _chart_stacked(ch: Chart, st) -> list:
    bar_w, dk_w = 190, 62
    label_w = WIDTH - bar_w - dk_w - 12
    head = [_p("Statement", st["head"]), _p("Answers 1-7 (% of everyone answering)", st["head"]),
            _p("Don't know", st["head"])]
    data = [head]
    for r in ch.data["rows"]:
        if r["shares"] is None:
            data.append([_p(r["label"], st["cell"]), _p("not shown: " + r["note"], st["note"]), ""])
        else:
            data.append([_p(r["label"], st["cell"]), _bar(r["shares"], bar_w), _dk_bar(r["dont_know"], dk_w)])
    t = RLTable(data, colWidths=[label_w, bar_w + 6, dk_w + 6], repeatRows=1)
    t.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), _FONT), 
        ("BACKGROUND", (0, 0), (-1, 0), _c("accent")), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 1), (-1, -1), 0.3, _c("rule")), ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
    return [KeepTogether([_p(ch.title, st["caption"]), _answer_legend(ch.data["points"]), t])]


def _chart_sociogram(ch: Chart) -> Drawing:
    data = ch.data
    w = WIDTH
    h = WIDTH * ASPECT
    d = Drawing(w, h)
    d.add(Rect(0, 0, w, h, fillColor=None, strokeColor=_c("rule"), strokeWidth=0.5))
    nodes = data["nodes"]

    def xy(nd):
        return nd["x"] * w, nd["y"] * h

    for a, b, width in data["edges"]:
        (xa, ya), (xb, yb) = xy(nodes[a]), xy(nodes[b])
        d.add(Line(xa, ya, xb, yb, strokeColor=_c("edge"), strokeWidth=0.3 + 0.3 * width, strokeOpacity=0.55))
    for nd in nodes:
        x, y = xy(nd)
        r = nd["r"] * w
        fill = _c("board") if nd["board"] else colors.white
        if nd["broker"]:
            d.add(Circle(x, y, r + 2.2, fillColor=None, strokeColor=_c("broker"), strokeWidth=3))
        d.add(Circle(x, y, r, fillColor=fill, strokeColor=_c("ink") if not nd["board"] else _c("board"),
                     strokeWidth=0.9))
        size = 7.5 if r >= 11 else 6.5
        d.add(String(x, y - size * 0.36, nd["label"], fontName=_BOLD, fontSize=size, textAnchor="middle",
                     fillColor=colors.white if nd["board"] else _c("ink")))
    return d


def _chart_bars(ch: Chart) -> Drawing:
    rows = ch.data["rows"]
    row_h, label_w, top = 20, 150, 4
    h = row_h * len(rows) + top + 4
    d = Drawing(WIDTH, h)
    vmax = max((r["value"] for r in rows), default=1) or 1
    span = WIDTH - label_w - 50
    for i, r in enumerate(rows):
        y = h - top - row_h * (i + 1) + 4
        d.add(String(label_w, y + 3.5, r["label"], fontName=_FONT, fontSize=8.5, textAnchor="end",
                     fillColor=_c("ink")))
        bw = r["value"] / vmax * span
        d.add(Rect(label_w + 8, y, bw, 12, fillColor=_c("bar"), strokeColor=None))
        d.add(String(label_w + 12 + bw, y + 3.5, f"{r['value']:.0f}", fontName=_FONT, fontSize=8.5,
                     fillColor=_c("ink")))
    return d


def _chart(ch: Chart, st) -> list:
    if ch.kind == "stacked":
        return _chart_stacked(ch, st)
    draw = {"intervals": _chart_intervals, "pairs": _chart_pairs, "sociogram": _chart_sociogram,
            "bars": _chart_bars}[ch.kind](ch)
    parts = [_p(ch.title, st["caption"]), draw]
    if ch.legend:
        parts += [Spacer(1, 4), _legend(ch.legend)]
    return [KeepTogether(parts), Spacer(1, 8)]


# ---- tables and text -----------------------------------------------------------------------------------


def _table(t: Table, st) -> list:
    numeric = t.numeric or (False,) * len(t.columns)
    head = [_p(c, st["head"]) for c in t.columns]
    body = [[_p(v, st["cellnum"] if numeric[j] else st["cell"]) for j, v in enumerate(row)] for row in t.rows]
    widths = t.widths or (1.0,) * len(t.columns)
    total = sum(widths)
    tab = RLTable([head, *body], colWidths=[WIDTH * w / total for w in widths], repeatRows=1)
    style = [("BACKGROUND", (0, 0), (-1, 0), _c("accent")), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("LINEBELOW", (0, 1), (-1, -1), 0.3, _c("rule")), ("TOPPADDING", (0, 0), (-1, -1), 3),
             ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]
    for i, e in enumerate(t.emphasis):
        if e:
            style.append(("BACKGROUND", (0, i + 1), (-1, i + 1), _c("highlight")))
    tab.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), _FONT), *style]))
    return [KeepTogether([_p(t.caption, st["caption"]), tab]) if len(t.rows) <= 14 else _p(t.caption, st["caption"]),
            *([] if len(t.rows) <= 14 else [tab]), Spacer(1, 8)]


def _flow(block, st) -> list:
    if isinstance(block, Paragraph):
        return [_p(block.text, st.get(block.kind, st["body"]))]
    if isinstance(block, Heading):
        return [CondPageBreak(60), _p(block.text, st["h2"])]
    if isinstance(block, Bullets):
        return [RLParagraph(escape(x), st["bullet"], bulletText="•") for x in block.items]
    if isinstance(block, Table):
        return _table(block, st)
    if isinstance(block, Chart):
        return _chart(block, st)
    raise TypeError(f"unknown block {type(block).__name__}")


def _story(report: Report, st) -> list:
    story: list = [Spacer(1, 40 * mm), _p(report.title, st["title"]), _p(report.subtitle, st["subtitle"])]
    rows = [[_p(k, st["cell"]), _p(v, st["cover"])] for k, v in report.cover]
    cover = RLTable(rows, colWidths=[55 * mm, WIDTH - 55 * mm])
    cover.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), _FONT), ("LINEBELOW", (0, 0), (-1, -1), 0.3, _c("rule")), ("TOPPADDING", (0, 0), (-1, -1), 5),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 5), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    story += [cover, Spacer(1, 12 * mm), _p(
        "This report tells the organisation how well it recognises, takes in and uses outside knowledge in "
        "commissioning, as its own people see it, how sure those results are, and what to do next. "
        "It starts with a one-page summary.", st["body"]), NextPageTemplate("body"), PageBreak()]
    for i, sec in enumerate(report.sections, 1):
        if sec.new_page and i > 1:
            story.append(PageBreak())
        title = f"{i}. {sec.title}"
        story += [_Bookmark(sec.id, title), _p(title, st["h1"])]
        for b in sec.blocks:
            story += _flow(b, st)
    return story


def render_pdf(report: Report) -> bytes:
    """The report as PDF bytes (A4, DejaVu Sans embedded, vector charts; deterministic).

    Parameters
    ----------
    report : Report
        From :func:`acap.report.feedback`.

    Returns
    -------
    bytes
    """
    _register_fonts()
    st = _styles()
    buf = io.BytesIO()
    doc = BaseDocTemplate(buf, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                          bottomMargin=MARGIN, title=report.title, author=report.author, subject=report.subtitle,
                          keywords=list(report.keywords), creator="acap", lang=report.language, invariant=1,
                          initialFontName=_FONT, initialFontSize=10)
    frame = Frame(MARGIN, MARGIN, WIDTH, PAGE_H - 2 * MARGIN, id="f", leftPadding=0, rightPadding=0, topPadding=0,
                  bottomPadding=0)

    def footer(canvas, d):
        canvas.saveState()
        canvas.setFont(_FONT, 7.5)
        canvas.setFillColor(_c("muted"))
        canvas.drawString(MARGIN, 10 * mm, report.footer)
        canvas.drawRightString(PAGE_W - MARGIN, 10 * mm, f"Page {d.page}")
        canvas.restoreState()

    doc.addPageTemplates([PageTemplate("cover", [frame]), PageTemplate("body", [frame], onPage=footer)])
    doc.build(_story(report, st))
    return buf.getvalue()
