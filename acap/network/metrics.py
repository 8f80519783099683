"""Network metrics for advice networks, computed the way sna (R) and UCINET do.

Conventions (each checked against R in ``tests/r/network.R``):

- Ties are directed ``i -> j`` ("i goes to j for advice"); ``weight`` is a frequency
  (a strength). Path metrics (betweenness, closeness) use **binary** ties, as sna
  (``ignore.eval=TRUE``), UCINET and Gephi do; weights are never read as distances.
- ``betweenness`` is raw (ordered pairs, as ``sna::betweenness(gmode="digraph")``);
  ``betweenness_norm`` divides by ``(n-1)(n-2)`` (Freeman's directed normalisation).
- ``closeness`` follows ``sna::closeness(cmode="directed")``: ``(n-1) / sum of outgoing
  distances``; a node that cannot reach every other node has an infinite sum and so
  closeness 0 (with any isolate, everyone's closeness is 0). ``closeness_harmonic``
  (``sna::closeness(cmode="suminvdir")``, igraph's normalised harmonic centrality) is
  ``sum(1/d) / (n-1)`` over outgoing distances, unreachable nodes adding 0: use it when the
  network is not strongly connected.
- ``constraint`` is Burt's constraint as ``igraph::constraint`` computes it on valued
  directed data: proportional strength ``p_ij = (a_ij + a_ji) / sum_k (a_ik + a_ki)``,
  ``c_i = sum_{j in N(i)} (p_ij + sum_q p_iq p_qj)^2``, with ``a`` the frequencies (UCINET's
  structural-holes routine uses the same ``p``). NaN for isolates.
- ``effective_size`` is Burt's effective size with the same ``p`` and marginal strength
  ``m_jq = (a_jq + a_qj) / max_k (a_jk + a_kj)``: ``sum_{j in N(i)} (1 - sum_q p_iq m_jq)``
  (as networkx ``effective_size(weight=...)``; equals ``n - 2t/n`` on binary data).
- Brokerage roles are Gould & Fernandez's raw counts exactly as ``sna::brokerage``
  (``$raw.nli``): for every two-path ``i -> j -> k`` with ``i != k`` and no tie
  ``i -> k``, broker ``j`` scores coordinator (w_I: all in one group), itinerant (w_O:
  i, k in one group, j in another), representative (b_IO: i with j, k elsewhere),
  gatekeeper (b_OI: j with k, i elsewhere) or liaison (b_O: three groups).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import igraph as ig
import scipy.sparse as sp

from acap.errors import AcapInputError
from acap.network.model import (
    OUTSIDE_CATEGORIES, PreparedTies, prepare_ties, validate_contacts, validate_nodes,
    validate_ties,
)

#: Response rate below which summary() warns that betweenness is unreliable.
RESPONSE_RATE_WARNING = 0.8

BROKERAGE_ROLES = ("coordinator", "itinerant", "representative", "gatekeeper", "liaison")


# ---------------------------------------------------------------------------- internals
class _Graph:
    """Integer-coded graph: ids, source/target positions, weights, observed rows."""

    def __init__(self, edges, nodes, nonresponse="observed", symmetrise="none"):
        nd = validate_nodes(nodes) if nodes is not None else None
        e = validate_ties(edges, None if nd is None else nd["id"], check_frequency=False)
        self.nodes = nd
        if nd is not None:
            self.ids = pd.Index(nd["id"])
        else:
            self.ids = pd.Index(pd.unique(np.concatenate([e.source.to_numpy(), e.target.to_numpy()])))
        prep: PreparedTies = prepare_ties(
            e, nd if nd is not None else pd.DataFrame({"id": self.ids}), nonresponse, symmetrise)
        self.prep = prep
        pe = prep.edges
        self.n = len(self.ids)
        self.src = self.ids.get_indexer(pe.source).astype(np.int64)
        self.tgt = self.ids.get_indexer(pe.target).astype(np.int64)
        self.w = pe.weight.to_numpy(float)
        self.m = len(self.src)
        self.observed = prep.respondents  # rows whose out-ties were observed
        self._ig = None

    @property
    def igraph(self) -> ig.Graph:
        if self._ig is None:
            self._ig = ig.Graph(n=self.n, edges=np.column_stack([self.src, self.tgt]).tolist(),
                                directed=True)
        return self._ig

    def adjacency(self, weighted: bool) -> sp.csr_matrix:
        data = self.w if weighted else np.ones(self.m)
        return sp.csr_matrix((data, (self.src, self.tgt)), shape=(self.n, self.n))

    def group_codes(self, group: str) -> np.ndarray:
        if self.nodes is None:
            raise AcapInputError(f"group {group!r} given but no nodes table", "node_metrics")
        if group not in self.nodes.columns:
            raise AcapInputError(f"no column {group!r} in nodes (columns: "
                                 f"{list(self.nodes.columns)})", "nodes")
        g = self.nodes[group]
        if g.isna().any():
            bad = self.nodes["id"][g.isna()].iloc[0]
            raise AcapInputError(f"missing {group!r} for node {bad!r}", "nodes")
        return pd.factorize(g)[0]


def _closeness_sna(G: _Graph) -> np.ndarray:
    """sna's directed closeness: 0 unless the node reaches everyone."""
    n = G.n
    out = np.zeros(n)
    if n < 2:
        return np.full(n, np.nan)
    g = G.igraph
    # A node reaches all others iff its strong component is the only source of the
    # condensation DAG; so at most one component needs shortest paths at all.
    comp = g.connected_components(mode="strong")
    memb = np.asarray(comp.membership)
    k = len(comp)
    cs, ct = memb[G.src], memb[G.tgt]
    has_in = np.zeros(k, dtype=bool)
    has_in[ct[cs != ct]] = True
    sources = np.flatnonzero(~has_in)
    if len(sources) == 1:
        vs = np.flatnonzero(memb == sources[0]).tolist()
        # igraph's normalised closeness is (reached)/sum(d); here reached = n-1.
        out[vs] = np.asarray(g.closeness(vertices=vs, mode="out", normalized=True), float)
    return out


def _burt(G: _Graph) -> tuple[np.ndarray, np.ndarray]:
    """Burt's constraint and effective size on symmetrised frequencies (igraph's p)."""
    A = G.adjacency(weighted=True)
    S = (A + A.T).tocsr()
    S.setdiag(0)
    S.eliminate_zeros()
    tot = np.asarray(S.sum(axis=1)).ravel()
    iso = tot == 0
    inv = np.where(iso, 0.0, 1.0 / np.where(iso, 1.0, tot))
    P = sp.diags(inv) @ S
    P = P.tocsr()
    pattern = S.copy()
    pattern.data = np.ones_like(pattern.data)
    direct_indirect = (P + P @ P).multiply(pattern)  # only j in N(i) counts
    constraint = np.asarray(direct_indirect.multiply(direct_indirect).sum(axis=1)).ravel()
    mx = np.zeros(G.n)
    if S.nnz:
        mx = np.asarray(S.max(axis=1).todense()).ravel()
    M = (sp.diags(np.where(mx > 0, 1.0 / np.where(mx > 0, mx, 1.0), 0.0)) @ S).tocsr()
    redundancy = (P @ M.T).multiply(pattern)
    n_contacts = np.diff(S.indptr).astype(float)
    esize = n_contacts - np.asarray(redundancy.sum(axis=1)).ravel()
    constraint[iso] = np.nan
    esize[iso] = np.nan
    return constraint, esize


def _brokerage(G: _Graph, codes: np.ndarray) -> np.ndarray:
    """Gould-Fernandez raw counts per node (n x 5, columns as BROKERAGE_ROLES)."""
    n, src, tgt = G.n, G.src, G.tgt
    out = np.zeros((n, 5))
    if G.m == 0:
        return out
    order = np.lexsort((tgt, src))
    s, t = src[order], tgt[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(s, minlength=n))])
    counts = indptr[t + 1] - indptr[t]          # continuations j -> k for each i -> j
    total = int(counts.sum())
    if total == 0:
        return out
    i = np.repeat(s, counts)
    j = np.repeat(t, counts)
    offs = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    k = t[np.repeat(indptr[t], counts) + offs]
    keep = k != i
    i, j, k = i[keep], j[keep], k[keep]
    keys = s * n + t                              # sorted because edges are sorted
    q = i * n + k
    pos = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
    open_ = keys[pos] != q                        # no tie i -> k: j brokers
    i, j, k = i[open_], j[open_], k[open_]
    ci, cj, ck = codes[i], codes[j], codes[k]
    role = np.full(len(i), 4)                     # liaison unless below
    role[(ci == ck) & (ci != cj)] = 1             # itinerant
    role[(cj == ck) & (ci != cj)] = 3             # gatekeeper
    role[(ci == cj) & (cj != ck)] = 2             # representative
    role[(ci == cj) & (cj == ck)] = 0             # coordinator
    np.add.at(out, (j, role), 1.0)
    return out


# ---------------------------------------------------------------------------- public
def node_metrics(edges: pd.DataFrame, nodes: pd.DataFrame | None = None,
                 group: str | None = None, *, nonresponse: str = "observed",
                 symmetrise: str = "none", closeness: str = "all") -> pd.DataFrame:
    """Per-person network position: degree, strength, betweenness, closeness, Burt, brokerage.

    Parameters
    ----------
    edges : DataFrame
        Columns ``source``, ``target``, ``weight`` (frequency, a strength; omitted = 1).
        A tie means "source goes to target for advice".
    nodes : DataFrame, optional
        Column ``id`` plus attributes; isolates appear only here. A boolean ``responded``
        column marks non-respondents (their out-ties are missing, see ``nonresponse``).
        Without it, nodes are the tie endpoints in order of appearance.
    group : str, optional
        A column of ``nodes`` for Gould-Fernandez brokerage roles.
    nonresponse : {"observed", "zero", "reconstruct"}
        Non-respondents' out-ties: missing (out-degree and out-strength NaN, path metrics
        on the observed ties), absent, or rebuilt from others' reports (see
        :mod:`acap.network.model`). Recorded in ``result.attrs``.
    symmetrise : {"none", "max", "min"}
        Symmetrising rule applied before the metrics. Recorded in ``result.attrs``.
    closeness : {"all", "sna", "none"}
        ``"sna"`` gives ``closeness`` only, ``"all"`` adds ``closeness_harmonic``.

    Returns
    -------
    DataFrame
        Indexed by node id: in_degree, out_degree, in_strength, out_strength,
        betweenness, betweenness_norm, closeness[, closeness_harmonic], constraint,
        effective_size and, with ``group``, coordinator, itinerant, representative,
        gatekeeper, liaison.

    References
    ----------
    Freeman (1979) Social Networks 1:215-239. Burt (1992) Structural Holes, Harvard UP.
    Gould & Fernandez (1989) Sociological Methodology 19:89-126. Butts (2008) sna,
    J Stat Softw 24(6).

    Examples
    --------
    >>> e = pd.DataFrame({"source": ["a", "b", "c"], "target": ["b", "c", "a"],
    ...                   "weight": [5, 3, 1]})
    >>> node_metrics(e)[["in_degree", "betweenness"]].loc["a"].tolist()
    [1.0, 1.0]
    """
    if closeness not in ("all", "sna", "none"):
        raise AcapInputError(f"closeness must be 'all', 'sna' or 'none', not {closeness!r}")
    G = _Graph(edges, nodes, nonresponse, symmetrise)
    n = G.n
    res = {}
    res["in_degree"] = np.bincount(G.tgt, minlength=n).astype(float)
    res["out_degree"] = np.bincount(G.src, minlength=n).astype(float)
    res["in_strength"] = np.bincount(G.tgt, weights=G.w, minlength=n).astype(float)
    res["out_strength"] = np.bincount(G.src, weights=G.w, minlength=n).astype(float)
    res["out_degree"][~G.observed] = np.nan
    res["out_strength"][~G.observed] = np.nan
    bet = np.asarray(G.igraph.betweenness(directed=True), float) if n else np.zeros(0)
    res["betweenness"] = bet
    res["betweenness_norm"] = bet / ((n - 1) * (n - 2)) if n > 2 else np.full(n, np.nan)
    if closeness != "none":
        res["closeness"] = _closeness_sna(G)
        if closeness == "all":
            res["closeness_harmonic"] = (
                np.asarray(G.igraph.harmonic_centrality(mode="out", normalized=True), float)
                if n > 1 else np.full(n, np.nan))
    res["constraint"], res["effective_size"] = _burt(G)
    if group is not None:
        br = _brokerage(G, G.group_codes(group))
        for c, name in enumerate(BROKERAGE_ROLES):
            res[name] = br[:, c]
    out = pd.DataFrame(res, index=G.ids.rename("id"))
    out.attrs.update(nonresponse=G.prep.nonresponse, symmetrise=G.prep.symmetrise,
                     n_reconstructed=G.prep.n_reconstructed,
                     closeness_convention="sna directed (0 when some node unreachable)",
                     path_ties="binary")
    return out


def _density_parts(G: _Graph) -> tuple[float, float, float]:
    """(ties, summed weight, possible observed ordered pairs) -- sna's gden with NA rows."""
    n = G.n
    n_missing_rows = int((~G.observed).sum())
    possible = n * (n - 1) - n_missing_rows * (n - 1)
    return float(G.m), float(G.w.sum()), float(possible)


def _reciprocity(G: _Graph) -> float:
    """Edgewise reciprocity over dyads whose both cells were observed (sna grecip)."""
    obs = G.observed
    keep = obs[G.src] & obs[G.tgt]
    s, t = G.src[keep], G.tgt[keep]
    if len(s) == 0:
        return float("nan")
    keys = np.sort(s * G.n + t)
    rk = t * G.n + s
    pos = np.minimum(np.searchsorted(keys, rk), len(keys) - 1)
    mutual_edges = int((keys[pos] == rk).sum())   # = 2 * mutual dyads
    return mutual_edges / len(s)


def _freeman(values: np.ndarray, max_dev: float) -> float:
    if len(values) == 0 or not np.isfinite(max_dev) or max_dev <= 0:
        return float("nan")
    return float(np.sum(values.max() - values) / max_dev)


def ei_index(edges: pd.DataFrame, nodes: pd.DataFrame, group: str, *,
             nonresponse: str = "observed", symmetrise: str = "none") -> float:
    """Krackhardt & Stern's E-I index: (external - internal) / (external + internal) ties.

    Counts binary ties between members of different groups (external) and of the same
    group (internal); -1 = all ties inside groups, +1 = all between.

    Parameters
    ----------
    edges : DataFrame
        source, target, weight.
    nodes : DataFrame
        ``id`` and the ``group`` column.
    group : str
        Grouping attribute (e.g. role or profession).

    Returns
    -------
    float
        NaN when there are no ties.

    References
    ----------
    Krackhardt & Stern (1988) Social Psychology Quarterly 51(2):123-140.

    Examples
    --------
    >>> e = pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"], "weight": [1, 1]})
    >>> nd = pd.DataFrame({"id": ["a", "b", "c"], "role": ["x", "x", "y"]})
    >>> ei_index(e, nd, "role")
    0.0
    """
    G = _Graph(edges, nodes, nonresponse, symmetrise)
    return _ei(G, G.group_codes(group))


def _ei(G: _Graph, codes: np.ndarray) -> float:
    if G.m == 0:
        return float("nan")
    same = codes[G.src] == codes[G.tgt]
    internal, external = int(same.sum()), int((~same).sum())
    return (external - internal) / (external + internal)


def board_density(edges: pd.DataFrame, nodes: pd.DataFrame, board: str = "board", *,
                  nonresponse: str = "observed") -> float:
    """Density (binary share of possible ordered pairs) of the board-only subgraph.

    Examples
    --------
    >>> e = pd.DataFrame({"source": ["a", "b", "a"], "target": ["b", "a", "c"], "weight": 3})
    >>> nd = pd.DataFrame({"id": ["a", "b", "c"], "board": [True, True, False]})
    >>> board_density(e, nd)
    1.0
    """
    nd = validate_nodes(nodes)
    if board not in nd.columns:
        raise AcapInputError(f"no column {board!r} in nodes", "nodes")
    keep = nd[nd[board].astype(bool)]
    ids = set(keep["id"].tolist())
    e = edges[edges["source"].isin(ids) & edges["target"].isin(ids)]
    G = _Graph(e, keep, nonresponse, "none")
    ties, _, possible = _density_parts(G)
    return ties / possible if possible > 0 else float("nan")


def summary(edges: pd.DataFrame, nodes: pd.DataFrame | None = None, group: str | None = None,
            *, nonresponse: str = "observed", symmetrise: str = "none") -> dict:
    """Organisation-level network summary.

    Parameters
    ----------
    edges, nodes, nonresponse, symmetrise
        As in :func:`node_metrics`.
    group : str, optional
        A column of ``nodes``; adds ``ei_index``.

    Returns
    -------
    dict
        ``n_nodes``, ``n_ties``, ``density`` (binary share of possible ordered pairs,
        sna ``gden(ignore.eval=TRUE)``), ``valued_density`` (mean frequency over possible
        pairs, sna ``gden``), ``reciprocity`` (edgewise, sna ``grecip(measure="edgewise")``),
        ``degree_centralization`` (Freeman, total degree, sna ``centralization(degree,
        cmode="freeman")`` on binary ties), ``indegree_centralization``,
        ``outdegree_centralization``, ``betweenness_centralization`` (sna
        ``centralization(betweenness)``), ``board_density`` (when nodes has ``board``),
        ``ei_index`` (with ``group``), ``response_rate``, ``warning`` (text or None),
        ``nonresponse``, ``symmetrise``, ``n_reconstructed``. Under ``"observed"``
        density and reciprocity use observed cells only (a non-respondent's row is
        missing, as sna treats ``NA`` cells); centralizations use the observed ties.

    References
    ----------
    Freeman (1979); Wasserman & Faust (1994) Social Network Analysis, ch. 4-5;
    Costenbader & Valente (2003) Social Networks 25:283-307; Borgatti, Carley &
    Krackhardt (2006) Social Networks 28:124-136.

    Examples
    --------
    >>> e = pd.DataFrame({"source": ["a", "b"], "target": ["b", "a"], "weight": [4, 2]})
    >>> s = summary(e)
    >>> s["density"], s["reciprocity"], s["valued_density"]
    (1.0, 1.0, 3.0)
    """
    G = _Graph(edges, nodes, nonresponse, symmetrise)
    n = G.n
    ties, wsum, possible = _density_parts(G)
    b = np.bincount(G.tgt, minlength=n) + 0.0
    o = np.bincount(G.src, minlength=n) + 0.0
    bet = np.asarray(G.igraph.betweenness(directed=True), float) if n else np.zeros(0)
    nodes_df = G.nodes
    resp_rate = (float(nodes_df["responded"].astype(bool).mean())
                 if nodes_df is not None and "responded" in nodes_df.columns and n else 1.0)
    out = {
        "n_nodes": n,
        "n_ties": int(G.m),
        "density": ties / possible if possible > 0 else float("nan"),
        "valued_density": wsum / possible if possible > 0 else float("nan"),
        "reciprocity": _reciprocity(G),
        "degree_centralization": _freeman(b + o, (n - 1) * (2 * (n - 1) - 2.0)),
        "indegree_centralization": _freeman(b, (n - 1) * (n - 1.0)),
        "outdegree_centralization": _freeman(o, (n - 1) * (n - 1.0)),
        "betweenness_centralization": _freeman(bet, (n - 1) ** 2 * (n - 2.0)),
        "response_rate": resp_rate,
    }
    if nodes_df is not None and "board" in nodes_df.columns:
        out["board_density"] = board_density(edges, nodes_df, nonresponse=nonresponse)
    if group is not None:
        out["ei_index"] = _ei(G, G.group_codes(group))
    out["warning"] = (
        f"Response rate {resp_rate:.0%} is below {RESPONSE_RATE_WARNING:.0%}: betweenness "
        "and other path-based measures are unreliable with this much missing network data "
        "(Costenbader & Valente 2003; Borgatti, Carley & Krackhardt 2006)."
        if resp_rate < RESPONSE_RATE_WARNING else None)
    out.update(nonresponse=G.prep.nonresponse, symmetrise=G.prep.symmetrise,
               n_reconstructed=G.prep.n_reconstructed)
    return out


def outside_diversity(contacts: pd.DataFrame, nodes: pd.DataFrame | None = None,
                      categories=None) -> pd.DataFrame:
    """Outside-tie count and diversity across categories per respondent (Blau, IQV).

    Parameters
    ----------
    contacts : DataFrame
        ``respondent``, ``category`` (keys of :data:`OUTSIDE_CATEGORIES`), ``count``,
        optional ``frequency`` (1-5).
    nodes : DataFrame, optional
        Roster (``id``, optional ``responded``): rows for everyone, NaN for
        non-respondents, 0 ties for respondents who named none.
    categories : sequence of str, optional
        The category set (default: all nine); ``K`` in the IQV is its length.

    Returns
    -------
    DataFrame
        Indexed by respondent: ``outside_ties`` (sum of counts), ``categories_named``,
        ``blau`` = 1 - sum p_k^2 with p_k the share of contacts in category k,
        ``iqv`` = blau / (1 - 1/K) (NaN with no contacts), ``mean_frequency``
        (count-weighted).

    References
    ----------
    Blau (1977) Inequality and Heterogeneity; Agresti & Agresti (1978) Sociological
    Methodology 9:204-237 (IQV).

    Examples
    --------
    >>> c = pd.DataFrame({"respondent": ["a", "a"], "category": ["academia", "other"],
    ...                   "count": [1, 1]})
    >>> float(outside_diversity(c).loc["a", "blau"])
    0.5
    """
    cats = list(categories) if categories is not None else list(OUTSIDE_CATEGORIES)
    c = validate_contacts(contacts, None if nodes is None else validate_nodes(nodes)["id"])
    wide = c.pivot_table(index="respondent", columns="category", values="count",
                         aggfunc="sum", fill_value=0).reindex(columns=cats, fill_value=0)
    counts = wide.to_numpy(float)
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = counts / total[:, None]
        blau = 1.0 - np.sum(p ** 2, axis=1)
    blau[total == 0] = np.nan
    K = len(cats)
    iqv = blau / (1.0 - 1.0 / K) if K > 1 else np.full(len(blau), np.nan)
    cf = c.dropna(subset=["frequency"])
    wf = (cf.assign(wf=cf["count"] * cf["frequency"]).groupby("respondent")[["wf", "count"]].sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_f = (wf["wf"] / wf["count"]).reindex(wide.index)
    out = pd.DataFrame({"outside_ties": total, "categories_named": (counts > 0).sum(axis=1),
                        "blau": blau, "iqv": iqv, "mean_frequency": mean_f.to_numpy(float)},
                       index=wide.index.rename("id"))
    if nodes is not None:
        nd = validate_nodes(nodes)
        out = out.reindex(nd["id"])
        out.index.name = "id"
        resp = (nd["responded"].astype(bool).to_numpy() if "responded" in nd.columns
                else np.ones(len(nd), dtype=bool))
        none_named = out["outside_ties"].isna().to_numpy() & resp
        out.loc[none_named, ["outside_ties", "categories_named"]] = 0
    return out


def contacts_by_category(contacts: pd.DataFrame, categories=None) -> pd.DataFrame:
    """Outside ties by category (as the reference study reported them).

    Returns
    -------
    DataFrame
        Indexed by category key: ``label``, ``respondents`` (naming at least one),
        ``total_count``, ``mean_frequency`` (count-weighted).

    Examples
    --------
    >>> c = pd.DataFrame({"respondent": ["a", "b"], "category": ["academia"] * 2,
    ...                   "count": [2, 1], "frequency": [3, 1]})
    >>> int(contacts_by_category(c).loc["academia", "total_count"])
    3
    """
    cats = list(categories) if categories is not None else list(OUTSIDE_CATEGORIES)
    c = validate_contacts(contacts)
    named = c[c["count"] > 0]
    g = named.groupby("category")
    cf = named.dropna(subset=["frequency"])
    wsum = (cf["count"] * cf["frequency"]).groupby(cf["category"]).sum()
    csum = cf.groupby("category")["count"].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        mf = (wsum / csum).reindex(cats)
    return pd.DataFrame({
        "label": [OUTSIDE_CATEGORIES.get(k, k) for k in cats],
        "respondents": g["respondent"].nunique().reindex(cats, fill_value=0).to_numpy(),
        "total_count": g["count"].sum().reindex(cats, fill_value=0).to_numpy(),
        "mean_frequency": mf.to_numpy(float),
    }, index=pd.Index(cats, name="category"))
