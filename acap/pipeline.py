"""The scoring pipeline shared by ``acap score`` and ``acap demo``: score and aggregate.

Returns data only: what may be published is cut from it by :mod:`acap.publish`, the CLI
decides what to print and :mod:`acap.outputs` writes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

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
    bank: Optional[Bank] = None
    min_n_override: bool = False

    def for_organisation(self, name: str, **kwargs):
        """What may be published about one organisation: :func:`acap.publish.feedback_for`."""
        from acap.publish import feedback_for

        return feedback_for(self, name, **kwargs)


def score_and_aggregate(data, bank: Bank, *, invited=None, min_n: int = 5, min_share: float = 2 / 3,
                        allow_small_n: bool = False) -> Scored:
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
    allow_small_n : bool, default False
        Needed for a ``min_n`` below :data:`acap.thresholds.DEFAULT_MIN_N` (which then warns
        and is recorded as an override; see :func:`acap.publish.check_min_n`).

    Returns
    -------
    Scored
    """
    from acap.publish import check_min_n

    override = check_min_n(min_n, allow_small_n)
    s = score(data, bank, min_share=min_share)
    return aggregate_scores(s, bank, invited=invited, min_n=min_n, min_n_override=override)


def aggregate_scores(s: ScoreResult, bank: Bank, *, invited=None, min_n: int = 5,
                     min_n_override: bool = False) -> Scored:
    """Aggregate respondent scores (:func:`acap.scoring.score` output) to organisations.

    The second half of :func:`score_and_aggregate`; ``min_n`` is taken as already checked.
    """
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
        private_reliability=pd.concat([p.private_reliability for p in parts]),
        by_role=pd.concat([p.by_role for p in parts]).sort_index(level=[0, 1], sort_remaining=False))
    means = org.table["mean"].unstack("scale")
    sources = list(s.gathered.columns)
    gaps = pd.concat({
        "gathered": means[[f"gathered:{x}" for x in sources]].set_axis(sources, axis=1).stack(future_stack=True),
        "used": means[[f"used:{x}" for x in sources]].set_axis(sources, axis=1).stack(future_stack=True),
    }, axis=1).rename_axis(["organisation", "source"])
    gaps["gap"] = gaps["gathered"] - gaps["used"]
    return Scored(scores=s, organisations=org, gaps=gaps, bank=bank, min_n_override=bool(min_n_override))
