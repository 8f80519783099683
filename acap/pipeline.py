"""The scoring pipeline shared by ``acap score`` and ``acap demo``: score, aggregate, tabulate.

Returns data only; the CLI decides what to print and :mod:`acap.outputs` what to write.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from acap.aggregate import OrganisationResults, organisation_results
from acap.items import Bank
from acap.scoring import ScoreResult, score


@dataclass(frozen=True)
class Scored:
    """A scored and aggregated responses table.

    Attributes
    ----------
    scores : ScoreResult
        Respondent-level scores.
    organisations : OrganisationResults
        Organisation x scale results (scales, potential/realised ACAP, knowledge sources
        gathered and used), with minimum-n suppression applied. Scales answered on different
        numbers of points are aggregated separately (rwg's null variance depends on it); the
        result's ``n_points`` is then that of the first scale.
    gaps : DataFrame
        Organisation x source: mean gathered, mean used and gap (gathered - used), taken from
        the suppressed organisation table so that a suppressed organisation shows nothing.
    """

    scores: ScoreResult
    organisations: OrganisationResults
    gaps: pd.DataFrame


def score_and_aggregate(data, bank: Bank, *, invited=None, min_n: int = 5, min_share: float = 2 / 3) -> Scored:
    """Score responses and aggregate them to organisations.

    Parameters
    ----------
    data : DataFrame, Table, Responses or path
        Responses table (see :func:`acap.scoring.validate_responses`).
    bank : Bank
    invited : Series or mapping, optional
        Organisation -> number invited, for finite-population corrected CIs.
    min_n : int, default 5
        Minimum respondents for a published organisation or role-group cell.
    min_share : float, default 2/3
        Answered share needed for a scale score.

    Returns
    -------
    Scored
    """
    s = score(data, bank, min_share=min_share)
    gathered = s.gathered.add_prefix("gathered:")
    used = s.used.add_prefix("used:")
    # rwg(j) over the items the table asked (a scale scored on fewer items says so in rwg_items)
    asked = set(s.items_asked) if s.items_asked is not None else set(s.items.columns)
    asked_items = {k: [i for i in v if i in asked] for k, v in bank.scale_map.items()}
    asked_items = {k: v for k, v in asked_items.items() if v}
    rwg_columns = [i for v in asked_items.values() for i in v]  # only these item columns are read
    frame = pd.concat([s.background[["organisation"]], s.background["role_group"].rename("role"),
                       s.scales, s.composites[["potential", "realised"]], gathered, used, s.items[rwg_columns]],
                      axis=1)
    # rwg's null variance depends on the number of answer points, so scales on different
    # response formats are aggregated separately and the tables joined.
    points = {sc.id: bank.response_scales[sc.response_scale].points for sc in bank.scales}
    points["potential"] = points["realised"] = points[bank.potential_scales[0]]
    if bank.sources:
        src_points = bank.response_scales[bank.sources.response_scale].points
        points.update({c: src_points for c in [*gathered.columns, *used.columns]})
    scales = list(s.scales.columns) + ["potential", "realised"] + list(gathered.columns) + list(used.columns)
    parts = []
    for pts in dict.fromkeys(points[c] for c in scales):
        group = [c for c in scales if points[c] == pts]
        parts.append(organisation_results(
            frame, scales=group, items={k: v for k, v in asked_items.items() if k in group}, n_points=pts,
            invited=invited, min_n=min_n, role="role"))
    org = parts[0] if len(parts) == 1 else replace(
        parts[0], table=pd.concat([p.table for p in parts]).sort_index(level=0, sort_remaining=False),
        reliability=pd.concat([p.reliability for p in parts]),
        by_role=pd.concat([p.by_role for p in parts]).sort_index(level=[0, 1], sort_remaining=False))
    means = org.table["mean"].unstack("scale")
    sources = list(s.gathered.columns)
    gaps = pd.concat({
        "gathered": means[[f"gathered:{x}" for x in sources]].set_axis(sources, axis=1).stack(future_stack=True),
        "used": means[[f"used:{x}" for x in sources]].set_axis(sources, axis=1).stack(future_stack=True),
    }, axis=1).rename_axis(["organisation", "source"])
    gaps["gap"] = gaps["gathered"] - gaps["used"]
    return Scored(scores=s, organisations=org, gaps=gaps)


def headline(scored: Scored) -> pd.DataFrame:
    """One row per organisation: n, potential, realised, ratio of means, largest gap source."""
    t = scored.organisations.table
    means = t["mean"].unstack("scale")
    n = t["n"].unstack("scale").max(axis=1)
    out = pd.DataFrame({"n": n, "potential": means["potential"], "realised": means["realised"]})
    hidden = t["suppressed"].groupby(level="organisation").all()
    out.insert(1, "status", hidden.map({True: "suppressed", False: ""}).reindex(out.index))
    out["ratio"] = out["realised"] / out["potential"]
    g = scored.gaps["gap"].unstack("source")
    shown = g.notna().any(axis=1)  # suppressed organisations have no gaps to rank
    out["largest_gap_source"] = g[shown].idxmax(axis=1).reindex(out.index)
    out["largest_gap"] = g.max(axis=1)
    return out
