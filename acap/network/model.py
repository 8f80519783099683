"""Advice-network data: a roster per organisation, directed valued ties, outside contacts.

A tie ``i -> j`` means "i goes to j for advice"; its ``weight`` is the frequency 1-5
(1 = yearly ... 5 = daily). Frequency is a *strength*: path metrics use binary ties and
never read it as a distance. A non-respondent's out-ties are *missing*, not zero; people
on the roster with no ties (isolates) are kept.

Non-response options (recorded in every result that uses them):

``"observed"`` (default)
    Cells in a non-respondent's row are missing. Density and reciprocity use observed
    cells only (as sna does with ``NA`` cells); out-degree and out-strength of a
    non-respondent are NaN; path metrics use the observed ties.
``"zero"``
    Missing cells are read as "no tie".
``"reconstruct"``
    A non-respondent's ``i -> j`` is filled from ``j``'s report of ``j -> i`` (same
    frequency) when ``j`` responded (Stork & Richards 1992; Huisman 2009).

Symmetrising rules (``symmetrise``): ``"none"`` keeps direction; ``"max"`` keeps a tie
when either side reports it (weight = the larger frequency); ``"min"`` only when both do
(weight = the smaller frequency). The symmetrised graph is returned as both directions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from acap.errors import AcapInputError

#: Outside-contact categories (key -> label), as in the reference study's survey.
OUTSIDE_CATEGORIES: dict[str, str] = {
    "gp_practices": "GP practices",
    "nhs_trusts_acute": "NHS trusts and acute providers",
    "community_providers": "Community providers",
    "local_authority": "Local authority",
    "public_health": "Public health",
    "regional_nhs": "Regional NHS",
    "voluntary_sector": "Voluntary sector",
    "academia": "Academia",
    "other": "Other",
}

NONRESPONSE_OPTIONS = ("observed", "zero", "reconstruct")
SYMMETRISE_OPTIONS = ("none", "max", "min")
FREQUENCY_MIN, FREQUENCY_MAX = 1, 5
#: How often a respondent goes to a colleague for advice, as the questionnaire asks it.
FREQUENCY_LABELS: dict[int, str] = {1: "Less than monthly", 2: "Monthly", 3: "Every two weeks", 4: "Weekly",
                                    5: "Daily"}


def pseudonyms(n: int, prefix: str = "P") -> list[str]:
    """Pseudonymous labels ``P01``, ``P02`` ... (zero-padded to the roster size).

    Examples
    --------
    >>> pseudonyms(3)
    ['P01', 'P02', 'P03']
    """
    width = max(2, len(str(n)))
    return [f"{prefix}{k:0{width}d}" for k in range(1, n + 1)]


_PSEUDONYM = re.compile(r"P\d{2,4}")


def node_pseudonyms(nodes: pd.DataFrame) -> pd.Series:
    """The pseudonym of every person on a roster, indexed by roster id: what outputs show.

    A roster's own ``label`` column is kept only when it is already pseudonymous in the
    form :func:`pseudonyms` makes: every value ``P`` plus 2-4 digits, all of one width,
    unique, and none equal to a roster id (as :func:`acap.network.simulate_networks` and
    :meth:`AdviceNetwork.from_frames` write it; keeping it keeps a person's pseudonym the
    same in every file and in the board-only subnetwork). Anything else in ``label`` may
    be a real name and is ignored: the pseudonyms are then ``P01``, ``P02`` ... in roster
    order. Raw ids never appear.

    Examples
    --------
    >>> node_pseudonyms(pd.DataFrame({"id": ["x7", "y2"], "label": ["Ann Lee", "Bo Li"]})).tolist()
    ['P01', 'P02']
    >>> node_pseudonyms(pd.DataFrame({"id": ["x7", "y2"], "label": ["P02", "P01"]})).tolist()
    ['P02', 'P01']
    """
    nd = validate_nodes(nodes)
    index = pd.Index(nd["id"])
    if "label" in nd.columns and len(nd) and nd["label"].notna().all():
        lab = nd["label"].astype(str)
        raw_ids = {str(v) for v in nd["id"].tolist()}
        if (lab.map(lambda v: _PSEUDONYM.fullmatch(v) is not None).all()
                and lab.str.len().nunique() == 1 and lab.is_unique and not lab.isin(raw_ids).any()):
            return pd.Series(lab.to_numpy(dtype=object), index=index, dtype=object)
    return pd.Series(pseudonyms(len(nd)), index=index, dtype=object)


def display_labels(nodes: pd.DataFrame, names_enabled: bool = False) -> pd.Series:
    """Display label of every person, indexed by roster id.

    The pseudonym (:func:`node_pseudonyms`), unless ``names_enabled``: then the person's
    ``name`` if non-empty, else their ``label`` if non-empty, else the pseudonym.

    Examples
    --------
    >>> roster = pd.DataFrame({"id": [1, 2], "name": ["Ann Lee", ""]})
    >>> display_labels(roster).tolist(), display_labels(roster, names_enabled=True).tolist()
    (['P01', 'P02'], ['Ann Lee', 'P02'])
    """
    nd = validate_nodes(nodes)
    lab = node_pseudonyms(nd)
    if names_enabled:
        for col in ("label", "name"):  # name wins over label where both are given
            if col in nd.columns:
                v = nd[col]
                given = v.astype(object).where(v.notna(), "").astype(str).str.strip().to_numpy()
                lab = pd.Series(np.where(given != "", given, lab.to_numpy()), index=lab.index, dtype=object)
    return lab


def validate_nodes(nodes: pd.DataFrame, where: str = "nodes") -> pd.DataFrame:
    """Check a roster table (column ``id``, unique, non-missing) and return a copy."""
    if not isinstance(nodes, pd.DataFrame):
        raise AcapInputError("expected a DataFrame with an 'id' column", where)
    if "id" not in nodes.columns:
        raise AcapInputError(f"no 'id' column (columns: {list(nodes.columns)})", where)
    ids = nodes["id"]
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise AcapInputError(f"missing id in row {row}", where)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise AcapInputError(f"duplicate id {dup.iloc[0]!r} on the roster", where)
    return nodes.reset_index(drop=True).copy()


def validate_ties(edges: pd.DataFrame, node_ids=None, where: str = "ties",
                  check_frequency: bool = True) -> pd.DataFrame:
    """Check a tie table (source, target, weight) and return a clean copy.

    Raises :class:`AcapInputError` for a tie to or from a node not on the roster, a
    frequency off 1-5 (when ``check_frequency``), a self-tie or a duplicate tie. A missing
    ``weight`` column means every tie has weight 1.

    Examples
    --------
    >>> e = pd.DataFrame({"source": ["a"], "target": ["b"], "weight": [3]})
    >>> validate_ties(e, ["a", "b"]).shape
    (1, 3)
    """
    if not isinstance(edges, pd.DataFrame):
        raise AcapInputError("expected a DataFrame with source, target, weight", where)
    missing = [c for c in ("source", "target") if c not in edges.columns]
    if missing:
        raise AcapInputError(f"missing column(s) {missing}", where)
    e = edges.reset_index(drop=True)
    e = pd.DataFrame({"source": e["source"].to_numpy(), "target": e["target"].to_numpy(),
                      "weight": (pd.to_numeric(e["weight"], errors="coerce").to_numpy(float)
                                 if "weight" in e.columns else np.ones(len(e)))})
    for col in ("source", "target"):
        bad = e[col].isna().to_numpy()
        if bad.any():
            raise AcapInputError(f"missing {col} in row {int(np.flatnonzero(bad)[0])}", where)
    w = e["weight"].to_numpy()
    if np.isnan(w).any():
        raise AcapInputError(f"missing or non-numeric weight in row {int(np.flatnonzero(np.isnan(w))[0])}", where)
    if check_frequency:
        off = (w < FREQUENCY_MIN) | (w > FREQUENCY_MAX) | (w != np.round(w))
        if off.any():
            r = int(np.flatnonzero(off)[0])
            raise AcapInputError(
                f"frequency {w[r]:g} in row {r} ({e.source[r]!r} -> {e.target[r]!r}) "
                f"is not a whole number from {FREQUENCY_MIN} to {FREQUENCY_MAX}", where)
    elif (w <= 0).any():
        r = int(np.flatnonzero(w <= 0)[0])
        raise AcapInputError(f"weight {w[r]:g} in row {r} is not positive (omit absent ties)", where)
    selfs = (e["source"] == e["target"]).to_numpy()
    if selfs.any():
        r = int(np.flatnonzero(selfs)[0])
        raise AcapInputError(f"self-tie {e.source[r]!r} -> {e.target[r]!r} in row {r}", where)
    dup = e.duplicated(["source", "target"]).to_numpy()
    if dup.any():
        r = int(np.flatnonzero(dup)[0])
        raise AcapInputError(f"duplicate tie {e.source[r]!r} -> {e.target[r]!r} in row {r}", where)
    if node_ids is not None:
        known = pd.Index(node_ids)
        for col in ("source", "target"):
            unknown = ~e[col].isin(known).to_numpy()
            if unknown.any():
                r = int(np.flatnonzero(unknown)[0])
                raise AcapInputError(
                    f"{col} {e[col][r]!r} in row {r} is not on the roster", where)
    return e


def validate_contacts(contacts: pd.DataFrame, node_ids=None,
                      where: str = "contacts") -> pd.DataFrame:
    """Check outside contacts: columns respondent, category, count (>= 0), frequency (1-5 or NaN)."""
    if not isinstance(contacts, pd.DataFrame):
        raise AcapInputError("expected a DataFrame with respondent, category, count", where)
    need = [c for c in ("respondent", "category", "count") if c not in contacts.columns]
    if need:
        raise AcapInputError(f"missing column(s) {need}", where)
    c = contacts.reset_index(drop=True).copy()
    if "frequency" not in c.columns:
        c["frequency"] = np.nan
    bad_cat = ~c["category"].isin(list(OUTSIDE_CATEGORIES))
    if bad_cat.any():
        r = int(np.flatnonzero(bad_cat.to_numpy())[0])
        raise AcapInputError(f"unknown category {c.category[r]!r} in row {r} "
                             f"(expected one of {list(OUTSIDE_CATEGORIES)})", where)
    cnt = pd.to_numeric(c["count"], errors="coerce").to_numpy(float)
    bad = np.isnan(cnt) | (cnt < 0) | (cnt != np.round(cnt))
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise AcapInputError(f"count {c['count'][r]!r} in row {r} is not a whole number >= 0", where)
    c["count"] = cnt.astype(int)
    f = pd.to_numeric(c["frequency"], errors="coerce").to_numpy(float)
    badf = ~np.isnan(f) & ((f < FREQUENCY_MIN) | (f > FREQUENCY_MAX))
    if badf.any():
        r = int(np.flatnonzero(badf)[0])
        raise AcapInputError(f"frequency {f[r]:g} in row {r} is off 1-5", where)
    c["frequency"] = f
    if c.duplicated(["respondent", "category"]).any():
        r = int(np.flatnonzero(c.duplicated(["respondent", "category"]).to_numpy())[0])
        raise AcapInputError(f"duplicate category {c.category[r]!r} for respondent "
                             f"{c.respondent[r]!r} in row {r}", where)
    if node_ids is not None:
        unknown = ~c["respondent"].isin(pd.Index(node_ids))
        if unknown.any():
            r = int(np.flatnonzero(unknown.to_numpy())[0])
            raise AcapInputError(f"respondent {c.respondent[r]!r} in row {r} is not on the roster", where)
    return c[["respondent", "category", "count", "frequency"]]


@dataclass(frozen=True)
class PreparedTies:
    """Ties after the non-response and symmetrising options.

    Attributes
    ----------
    edges : DataFrame
        source, target, weight (both directions when symmetrised).
    respondents : ndarray of bool
        Per roster position: whose out-ties were observed (all True unless
        ``nonresponse == "observed"``).
    nonresponse, symmetrise : str
        The options used.
    n_reconstructed : int
        Ties filled from the other side's report (``"reconstruct"``).
    """

    edges: pd.DataFrame
    respondents: np.ndarray
    nonresponse: str
    symmetrise: str
    n_reconstructed: int = 0


def responded_mask(nodes: pd.DataFrame | None, ids) -> np.ndarray:
    """Boolean per id: True when the node responded (all True without a ``responded`` column)."""
    if nodes is None or "responded" not in nodes.columns:
        return np.ones(len(ids), dtype=bool)
    r = nodes.set_index("id")["responded"].reindex(ids)
    if r.isna().any():
        raise AcapInputError("missing 'responded' value", "nodes")
    return r.astype(bool).to_numpy()


def prepare_ties(edges: pd.DataFrame, nodes: pd.DataFrame | None = None,
                 nonresponse: str = "observed", symmetrise: str = "none") -> PreparedTies:
    """Apply a non-response option and a symmetrising rule to a tie table.

    Parameters
    ----------
    edges : DataFrame
        source, target, weight.
    nodes : DataFrame, optional
        Roster with ``id`` and optionally ``responded`` (bool).
    nonresponse : {"observed", "zero", "reconstruct"}
    symmetrise : {"none", "max", "min"}

    Returns
    -------
    PreparedTies

    Examples
    --------
    >>> e = pd.DataFrame({"source": ["b"], "target": ["a"], "weight": [4]})
    >>> n = pd.DataFrame({"id": ["a", "b"], "responded": [False, True]})
    >>> prepare_ties(e, n, nonresponse="reconstruct").edges.shape[0]
    2
    """
    if nonresponse not in NONRESPONSE_OPTIONS:
        raise AcapInputError(f"nonresponse must be one of {NONRESPONSE_OPTIONS}, not {nonresponse!r}")
    if symmetrise not in SYMMETRISE_OPTIONS:
        raise AcapInputError(f"symmetrise must be one of {SYMMETRISE_OPTIONS}, not {symmetrise!r}")
    e = edges[["source", "target", "weight"]].reset_index(drop=True)
    ids = (nodes["id"].to_numpy() if nodes is not None
           else pd.unique(np.concatenate([e.source.to_numpy(), e.target.to_numpy()])))
    resp = responded_mask(nodes, ids)
    nonresp_ids = set(np.asarray(ids)[~resp].tolist())
    # Whatever a non-respondent "sent" cannot have been observed: drop it.
    if nonresp_ids:
        e = e[~e.source.isin(nonresp_ids)].reset_index(drop=True)
    n_rec = 0
    if nonresponse == "reconstruct" and nonresp_ids:
        back = e[e.target.isin(nonresp_ids)]
        filled = pd.DataFrame({"source": back.target.to_numpy(), "target": back.source.to_numpy(),
                               "weight": back.weight.to_numpy()})
        n_rec = len(filled)
        e = pd.concat([e, filled], ignore_index=True)
    if symmetrise != "none" and len(e):
        rev = pd.DataFrame({"source": e.target, "target": e.source, "weight": e.weight})
        both = pd.concat([e.assign(_side=0), rev.assign(_side=1)], ignore_index=True)
        g = both.groupby(["source", "target"], sort=False)
        agg = g.agg(weight=("weight", "max" if symmetrise == "max" else "min"),
                    sides=("_side", "nunique"))
        if symmetrise == "min":
            agg = agg[agg.sides == 2]
        e = agg.reset_index()[["source", "target", "weight"]]
    observed = resp if nonresponse == "observed" else np.ones(len(ids), dtype=bool)
    return PreparedTies(edges=e.reset_index(drop=True), respondents=observed,
                        nonresponse=nonresponse, symmetrise=symmetrise, n_reconstructed=n_rec)


@dataclass(frozen=True)
class AdviceNetwork:
    """One organisation's advice network.

    Attributes
    ----------
    organisation : str
    nodes : DataFrame
        Roster: ``id``, ``label`` (a display label, ``P01``... when the roster has none;
        a supplied one may be a real name and is treated like ``name``), ``name`` (may be
        empty), ``board`` (bool), ``responded`` (bool) and any attributes (e.g. ``role``,
        ``group``). Outputs never show ``id``, and show ``label`` or ``name`` only when
        ``names_enabled``; :meth:`labels` gives what they show. Exports write only
        allow-listed attributes (``role``, ``role_group``, ``group``, ``board``,
        ``responded``) unless the caller names more (see
        :func:`acap.network.export.select_attributes`).
    ties : DataFrame
        source, target, weight (frequency 1-5); only respondents' reports.
    contacts : DataFrame
        respondent, category, count, frequency (outside contacts).
    names_enabled : bool
        Whether the organisation's lead enabled real names in outputs.

    Examples
    --------
    >>> roster = pd.DataFrame({"id": [1, 2, 3]})
    >>> ties = pd.DataFrame({"source": [1, 2], "target": [2, 1], "weight": [5, 3]})
    >>> net = AdviceNetwork.from_frames(roster, ties, organisation="ICB A")
    >>> list(net.labels())
    ['P01', 'P02', 'P03']
    """

    organisation: str
    nodes: pd.DataFrame
    ties: pd.DataFrame
    contacts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["respondent", "category", "count", "frequency"]))
    names_enabled: bool = False

    @classmethod
    def from_frames(cls, nodes: pd.DataFrame, ties: pd.DataFrame,
                    contacts: pd.DataFrame | None = None, organisation: str = "",
                    names_enabled: bool = False) -> "AdviceNetwork":
        """Validate and build a network from a roster, ties and outside contacts."""
        where = f"organisation {organisation!r}" if organisation else None
        def _w(part):
            return f"{where}, {part}" if where else part
        nd = validate_nodes(nodes, _w("nodes"))
        if "label" not in nd.columns:
            nd["label"] = pseudonyms(len(nd))
        if "name" not in nd.columns:
            nd["name"] = ""
        if "board" not in nd.columns:
            nd["board"] = True
        if "responded" not in nd.columns:
            nd["responded"] = True
        nd["board"] = nd["board"].astype(bool)
        nd["responded"] = nd["responded"].astype(bool)
        e = validate_ties(ties, nd["id"], _w("ties"))
        nonresp = set(nd.loc[~nd.responded, "id"].tolist())
        if nonresp and e.source.isin(nonresp).any():
            r = int(np.flatnonzero(e.source.isin(nonresp).to_numpy())[0])
            raise AcapInputError(f"tie in row {r} comes from {e.source[r]!r}, who is marked "
                                 "as a non-respondent", _w("ties"))
        c = (validate_contacts(contacts, nd["id"], _w("contacts")) if contacts is not None
             else cls.__dataclass_fields__["contacts"].default_factory())
        return cls(organisation=organisation, nodes=nd, ties=e, contacts=c,
                   names_enabled=bool(names_enabled))

    def labels(self) -> pd.Series:
        """Display labels by id, as every export writes them (see :func:`display_labels`).

        Pseudonyms (``P01``...); when names are enabled, a person's ``name`` if non-empty,
        else their ``label`` if non-empty, else the pseudonym. A supplied ``label`` column
        that is not pseudonymous is treated like a name (rosters often put real names
        there), so it never appears unless names are enabled.
        """
        return display_labels(self.nodes, self.names_enabled)

    @property
    def response_rate(self) -> float:
        """Share of the roster who answered the network questions."""
        return float(self.nodes["responded"].mean()) if len(self.nodes) else float("nan")

    def board(self) -> "AdviceNetwork":
        """The board-only subnetwork (roster rows with ``board`` True and ties among them)."""
        keep = self.nodes[self.nodes.board].reset_index(drop=True)
        ids = set(keep.id.tolist())
        t = self.ties[self.ties.source.isin(ids) & self.ties.target.isin(ids)]
        c = self.contacts[self.contacts.respondent.isin(ids)]
        return AdviceNetwork(self.organisation, keep, t.reset_index(drop=True),
                             c.reset_index(drop=True), self.names_enabled)

    def prepared(self, nonresponse: str = "observed", symmetrise: str = "none") -> PreparedTies:
        """Ties after a non-response option and symmetrising rule (see module docs)."""
        return prepare_ties(self.ties, self.nodes, nonresponse, symmetrise)


def split_organisations(edges: pd.DataFrame, nodes: pd.DataFrame,
                        contacts: pd.DataFrame | None = None,
                        names_enabled=False) -> dict[str, AdviceNetwork]:
    """One :class:`AdviceNetwork` per value of the ``organisation`` column.

    Parameters
    ----------
    edges, nodes, contacts : DataFrame
        Long tables with an ``organisation`` column (as
        :func:`acap.network.simulate_networks` returns them).
    names_enabled : bool or mapping
        One flag for all, or organisation -> flag (the lead's setting per organisation).

    Returns
    -------
    dict
        Organisation -> AdviceNetwork, in order of first appearance in ``nodes``.

    Examples
    --------
    >>> nd = pd.DataFrame({"organisation": ["A", "A", "B", "B"], "id": [1, 2, 3, 4]})
    >>> e = pd.DataFrame({"organisation": ["A", "B"], "source": [1, 3], "target": [2, 4],
    ...                   "weight": [3, 5]})
    >>> {k: len(v.ties) for k, v in split_organisations(e, nd).items()}
    {'A': 1, 'B': 1}
    """
    for name, df in (("nodes", nodes), ("edges", edges), ("contacts", contacts)):
        if df is not None and "organisation" not in df.columns:
            raise AcapInputError("no 'organisation' column", name)
    out = {}
    for org in pd.unique(nodes["organisation"]):
        nd = nodes[nodes["organisation"] == org].drop(columns="organisation")
        e = edges[edges["organisation"] == org].drop(columns="organisation")
        c = (contacts[contacts["organisation"] == org].drop(columns="organisation")
             if contacts is not None else None)
        flag = names_enabled.get(org, False) if isinstance(names_enabled, dict) else names_enabled
        out[org] = AdviceNetwork.from_frames(nd, e, c, organisation=str(org),
                                             names_enabled=bool(flag))
    return out
