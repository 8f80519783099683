"""Sociogram images (PNG and SVG) for the app and the PDF report.

Encoding as in the reference study's Gephi figures: node colour = total degree
(yellow-to-red), node size = betweenness, edge width = frequency, arrows = direction
("i goes to j for advice"). Board members are circles, other roster members triangles,
outside-contact categories teal squares joined to respondents by dashed lines (width =
number of contacts). Labels are pseudonymous unless names are enabled. The layout is
igraph's Fruchterman-Reingold from seeded starting positions, so a seed gives the same
picture every time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from acap.errors import AcapInputError
from acap.network.export import _inputs, betweenness_sizes, degree_colours
from acap.network.model import OUTSIDE_CATEGORIES, AdviceNetwork, validate_contacts

_CATEGORY_COLOUR = "#2a9d8f"
_LEFT, _RIGHT, _BOTTOM, _TOP = 0.02, 0.98, 0.02, 0.94


def sociogram_layout(n: int, edges_idx: np.ndarray, weights: np.ndarray, seed: int = 1,
                     niter: int | None = None) -> np.ndarray:
    """Seeded Fruchterman-Reingold positions (n x 2) for integer-coded edges.

    A small force-directed layout of our own (Fruchterman & Reingold 1991): nodes repel
    with force k^2/d, tied nodes attract with force w d^2/k (w = tie frequency, ties taken
    as undirected), moves are capped by a temperature that cools linearly. Everything random
    comes from ``numpy.random.default_rng(seed)``, so the same seed gives the same picture and
    no process-wide generator is touched (igraph's layout draws from a global one).
    """
    if n == 0:
        return np.zeros((0, 2))
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-1, 1, size=(n, 2))
    if n == 1:
        return np.zeros((1, 2))
    w = np.zeros((n, n))
    if len(edges_idx):
        e = np.asarray(edges_idx, int).reshape(-1, 2)
        wt = np.asarray(weights, float) if len(weights) else np.ones(len(e))
        np.maximum.at(w, (e[:, 0], e[:, 1]), wt)
        w = np.maximum(w, w.T)
        w /= w.max()
    k = np.sqrt(4.0 / n)  # ideal distance for n nodes in a 2 x 2 square
    steps = niter if niter is not None else (500 if n <= 200 else 150)
    temp = np.linspace(0.2, 0.002, steps)
    for t in temp:
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.sqrt((delta ** 2).sum(-1)) + 1e-9
        force = k * k / dist - w * dist * dist / k  # > 0 pushes apart
        np.fill_diagonal(force, 0.0)
        disp = (delta / dist[:, :, None] * force[:, :, None]).sum(axis=1)
        length = np.sqrt((disp ** 2).sum(-1)) + 1e-12
        pos += disp / length[:, None] * np.minimum(length, t)[:, None]
    pos -= pos.mean(axis=0)
    span = np.abs(pos).max()
    return pos / span if span > 0 else pos


def draw_sociogram(network, path, nodes: pd.DataFrame | None = None, *,
                   contacts: pd.DataFrame | None = None, metrics: pd.DataFrame | None = None,
                   formats=("png", "svg"), seed: int = 1, names_enabled: bool = False,
                   title: str | None = None, show_contacts: bool = True,
                   dpi: int = 150) -> list[Path]:
    """Draw an advice-network sociogram and save it as PNG and/or SVG.

    Parameters
    ----------
    network : AdviceNetwork or DataFrame
        A network, or a tie table (source, target, weight) used with ``nodes``.
    path : str or Path
        Output path; its suffix is replaced by each format's.
    nodes, contacts : DataFrame, optional
        Roster and outside contacts when ``network`` is a tie table.
    metrics : DataFrame, optional
        :func:`acap.network.node_metrics` output (computed when omitted).
    formats : sequence of {"png", "svg", "pdf"}
    seed : int
        Layout seed.
    names_enabled : bool
        Label with names (when ``network`` is a tie table; a network carries its own flag).
    title : str, optional
    show_contacts : bool
        Draw outside-contact categories.
    dpi : int
        PNG resolution.

    Returns
    -------
    list of Path

    Examples
    --------
    >>> import tempfile, os
    >>> e = pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"], "weight": [5, 2]})
    >>> [p.suffix for p in draw_sociogram(e, os.path.join(tempfile.mkdtemp(), "s"))]
    ['.png', '.svg']
    """
    # A bare Figure (no pyplot) renders with Agg/SVG and leaves the caller's
    # backend and open figures alone.
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.collections import LineCollection, PolyCollection

    if isinstance(network, AdviceNetwork):
        contacts = network.contacts if contacts is None else contacts
        title = title if title is not None else network.organisation or None
    # the same validated ties, roster, metrics and labels as the exports
    e, nd, met, _, lab = _inputs(network, nodes, metrics, names_enabled)
    bad = [f for f in formats if f not in ("png", "svg", "pdf")]
    if bad:
        raise AcapInputError(f"unknown image format(s) {bad}", "draw_sociogram")

    ids = pd.Index(nd["id"])
    n = len(nd)
    s, t = ids.get_indexer(e.source), ids.get_indexer(e.target)
    w = e.weight.to_numpy(float)

    # Outside-contact categories become extra (square) nodes in the layout.
    cats, cs, ct, cw = [], [], [], []
    if show_contacts and contacts is not None and len(contacts):
        c = validate_contacts(contacts, nd["id"])
        c = c[c["count"] > 0]
        cats = [k for k in OUTSIDE_CATEGORIES if k in set(c.category)]
        cpos = {k: n + q for q, k in enumerate(cats)}
        cs = ids.get_indexer(c.respondent).tolist()
        ct = [cpos[k] for k in c.category]
        cw = c["count"].to_numpy(float).tolist()
    # Lay out the connected people; isolates go in a row below them (a force layout
    # would push them to the edge and squeeze everyone else into the middle).
    linked = np.zeros(n, bool)
    linked[s] = linked[t] = True
    if not linked.any():
        linked[:] = True
    li = np.flatnonzero(linked)
    remap = np.full(n, -1)
    remap[li] = np.arange(len(li))
    xy = np.zeros((n, 2))
    xy[li] = sociogram_layout(len(li), np.column_stack([remap[s], remap[t]]).astype(int), w, seed)
    iso = np.flatnonzero(~linked)
    if len(iso):
        xy[iso, 0] = np.linspace(-0.8, 0.8, len(iso)) if len(iso) > 1 else 0.0
        xy[iso, 1] = -1.25
    if cats:
        # Categories on an outer ring, each near the people who named it, so that the
        # board keeps the middle of the picture to itself.
        ang = np.arctan2(xy[:, 1], xy[:, 0])
        cs_a, ct_a = np.asarray(cs), np.asarray(ct) - n
        mean_ang = np.array([np.angle(np.exp(1j * ang[cs_a[ct_a == q]]).sum())
                             for q in range(len(cats))])
        order = np.argsort(mean_ang, kind="stable")
        slots = mean_ang[order][0] + np.arange(len(cats)) * 2 * np.pi / len(cats)
        ring = np.empty((len(cats), 2))
        ring[order] = 1.6 * np.column_stack([np.cos(slots), np.sin(slots)])
        xy = np.vstack([xy, ring])

    deg = (met["in_degree"].fillna(0) + met["out_degree"].fillna(0)).to_numpy()
    colours = degree_colours(deg) / 255.0
    size_pt = betweenness_sizes(met["betweenness"].to_numpy(), 9.0, 30.0)   # diameters, points
    board = nd["board"].astype(bool).to_numpy() if "board" in nd.columns else np.ones(n, bool)

    span = (np.ptp(xy, axis=0) + 0.3) if len(xy) else np.array([2.0, 2.0])
    height = float(np.clip(8.0 * span[1] / max(span[0], 1e-9), 4.5, 9.0))
    fig = Figure(figsize=(8, height + 0.6))
    ax = fig.add_subplot()
    ax.set_axis_off()
    fig.subplots_adjust(left=_LEFT, right=_RIGHT, bottom=_BOTTOM, top=_TOP)
    pad = np.array([0.45, 0.2])  # room for category labels at the sides
    lo, hi = (xy.min(axis=0), xy.max(axis=0)) if len(xy) else (np.array([-1, -1]), np.array([1, 1]))
    lo, hi = lo - pad, hi + pad
    # Widen one range so that a data unit is as long across as up (equal aspect).
    box = np.array([fig.get_figwidth() * (_RIGHT - _LEFT), fig.get_figheight() * (_TOP - _BOTTOM)])
    per = max((hi - lo)[0] / box[0], (hi - lo)[1] / box[1])
    grow = per * box - (hi - lo)
    lo, hi = lo - grow / 2, hi + grow / 2
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])

    # Points per data unit (equal aspect, limits widened to fill the box), so node radii
    # and arrowheads given in points can be placed in data coordinates.
    W = fig.get_figwidth() * 72 * (_RIGHT - _LEFT)
    H = fig.get_figheight() * 72 * (_TOP - _BOTTOM)
    xr, yr = np.diff(ax.get_xlim())[0], np.diff(ax.get_ylim())[0]
    scale = min(W / xr, H / yr)
    cat_total = {}
    for b, k in zip(ct, cw):
        cat_total[b] = cat_total.get(b, 0.0) + k
    if cs:
        segs = [(xy[a], xy[b]) for a, b in zip(cs, ct)]
        ax.add_collection(LineCollection(
            segs, linewidths=[0.4 + 0.25 * min(k, 8) for k in cw], colors="#8fb8b3",
            linestyles=(0, (3, 2)), alpha=0.7 if len(cs) <= 40 else 0.4, zorder=1))
    if len(s):
        pairs = set(zip(s.tolist(), t.tolist()))
        p0, p1 = xy[s].copy(), xy[t].copy()
        d = p1 - p0
        length = np.hypot(d[:, 0], d[:, 1])
        length[length == 0] = 1e-9
        u = d / length[:, None]
        nrm = np.column_stack([-u[:, 1], u[:, 0]])
        mutual = np.array([(b, a) in pairs for a, b in zip(s.tolist(), t.tolist())])
        # Reciprocated ties drawn as two parallel arrows, each offset to its own side.
        off = np.where(mutual, 2.5 / scale, 0.0)[:, None] * nrm
        head = (5.0 + 0.8 * w) / scale
        r_a = size_pt[s] / 2 / scale
        r_b = (size_pt[t] / 2 + 1.0) / scale
        start = p0 + off + u * r_a[:, None]
        tip = p1 + off - u * r_b[:, None]
        base = tip - u * head[:, None]
        ok = length > r_a + r_b + head
        lw = 0.3 + 0.45 * w
        # Dense boards (the study's had densities near 0.7) need lighter ties to stay legible.
        edge_alpha = 0.65 if len(s) <= 3 * n else 0.35
        ax.add_collection(LineCollection(np.stack([start, base], axis=1)[ok], linewidths=lw[ok],
                                         colors="#555555", alpha=edge_alpha, zorder=2,
                                         capstyle="butt"))
        half = (head * 0.45)[:, None] * nrm
        tris = np.stack([tip, base + half, base - half], axis=1)[ok]
        ax.add_collection(PolyCollection(tris, facecolors="#555555", edgecolors="none",
                                         alpha=min(1.0, edge_alpha + 0.1), zorder=2))
    for shape, sel in (("o", board), ("^", ~board)):
        if sel.any():
            ax.scatter(xy[:n][sel, 0], xy[:n][sel, 1], s=size_pt[sel] ** 2, c=colours[sel],
                       marker=shape, edgecolors="#333333", linewidths=0.8, zorder=3)
    for r in range(n):
        ax.annotate(lab.iloc[r], xy[r], xytext=(0, -size_pt[r] / 2 - 6),
                    textcoords="offset points", ha="center", va="center", fontsize=7,
                    zorder=4)
    if cats:
        tot = np.array([cat_total.get(n + q, 0.0) for q in range(len(cats))])
        csz = 8 + 14 * np.sqrt(tot / tot.max())
        ax.scatter(xy[n:, 0], xy[n:, 1], s=csz ** 2, marker="s", c=_CATEGORY_COLOUR,
                   edgecolors="#1d6f65", linewidths=0.8, zorder=3)
        for q, k in enumerate(cats):
            ax.annotate(f"{OUTSIDE_CATEGORIES[k]} ({int(tot[q])})", xy[n + q],
                        xytext=(0, csz[q] / 2 + 6), textcoords="offset points",
                        ha="center", va="center", fontsize=7, color="#1d6f65", zorder=4)
    handles = [Line2D([], [], marker="o", ls="", mfc="#fd8d3c", mec="#333", ms=8,
                      label="Board member")]
    if (~board).any():
        handles.append(Line2D([], [], marker="^", ls="", mfc="#fd8d3c", mec="#333", ms=8,
                              label="Other roster member"))
    if cats:
        handles.append(Line2D([], [], marker="s", ls="", mfc=_CATEGORY_COLOUR, mec="#1d6f65",
                              ms=8, label="Outside contacts (count)"))
    ax.legend(handles=handles, loc="lower left", fontsize=7, frameon=False)
    ax.text(0.99, 0.0, "colour = degree, size = betweenness,\n"
            "arrow i \u2192 j: i goes to j for advice, width = frequency",
            ha="right", va="bottom", fontsize=6.5, color="#444444", transform=ax.transAxes)
    if title:
        ax.set_title(title, fontsize=11)
    base = Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for f in formats:
        p = base.with_suffix(f".{f}") if base.suffix in (".png", ".svg", ".pdf") else \
            base.parent / f"{base.name}.{f}"
        fig.savefig(p, dpi=dpi, format=f)
        out.append(p)
    return out
