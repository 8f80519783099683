"""The publication layer: everything that leaves acap for a reader passes through here.

A scored run (:class:`acap.pipeline.Scored`) holds everything, including what must not be
shown. This module turns it into what may be published about one organisation
(:class:`OrganisationFeedback`), the result files of a run (:func:`publication_files`), and
the respondents a validation report beside those results may use (:func:`shown_scores`).
CSV, HTML, PDF and app pages all read from here, so the privacy rule is decided once.

The rule: no combination of the files of one run, or of ``acap score``, ``acap validate`` and
``acap demo`` on the same input, lets a reader work out a suppressed cell, by subtraction of
sums (n x mean) or by which rows exist.

* An organisation with fewer than ``min_n`` respondents is *suppressed*: every row it would
  have is still there, blank, with the reason.
* Within a shown organisation a scale is blank when fewer than ``min_n`` respondents have a
  score on it; an item's answer distribution is blank when its scale is blank or fewer than
  ``min_n`` answered it on the 1-7 scale.
* Role groups follow :func:`acap.aggregate.suppress` (small groups, and the groups that
  would give them away by subtraction); every organisation has the same role-group x scale
  rows, and every suppressed role cell has the same reason, whatever its n (0 included).
* A validation report published beside the results covers only what they show
  (:func:`shown_scores`): suppressed organisations' respondents are left out, blank item
  rows are blank there too, and people in suppressed role cells are pooled under
  ``"not shown"``, so totals minus shown cells give nothing new.
* Peer distributions use shown organisations only, and only where at least ``min_n`` exist.
* A minimum n below :data:`acap.thresholds.DEFAULT_MIN_N` must be asked for explicitly
  (:func:`check_min_n`) and is recorded in every output (:class:`RunMeta`).
"""

from __future__ import annotations

import datetime as _dt
import json
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from acap.aggregate import ROLE_NOT_STATED
from acap.errors import AcapInputError
from acap.thresholds import DEFAULT_MIN_N

if TYPE_CHECKING:  # pragma: no cover
    from acap.items import Bank
    from acap.pipeline import Scored
    from acap.scoring import ScoreResult

__all__ = [
    "ALL_RESPONDENTS_WARNING",
    "NOT_SHOWN",
    "NetworkFeedback",
    "OrganisationFeedback",
    "Publication",
    "RunMeta",
    "SmallMinimumWarning",
    "check_min_n",
    "feedback_for",
    "item_mask",
    "publication_files",
    "publish_all",
    "headline_table",
    "results_tables",
    "role_flags",
    "run_meta",
    "shown_scores",
]

#: Role-group label given, in a validation report beside published results, to people whose
#: organisation x role-group cell is suppressed (pooled, so no small group's size follows).
NOT_SHOWN = "not shown"

#: First line of a validation report over every respondent (``respondents="all"``).
ALL_RESPONDENTS_WARNING = (
    "NOT FOR RELEASE WITH ORGANISATION RESULTS: this report covers every respondent, including "
    "organisations and groups whose results are suppressed; beside organisation results it lets a "
    "reader work out suppressed figures by subtraction.")

#: Every share column of the item distributions: 1..7 and don't know.
SHARE_POINTS = 7


class SmallMinimumWarning(UserWarning):
    """A minimum n below the default was asked for: small cells will be published."""


def check_min_n(min_n: int, allow_small_n: bool = False) -> bool:
    """Refuse a minimum n below :data:`DEFAULT_MIN_N` unless explicitly allowed; warn when allowed.

    Parameters
    ----------
    min_n : int
        Requested minimum number of respondents per published cell.
    allow_small_n : bool, default False
        The caller explicitly accepts publishing cells smaller than the default.

    Returns
    -------
    bool
        True when ``min_n`` is below the default (an override, recorded in :class:`RunMeta`).

    Raises
    ------
    AcapInputError
        ``min_n`` is not a whole number of at least 1, or is below the default without
        ``allow_small_n``.

    Examples
    --------
    >>> check_min_n(5)
    False
    """
    if isinstance(min_n, bool) or not isinstance(min_n, (int, np.integer)) or min_n < 1:
        raise AcapInputError(f"must be a whole number of at least 1, got {min_n!r}", "min_n")
    if min_n >= DEFAULT_MIN_N:
        return False
    if not allow_small_n:
        raise AcapInputError(f"{min_n} is below the default minimum of {DEFAULT_MIN_N} respondents; "
                             "groups that small can identify people. Ask for it explicitly "
                             "(allow_small_n=True, or --allow-small-n on the command line)", "min_n")
    warnings.warn(f"minimum n {min_n} is below the default {DEFAULT_MIN_N}: results of groups this small "
                  "can identify people; the override is recorded in every output", SmallMinimumWarning,
                  stacklevel=3)
    return True


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunMeta:
    """What every output of a run records about how it was made.

    Attributes
    ----------
    acap_version, bank, bank_version : str
    min_n : int
        Minimum respondents per published cell.
    date : str
        ISO date of the run.
    wave : str, optional
        Survey wave.
    min_n_override : bool
        True when a minimum below :data:`DEFAULT_MIN_N` was explicitly asked for.
    """

    acap_version: str
    bank: str
    bank_version: str
    min_n: int
    date: str
    wave: str | None = None
    min_n_override: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class NetworkFeedback:
    """One organisation's advice network as it may be published.

    Attributes
    ----------
    summary : pandas.Series
        n_nodes, n_ties, density, valued_density, board_density, reciprocity, centralization
        (Freeman degree), degree/indegree/outdegree/betweenness_centralization, response_rate.
    nodes : pandas.DataFrame
        Indexed by pseudonymous label (P01 ...): role_group (groups with fewer than min_n
        people, or not shown in the survey results, merged into "other"), board, degree
        (in + out), in_degree, out_degree (blank for non-respondents), in_strength,
        out_strength, betweenness, betweenness_norm, closeness, constraint, effective_size and
        the brokerage roles. Nothing else about a person.
    ties : pandas.DataFrame
        source, target (labels), weight (frequency 1-5).
    outside : pandas.DataFrame
        Indexed by outside-contact category: ties (number of contacts).
    peers : pandas.DataFrame or None
        Quartiles of the summary measures over shown peers (only with at least min_n peers).
    """

    summary: pd.Series
    nodes: pd.DataFrame
    ties: pd.DataFrame
    outside: pd.DataFrame
    peers: pd.DataFrame | None = None


@dataclass(frozen=True)
class OrganisationFeedback:
    """Everything that may be published about one organisation, and nothing else.

    The app and the PDF reports read only this. Every organisation, shown or suppressed,
    has the same rows in every table; a suppressed cell is blank with its ``reason``.

    Attributes
    ----------
    organisation : str
    org_type : str or None
    status : {"shown", "suppressed"}
    reason : str or None
        Why the organisation is suppressed (e.g. "fewer than 5 respondents").
    n, invited : int or None
        Respondents and people invited (both None when suppressed).
    response_rate : float or None
    scales : pandas.DataFrame
        Indexed by scale id: label, family ("process", "coordination", "composite",
        "gathered", "used"), n, mean, sd, ci_low, ci_high, mean_100, ci_low_100, ci_high_100,
        rwg_j, suppressed, reason.
    roles : pandas.DataFrame
        Indexed by (role_group, scale): label, n, mean, sd, suppressed, reason. The same rows
        for every organisation.
    gaps : pandas.DataFrame
        Indexed by knowledge source: label, gathered, used, gap, suppressed, reason.
    items : pandas.DataFrame
        Indexed by item: label (item text), scale, n (answered, don't know included),
        share_1 .. share_7, share_dont_know, suppressed, reason. Answers as given (before
        reverse keying).
    headline : pandas.Series
        potential, realised, ratio, largest_gap_source, largest_gap_label, largest_gap.
    peers : pandas.DataFrame
        Indexed by scale: group ("type" or "all"), n_peers, q1, median, q3; rows only where
        at least min_n shown organisations (of the type, else in all) have the scale.
    icc : pandas.DataFrame
        Indexed by scale: icc1, icc2, n_groups (over shown organisations only).
    network : NetworkFeedback or None
    meta : RunMeta
    """

    organisation: str
    org_type: str | None
    status: str
    reason: str | None
    n: int | None
    invited: int | None
    response_rate: float | None
    scales: pd.DataFrame
    roles: pd.DataFrame
    gaps: pd.DataFrame
    items: pd.DataFrame
    headline: pd.Series
    peers: pd.DataFrame
    icc: pd.DataFrame
    network: NetworkFeedback | None
    meta: RunMeta


# --------------------------------------------------------------------------------------------
# the shared, run-wide pieces
# --------------------------------------------------------------------------------------------


def _texts(flag, text: str, flag2=None, text2: str | None = None) -> np.ndarray:
    """``text`` where ``flag``, ``text2`` where ``flag`` and ``flag2`` too, else "" (object array).

    An object array shares one string per value; numpy's fixed-width strings of a long
    reason on every row of a large run would take hundreds of megabytes to fill.
    """
    code = np.asarray(flag, dtype=bool).astype(np.int8)
    if flag2 is not None:
        code = code + (code.astype(bool) & np.asarray(flag2, dtype=bool))
    return np.array(["", text, text2], dtype=object)[code]


def _org_reason(min_n: int) -> str:
    return f"fewer than {min_n} respondents"


def _cell_reason(min_n: int) -> str:
    return f"fewer than {min_n} respondents with a score"


def _role_reason(min_n: int) -> str:
    # one reason for every suppressed role cell (0 people, a few, or hidden to protect a
    # smaller group): a reason that differed would say which is which
    return f"fewer than {min_n} in this group, or hidden so a smaller group cannot be worked out"


def _item_reason(min_n: int) -> str:
    return f"fewer than {min_n} answers, or its scale is not shown"


def _bank_of(scored: Scored) -> Bank:
    if getattr(scored, "bank", None) is not None:
        return scored.bank
    from acap.items import load_bank

    return load_bank()


def run_meta(scored: Scored, *, wave: str | None = None, date: str | None = None) -> RunMeta:
    """The :class:`RunMeta` of a scored run (acap version, bank, min n and its override, date)."""
    import acap

    bank = _bank_of(scored)
    return RunMeta(acap_version=acap.__version__, bank=bank.bank, bank_version=str(bank.version),
                   min_n=int(scored.organisations.min_n),
                   date=date or _dt.datetime.now(_dt.timezone.utc).date().isoformat(), wave=wave,
                   min_n_override=bool(getattr(scored, "min_n_override", False)))


def _scale_labels(bank: Bank, scales) -> pd.DataFrame:
    """label and family per scale id of the organisation table."""
    lab = bank.labels()
    fam = {s.id: s.family for s in bank.scales}
    rows = {}
    for sc in scales:
        if sc in fam:
            rows[sc] = (lab.get(sc, sc), fam[sc])
        elif sc in ("potential", "realised"):
            rows[sc] = (f"{sc.capitalize()} absorptive capacity", "composite")
        elif ":" in sc:
            side, src = sc.split(":", 1)
            rows[sc] = (f"{lab.get(src, src)} ({side})", side)
        else:
            rows[sc] = (lab.get(sc, sc), None)
    return pd.DataFrame.from_dict(rows, orient="index", columns=["label", "family"]).rename_axis("scale")


def _item_scale(bank: Bank) -> dict[str, str | None]:
    """The organisation-table scale each item's answers feed (None for conduits)."""
    out = {}
    for iid, meta in bank.items.items():
        if meta["kind"] == "scale":
            out[iid] = meta["scale"]
        elif meta["kind"].startswith("source_"):
            out[iid] = f"{meta['kind'].split('_', 1)[1]}:{meta['source']}"
        else:
            out[iid] = None
    return out


@dataclass(frozen=True)
class _ItemCounts:
    """Answers per organisation and item: the counts item masks and distributions are made of."""

    orgs: pd.Index  # organisations, sorted
    items: list  # the score table's item columns
    answered: np.ndarray  # (orgs, items): answered on the scale (not skipped, not don't know)
    points: np.ndarray  # (orgs, items, SHARE_POINTS): answers as given (before reverse keying)
    dont_know: np.ndarray  # (orgs, items)


def _item_counts(scored: Scored) -> _ItemCounts:
    bank = _bank_of(scored)
    s = scored.scores
    code, names = pd.factorize(s.background["organisation"].to_numpy(), sort=True)
    keep = code >= 0
    g, cols = len(names), list(s.items.columns)
    answered = np.zeros((g, len(cols)), dtype=np.int64)
    points = np.zeros((g, len(cols), SHARE_POINTS))
    dk = np.zeros((g, len(cols)))
    reverse = set(bank.reverse_items)
    # item by item (one respondents x items array at a time costs more in page faults)
    for j, iid in enumerate(cols):
        v = s.items[iid].to_numpy(dtype=float)
        seen = keep & ~np.isnan(v)
        answered[:, j] = np.bincount(code[seen], minlength=g)
        rows = np.flatnonzero(seen)
        w = v[rows]
        if iid in reverse and iid in bank.items:
            w = bank.response_scales[bank.items[iid]["response_scale"]].points + 1 - w
        on = (w >= 1) & (w <= SHARE_POINTS) & (w == np.floor(w))
        points[:, j] = np.bincount(code[rows[on]] * SHARE_POINTS + w[on].astype(np.int64) - 1,
                                   minlength=g * SHARE_POINTS).reshape(g, SHARE_POINTS)
        dk[:, j] = np.bincount(code[keep & s.dont_know[iid].to_numpy(dtype=bool)], minlength=g)
    return _ItemCounts(pd.Index(names), cols, answered, points, dk)


def item_mask(scored: Scored, counts: _ItemCounts | None = None) -> pd.DataFrame:
    """Organisation x item: True where the organisation's answer distribution of the item is shown.

    Shown when the organisation is shown, the scale the item feeds is shown for it (conduits
    feed none), and at least ``min_n`` respondents answered it on the scale (don't know and
    skipped not counted). :func:`shown_scores` blanks exactly the answers this hides.
    """
    bank = _bank_of(scored)
    counts = counts if counts is not None else _item_counts(scored)
    orgs = counts.orgs
    shown = counts.answered >= scored.organisations.min_n
    table = scored.organisations.table
    cell_shown = (~table["suppressed"].unstack("scale").astype(bool)).reindex(orgs).fillna(False)
    cell = cell_shown.to_numpy(dtype=bool)
    col = {sc: i for i, sc in enumerate(cell_shown.columns)}
    feeds = _item_scale(bank)
    for j, iid in enumerate(counts.items):
        sc = feeds.get(iid)
        if sc is not None and sc in col:
            shown[:, j] &= cell[:, col[sc]]
    org_shown = ~table["suppressed"].groupby(level=0).all()
    shown &= org_shown.reindex(orgs).fillna(False).to_numpy(dtype=bool)[:, None]
    return pd.DataFrame(shown, index=orgs.rename("organisation"), columns=pd.Index(counts.items, name="item"))


def _item_table(scored: Scored, bank: Bank, mask: pd.DataFrame, counts: _ItemCounts | None = None) -> pd.DataFrame:
    """(organisation, item): label, scale, n, share_1..7, share_dont_know, suppressed, reason."""
    counts = counts if counts is not None else _item_counts(scored)
    feeds = _item_scale(bank)
    meta = bank.items
    lab = bank.labels()
    orgs = counts.orgs
    g = len(orgs)
    # one long table (organisation, item) in organisation order, items in bank order within each
    pos = {iid: j for j, iid in enumerate(counts.items)}
    items = [iid for iid in bank.item_ids if iid in pos]
    take = [pos[iid] for iid in items]
    texts, scales = [], []
    for iid in items:
        kind = meta[iid]["kind"]
        texts.append(meta[iid]["text"] if kind == "scale" else (
            f"{lab.get(meta[iid]['source'], meta[iid]['source'])} ({kind.split('_', 1)[1]})"
            if kind.startswith("source_") else f"Conduit: {lab.get(iid, iid)}"))
        scales.append(feeds.get(iid))
    pts = counts.points[:, take]
    dk = counts.dont_know[:, take]
    n = (pts.sum(axis=2) + dk).reshape(-1)
    shown = mask.reindex(index=orgs, columns=items).fillna(False).to_numpy(dtype=bool).reshape(-1)
    points = np.arange(1, SHARE_POINTS + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = pts.reshape(-1, SHARE_POINTS) / np.where(n == 0, np.nan, n)[:, None]
        dk_share = dk.reshape(-1) / np.where(n == 0, np.nan, n)
    index = pd.MultiIndex.from_arrays([np.repeat(orgs.to_numpy(), len(items)), np.tile(np.array(items, dtype=object), g)],
                                      names=["organisation", "item"])
    t = pd.DataFrame({"label": pd.array(np.tile(np.array(texts, dtype=object), g), dtype="str"),
                      "scale": pd.Series(np.tile(np.array(scales, dtype=object), g), index=index, dtype=object),
                      "n": pd.array(np.where(shown, n, 0).astype(np.int64), dtype="Int64"),
                      **{f"share_{k}": np.where(shown, shares[:, k - 1], np.nan) for k in points},
                      "share_dont_know": np.where(shown, dk_share, np.nan)}, index=index)
    t["n"] = t["n"].mask(~shown)
    t["suppressed"] = ~shown
    t["reason"] = _texts(~shown, _item_reason(scored.organisations.min_n))
    return t


def _role_groups(scored: Scored, bank: Bank) -> list:
    """Every role group of the bank, then any other present (e.g. "not stated": then for everyone)."""
    groups = list(dict.fromkeys(bank.role_groups.values()))
    present = scored.scores.background["role_group"].astype(object).fillna(ROLE_NOT_STATED).unique()
    return groups + [g for g in present if g not in groups]


def role_flags(scored: Scored) -> pd.Series:
    """Which organisation x role-group x scale cells are suppressed, on the full grid.

    The role-group cells of :attr:`OrganisationResults.by_role` (small cells and their
    complements on each scale), and two more rules, both :func:`acap.aggregate.suppress`:

    * a role group's *headcount* is part of a breakdown of the organisation's published n, so
      groups with fewer than ``min_n`` people, and the smallest others until the hidden ones
      are at least two with ``min_n`` people together, are hidden on every scale (a network
      or validation file that pools hidden people cannot then give a small group's size);
    * the per-scale complementary rule is applied again to the result.

    Returns
    -------
    pandas.Series of bool
        Indexed by (organisation, role_group, scale): True where suppressed.
    """
    from acap.aggregate import suppression_flags

    bank = _bank_of(scored)
    org = scored.organisations
    t = org.table
    min_n = org.min_n
    s = scored.scores
    bg = s.background
    role = bg["role_group"].astype(object).where(bg["role_group"].notna(), ROLE_NOT_STATED)
    groups = pd.Index(_role_groups(scored, bank))
    orgs = t.index.get_level_values(0).unique()
    scales = pd.Index(t.index.get_level_values("scale").unique())
    n_org, n_group, n_scale = len(orgs), len(groups), len(scales)
    # every cell of the grid (organisation, role group, scale) by position, C order
    oc, rc = orgs.get_indexer(bg["organisation"]), groups.get_indexer(role)
    known = (oc >= 0) & (rc >= 0)
    pair = oc * n_group + rc
    head = np.bincount(pair[known], minlength=n_org * n_group)
    counts = np.empty((n_org * n_group, n_scale))
    for k, sc in enumerate(scales):
        counts[:, k] = np.bincount(pair[known & _scale_column(s, sc).notna().to_numpy()], minlength=n_org * n_group)
    org_hidden = t["suppressed"].groupby(level=0).all().reindex(orgs).to_numpy(dtype=bool)
    # headcounts: a breakdown of each organisation's n
    heads, _ = suppression_flags(head.astype(float), min_n, group_codes=np.repeat(np.arange(n_org), n_group),
                                 total_hidden=org_hidden)
    # the cells of by_role as they are (absent ones suppressed), then the headcount rule
    br = org.by_role
    idx = br.index
    where = [orgs.get_indexer(idx.levels[0])[idx.codes[0]], groups.get_indexer(idx.levels[1])[idx.codes[1]],
             scales.get_indexer(idx.levels[2])[idx.codes[2]]]
    on_grid = (where[0] >= 0) & (where[1] >= 0) & (where[2] >= 0)
    flags = np.ones(n_org * n_group * n_scale, dtype=bool)
    flags[((where[0] * n_group + where[1]) * n_scale + where[2])[on_grid]] = (
        br["suppressed"].astype("boolean").fillna(True).to_numpy(dtype=bool)[on_grid])
    flags |= np.repeat(heads, n_scale)
    # and the per-scale complementary rule again, within organisation x scale
    cell_org = np.repeat(np.arange(n_org), n_group * n_scale)
    cell_scale = np.tile(np.arange(n_scale), n_org * n_group)
    total = t["suppressed"].reindex(pd.MultiIndex.from_product([orgs, scales])).fillna(True).to_numpy(dtype=bool)
    flags, _ = suppression_flags(counts.reshape(-1), min_n, already=flags, group_codes=cell_org * n_scale + cell_scale,
                                 total_hidden=total)
    grid = pd.MultiIndex.from_product([orgs, groups, scales], names=["organisation", "role_group", "scale"])
    return pd.Series(flags, index=grid, name="suppressed")


def _scale_column(s: ScoreResult, scale: str) -> pd.Series:
    """Respondents' scores on one scale of the organisation table (scales, composites, sources)."""
    if ":" in scale:
        side, src = scale.split(":", 1)
        return getattr(s, side)[src]
    if scale in s.scales.columns:
        return s.scales[scale]
    return s.composites[scale]


def _role_table(scored: Scored, bank: Bank, flags: pd.Series | None = None) -> pd.DataFrame:
    """(organisation, role_group, scale) for every organisation x every role group x every scale."""
    org = scored.organisations
    flags = role_flags(scored) if flags is None else flags
    br = org.by_role.rename_axis(["organisation", "role_group", "scale"])
    out = br.reindex(flags.index)
    out["suppressed"] = flags.to_numpy()
    for c in ("n", "mean", "sd"):
        if c in out.columns:
            out[c] = out[c].mask(out["suppressed"])
    out["reason"] = _texts(out["suppressed"], _role_reason(org.min_n))
    labels = _scale_labels(bank, flags.index.get_level_values("scale").unique())["label"]
    level = out.index.names.index("scale")
    out.insert(0, "label", labels.reindex(out.index.levels[level]).to_numpy(dtype=object)[out.index.codes[level]])
    return out[["label", "n", "mean", "sd", "suppressed", "reason"]]


def _scale_table(scored: Scored, bank: Bank) -> pd.DataFrame:
    """(organisation, scale): the public scale columns, blank where suppressed."""
    org = scored.organisations
    t = org.table
    min_n = org.min_n
    labels = _scale_labels(bank, t.index.get_level_values("scale").unique())
    pts = {}
    for sc in labels.index:
        pts[sc] = 7
    for s in bank.scales:
        pts[s.id] = bank.response_scales[s.response_scale].points
    if bank.sources:
        sp = bank.response_scales[bank.sources.response_scale].points
        pts.update({sc: sp for sc in labels.index if ":" in sc})
    if bank.potential_scales:
        pts["potential"] = pts["realised"] = pts[bank.potential_scales[0]]
    p = t.index.get_level_values("scale").map(pts).to_numpy(dtype=float)
    out = pd.DataFrame({
        "label": labels["label"].reindex(t.index.get_level_values("scale")).to_numpy(),
        "family": labels["family"].reindex(t.index.get_level_values("scale")).to_numpy(),
        "n": t["n"], "mean": t["mean"], "sd": t["sd"], "ci_low": t["ci_lower"], "ci_high": t["ci_upper"],
    }, index=t.index)
    for c in ("mean", "ci_low", "ci_high"):
        out[f"{c}_100"] = (out[c].astype(float) - 1) / (p - 1) * 100
    out["rwg_j"] = t["rwg_j"]
    out["suppressed"] = t["suppressed"].astype(bool)
    hidden_org = out["suppressed"].groupby(level=0).transform("all")
    out["reason"] = _texts(out["suppressed"], _cell_reason(min_n), hidden_org, _org_reason(min_n))
    return out.rename_axis(["organisation", "scale"])


def _peer_tables(scales: pd.DataFrame, types: pd.Series | None, min_n: int) -> dict:
    """Peer quartiles per scale: by type where min_n shown organisations of that type, else over all."""
    means = scales["mean"].where(~scales["suppressed"]).unstack("scale").astype(float)

    def quart(frame, group):
        n = frame.notna().sum()
        q = frame.quantile([0.25, 0.5, 0.75])
        out = pd.DataFrame({"group": group, "n_peers": n.astype(int), "q1": q.loc[0.25], "median": q.loc[0.5],
                            "q3": q.loc[0.75]}).rename_axis("scale")
        return out[out["n_peers"] >= min_n]

    everyone = quart(means, "all")
    out = {None: everyone}
    if types is not None:
        for ty in pd.unique(types.dropna()):
            members = types.index[types == ty]
            by_type = quart(means.reindex(members), "type")
            out[ty] = pd.concat([by_type, everyone.drop(index=by_type.index, errors="ignore")]).reindex(
                [s for s in means.columns if s in by_type.index or s in everyone.index])
    return out


class _Run:
    """The run-wide pieces every organisation's feedback is cut from (computed once).

    Every table is long over organisations, in :attr:`orgs` order, so the result files are
    these tables as they stand and one organisation's feedback is its block of rows.
    """

    def __init__(self, scored: Scored, organisations=None, networks=None, meta: RunMeta | None = None):
        self.scored = scored
        self.bank = _bank_of(scored)
        self.min_n = scored.organisations.min_n
        self.meta = meta or run_meta(scored)
        t = scored.organisations.table
        self.hidden = t["suppressed"].groupby(level=0).all()
        self.orgs = self.hidden.index
        self.headcount = scored.scores.background["organisation"].value_counts()
        self.invited = t["invited"].groupby(level=0).first()
        self.types = _org_types(organisations)
        self.scales = self._in_order(_scale_table(scored, self.bank))
        self.roles = self._in_order(_role_table(scored, self.bank))
        counts = _item_counts(scored)
        self.mask = item_mask(scored, counts)
        self.items = self._in_order(_item_table(scored, self.bank, self.mask, counts))
        self.gaps = self._in_order(self._gap_table())
        self.peers = _peer_tables(self.scales, self.types, self.min_n)
        icc = scored.organisations.public_reliability()
        self.icc = icc[["icc1", "icc2", "n_groups"]]
        self.networks = networks or {}
        self.headline = self._headline_table()
        self._blocks: dict[str, dict] = {}

    def _in_order(self, table: pd.DataFrame) -> pd.DataFrame:
        """``table`` with its organisations in :attr:`orgs` order (rows within one kept as they are)."""
        pos = self.orgs.get_indexer(table.index.get_level_values(0))
        if (np.diff(pos) >= 0).all():
            return table
        return table.iloc[np.argsort(pos, kind="stable")]

    def _gap_table(self) -> pd.DataFrame:
        """(organisation, source): label, gathered, used, gap, suppressed, reason."""
        g = self.scored.gaps
        lab = self.bank.labels()
        out = pd.DataFrame({"label": [lab.get(x, x) for x in g.index.get_level_values(1)],
                            "gathered": g["gathered"], "used": g["used"], "gap": g["gap"]},
                           index=g.index.rename(["organisation", "source"]))
        out["suppressed"] = out["gap"].isna()
        hidden = self.hidden.reindex(g.index.get_level_values(0)).fillna(True).to_numpy(dtype=bool)
        out["reason"] = _texts(out["suppressed"], _cell_reason(self.min_n), hidden, _org_reason(self.min_n))
        return out

    def _headline_table(self) -> pd.DataFrame:
        """One row per organisation: status, n, invited, response_rate, the headline, reason."""
        orgs, hidden = self.orgs, self.hidden.to_numpy(dtype=bool)
        lab = self.bank.labels()
        mean = self.scales["mean"]
        scale = mean.index.get_level_values(1)

        def composite(key):
            m = mean[scale == key]
            return m.droplevel(1).reindex(orgs).astype(float).to_numpy()

        pot, real = composite("potential"), composite("realised")
        gap = self.gaps["gap"].dropna()
        top = gap.groupby(level=0, sort=False).idxmax()
        source = pd.Series([k[1] for k in top], index=top.index, dtype=object).reindex(orgs)
        n = self.headcount.reindex(orgs)
        inv = self.invited.reindex(orgs)
        # object columns, as the feedback objects hold them: NaN for a missing number, None for text
        obj = lambda values, keep, blank: [v if k else blank for v, k in zip(values, keep)]  # noqa: E731
        has_inv = ~hidden & inv.notna().to_numpy()
        head = pd.DataFrame({
            "status": np.where(hidden, "suppressed", "shown").astype(object),
            "n": obj([int(v) if v == v else np.nan for v in n.to_numpy(dtype=float)], ~hidden, np.nan),
            "invited": obj([int(v) if v == v else np.nan for v in inv.to_numpy(dtype=float)], has_inv, np.nan),
            "response_rate": obj(list(n.to_numpy(dtype=float) / inv.to_numpy(dtype=float)), has_inv, np.nan),
            "potential": list(pot), "realised": list(real),
            "ratio": list(np.where(np.isnan(pot) | np.isnan(real), np.nan, real / pot)),
            "largest_gap_source": obj(source.to_list(), source.notna().to_numpy(), None),
            "largest_gap_label": obj([lab.get(s, s) for s in source.to_list()], source.notna().to_numpy(), None),
            "largest_gap": list(gap.groupby(level=0, sort=False).max().reindex(orgs).to_numpy(dtype=float)),
        }, index=orgs, dtype=object)
        head["reason"] = [_org_reason(self.min_n) if h else "" for h in hidden]
        return head.rename_axis("organisation")

    def _block(self, name: str, organisation: str) -> pd.DataFrame:
        """One organisation's rows of the run-wide table ``name``, without the organisation level."""
        table = getattr(self, name)
        if name not in self._blocks:
            pos = self.orgs.get_indexer(table.index.get_level_values(0))
            bounds = np.searchsorted(pos, np.arange(len(self.orgs) + 1))
            self._blocks[name] = dict(zip(self.orgs, zip(bounds[:-1], bounds[1:])))
        lo, hi = self._blocks[name][organisation]
        return table.iloc[lo:hi].droplevel(0)

    def feedback(self, organisation: str) -> OrganisationFeedback:
        if organisation not in self.hidden.index:
            raise AcapInputError(f"no organisation {organisation!r} in the scored responses", "organisation")
        hidden = bool(self.hidden[organisation])
        min_n = self.min_n
        org_type = None if self.types is None else self.types.get(organisation)
        if org_type is not None and pd.isna(org_type):
            org_type = None
        row = self.headline.loc[organisation]
        headline = row[_HEADLINE].rename(organisation)
        n, invited, rate = (None if pd.isna(row[k]) else kind(row[k])
                            for k, kind in (("n", int), ("invited", int), ("response_rate", float)))
        return OrganisationFeedback(
            organisation=organisation, org_type=org_type, status=row["status"],
            reason=_org_reason(min_n) if hidden else None, n=n, invited=invited,
            response_rate=rate, scales=self._block("scales", organisation),
            roles=self._block("roles", organisation), gaps=self._block("gaps", organisation),
            items=self._block("items", organisation), headline=headline,
            peers=self.peers.get(org_type, self.peers[None]), icc=self.icc,
            network=None if hidden else self.networks.get(organisation), meta=self.meta)

    def peer_table(self) -> pd.DataFrame:
        """(organisation, scale): each organisation's peer quartiles, as its feedback has them."""
        types = (pd.Series(None, index=self.orgs, dtype=object) if self.types is None
                 else self.types.reindex(self.orgs).astype(object))
        key = [None if t is None or pd.isna(t) or t not in self.peers else t for t in types]
        parts = []
        for k in dict.fromkeys(key):
            members = self.orgs[[x == k for x in key]]
            table = self.peers[k]
            if not len(table):
                continue
            rows = table.iloc[np.tile(np.arange(len(table)), len(members))]
            parts.append(rows.set_axis(pd.MultiIndex.from_product([members, table.index],
                                                                  names=["organisation", "scale"])))
        if not parts:
            return pd.DataFrame()
        return self._in_order(pd.concat(parts))

    def tables(self) -> dict[str, pd.DataFrame]:
        """The long tables of :func:`results_tables`, straight from the run."""
        return {"results": _with_invited(self.scales, self.headline["invited"], self.headline["response_rate"]),
                "by_role": self.roles, "knowledge_gaps": self.gaps, "items": self.items,
                "headline": self.headline, "peers": self.peer_table(), "icc": self.icc}


#: The headline figures of an organisation (:attr:`OrganisationFeedback.headline`).
_HEADLINE = ["potential", "realised", "ratio", "largest_gap_source", "largest_gap_label", "largest_gap"]


def _with_invited(scales: pd.DataFrame, invited: pd.Series, rate: pd.Series) -> pd.DataFrame:
    """The long scale table with invited and response rate beside each shown n."""
    results = scales.copy()
    org_level = results.index.get_level_values(0)
    shown = ~results["suppressed"].to_numpy(dtype=bool)
    # the invited count only beside a shown n: beside a blank one it says how small the group is
    results.insert(results.columns.get_loc("rwg_j") + 1, "invited",
                   pd.Series(invited, dtype="Float64").reindex(org_level).astype("Int64").to_numpy())
    results.insert(results.columns.get_loc("invited") + 1, "response_rate",
                   pd.Series(rate, dtype="Float64").reindex(org_level).to_numpy())
    results["invited"] = results["invited"].mask(~shown)
    results["response_rate"] = results["response_rate"].mask(~shown)
    return results


def _org_types(organisations) -> pd.Series | None:
    """Organisation -> type from a Series, a mapping or a frame with a ``type`` column."""
    if organisations is None:
        return None
    if isinstance(organisations, pd.DataFrame):
        frame = organisations
        if "organisation" in frame.columns:
            frame = frame.set_index("organisation")
        col = next((c for c in ("type", "org_type") if c in frame.columns), None)
        if col is None:
            return None
        return frame[col]
    return pd.Series(dict(organisations) if not isinstance(organisations, pd.Series) else organisations)


def feedback_for(scored: Scored, organisation: str, *, organisations=None, networks=None,
                 meta: RunMeta | None = None) -> OrganisationFeedback:
    """What may be published about one organisation.

    Parameters
    ----------
    scored : Scored
        :func:`acap.pipeline.score_and_aggregate` output.
    organisation : str
    organisations : DataFrame, Series or mapping, optional
        Organisation types (a ``type`` column, or organisation -> type), for peer groups.
    networks : mapping organisation -> NetworkFeedback, optional
        :func:`acap.network.pipeline.network_feedback` output.
    meta : RunMeta, optional
        Default :func:`run_meta` of ``scored``.

    Returns
    -------
    OrganisationFeedback

    Examples
    --------
    >>> from acap.simulate import simulate
    >>> from acap.pipeline import score_and_aggregate
    >>> from acap.items import load_bank
    >>> bank = load_bank()
    >>> sim = simulate(6, seed=3, bank=bank)
    >>> fb = feedback_for(score_and_aggregate(sim.responses, bank), sim.organisations.index[0])
    >>> fb.status in ("shown", "suppressed")
    True
    """
    return _Run(scored, organisations, networks, meta).feedback(organisation)


def publish_all(scored: Scored, *, organisations=None, networks=None,
                meta: RunMeta | None = None) -> Publication:
    """:class:`OrganisationFeedback` for every organisation (shown and suppressed), by name.

    Parameters are those of :func:`feedback_for`; the run-wide tables are computed once and
    each organisation's feedback is cut from them when first asked for.

    Returns
    -------
    Publication
        A read-only mapping organisation -> :class:`OrganisationFeedback`.
    """
    return Publication(_Run(scored, organisations, networks, meta))


class Publication(Mapping):
    """Every organisation's :class:`OrganisationFeedback` of one run, by name (read-only mapping).

    The feedback of an organisation is cut from the run's long tables when first looked up
    (a consultant's run over a thousand organisations writes its files without building a
    thousand objects); :func:`results_tables` reads those long tables directly.
    """

    def __init__(self, run: _Run):
        self._run = run
        self._cache: dict[str, OrganisationFeedback] = {}

    def __getitem__(self, organisation: str) -> OrganisationFeedback:
        if organisation not in self._run.orgs:
            raise KeyError(organisation)
        fb = self._cache.get(organisation)
        if fb is None:
            fb = self._cache[organisation] = self._run.feedback(organisation)
        return fb

    def __contains__(self, organisation) -> bool:
        return organisation in self._run.orgs

    def __iter__(self):
        return iter(self._run.orgs)

    def __len__(self) -> int:
        return len(self._run.orgs)

    def __repr__(self) -> str:
        return f"Publication({len(self)} organisations)"


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------


def results_tables(feedback: Mapping[str, OrganisationFeedback]) -> dict[str, pd.DataFrame]:
    """Long tables over organisations, from their feedback: what the result CSVs hold.

    Returns ``results`` (organisation x scale, with invited and response rate only on shown
    rows), ``by_role``, ``knowledge_gaps``, ``items``, ``headline``, ``peers`` and ``icc``.
    For a whole :class:`Publication` they are its run's tables as they stand; any other
    mapping (a selection of organisations) has its feedback's tables stacked, to the same rows.
    """
    if isinstance(feedback, Publication):
        return feedback._run.tables()
    fbs = list(feedback.values())
    if not fbs:
        raise AcapInputError("no organisations to publish", "feedback")

    def cat(attr):
        return pd.concat({f.organisation: getattr(f, attr) for f in fbs}, names=["organisation"])

    results = _with_invited(cat("scales"), pd.Series({f.organisation: f.invited for f in fbs}, dtype="Float64"),
                            pd.Series({f.organisation: f.response_rate for f in fbs}, dtype="Float64"))
    peers = cat("peers") if any(len(f.peers) for f in fbs) else pd.DataFrame()
    return {"results": results, "by_role": cat("roles"), "knowledge_gaps": cat("gaps"), "items": cat("items"),
            "headline": headline_table(feedback), "peers": peers, "icc": fbs[0].icc}


def headline_table(feedback: Mapping[str, OrganisationFeedback]) -> pd.DataFrame:
    """One row per organisation: status, n, invited, response rate, the headline and the reason."""
    if isinstance(feedback, Publication):
        return feedback._run.headline
    fbs = list(feedback.values())
    head = pd.DataFrame({f.organisation: pd.concat([pd.Series({
        "status": f.status, "n": f.n, "invited": f.invited, "response_rate": f.response_rate}), f.headline])
        for f in fbs}).T.rename_axis("organisation")
    head["reason"] = [f.reason or "" for f in fbs]
    return head.reindex([f.organisation for f in fbs])


def publication_files(scored: Scored, *, respondents: bool = False, organisations=None, networks=None,
                      meta: RunMeta | None = None, feedback: dict | None = None) -> dict:
    """The result files of a scored run for :func:`acap.outputs.write_all` (``acap score``, the demo).

    Every table is cut from :func:`publish_all`: ``organisations/results.csv``, ``by_role.csv``,
    ``knowledge_gaps.csv``, ``items.csv``, ``headline.csv``, ``peers.csv``,
    ``aggregation/icc.csv`` and ``run.json`` (the :class:`RunMeta`). Respondent-level scores
    (``scores/respondents.csv``, not suppressed) only when ``respondents`` is true.
    """
    from acap.outputs import csv_writer, remove_writer, text_writer

    fb = feedback if feedback is not None else publish_all(scored, organisations=organisations,
                                                           networks=networks, meta=meta)
    tabs = results_tables(fb)
    m = fb._run.meta if isinstance(fb, Publication) else next(iter(fb.values())).meta
    stamp = {"bank_version": m.bank_version, "min_n": m.min_n, "min_n_override": m.min_n_override}
    files = {
        "organisations/results.csv": csv_writer(tabs["results"], constants=stamp),
        "organisations/by_role.csv": csv_writer(tabs["by_role"], constants=stamp),
        "organisations/knowledge_gaps.csv": csv_writer(tabs["knowledge_gaps"], constants=stamp),
        "organisations/items.csv": csv_writer(tabs["items"], constants=stamp),
        "organisations/headline.csv": csv_writer(tabs["headline"], constants=stamp),
        "organisations/peers.csv": (csv_writer(tabs["peers"], constants=stamp) if len(tabs["peers"]) else
                                    csv_writer(pd.DataFrame(columns=["scale", "group", "n_peers", "q1", "median",
                                                                     "q3"]), index=False)),
        "aggregation/icc.csv": csv_writer(tabs["icc"], constants=stamp),
        "run.json": text_writer(json.dumps(m.to_dict(), indent=1) + "\n"),
    }
    # Listed either way, so a run without them also clears those of an earlier run.
    files["scores/respondents.csv"] = csv_writer(scored.scores.table()) if respondents else remove_writer()
    return files


# --------------------------------------------------------------------------------------------
# validation beside published results
# --------------------------------------------------------------------------------------------


def shown_scores(scores: ScoreResult, bank: Bank, *, min_n: int = DEFAULT_MIN_N) -> ScoreResult:
    """The respondents and answers a validation report published beside organisation results may use.

    Aggregates ``scores`` as ``acap score`` does (same ``min_n``; scored with the same ``min_share``), then
    keeps what those results show: respondents of suppressed organisations are dropped, an
    answer is blanked (neither answered nor don't know) where :func:`item_mask` hides that
    organisation's item row, and people in an organisation x role-group cell suppressed on any
    scale get the role group (and role) :data:`NOT_SHOWN`. A total over the result is then the
    sum of shown cells plus pooled, already protected cells: subtracting the published
    results from it recovers nothing suppressed.

    Parameters
    ----------
    scores : ScoreResult
        :func:`acap.scoring.score` output.
    bank : Bank
    min_n : int, default 5

    Returns
    -------
    ScoreResult
        Same tables, fewer rows, some cells blanked.
    """
    from acap.pipeline import aggregate_scores

    scored = aggregate_scores(scores, bank, min_n=min_n)
    bg = scores.background
    org = bg["organisation"]
    hidden = scored.organisations.table["suppressed"].groupby(level=0).all()
    keep = ~org.map(hidden).fillna(True).astype(bool).to_numpy()
    mask = item_mask(scored)
    answer_shown = mask.reindex(org.to_numpy()).set_axis(bg.index)
    items = scores.items.copy()
    dk = scores.dont_know.copy()
    for iid in items.columns:
        if iid in answer_shown.columns:
            ok = answer_shown[iid].fillna(False).to_numpy(dtype=bool)
            items.loc[~ok, iid] = np.nan
            dk.loc[~ok, iid] = False
    hid = role_flags(scored).groupby(level=[0, 1]).any()
    bad = hid.index[hid.to_numpy()]
    role = bg["role_group"].astype(object).where(bg["role_group"].notna(), ROLE_NOT_STATED)
    pair = pd.MultiIndex.from_arrays([org.to_numpy(), role.to_numpy()])
    pooled = pair.isin(bad) if len(bad) else np.zeros(len(bg), bool)
    background = bg.copy()
    for col in ("role", "role_group"):
        if col in background.columns:
            background[col] = background[col].astype(object).where(~pooled, NOT_SHOWN)
    rows = bg.index[keep]
    return replace(scores, background=background.loc[rows], items=items.loc[rows], dont_know=dk.loc[rows],
                   scales=scores.scales.loc[rows], scales_100=scores.scales_100.loc[rows],
                   composites=scores.composites.loc[rows], gathered=scores.gathered.loc[rows],
                   used=scores.used.loc[rows], gap=scores.gap.loc[rows])
