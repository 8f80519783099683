"""Sociogram geometry for the feedback report: where each person's circle goes.

Positions come from :func:`acap.network.sociogram.sociogram_layout` (seeded, so the same network
gives the same picture); here they are only spread so that no two labelled circles overlap at
the size the report draws them, and packed into the unit square. Nothing here is a statistic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["sociogram_data"]

#: Circle radius as a share of the drawing's width (the renderers draw at this size).
NODE_RADIUS = 0.022
MAX_RADIUS = 0.034
#: Height of the drawing as a share of its width (both renderers draw at this aspect).
ASPECT = 0.82
_BROKERS = 3


def _spread(pos: np.ndarray, radius: np.ndarray, iterations: int = 300) -> np.ndarray:
    """Push overlapping circles apart (pairwise, symmetric), keeping the layout's shape.

    Distances are measured on the drawing (height = ``ASPECT`` x width), where radii are shares
    of the width.
    """
    pos = pos * np.array([1.0, ASPECT])
    gap = 0.014
    hi = np.array([1.0, ASPECT])
    for _ in range(iterations):
        d = pos[:, None, :] - pos[None, :, :]
        dist = np.sqrt((d ** 2).sum(-1)) + 1e-12
        need = radius[:, None] + radius[None, :] + gap
        over = np.clip(need - dist, 0, None)
        np.fill_diagonal(over, 0)
        if over.max() < 1e-4:
            break
        pos += 0.5 * (d / dist[:, :, None] * over[:, :, None]).sum(axis=1)
        pos = np.clip(pos, radius[:, None], hi - radius[:, None])
    return pos / np.array([1.0, ASPECT])


def sociogram_data(net, role_labels: dict | None = None) -> dict:
    """Nodes (position, size, board, broker), ties and broker table for one ``NetworkFeedback``.

    Parameters
    ----------
    net : NetworkFeedback
        ``nodes`` indexed by pseudonymous label (``role_group``, ``board``, degree and
        betweenness columns); ``ties`` with ``source``, ``target`` and a weight or frequency.

    Returns
    -------
    dict
        ``nodes`` (label, x, y in [0, 1], r as a share of the width, board, broker), ``edges``
        (source index, target index, width 1-5), ``n``, ``n_ties``, ``board_labels``,
        ``broker_labels`` and ``brokers`` (rows for the broker table).
    """
    from acap.network.sociogram import sociogram_layout

    nodes = net.nodes
    labels = [str(x) for x in nodes.index]
    index = {lab: i for i, lab in enumerate(labels)}
    ties = net.ties
    wcol = next((c for c in ("weight", "frequency") if c in ties.columns), None)
    keep = ties["source"].astype(str).isin(index) & ties["target"].astype(str).isin(index)
    ties = ties[keep]
    e = np.column_stack([ties["source"].astype(str).map(index), ties["target"].astype(str).map(index)]).astype(int) \
        if len(ties) else np.zeros((0, 2), int)
    w = ties[wcol].to_numpy(float) if wcol and len(ties) else np.ones(len(e))
    n = len(labels)
    pos = sociogram_layout(n, e, w, seed=1) if n else np.zeros((0, 2))
    if n > 1:
        # Force layouts pack the core and leave stragglers far out: stretch the centre (radius to a
        # power below 1), then fill the drawing in each direction.
        c = pos - np.median(pos, axis=0)
        rad = np.sqrt((c ** 2).sum(1))
        rmax = rad.max() or 1.0
        c *= ((rad / rmax) ** 0.5 / np.maximum(rad / rmax, 1e-12))[:, None]
        lo, hi = c.min(axis=0), c.max(axis=0)
        pos = 0.06 + 0.88 * (c - lo) / np.where(hi > lo, hi - lo, 1.0)
    elif n == 1:
        pos = np.full((1, 2), 0.5)
    indeg = (nodes["in_degree"] if "in_degree" in nodes else
             pd.Series(np.bincount(e[:, 1], minlength=n) if len(e) else np.zeros(n), index=nodes.index)).to_numpy(float)
    scale = indeg / indeg.max() if n and indeg.max() > 0 else np.zeros(n)
    radius = NODE_RADIUS + (MAX_RADIUS - NODE_RADIUS) * np.sqrt(scale)
    pos = _spread(pos, radius) if n else pos
    btw = nodes["betweenness"].to_numpy(float) if "betweenness" in nodes else np.zeros(n)
    order = [i for i in np.argsort(-btw, kind="stable") if btw[i] > 0][:_BROKERS]
    board = nodes["board"].astype(bool).to_numpy() if "board" in nodes else np.zeros(n, bool)
    wmax = w.max() if len(w) else 1.0
    roles = nodes["role_group"] if "role_group" in nodes else pd.Series("", index=nodes.index)
    return dict(
        nodes=[dict(label=labels[i], x=float(pos[i, 0]), y=float(pos[i, 1]), r=float(radius[i]),
                    board=bool(board[i]), broker=i in order) for i in range(n)],
        edges=[(int(a), int(b), float(1 + 4 * (x / wmax))) for (a, b), x in zip(e, w)],
        n=n, n_ties=len(e), board_labels=[labels[i] for i in range(n) if board[i]],
        broker_labels=[labels[i] for i in order],
        brokers=[(labels[i], (role_labels or {}).get(roles.iloc[i], str(roles.iloc[i]).replace("_", " ").capitalize()), "yes" if board[i] else "no",
                  str(int(indeg[i]))) for i in order])
