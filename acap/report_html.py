"""Render a :class:`~acap.validate.ValidationReport` to one self-contained HTML file and to JSON.

The HTML has no external resources: styles are inline and figures are SVG images embedded as
data URIs, drawn with matplotlib's object-oriented API (no pyplot, no display needed). Every
figure has alt text, every table a caption and header cells, the page a language attribute,
and verdicts are written in words as well as coloured. The JSON holds every table of the
report with NaN as null.

Examples
--------
>>> from acap.validate import validation_report
>>> from acap.report_html import render_html, report_to_json
>>> rep = validation_report("responses.csv")  # doctest: +SKIP
>>> html = render_html(rep)  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from acap.thresholds import cut, cut_text

__all__ = ["figure_item_distributions", "figure_loadings", "figure_scree", "render_html", "report_to_dict",
           "report_to_json", "validation_files", "write_html", "write_json"]

# Verdict colours: white text on each has a contrast ratio of at least 7:1 (WCAG AAA for small
# text: badges are 13-14 px), so the word stays readable for low-vision readers too.
_GOOD, _MID, _WARN, _BAD = "#14572a", "#235873", "#704800", "#8e1616"
_BADGE = {"good": _GOOD, "acceptable": _MID, "questionable": _WARN, "poor": _BAD,
          "supported": _GOOD, "partly supported": _MID, "weak": _WARN, "not supported": _BAD,
          "scalar": _GOOD, "metric": _MID, "configural only": _WARN}

_HEADERS = {
    "label": "Scale", "n_items": "Items", "alpha": "Alpha", "alpha_lower": "Alpha 95% CI low",
    "alpha_upper": "Alpha 95% CI high", "std_alpha": "Std. alpha", "g6": "G6 (smc)", "average_r": "Average r",
    "omega_total": "Omega total", "omega_hierarchical": "Omega hierarchical", "ecv": "ECV",
    "n_group_factors": "Group factors", "min_item_rest": "Lowest item-rest r",
    "n_items_low_r": f"Items with r < {cut_text('item_rest')}", "pct_floor": "Floor %", "pct_ceiling": "Ceiling %",
    "min_cfa_std_loading": "Lowest CFA loading (std)", "rwg_j_median": "rwg(j) median", "rwg_j_min": "rwg(j) min",
    "pct_orgs_rwg_ok": f"Organisations rwg(j) >= {cut_text('rwg_j')} %", "icc1": "ICC(1)", "icc2": "ICC(2)", "icc_F": "F",
    "icc_p": "p", "k": "Mean group size", "n_organisations": "Organisations", "invariance": "Invariance",
    "reliability": "Reliability", "items_verdict": "Items", "floor_ceiling": "Floor / ceiling",
    "organisation_level": "Organisation-level use", "verdict": "Verdict", "scale": "Scale", "in_model": "In model",
    "reverse": "Reversed", "points": "Points", "n": "n", "pct_skipped": "Skipped %", "pct_dont_know": "Don't know %",
    "mean": "Mean", "sd": "SD", "median": "Median", "skew": "Skew", "kurtosis": "Kurtosis", "flag": "Flag",
    "text": "Item text", "r_cor": "r (corrected)", "r_drop": "Item-rest r", "alpha_if_deleted": "Alpha if dropped",
    "msa": "MSA", "chisq": "Chi-square", "df": "df", "pvalue": "p", "cfi": "CFI", "tli": "TLI", "rmsea": "RMSEA",
    "rmsea_ci_lower": "RMSEA 90% CI low", "rmsea_ci_upper": "RMSEA 90% CI high", "srmr": "SRMR",
    "value": "Value", "threshold": "Threshold", "met": "Met", "source": "Source", "est": "Estimate", "se": "SE",
    "std": "Standardised", "lhs": "Left", "op": "Op", "rhs": "Right", "mi": "MI", "epc": "EPC",
    "sepc_lv": "SEPC (lv)", "sepc_all": "SEPC (all)", "groups": "Groups compared", "cfi_configural": "CFI configural",
    "delta_cfi_metric": "ΔCFI metric", "delta_cfi_scalar": "ΔCFI scalar", "p_metric": "p (Δχ² metric)",
    "p_scalar": "p (Δχ² scalar)", "level": "Level supported", "note": "Note", "communality": "Communality",
    "primary": "Primary factor", "primary_factor": "Primary factor", "share_on_primary": "Share of items on it",
    "mean_abs_loading": "Mean |loading|", "statistic": "Statistic", "rule": "Rule", "respondents": "Respondents",
    "items_missing": "Items missing", "pc_observed": "PC observed", "fa_observed": "FA observed",
    "pc_simulated": "PC simulated", "fa_simulated": "FA simulated", "pc_simulated_q": "PC simulated 95%",
    "fa_simulated_q": "FA simulated 95%", "pc_resampled": "PC resampled", "fa_resampled": "FA resampled",
    "pc_resampled_q": "PC resampled 95%", "fa_resampled_q": "FA resampled 95%", "map": "MAP", "map4": "MAP (4th power)",
    "number": "Number", "delta_chisq": "Δχ²", "delta_df": "Δdf", "delta_pvalue": "p (Δχ²)", "delta_cfi": "ΔCFI",
    "delta_rmsea": "ΔRMSEA", "aic": "AIC", "bic": "BIC", "npar": "Parameters", "model": "Model", "factor": "Factor",
    "item": "Item", "rank": "Rank", "rmsr": "RMSR", "n_factors": "Factors", "low": "Lowest", "high": "Highest",
    "delta_tli": "ΔTLI", "delta_srmr": "ΔSRMR", "loading": "Loading", "measure": "Measure", "finding": "Finding", "reading": "Reading", "organisation": "Organisation", "summary": "In plain words",
}

_PVALUE_COLS = {"pvalue", "p", "icc_p", "p_metric", "p_scalar", "delta_pvalue"}
_PCT_COLS = {"pct_floor", "pct_ceiling", "pct_skipped", "pct_dont_know", "pct_orgs_rwg_ok"}
_THREE_DECIMALS = {"cfi", "tli", "rmsea", "srmr", "rmsr", "delta_tli", "delta_srmr", "loading", "communality", "rmsea_ci_lower", "rmsea_ci_upper", "cfi_configural",
                   "delta_cfi_metric", "delta_cfi_scalar", "delta_cfi", "delta_rmsea", "icc1"}
_ONE_DECIMAL = {"chisq", "bic", "delta_chisq", "aic", "bic", "icc_F", "k"}
_INT_COLS = {"n", "n_items", "df", "delta_df", "npar", "n_organisations", "points", "respondents",
             "n_items_low_r", "n_group_factors"}


# ---- formatting -------------------------------------------------------------------------------

def _num(v, col: str = "") -> str:
    """A cell as text: few decimals, p-values as '< .001', NaN as an en dash."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}" if col not in ("number", "rank") else str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if not math.isfinite(v):
            return "–"
        if abs(v) < (0.0005 if col in _THREE_DECIMALS else 0.005) and col not in _PVALUE_COLS:
            v = 0.0  # no "-.00"
        if col in _PVALUE_COLS:
            return "< .001" if v < 0.001 else f"{v:.3f}".replace("0.", ".", 1)
        if col in _INT_COLS and v == round(v):
            return f"{int(v):,}"
        if col in _THREE_DECIMALS:
            s = f"{v:.3f}"
            return s.replace("0.", ".", 1) if s.startswith(("0.", "-0.")) else s
        if col in _PCT_COLS:
            return f"{v:.1f}"
        if col in _ONE_DECIMAL:
            return f"{v:,.1f}"
        if col in ("mean", "sd", "median", "skew", "kurtosis", "est", "se") or abs(v) >= 10:
            return f"{v:.2f}"
        s = f"{v:.2f}"
        return s.replace("0.", ".", 1) if s.startswith(("0.", "-0.")) else s
    return str(v)


def _esc(v) -> str:
    return html.escape(str(v), quote=True)


def _badge(word: str) -> str:
    colour = _BADGE.get(str(word))
    if colour is None:
        return _esc(word)
    return f'<span class="badge" style="background:{colour}">{_esc(word)}</span>'


def _table(df: pd.DataFrame, caption: str, *, cols=None, badges=(), index=True, wide: bool = False,
           index_header: str | None = None, labels: dict | None = None, loading: bool = False) -> str:
    """An accessible HTML table: caption, column headers with scope, row headers for the index."""
    if df is None or len(df) == 0:
        return f'<p class="note">{_esc(caption)}: nothing to show.</p>'
    d = df if cols is None else df[[c for c in cols if c in df.columns]]
    labels = labels or {}
    names = [n for n in (d.index.names if index else []) if n is not None] or (["" ] if index else [])
    head = "".join(f'<th scope="col">{_esc(index_header or _HEADERS.get(n, n))}</th>' for n in names) if index else ""
    head += "".join(f'<th scope="col">{_esc(_HEADERS.get(c, c))}</th>' for c in d.columns)
    body = []
    for key, row in zip(d.index, d.itertuples(index=False)):
        keys = key if isinstance(key, tuple) else (key,)
        cells = "".join(f'<th scope="row">{_esc(labels.get(k, k))}</th>' for k in keys) if index else ""
        for c, v in zip(d.columns, row):
            if c in badges:
                cells += f"<td>{_badge(v)}</td>"
            elif isinstance(v, (bool, np.bool_)):
                cells += f"<td>{'yes' if v else 'no'}</td>"
            elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
                cells += f'<td class="num">{_num(v, "loading" if loading else c)}</td>'
            elif c == "label" or c == "scale":
                cells += f"<td>{_esc(labels.get(v, v))}</td>"
            elif c == "text":
                cells += f'<td class="text">{_esc(v)}</td>'
            else:
                cells += f"<td>{_esc(_num(v, c) if v is None or isinstance(v, float) else v)}</td>"
        body.append(f"<tr>{cells}</tr>")
    cls = ' class="wide"' if wide else ""
    return (f'<div class="scroll" role="region" aria-label="{_esc(caption)}" tabindex="0"><table{cls}>'
            f"<caption>{_esc(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _notes(section) -> str:
    return "".join(f'<p class="note">{_esc(n)}</p>' for n in section.notes)


def _status(section) -> str:
    if section.status == "ok":
        return ""
    word = "Partly computed" if section.status == "partial" else "Not computed"
    return f'<p class="status"><strong>{word}.</strong> See the notes below.</p>'


# ---- figures -------------------------------------------------------------------------------------

def _tight_bbox(fig):
    """The figure's tight bounding box (inches) with ``savefig.pad_inches`` around it, as
    ``savefig(bbox_inches="tight")`` computes it for SVG, without the full dry-run draw that
    savefig makes first to measure it (a third of the time of a figure): the extents are
    measured on an SVG renderer at the SVG backend's 72 dpi. The result agrees with savefig's
    to a millionth of a point (tests/test_report_a11y.py compares the two)."""
    import matplotlib
    from matplotlib.backends.backend_svg import RendererSVG

    dpi = fig.dpi
    fig.dpi = 72
    try:
        width, height = fig.get_size_inches()
        renderer = RendererSVG(width * 72, height * 72, io.StringIO(), image_dpi=dpi)
        return fig.get_tightbbox(renderer).padded(matplotlib.rcParams["savefig.pad_inches"])
    finally:
        fig.dpi = dpi


def _svg(fig) -> str:
    """The figure as an SVG data URI; fixed hash salt and no date, so the same report gives the same bytes."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "acap", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches=_tight_bbox(fig))
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue().encode("utf-8")).decode("ascii")


def _figure(uri: str, alt: str, caption: str) -> str:
    return (f'<figure><img src="{uri}" alt="{_esc(alt)}"><figcaption>{_esc(caption)}</figcaption></figure>')


def _luminance(rgb) -> float:
    """WCAG relative luminance of an RGB(A) colour with channels in [0, 1]."""
    c = [x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4 for x in rgb[:3]]
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]


def _text_colour(background) -> str:
    """Black or white, whichever contrasts more with ``background`` (at worst about 4.6:1)."""
    lum = _luminance(background)
    return "black" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "white"


def _new_figure(width: float, height: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    fig.patch.set_facecolor("white")
    return fig


def _scale_bounds(items: list[str], model: dict) -> list[tuple[str, int, int]]:
    """(scale, first row, last row) of each scale's block in ``items`` order."""
    out, start = [], 0
    owner = {i: f for f, its in model.items() for i in its}
    cur = owner.get(items[0]) if items else None
    for r, i in enumerate(items + [None]):
        s = owner.get(i) if i is not None else object()
        if s != cur:
            out.append((cur, start, r - 1))
            start, cur = r, s
    return out


def figure_item_distributions(report):
    """Stacked horizontal bars: share of respondents giving each answer, per model item."""
    dist = report.items.tables.get("distribution")
    desc = report.items.tables.get("descriptives")
    items = [i for its in report.model.values() for i in its]
    d = dist.loc[items]
    total = d.sum(axis=1).replace(0, np.nan)
    share = d.div(total, axis=0) * 100
    points = [c for c in d.columns if c not in ("dont_know", "skipped")]
    points = [c for c in points if d[c].notna().any()]
    from matplotlib import colormaps

    cmap = colormaps["RdBu"]
    colours = [cmap(0.08 + 0.84 * k / max(len(points) - 1, 1)) for k in range(len(points))]
    colours += ["#4d4d4d", "#bdbdbd"]
    cols = points + ["dont_know", "skipped"]
    names = [f"{p}" for p in points] + ["don't know", "skipped"]
    names[0] = f"{points[0]} (lowest)"
    names[len(points) - 1] = f"{points[-1]} (highest)"
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    fig = _new_figure(9.5, 1.4 + 0.2 * len(items))
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(len(items))
    left = np.zeros(len(items))
    handles = []
    for c, colour, name in zip(cols, colours, names):
        v = share[c].fillna(0).to_numpy()
        # One collection of rectangles per answer (the same drawing as barh's ~400 patches, at a
        # fraction of the cost); no rectangle for an empty segment, whose edge would be a stray tick.
        k = v > 0
        x0, x1, y0, y1 = left[k], left[k] + v[k], y[k] - 0.425, y[k] + 0.425
        corners = np.stack([np.column_stack(c_) for c_ in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))], axis=1)
        bars = PolyCollection(corners, facecolors=colour, edgecolors="#6b6b6b", linewidths=0.4, joinstyle="miter")
        bars.set_in_layout(False)  # inside the axes: nothing to add to the tight bounding box
        ax.add_collection(bars, autolim=False)
        handles.append(Patch(facecolor=colour, edgecolor="#6b6b6b", linewidth=0.4, label=name))
        left += v
    rev = desc["reverse"].reindex(items).fillna(False).to_numpy()
    ax.set_yticks(y, [f"{i} (R)" if r else i for i, r in zip(items, rev)], fontsize=8)
    ax.set_ylim(len(items) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xlabel("Respondents (%)")
    ax.set_ylabel("Item ((R) = reverse-keyed)")
    labels = report.meta.get("scale_labels", {})
    for scale, a, b in _scale_bounds(items, report.model):
        if a > 0:
            ax.axhline(a - 0.5, color="black", linewidth=0.8)
        ax.text(101, (a + b) / 2, labels.get(scale, scale), va="center", ha="left", fontsize=8)
    ax.legend(handles=handles, ncols=len(cols), loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, frameon=False,
              handlelength=1.2, columnspacing=0.8)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def figure_scree(report):
    """Observed eigenvalues against the 95th percentile of simulated ones (parallel analysis)."""
    ev = report.retention.tables.get("eigenvalues")
    m = min(len(ev), max(15, int(report.retention.values.get("pa_n_factors") or 0) + 4))
    e = ev.iloc[:m]
    x = np.asarray(e.index, dtype=int)
    fig = _new_figure(7.5, 4.6)
    ax = fig.add_subplot(1, 1, 1)
    style = {"fa_observed": ("Factors: observed", "#1f4e9c", "-", "o"),
             "fa_simulated_q": ("Factors: random data, 95th percentile", "#1f4e9c", "--", None),
             "pc_observed": ("Components: observed", "#b4461b", "-", "s"),
             "pc_simulated_q": ("Components: random data, 95th percentile", "#b4461b", "--", None)}
    for col, (name, colour, ls, marker) in style.items():
        if col in e.columns:
            ax.plot(x, e[col], ls, color=colour, marker=marker, markersize=4, label=name, linewidth=1.4)
    ax.axhline(0, color="#777777", linewidth=0.6)
    # zoom on the region where observed and random eigenvalues cross; say where the first ones lie
    second = float(np.nanmax(e.iloc[1:][[c for c in style if c in e.columns]].to_numpy())) if len(e) > 1 else 3.0
    top = max(3.0, second * 1.35)
    first = float(np.nanmax(e.iloc[0][[c for c in style if c in e.columns]].to_numpy()))
    if first > top:
        ax.set_ylim(min(-0.2, float(np.nanmin(e.to_numpy())) - 0.1), top)
        ax.annotate(f"first eigenvalues {e['fa_observed'].iloc[0]:.1f} (factors), "
                    f"{e['pc_observed'].iloc[0]:.1f} (components), off the scale",
                    xy=(1.05, top * 0.99), xytext=(2.2, top * 0.9), fontsize=8, color="#333333", va="center",
                    arrowprops=dict(arrowstyle="->", color="#555555"))
    k = report.retention.values.get("pa_n_factors")
    if k:
        ax.axvline(k, color="#1f4e9c", linestyle=":", linewidth=1)
        ax.text(k + 0.15, ax.get_ylim()[1] * 0.75, f"{k} factors", color="#1f4e9c", fontsize=8)
    ax.set_xlabel("Factor / component number")
    ax.set_ylabel("Eigenvalue")
    ax.set_xticks(x)
    ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def figure_loadings(report):
    """Heatmap of the EFA pattern loadings, items grouped by scale; |loading| >= .30 printed."""
    load = report.efa.tables.get("loadings")
    fac = [c for c in load.columns if c not in ("scale", "communality", "primary")]
    items = [i for its in report.model.values() for i in its if i in load.index]
    a = load.loc[items, fac].to_numpy(dtype=float)
    fig = _new_figure(1.8 + 0.55 * len(fac), 1.2 + 0.2 * len(items))
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(a, cmap="RdBu", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
    for r in range(a.shape[0]):
        for c in range(a.shape[1]):
            v = a[r, c]
            if abs(v) >= cut("salient_loading"):
                txt = f"{v:.2f}".replace("0.", ".", 1)
                label = ax.text(c, r, txt, ha="center", va="center", fontsize=7.5,
                                color=_text_colour(im.cmap(im.norm(v))))
                label.set_in_layout(False)  # inside its cell: nothing to add to the tight bounding box
    ax.set_xticks(range(len(fac)), fac, fontsize=8)
    ax.set_yticks(range(len(items)), items, fontsize=8)
    ax.xaxis.tick_top()
    ax.set_xlabel("Factor (oblimin-rotated)")
    ax.xaxis.set_label_position("top")
    ax.set_ylabel("Item")
    labels = report.meta.get("scale_labels", {})
    for scale, s0, s1 in _scale_bounds(items, report.model):
        if s0 > 0:
            ax.axhline(s0 - 0.5, color="black", linewidth=0.8)
        ax.text(len(fac) - 0.4, (s0 + s1) / 2, " " + labels.get(scale, scale), va="center", ha="left", fontsize=8)
    cb = fig.colorbar(im, ax=ax, fraction=0.025, pad=0.02, location="bottom", aspect=30)
    cb.set_label("Pattern loading")
    return fig


# ---- the page ---------------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #1a1a1a;
       background: #ffffff; line-height: 1.5; margin: 0; }
main { max-width: 1120px; margin: 0 auto; padding: 1.5rem 1.5rem 4rem; }
h1 { font-size: 1.7rem; margin: 0.5rem 0 0.25rem; }
h2 { font-size: 1.35rem; border-bottom: 2px solid #1f4e9c; padding-bottom: 0.2rem; margin-top: 2.5rem; }
h3 { font-size: 1.1rem; margin-top: 1.6rem; }
a { color: #0b57a4; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 1rem; font-size: 0.92rem; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; overflow-wrap: anywhere; }
nav ol { columns: 2; font-size: 0.95rem; }
nav li { padding: 0.15rem 0; break-inside: avoid; } nav a { display: inline-block; min-height: 24px; padding: 0.1rem 0; }
.scroll { overflow-x: auto; margin: 0.6rem 0 1rem; }
td.text { min-width: 15rem; font-size: 0.8rem; }
table { border-collapse: collapse; font-size: 0.85rem; }
caption { text-align: left; font-weight: 600; padding: 0.3rem 0; caption-side: top; }
th, td { border: 1px solid #c4c4c4; padding: 0.22rem 0.5rem; vertical-align: top; }
thead th { background: #1f3b63; color: #ffffff; text-align: left; position: sticky; top: 0; }
tbody th { text-align: left; font-weight: 600; background: #f3f5f8; }
tbody tr:nth-child(even) td { background: #f8f9fb; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { color: #ffffff; padding: 0.05rem 0.45rem; border-radius: 0.6rem; font-weight: 600; white-space: nowrap; }
p.note { color: #333333; font-size: 0.92rem; margin: 0.35rem 0; }
p.status { background: #fff4e0; border-left: 4px solid #8a5a00; padding: 0.4rem 0.7rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #e0e0e0; }
figcaption { font-size: 0.88rem; color: #333333; margin-top: 0.3rem; }
ul.plain li { margin: 0.35rem 0; }
.keyfacts td, .keyfacts th { font-size: 0.9rem; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 0.85rem; }
pre { background: #f3f5f8; padding: 0.7rem; overflow-x: auto; border: 1px solid #d8dce3; }
footer { font-size: 0.85rem; color: #333333; margin-top: 3rem; border-top: 1px solid #c4c4c4; padding-top: 0.6rem; }
"""


def render_html(report) -> str:
    """Render the report as one self-contained, accessible HTML page.

    Parameters
    ----------
    report : ValidationReport

    Returns
    -------
    str
        The HTML document.

    Examples
    --------
    >>> html_text = render_html(rep)  # doctest: +SKIP
    """
    m, st = report.meta, report.settings
    labels = m.get("scale_labels", {})
    out = []
    if m.get("release_warning"):  # an all-respondent report: the warning comes first
        out.append(f'<p class="release-warning" role="alert"><strong>{_esc(m["release_warning"])}</strong></p>')
    orgs = (f" in {m['n_organisations']:,} organisations" if m.get("n_organisations") is not None else "")
    out.append(f"<header><h1>{_esc(m['title'])}</h1>"
               f"<p>Psychometric checks of the questionnaire on {m['n_respondents']:,} respondents{orgs}, with a "
               f"verdict per scale.</p>")
    bank_text = (f"{m['bank']} version {m['bank_version']} ({m['bank_file']})" if m["bank"] != "custom"
                 else "none: the researcher's own items and model")
    meta_rows = [("acap version", m["acap_version"]), ("Item bank", bank_text),
                 ("Data", m["data_source"]), ("Data sha256", m["data_sha256"]),
                 ("Date", m["date"]), ("Model", f"{m['n_scales']} factors, {m['n_items']} items ({st['model']})"),
                 ("Settings", ", ".join(f"{k} = {round(v, 3) if isinstance(v, float) else v}" for k, v in st.items()
                               if k not in ("model",) and v is not None)),
                 ("Software", f"Python {m.get('python')}, numpy {m.get('numpy')}, pandas {m.get('pandas')}, "
                  f"scipy {m.get('scipy', '?')}")]
    out.append('<dl class="meta">' + "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in meta_rows) + "</dl>")
    out.append("</header>")
    sections = _shown_sections(report)
    toc = ([("summary", "Summary: verdict per scale")] + [(a, t) for a, t, _ in sections]
           + [("thresholds", "Thresholds and sources"), ("reproduce", "How to reproduce and check")])
    out.append('<nav aria-label="Contents"><h2 id="contents">Contents</h2><ol>'
               + "".join(f'<li><a href="#{a}">{_esc(t)}</a></li>' for a, t in toc) + "</ol></nav>")

    # summary
    v = report.verdicts.copy()
    v.index = [labels.get(i, i) for i in v.index]
    v.index.name = "scale"
    out.append('<section aria-labelledby="summary"><h2 id="summary">Summary: verdict per scale</h2>')
    org_rule = (f" Organisation-level use is judged separately from rwg(j) ≥ {cut_text('rwg_j')}, ICC(1) ≥ "
                f"{cut_text('icc1')} and ICC(2) ≥ {cut_text('icc2')}." if report.aggregation.status != "not requested"
                else "")
    out.append(f'<p class="note">Verdict = the worst of reliability (the lower of alpha and omega: ≥ '
               f'{cut_text("reliability_good")} good, ≥ {cut_text("alpha")} acceptable, ≥ '
               f'{cut_text("reliability_questionable")} questionable, else poor), item-rest correlations (all ≥ '
               f'{cut_text("item_rest")}, else questionable) and floor/ceiling of the scale score (none above '
               f'{cut_text("floor_ceiling")}, else questionable); "not computed" when reliability could not be '
               f'computed.{org_rule} Sources are listed under <a href="#thresholds">Thresholds and sources</a>.</p>')
    vcols = ["n_items", "alpha", "omega_total", "min_item_rest", "floor_ceiling", "rwg_j_median", "icc1", "icc2",
             "invariance", "verdict", "organisation_level"]
    if report.aggregation.status == "not requested":
        vcols = [c for c in vcols if c not in ("rwg_j_median", "icc1", "icc2", "organisation_level")]
    if report.invariance.status == "not requested":
        vcols.remove("invariance")
    out.append(_table(v, "Verdict per scale", cols=vcols,
                      badges=("verdict", "organisation_level", "invariance"), wide=True))
    out.append('<h3>In plain words</h3><ul class="plain">' + "".join(
        f"<li><strong>{_esc(i)}</strong> – {_badge(r.verdict)} {_esc(r.summary)}</li>"
        for i, r in zip(v.index, v.itertuples())) + "</ul>")
    out.append(_table(report.key_findings, "The instrument as a whole", index_header="Finding"))
    out.append("</section>")

    # numbered sections: one that cannot be rendered is replaced by a note, the page carries on
    for anchor, title, build in sections:
        try:
            parts = build(report, labels)
        except Exception as exc:  # noqa: BLE001 - a section that cannot be shown must not sink the page
            out.append(_failed_section(anchor, title, exc))
            continue
        out.append(f'<section aria-labelledby="{anchor}"><h2 id="{anchor}">{_esc(title)}</h2>')
        out.extend(parts)
        out.append("</section>")

    # thresholds and reproduce
    th = report.thresholds
    out.append('<section aria-labelledby="thresholds"><h2 id="thresholds">Thresholds and sources</h2>')
    out.append(_table(th, "Table 16. Every threshold this report uses", cols=["statistic", "rule", "source"],
                      index_header="Key"))
    out.append("</section>")
    out.append('<section aria-labelledby="reproduce"><h2 id="reproduce">How to reproduce and check</h2>')
    cmd = (f"acap validate {m['data_source'] if '(' not in m['data_source'] else 'responses.csv'} "
           + ("" if m["bank_file"] == "default" else f"--bank {m['bank_file']} ")
           + ("" if st["model"] in ("bank scales", "given mapping") else f"--model {st['model']} ")
           + f"--seed {st['seed']} --out OUTDIR")
    out.append(f"<p>Re-run with:</p><pre>{_esc(cmd)}</pre>"
               "<p>The same data file (same sha256), bank, model and settings give the same numbers. Every statistic "
               "follows the R function named in its section's notes (psych, lavaan, multilevel); "
               "<code>docs/worked-example.md</code> shows how to check them in R.</p>")
    out.append("</section>")
    body = "\n".join(out)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_esc(m['title'])}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n{body}\n"
            f"<footer>Generated by acap {_esc(m['acap_version'])} on {_esc(m['date'])}. Data sha256 "
            f"{_esc(m['data_sha256'])}.</footer>\n</main>\n</body>\n</html>\n")


class _NoFigure(Exception):
    """A figure the data do not call for."""


def _section_items(report, labels: dict) -> list[str]:
    """Section "1. Items: answers, missingness, floor and ceiling": its HTML after the heading."""
    out: list[str] = []
    it = report.items
    desc = it.tables["descriptives"]
    out.append(_status(it) + _notes(it))
    try:
        if "distribution" not in it.tables:
            raise _NoFigure
        out.append(_figure(_svg(figure_item_distributions(report)),
                           "Stacked bar chart, one bar per item grouped by scale, showing the share of respondents "
                           "choosing each answer from lowest to highest, don't know and skipped. "
                           + _distribution_alt(desc, report.model),
                           "Figure 1. Answers to each item (after reverse-keying), with don't know and skipped."))
    except _NoFigure:
        pass  # scores that are not whole-number answers: no answer distribution to draw
    except Exception as exc:  # noqa: BLE001 - a figure that fails must not sink the report
        out.append(f'<p class="status">Figure 1 could not be drawn: {_esc(exc)}</p>')
    cols = ["scale", "reverse", "n", "pct_skipped", "pct_dont_know", "mean", "sd", "skew", "kurtosis",
            "pct_floor", "pct_ceiling", "text"]
    if not desc["text"].astype(str).str.strip().any():
        cols.remove("text")
    out.append(_table(desc.assign(scale=[labels.get(s, s) for s in desc["scale"]]),
                      "Table 1. Item descriptives (reverse-keyed items after reversing; floor and ceiling: % at the "
                      "lowest and highest answer)", cols=cols, wide=True))
    out.append(_table(it.tables["missing_per_respondent"], "Table 2. Respondents by number of model items missing "
                      "(skipped or don't know)"))
    return out


def _section_reliability(report, labels: dict) -> list[str]:
    """Section "2. Reliability per scale": its HTML after the heading."""
    out: list[str] = []
    rel = report.reliability
    out.append(_status(rel) + _notes(rel))
    rs = rel.tables.get("scales")
    if rs is not None and len(rs):
        rs2 = rs.copy()
        rs2.index = [labels.get(i, i) for i in rs2.index]
        rs2.index.name = "scale"
        out.append(_table(rs2, "Table 3. Reliability per scale (alpha with Feldt 95% CI)",
                          cols=["n_items", "alpha", "alpha_lower", "alpha_upper", "std_alpha", "g6", "average_r",
                                "omega_total", "min_item_rest", "n_items_low_r", "pct_floor", "pct_ceiling"], wide=True))
    ri = rel.tables.get("items")
    if ri is not None and len(ri):
        out.append(_table(ri, "Table 4. Item analysis: item-rest correlation and alpha if the item is dropped",
                          cols=["n", "r_cor", "r_drop", "alpha_if_deleted", "flag"], labels=labels))
    g = rel.tables.get("general")
    if g is not None and len(g):
        out.append(_table(g, "Table 5. Omega of the whole bank (Schmid-Leiman)"))
    return out


def _section_adequacy(report, labels: dict) -> list[str]:
    """Section "3. Sampling adequacy": its HTML after the heading."""
    out: list[str] = []
    adq = report.adequacy
    out.append(_status(adq) + _notes(adq))
    a = adq.values
    if "kmo" in a:
        out.append(f"<p>Overall KMO = <strong>{_num(a['kmo'])}</strong> ({_esc(a.get('kmo_label', ''))}; "
                   f"Kaiser 1974: ≥ {cut_text('kmo')} adequate, ≥ {cut_text('kmo_meritorious')} meritorious).")
    if "bartlett_chi2" in a:
        out.append(f" Bartlett's test: χ²({a['bartlett_df']}) = {a['bartlett_chi2']:,.1f}, "
                   f"p {'< .001' if a['bartlett_p'] < .001 else '= ' + _num(a['bartlett_p'], 'p')}, n = {a['bartlett_n']}.</p>")
    k = adq.tables.get("kmo_items")
    if k is not None:
        low = k[k["msa"] < cut("kmo")]
        out.append(f'<p class="note">Items with MSA below {cut_text("kmo")}: {_esc(", ".join(low.index) if len(low) else "none")}. '
                   f'Lowest item MSA {_num(k["msa"].min())} ({_esc(k["msa"].dropna().idxmin() if k["msa"].notna().any() else "–")}).</p>')
        for c0 in range(0, len(k), 15):
            part = k.iloc[c0:c0 + 15]
            out.append(_table(part[["msa"]].T, f"Table 6{'abcdefgh'[c0 // 15]}. MSA per item ({part.index[0]} to "
                              f"{part.index[-1]})", index_header="Statistic", labels={"msa": "MSA"}))
    return out


def _section_retention(report, labels: dict) -> list[str]:
    """Section "4. How many factors": its HTML after the heading."""
    out: list[str] = []
    ret = report.retention
    out.append(_status(ret) + _notes(ret))
    rv = ret.values
    if "pa_n_factors" in rv:
        out.append(f"<p>Parallel analysis suggests <strong>{rv['pa_n_factors']} factors</strong> and "
                   f"{rv['pa_n_components']} components; Velicer's MAP suggests <strong>{rv.get('map_n_factors', '–')}"
                   f"</strong> (MAP with fourth powers: {rv.get('map4_n_factors', '–')}). The model has "
                   f"{report.meta['n_scales']} factors.</p>")
        try:
            out.append(_figure(_svg(figure_scree(report)),
                               "Line chart of eigenvalues by factor number: observed factor and component eigenvalues "
                               "against the 95th percentile of eigenvalues from random data. "
                               f"{rv['pa_n_factors']} observed factor eigenvalues lie above the random line.",
                               "Figure 2. Scree plot with parallel analysis."))
        except Exception as exc:  # noqa: BLE001
            out.append(f'<p class="status">Figure 2 could not be drawn: {_esc(exc)}</p>')
    ev = ret.tables.get("eigenvalues")
    if ev is not None:
        show = [c for c in ("fa_observed", "fa_simulated_q", "pc_observed", "pc_simulated_q") if c in ev.columns]
        out.append(_table(ev[show].iloc[:min(len(ev), 15)], "Table 7. Eigenvalues, first 15"))
    mp = ret.tables.get("map")
    if mp is not None:
        shown = mp.apply(lambda col: col.map(lambda z: f"{z:.4f}")).T
        out.append(_table(shown, "Table 8. Velicer's MAP by number of components (smaller is better)", wide=True,
                          index_header="Statistic", labels={"map": "MAP (squared)", "map4": "MAP (4th power)"}))
    return out


def _section_efa(report, labels: dict) -> list[str]:
    """Section "5. Exploratory factor analysis": its HTML after the heading."""
    out: list[str] = []
    ef = report.efa
    out.append(_status(ef) + _notes(ef))
    if "loadings" in ef.tables:
        try:
            out.append(_figure(_svg(figure_loadings(report)),
                               f"Heatmap of pattern loadings of {report.meta['n_items']} items on "
                               f"{ef.values['n_factors']} factors, items grouped by scale; blue is positive, red "
                               f"negative; loadings of {cut_text('salient_loading')} or more are printed. " + _loadings_alt(ef, report.model, labels),
                               "Figure 3. EFA pattern loadings (minres, oblimin)."))
        except Exception as exc:  # noqa: BLE001
            out.append(f'<p class="status">Figure 3 could not be drawn: {_esc(exc)}</p>')
        fac = [c for c in ef.tables["loadings"].columns if c not in ("scale", "communality", "primary")]
        if "fit" in ef.tables:
            out.append(_table(ef.tables["fit"], "Table 9a. EFA fit (psych::fa: RMSR, TLI, RMSEA, BIC, chi-square)",
                              cols=["n_factors", "rmsr", "tli", "rmsea", "bic", "chisq", "df", "pvalue"]))
        out.append(_table(ef.tables["loadings"], "Table 9b. Pattern loadings and communalities (h²)",
                          cols=["scale"] + fac + ["communality"], labels=labels, wide=True, loading=True,
                          index_header="Item"))
        if "structure" in ef.tables:
            out.append(_table(ef.tables["structure"], "Table 9c. Structure loadings (item-factor correlations)",
                              cols=["scale"] + fac, labels=labels, wide=True, loading=True, index_header="Item"))
        out.append(_table(ef.tables["scale_recovery"], "Table 9d. Does each scale load on one factor?", labels=labels))
        out.append(_table(ef.tables["phi"], "Table 10. Factor correlations", index_header="Factor", loading=True))
    return out


def _section_cfa(report, labels: dict) -> list[str]:
    """Section "6. Confirmatory factor analysis": its HTML after the heading."""
    out: list[str] = []
    cf = report.cfa
    out.append(_status(cf) + _notes(cf))
    if "fit" in cf.tables:
        out.append(f"<p>Verdict on fit: {_badge(cf.values['verdict'])} ({cf.values['criteria_met']} of the 4 Hu & "
                   f"Bentler criteria met). χ²({_num(cf.values['df'], 'df')}) = {cf.values['chisq']:,.1f}, "
                   f"p {'< .001' if cf.values['pvalue'] < .001 else '= ' + _num(cf.values['pvalue'], 'p')}.</p>")
        crit = cf.tables["criteria"].rename(index={"SRMR": cf.values.get("srmr_label", "SRMR")})
        out.append(_table(crit, "Table 11. Fit against the thresholds", cols=["value", "threshold", "met"],
                          loading=True))
        out.append(f'<p class="note">RMSEA {_num(cf.values["rmsea"], "rmsea")}, 90% CI '
                   f'[{_num(cf.values["rmsea_ci_lower"], "rmsea")}, {_num(cf.values["rmsea_ci_upper"], "rmsea")}].</p>')
        out.append(_table(cf.tables["loadings"], "Table 12. Loadings (unstandardised with SE, and standardised)",
                          labels=labels))
        mi = cf.tables.get("modification_indices")
        if mi is not None and len(mi):
            out.append('<p class="note">The largest modification indices: the expected drop in chi-square if the '
                       'parameter were freed (=~ a cross-loading, ~~ a residual covariance). Free a parameter only '
                       'for a substantive reason.</p>')
            out.append(_table(mi, "Table 13. Largest modification indices", labels=labels))
    return out


def _section_invariance(report, labels: dict) -> list[str]:
    """Section "7. Invariance across role groups": its HTML after the heading."""
    out: list[str] = []
    iv = report.invariance
    out.append(_status(iv) + _notes(iv))
    if "summary" in iv.tables:
        ivs = iv.tables["summary"]
        if "note" in ivs.columns and not ivs["note"].astype(str).str.strip().any():
            ivs = ivs.drop(columns="note")
        out.append(_table(ivs, "Table 14. Measurement invariance per scale",
                          badges=("level",), labels=labels, wide=True))
    fits = iv.tables.get("fits")
    if fits is not None and len(fits):
        out.append('<p class="note">Each model\'s fit and its change from the model before (Δ): chi-square '
                   'difference test, ΔCFI, ΔTLI, ΔRMSEA and ΔSRMR. Every model has a mean structure (several '
                   'groups), so SRMR here counts mean residuals, as lavaan\'s srmr does.</p>')
        out.append(_table(fits, "Table 14b. Fit of the configural, metric and scalar models",
                          cols=["chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_lower", "rmsea_ci_upper",
                                "srmr", "delta_chisq", "delta_df", "delta_pvalue", "delta_cfi", "delta_tli",
                                "delta_rmsea", "delta_srmr"], labels=labels, wide=True))
    return out


def _section_aggregation(report, labels: dict) -> list[str]:
    """Section "8. Aggregation to organisations": its HTML after the heading."""
    out: list[str] = []
    ag = report.aggregation
    out.append(_status(ag) + _notes(ag))
    if "scales" in ag.tables:
        out.append(_table(ag.tables["scales"], "Table 15. Agreement within and reliability between organisations",
                          cols=["n_organisations", "rwg_j_median", "rwg_j_min", "pct_orgs_rwg_ok", "icc1", "icc2",
                                "icc_F", "icc_p", "k"], labels=labels, wide=True))
    return out


_SECTIONS = (
    ("items", "Items: answers, missingness, floor and ceiling", _section_items),
    ("reliability", "Reliability per scale", _section_reliability),
    ("adequacy", "Sampling adequacy", _section_adequacy),
    ("retention", "How many factors", _section_retention),
    ("efa", "Exploratory factor analysis", _section_efa),
    ("cfa", "Confirmatory factor analysis", _section_cfa),
    ("invariance", "Invariance across {groups}", _section_invariance),
    ("aggregation", "Aggregation to organisations", _section_aggregation),
)


def _shown_sections(report) -> list[tuple[str, str, Callable]]:
    """The numbered sections to show: those not asked for (no group, no organisations) are left out."""
    from acap.validate import _group_words

    out = []
    for anchor, title, build in _SECTIONS:
        sec = getattr(report, anchor)
        if sec.status == "not requested":
            continue
        title = title.format(groups=_group_words(report.settings.get("group")))
        out.append((anchor, f"{len(out) + 1}. {title}", build))
    return out


def _failed_section(anchor: str, title: str, exc: Exception) -> str:
    return (f'<section aria-labelledby="{anchor}"><h2 id="{anchor}">{_esc(title)}</h2>'
            f'<p class="status"><strong>Not shown.</strong> This section could not be rendered: {_esc(exc)}</p>'
            "</section>")


def _distribution_alt(desc: pd.DataFrame, model: dict) -> str:
    items = [i for its in model.values() for i in its]
    d = desc.loc[items]
    hi = d["mean"].idxmax()
    lo = d["mean"].idxmin()
    miss = (d["pct_skipped"] + d["pct_dont_know"])
    return (f"Item means range from {d['mean'].min():.1f} ({lo}) to {d['mean'].max():.1f} ({hi}); "
            f"skipped plus don't know ranges from {miss.min():.0f}% to {miss.max():.0f}% ({miss.idxmax()}).")


def _loadings_alt(ef, model: dict, labels: dict) -> str:
    rec = ef.tables.get("scale_recovery")
    if rec is None:
        return ""
    clean = rec[rec["share_on_primary"] >= 0.999]
    return (f"{len(clean)} of {len(rec)} scales have all their items loading most on one factor.")


# ---- JSON ------------------------------------------------------------------------------------------------

def _plain(v):
    """A JSON-safe Python value: NaN and infinities as None, numpy scalars as Python ones."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, pd.DataFrame):
        return _frame(v)
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    if v is pd.NA or v is None:
        return None
    return v


def _frame(df: pd.DataFrame) -> dict:
    names = [n if n is not None else "index" for n in df.index.names]
    flat = df.copy()
    flat.index = flat.index.set_names(names)
    flat.columns = [str(c) for c in flat.columns]
    records = flat.reset_index().to_dict(orient="records")
    return {"index": names, "columns": list(flat.columns), "records": _plain(records)}


def report_to_dict(report) -> dict:
    """The report as a JSON-safe dict: meta, settings, model, thresholds, verdicts and every section.

    Tables are ``{"index": [...], "columns": [...], "records": [...]}`` with NaN as None.
    """
    warning = report.meta.get("release_warning")
    return {
        **({"release_warning": warning} if warning else {}),  # first key of the JSON
        "meta": _plain(report.meta),
        "settings": _plain(report.settings),
        "model": _plain(report.model),
        "thresholds": _frame(report.thresholds),
        "verdicts": _frame(report.verdicts),
        "sections": {name: {"status": s.status, "notes": list(s.notes), "values": _plain(s.values),
                            "tables": {k: _frame(t) for k, t in s.tables.items()}}
                     for name, s in report.sections().items()},
    }


def report_to_json(report, indent: int | None = 1) -> str:
    """The report as JSON text (see :func:`report_to_dict`)."""
    return json.dumps(report_to_dict(report), indent=indent, ensure_ascii=False, allow_nan=False)


def write_html(report, path) -> None:
    """Write :func:`render_html` to ``path`` (UTF-8)."""
    from pathlib import Path

    Path(path).write_text(render_html(report), encoding="utf-8")


def write_json(report, path) -> None:
    """Write :func:`report_to_json` to ``path`` (UTF-8)."""
    from pathlib import Path

    Path(path).write_text(report_to_json(report), encoding="utf-8")


def validation_files(report, prefix: str = "validation") -> dict[str, Callable]:
    """The report's files for :func:`acap.outputs.write_all`: {relative path: writer}.

    ``report.html``, ``report.json``, ``verdicts.csv``, ``items.csv`` and ``reliability.csv``
    under ``prefix``.

    Examples
    --------
    >>> from acap.outputs import write_all
    >>> write_all("out", validation_files(rep))  # doctest: +SKIP
    """
    from acap.outputs import csv_writer

    p = prefix.rstrip("/") + "/" if prefix else ""
    warning = report.meta.get("release_warning")

    def csv(frame):
        write = csv_writer(frame)
        if not warning:
            return write

        def first_line_warning(path):  # an all-respondent table says so on its first line
            write(path)
            body = path.read_text(encoding="utf-8-sig")
            path.write_text(f"# {warning}\n{body}", encoding="utf-8-sig")

        return first_line_warning

    return {
        f"{p}report.html": lambda path: write_html(report, path),
        f"{p}report.json": lambda path: write_json(report, path),
        f"{p}verdicts.csv": csv(report.verdicts),
        f"{p}items.csv": csv(report.items.tables["descriptives"]),
        f"{p}reliability.csv": csv(report.reliability.tables.get("scales", pd.DataFrame())),
    }
