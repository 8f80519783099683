"""What the exports (:mod:`acap.network.export`) and sociograms (:mod:`acap.network.sociogram`)
share: the colour and size scales, the attribute allow-list, pseudonymous labels, and the
validated inputs both draw from. One place, so a file and a picture never disagree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from acap.errors import AcapInputError
from acap.network.metrics import BROKERAGE_ROLES
from acap.network.model import (
    AdviceNetwork, display_labels, node_pseudonyms, validate_nodes, validate_ties,
)

# Light yellow -> orange -> dark red (ColorBrewer YlOrRd end points and middle).
_RAMP = np.array([[255, 237, 160], [253, 141, 60], [189, 0, 38]], float)

#: Node sizes (Gephi units) for the smallest and largest betweenness.
SIZE_MIN, SIZE_MAX = 6.0, 30.0


def degree_colours(degree) -> np.ndarray:
    """RGB rows (0-255 ints) on a yellow-to-red ramp scaled to the largest degree."""
    d = np.nan_to_num(np.asarray(degree, float))
    top = d.max() if len(d) and d.max() > 0 else 1.0
    x = d / top * (len(_RAMP) - 1)
    lo = np.clip(np.floor(x).astype(int), 0, len(_RAMP) - 2)
    f = (x - lo)[:, None]
    return np.rint(_RAMP[lo] * (1 - f) + _RAMP[lo + 1] * f).astype(int)


def betweenness_sizes(betweenness, smallest: float = SIZE_MIN, largest: float = SIZE_MAX) -> np.ndarray:
    """Sizes from ``smallest`` to ``largest`` proportional to betweenness."""
    b = np.nan_to_num(np.asarray(betweenness, float))
    top = b.max() if len(b) and b.max() > 0 else 1.0
    return smallest + (largest - smallest) * b / top


def export_labels(nodes: pd.DataFrame, names_enabled: bool = False) -> tuple[pd.Series, pd.Series]:
    """(export ids, display labels) by roster id.

    Export ids are always pseudonyms (:func:`acap.network.model.node_pseudonyms`):
    ``P01``, ``P02`` ... in roster order, or the roster's ``label`` column when it is
    already pseudonymous in that form. A roster's ``id`` may be an e-mail or staff number
    and its ``label`` column often holds real names, so neither is used otherwise. Display
    labels are the same pseudonyms, unless ``names_enabled``: then a person's ``name`` when
    present and non-empty, else their ``label`` when present and non-empty, else the
    pseudonym (export ids stay pseudonymous).

    Parameters
    ----------
    nodes : DataFrame
        Roster with ``id``; optionally ``name`` and ``label``.
    names_enabled : bool, default False
        The organisation's lead enabled real names in outputs.

    Returns
    -------
    (Series, Series)
        Export ids and display labels, both indexed by roster id.

    Examples
    --------
    >>> roster = pd.DataFrame({"id": ["ann@nhs.net", "bo@nhs.net"], "label": ["Ann Lee", "Bo Li"]})
    >>> xid, lab = export_labels(roster)
    >>> list(xid), list(lab)
    (['P01', 'P02'], ['P01', 'P02'])
    >>> list(export_labels(roster, names_enabled=True)[1])
    ['Ann Lee', 'Bo Li']
    """
    nd = validate_nodes(nodes)
    return node_pseudonyms(nd), display_labels(nd, names_enabled)


#: Computed network metrics exported as node attributes (the columns of
#: :func:`acap.network.node_metrics`, brokerage roles included).
METRIC_COLUMNS: tuple[str, ...] = (
    "in_degree", "out_degree", "in_strength", "out_strength", "betweenness",
    "betweenness_norm", "closeness", "closeness_harmonic", "constraint", "effective_size",
    *BROKERAGE_ROLES,
)

#: Structural roster attributes exported by default: position in the organisation and
#: response status, nothing that identifies a person or scores them.
STRUCTURAL_ATTRIBUTES: tuple[str, ...] = ("role", "role_group", "group", "board", "responded")

#: Roster columns that are never exported as attributes, even when named in
#: ``attributes``: raw ids never leave the library, and names only appear as labels
#: when the organisation's lead enabled them.
NEVER_EXPORTED = frozenset({"id", "label", "name"})

_log = logging.getLogger("acap.network.export")


@dataclass(frozen=True)
class AttributeSelection:
    """Which node attributes an export writes, and which it drops.

    Attributes
    ----------
    roster : tuple of str
        Roster columns written (structural attributes, then those named by the caller).
    metrics : tuple of str
        Metric columns written.
    dropped : tuple of str
        Roster and metric columns left out (names only; never their values).
    """

    roster: tuple[str, ...]
    metrics: tuple[str, ...]
    dropped: tuple[str, ...]


def _normalise_attributes(attributes) -> tuple[str, ...]:
    if attributes is None:
        return ()
    if isinstance(attributes, str):
        attributes = (attributes,)  # one name, not its characters
    out = tuple(attributes)
    bad = [a for a in out if not isinstance(a, str)]
    if bad:
        raise AcapInputError(f"attribute names must be strings, not {bad[0]!r}", "attributes")
    never = [a for a in out if a.strip().lower() in NEVER_EXPORTED]
    if never:
        raise AcapInputError(
            f"{never[0]!r} cannot be exported as an attribute: node ids are always pseudonyms "
            "and names appear only as labels, with names_enabled=True", "attributes")
    return out


def _identities(nd: pd.DataFrame) -> set[str]:
    """Every raw id, name and roster label, as text: values no default attribute may hold."""
    out: set[str] = set()
    for col in ("id", "label", "name"):
        if col in nd.columns:
            out.update(str(v).strip() for v in nd[col].dropna().tolist())
    out.discard("")
    return out


def _carries_identity(s: pd.Series, nd: pd.DataFrame, idents: set[str]) -> bool:
    """A structural column that copies the roster id, or (as text) holds any id, name or
    label (say a ``group`` column filled with managers' names), is dropped all the same."""
    raw = nd["id"].astype(str).str.strip().to_numpy()
    if len(s) and (s.astype(str).str.strip().to_numpy() == raw).all():
        return True
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return False  # codes 1, 2, 3 would match small numeric ids by chance
    return any(str(v).strip() in idents for v in s.dropna().tolist())


def select_attributes(nodes: pd.DataFrame, metrics: pd.DataFrame | None = None,
                      attributes=()) -> AttributeSelection:
    """The node attributes every export writes: an allow-list.

    Written by default: the computed metrics (:data:`METRIC_COLUMNS`) and the structural
    roster attributes :data:`STRUCTURAL_ATTRIBUTES` (``role``, ``role_group``, ``group``,
    ``board``, ``responded``) that the roster has; a structural column is still dropped if
    it copies the roster id or, as text, holds any roster id, name or label. Everything
    else (individual scores such as ``potential``, staff or NHS numbers, initials, e-mails
    ...) is dropped, whatever its type. Columns named in ``attributes`` are written as
    well, unchecked: the caller takes responsibility for them. ``id``, ``label`` and
    ``name`` can never be named.

    Parameters
    ----------
    nodes : DataFrame
        Roster with ``id``.
    metrics : DataFrame, optional
        Per-person metrics (e.g. :func:`acap.network.node_metrics`).
    attributes : sequence of str, default ()
        Further roster (or metrics) columns to export.

    Returns
    -------
    AttributeSelection

    Examples
    --------
    >>> roster = pd.DataFrame({"id": [1, 2], "role": ["chair", "gp"], "potential": [3.2, 4.1],
    ...                        "staff_no": [1, 2]})
    >>> sel = select_attributes(roster)
    >>> sel.roster, sel.dropped
    (('role',), ('potential', 'staff_no'))
    >>> select_attributes(roster, attributes=("potential",)).roster
    ('role', 'potential')
    """
    nd = validate_nodes(nodes)
    named = _normalise_attributes(attributes)
    met_cols = [] if metrics is None else list(metrics.columns)
    unknown = [a for a in named if a not in nd.columns and a not in met_cols]
    if unknown:
        raise AcapInputError(f"attribute {unknown[0]!r} is neither a roster nor a metric column "
                             f"(roster columns: {list(nd.columns)})", "attributes")
    idents = _identities(nd)
    roster = [c for c in STRUCTURAL_ATTRIBUTES
              if c in nd.columns and c not in named and not _carries_identity(nd[c], nd, idents)]
    roster += [c for c in dict.fromkeys(named) if c in nd.columns]
    mets = [c for c in met_cols
            if (c in METRIC_COLUMNS or c in named) and c not in roster]
    keep = set(roster) | set(mets) | {"id"}
    dropped = [str(c) for c in nd.columns if c not in keep]
    dropped += [str(c) for c in met_cols if c not in keep and str(c) not in dropped]
    return AttributeSelection(tuple(roster), tuple(mets), tuple(dropped))


def _ties_and_roster(edges, nodes, names_enabled):
    """Validated (ties, roster, names_enabled) from a network or a tie table (roster optional)."""
    if isinstance(edges, AdviceNetwork):
        edges, nodes, names_enabled = edges.ties, edges.nodes, edges.names_enabled
    if nodes is None:
        e0 = validate_ties(edges, check_frequency=False)
        nodes = pd.DataFrame({"id": pd.unique(np.concatenate([e0.source, e0.target]))})
    nd = validate_nodes(nodes)
    return validate_ties(edges, nd["id"], check_frequency=False), nd, names_enabled


def _prepare(edges, nodes, metrics, names_enabled, attributes=()):
    """Common preparation: validated ties, roster, the attribute columns to write (name,
    values) in order, the full metrics (for colour and size), export ids and labels."""
    e, nd, names_enabled = _ties_and_roster(edges, nodes, names_enabled)
    if metrics is None:
        from acap.network.metrics import node_metrics
        metrics = node_metrics(e, nd)
    metrics = metrics.reindex(pd.Index(nd["id"]))
    sel = select_attributes(nd, metrics, attributes)
    if sel.dropped:
        # column names only: their values are what must not leave the library
        _log.info("not exported (not on the attribute allow-list): %s", ", ".join(sel.dropped))
    cols = ([(c, nd[c].reset_index(drop=True)) for c in sel.roster]
            + [(c, metrics[c].reset_index(drop=True)) for c in sel.metrics])
    xid, lab = export_labels(nd, names_enabled)
    return e, nd, cols, metrics, xid, lab


def _inputs(edges, nodes, metrics, names_enabled, attributes=()):
    """(ties, roster, allow-listed metrics, export ids, labels), as the sociogram uses them."""
    e, nd, _, met, xid, lab = _prepare(edges, nodes, metrics, names_enabled, attributes)
    return e, nd, met[list(select_attributes(nd, met, attributes).metrics)], xid, lab
