"""Sociograms as values: positions, a matplotlib Figure, and saving it.

:func:`sociogram_positions` gives every person's x/y (so a PDF can draw the network with
its own primitives), :func:`sociogram_figure` builds the picture as a
:class:`matplotlib.figure.Figure` (the app and the HTML report embed it), and
:func:`save_sociogram` writes it as PNG, SVG or PDF. :func:`draw_sociogram` does both.

Made to be read at 40 people: a seeded force-directed layout, then overlapping circles
pushed apart; each person's pseudonym inside their circle; colour = role group, a thick
outline = board member, a bigger circle = more colleagues go to them for advice; ties thin
and grey, with an arrowhead at the person asked. The legend says this in words.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from acap.errors import AcapInputError
from acap.network._shared import _inputs
from acap.network.model import AdviceNetwork

__all__ = ["draw_sociogram", "save_sociogram", "sociogram_figure", "sociogram_layout", "sociogram_positions"]

#: Colour-blind-safe colours (Okabe & Ito) for role groups, in order of first appearance;
#: the merged group "other" is always grey.
_PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
_OTHER = "#9a9a9a"
_GROUP_COLOURS = {"board": "#009E73", "clinical": "#0072B2", "managerial": "#E69F00", "analytical": "#CC79A7",
                  "lay_partner": "#56B4E9", "other": _OTHER, "everyone": "#0072B2"}
#: Circle diameters (points) for the fewest and most colleagues coming for advice.
_D_MIN, _D_MAX = 15.0, 28.0
#: Points per layout unit on the drawn canvas (the layout spans about 2 units across 7 inches).
_PT_PER_UNIT = 7 * 72 / 2.6


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


def _separate(xy: np.ndarray, radius: np.ndarray, gap: float, iters: int = 200) -> np.ndarray:
    """Push apart circles that overlap (centre distance < r_i + r_j + gap), in place order."""
    xy = xy.copy()
    n = len(xy)
    if n < 2:
        return xy
    need = radius[:, None] + radius[None, :] + gap
    rng = np.random.default_rng(0)
    for _ in range(iters):
        d = xy[:, None, :] - xy[None, :, :]
        dist = np.sqrt((d ** 2).sum(-1))
        np.fill_diagonal(dist, np.inf)
        over = need - dist
        over[over <= 0] = 0.0
        if not over.any():
            break
        # coincident points: nudge them apart in a seeded random direction
        same = dist < 1e-9
        if same.any():
            d = d + same[:, :, None] * rng.normal(scale=1e-3, size=d.shape)
            dist = np.sqrt((d ** 2).sum(-1)) + 1e-12
        push = (d / np.maximum(dist, 1e-12)[:, :, None] * (over / 2)[:, :, None]).sum(axis=1)
        xy += push
    return xy


def _pull_in(xy: np.ndarray) -> np.ndarray:
    """Bring far-flung people (one tie to the rest) nearer, so the rest is not squeezed small.

    Distances from the centre beyond 1.2 x the median are compressed logarithmically; the
    result is rescaled to span -1..1 again. Directions are kept.
    """
    if len(xy) < 3:
        return xy
    c = xy - np.median(xy, axis=0)
    dist = np.hypot(c[:, 0], c[:, 1])
    cap = 1.2 * np.median(dist) + 1e-9
    far = dist > cap
    new = dist.copy()
    new[far] = cap * (1 + np.log(dist[far] / cap) * 0.5)
    c = c * (new / np.maximum(dist, 1e-12))[:, None]
    span = np.abs(c).max()
    return c / span if span > 0 else c


def _frame(network, nodes, metrics, names_enabled):
    """Validated ties, and one row per person: label, role_group, board, in_degree."""
    e, nd, met, _, lab = _inputs(network, nodes, metrics, names_enabled)
    ids = pd.Index(nd["id"])
    if "in_degree" in met.columns and met["in_degree"].notna().any():
        indeg = met["in_degree"].reindex(ids).fillna(0).to_numpy(float)
    else:
        indeg = pd.Series(e["target"]).value_counts().reindex(ids, fill_value=0).to_numpy(float)
    people = pd.DataFrame({
        "id": ids, "label": lab.reindex(ids).to_numpy(),
        "role_group": nd["role_group"].astype(object).fillna("other").to_numpy()
        if "role_group" in nd.columns else "everyone",
        "board": nd["board"].astype(bool).to_numpy() if "board" in nd.columns else False,
        "in_degree": indeg})
    return e, people


def sociogram_positions(network, nodes: pd.DataFrame | None = None, *, metrics: pd.DataFrame | None = None,
                        seed: int = 1, names_enabled: bool = False) -> pd.DataFrame:
    """Where each person is drawn, for drawing the sociogram with other tools (e.g. ReportLab).

    Parameters
    ----------
    network : AdviceNetwork or DataFrame
        A network, or a tie table (source, target, weight) used with ``nodes``.
    nodes : DataFrame, optional
        Roster when ``network`` is a tie table.
    metrics : DataFrame, optional
        Node metrics by roster id (``in_degree`` sets the circle size; computed when omitted).
    seed : int, default 1
        Layout seed: the same seed gives the same picture.
    names_enabled : bool, default False
        Label with names (a network carries its own flag).

    Returns
    -------
    pandas.DataFrame
        Indexed by label (pseudonym): ``x``, ``y`` (layout units, about -1.3..1.3, y up),
        ``radius`` (circle radius in the same units; circles do not overlap),
        ``role_group``, ``board``, ``in_degree``, ``colour`` (hex). Ties are the network's
        own (source goes to target for advice).

    Examples
    --------
    >>> e = pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"], "weight": [5, 2]})
    >>> pos = sociogram_positions(e)
    >>> list(pos.columns)[:3], len(pos)
    (['x', 'y', 'radius'], 3)
    """
    e, people = _frame(network, nodes, metrics, names_enabled)
    n = len(people)
    ids = pd.Index(people["id"])
    s, t = ids.get_indexer(e.source), ids.get_indexer(e.target)
    w = e.weight.to_numpy(float) if "weight" in e.columns else np.ones(len(e))
    top = people["in_degree"].max() if n else 0
    size = _D_MIN + (_D_MAX - _D_MIN) * (people["in_degree"].to_numpy(float) / top if top > 0 else np.zeros(n))
    radius = size / 2 / _PT_PER_UNIT
    linked = np.zeros(n, bool)
    linked[s] = linked[t] = True
    if not linked.any():
        linked[:] = True
    li = np.flatnonzero(linked)
    remap = np.full(n, -1)
    remap[li] = np.arange(len(li))
    xy = np.zeros((n, 2))
    xy[li] = sociogram_layout(len(li), np.column_stack([remap[s], remap[t]]).astype(int), w, seed)
    xy[li] = _pull_in(xy[li])
    xy[li] = _separate(xy[li], radius[li], gap=9 / _PT_PER_UNIT)
    # isolates (nobody named them, they named nobody) in rows below the network
    iso = np.flatnonzero(~linked)
    if len(iso):
        per_row = max(1, int(2.4 / (2 * radius.max() + 6 / _PT_PER_UNIT)))
        bottom = xy[li, 1].min() - 0.25 if len(li) else 0.0
        for k, i in enumerate(iso):
            row, col = divmod(k, per_row)
            count = min(per_row, len(iso) - row * per_row)
            xy[i, 0] = (col - (count - 1) / 2) * (2 * radius.max() + 6 / _PT_PER_UNIT)
            xy[i, 1] = bottom - row * (2 * radius.max() + 6 / _PT_PER_UNIT)
    # the bank's role groups keep one colour in every organisation's picture
    colours = dict(_GROUP_COLOURS)
    spare = [c for c in _PALETTE if c not in colours.values()] or _PALETTE
    for k, g in enumerate(g for g in dict.fromkeys(people["role_group"]) if g not in colours):
        colours[g] = spare[k % len(spare)]
    out = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "radius": radius, "role_group": people["role_group"].to_numpy(),
                        "board": people["board"].to_numpy(), "in_degree": people["in_degree"].to_numpy(),
                        "colour": people["role_group"].map(colours).to_numpy()},
                       index=pd.Index(people["label"].to_numpy(), name="label"))
    return out


def _group_label(g: str) -> str:
    return {"lay_partner": "Lay and partner members", "other": "Other roles (small groups combined)",
            "everyone": "People"}.get(g, str(g).replace("_", " ").capitalize())


def _text_colour(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "white"


def sociogram_figure(network, nodes: pd.DataFrame | None = None, *, metrics: pd.DataFrame | None = None,
                     seed: int = 1, names_enabled: bool = False, title: str | None = None):
    """The sociogram as a :class:`matplotlib.figure.Figure` (no pyplot, no file).

    Parameters are those of :func:`sociogram_positions`, plus ``title`` (default: the
    network's organisation).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> e = pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"], "weight": [5, 2]})
    >>> fig = sociogram_figure(e)
    >>> len(fig.axes)
    1
    """
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if isinstance(network, AdviceNetwork):
        title = title if title is not None else (network.organisation or None)
    pos = sociogram_positions(network, nodes, metrics=metrics, seed=seed, names_enabled=names_enabled)
    e, people = _frame(network, nodes, metrics, names_enabled)
    ids = pd.Index(people["id"])
    s, t = ids.get_indexer(e.source), ids.get_indexer(e.target)
    w = e.weight.to_numpy(float) if "weight" in e.columns else np.ones(len(e))
    xy = pos[["x", "y"]].to_numpy()
    r = pos["radius"].to_numpy()
    n = len(pos)

    lo = (xy - r[:, None]).min(axis=0) - 0.05 if n else np.array([-1.0, -1.0])
    hi = (xy + r[:, None]).max(axis=0) + 0.05 if n else np.array([1.0, 1.0])
    span = hi - lo
    width_in = 7.5
    plot_h = float(np.clip(width_in * span[1] / max(span[0], 1e-9), 3.0, 9.0))
    legend_h = 1.5
    fig = Figure(figsize=(width_in, plot_h + legend_h + (0.4 if title else 0)))
    top = 1 - (0.4 / fig.get_figheight() if title else 0.02)
    ax = fig.add_axes((0.02, legend_h / fig.get_figheight(), 0.96, top - legend_h / fig.get_figheight()))
    ax.set_axis_off()
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal", adjustable="box")

    if len(s):
        pairs = set(zip(s.tolist(), t.tolist()))
        p0, p1 = xy[s], xy[t]
        d = p1 - p0
        length = np.hypot(d[:, 0], d[:, 1])
        length[length == 0] = 1e-9
        u = d / length[:, None]
        nrm = np.column_stack([-u[:, 1], u[:, 0]])
        mutual = np.array([(b, a) in pairs for a, b in zip(s.tolist(), t.tolist())])
        off = np.where(mutual, 1.6 / _PT_PER_UNIT, 0.0)[:, None] * nrm  # two-way ties: two lines
        head = (3.0 + 0.35 * w) / _PT_PER_UNIT
        start = p0 + off + u * r[s][:, None]
        tip = p1 + off - u * (r[t] + 0.5 / _PT_PER_UNIT)[:, None]
        base = tip - u * head[:, None]
        ok = length > r[s] + r[t] + head
        alpha = 0.5 if len(s) <= 3 * n else 0.3  # dense networks: lighter ties
        ax.add_collection(LineCollection(np.stack([start, base], axis=1)[ok], linewidths=(0.3 + 0.3 * w)[ok],
                                         colors="#6b6b6b", alpha=alpha, zorder=1, capstyle="butt"))
        half = (head * 0.35)[:, None] * nrm
        ax.add_collection(PolyCollection(np.stack([tip, base + half, base - half], axis=1)[ok],
                                         facecolors="#6b6b6b", edgecolors="none", alpha=min(1, alpha + 0.1),
                                         zorder=1))
    size_pt = 2 * r * _PT_PER_UNIT
    board = pos["board"].to_numpy(dtype=bool)
    ax.scatter(xy[:, 0], xy[:, 1], s=size_pt ** 2, c=pos["colour"].tolist(), marker="o",
               edgecolors=np.where(board, "#000000", "#ffffff").tolist(),
               linewidths=np.where(board, 2.2, 0.8), zorder=3)
    for (lab, row), colour in zip(pos.iterrows(), pos["colour"]):
        ax.text(row.x, row.y, str(lab), ha="center", va="center", fontsize=6.2, color=_text_colour(colour),
                zorder=4)
    if title:
        fig.suptitle(title, fontsize=11, y=1 - 0.15 / fig.get_figheight(), va="top")

    groups = list(dict.fromkeys(pos["role_group"]))
    colour_of = dict(zip(pos["role_group"], pos["colour"]))
    handles = [Patch(facecolor=colour_of[g], edgecolor="white", label=_group_label(g)) for g in groups]
    handles.append(Line2D([], [], marker="o", ls="", mfc="white", mec="black", mew=2.2, ms=9,
                          label="Board member (thick outline)"))
    leg = fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.02, legend_h / fig.get_figheight()),
                     fontsize=7.5, frameon=False, ncol=2, title="Colour: role group", title_fontsize=7.5,
                     alignment="left")
    leg.set_in_layout(False)
    fig.text(0.98, (legend_h - 0.12) / fig.get_figheight(),
             "Each circle is one person (pseudonym).\n"
             "An arrow from A to B: A goes to B for advice;\n"
             "a thicker line: more often.\n"
             "A bigger circle: more colleagues go to them for advice.",
             ha="right", va="top", fontsize=7.5, color="#222222", linespacing=1.4)
    return fig


def save_sociogram(fig, path, formats=("png", "svg"), dpi: int = 150) -> list[Path]:
    """Save a sociogram Figure as each of ``formats`` ("png", "svg", "pdf") beside ``path``.

    The suffix of ``path`` is replaced by each format's. Returns the paths written.
    """
    bad = [f for f in formats if f not in ("png", "svg", "pdf")]
    if bad:
        raise AcapInputError(f"unknown image format(s) {bad}", "save_sociogram")
    base = Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for f in formats:
        p = base.with_suffix(f".{f}") if base.suffix in (".png", ".svg", ".pdf") else base.parent / f"{base.name}.{f}"
        fig.savefig(p, dpi=dpi, format=f)
        out.append(p)
    return out


def draw_sociogram(network, path, nodes: pd.DataFrame | None = None, *, metrics: pd.DataFrame | None = None,
                   formats=("png", "svg"), seed: int = 1, names_enabled: bool = False,
                   title: str | None = None, dpi: int = 150) -> list[Path]:
    """Build a sociogram (:func:`sociogram_figure`) and save it (:func:`save_sociogram`).

    Examples
    --------
    >>> import tempfile, os
    >>> e = pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"], "weight": [5, 2]})
    >>> [p.suffix for p in draw_sociogram(e, os.path.join(tempfile.mkdtemp(), "s"))]
    ['.png', '.svg']
    """
    bad = [f for f in formats if f not in ("png", "svg", "pdf")]
    if bad:
        raise AcapInputError(f"unknown image format(s) {bad}", "draw_sociogram")
    fig = sociogram_figure(network, nodes, metrics=metrics, seed=seed, names_enabled=names_enabled, title=title)
    return save_sociogram(fig, path, formats, dpi)
