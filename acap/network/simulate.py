"""Seeded, plausible advice networks for simulated organisations.

The generating model, per organisation (every draw from one seeded generator):

* **Roster and board.** Everyone in the organisation is on the roster. Board members are
  the people with a board role (``board_*`` roles, or a ``board`` column when given),
  topped up at random to ``board_size[0]`` and cut down to ``board_size[1]``.
* **Non-response.** Each person answers the network module with probability
  ``1 - nonresponse`` (``1 - nonresponse / 2`` for board members); a non-respondent's out-ties are *missing* (never generated), though
  others may name them. Planted brokers always respond.
* **Board ties.** A target density ``d ~ U(board_density)`` is drawn; exactly
  ``round(d * cells)`` ties (kept within the range after rounding) are placed among the
  observed board cells (respondent sender, any board receiver), so the board density over
  observed cells is ``d`` up to rounding.
  Cells are taken in a random order weighted by ``exp(eta_ij)`` (Gumbel keys), and each tie
  placed is reciprocated with probability ``reciprocity`` while the count allows.
* **Other ties** (at least one end off the board): independent with probability
  ``logistic(logit(base) + eta_ij + 0.8 * [j on the board])``, ``base ~ U(other_density)``,
  then reciprocated with probability ``reciprocity``.
* ``eta_ij = homophily * [same role] + score_effect * (z_i + z_j)``, ``z`` the score
  standardised over all respondents: with ``score_effect > 0`` people with higher ACAP scores
  seek and give more advice, so linking has something to find.
* **Brokers.** ``n_brokers`` respondents per organisation get extra ties to and from people
  in *other* role groups (never board-board cells, so board density is kept): each
  candidate goes to the broker with probability 0.6 and the broker to them with 0.45.
* **Frequency** 1-5: around 3 on the board and 2 elsewhere, one step higher for mutual ties.
* **Outside contacts** (respondents only): for each of the nine categories a negative-binomial
  count whose mean depends on the role (GP leads see GP practices, public-health staff
  public health, ...), doubled for brokers; a frequency 1-5 when the count is positive.

Examples
--------
>>> import pandas as pd
>>> people = pd.DataFrame({"respondent_id": [f"r{i}" for i in range(30)],
...                        "organisation": ["A"] * 15 + ["B"] * 15,
...                        "role": (["board_chair"] + ["commissioning_manager"] * 14) * 2})
>>> sim = simulate_networks(people, seed=1)
>>> sorted(sim.nodes.columns)[:3]
['board', 'broker', 'id']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from acap.errors import AcapInputError
from acap.network.model import OUTSIDE_CATEGORIES, pseudonyms

__all__ = ["SimulatedNetworks", "simulate_networks", "CONTACT_MEANS", "ROLE_CONTACT_BOOSTS"]

#: Mean number of outside contacts per category for a typical respondent.
CONTACT_MEANS: dict[str, float] = {
    "gp_practices": 2.0, "nhs_trusts_acute": 1.5, "community_providers": 1.0,
    "local_authority": 1.0, "public_health": 0.6, "regional_nhs": 0.5,
    "voluntary_sector": 0.6, "academia": 0.3, "other": 0.3,
}
#: Multipliers of the category means for roles whose work centres on that category.
ROLE_CONTACT_BOOSTS: dict[str, dict[str, float]] = {
    "gp_clinical_lead": {"gp_practices": 3.0, "nhs_trusts_acute": 1.5},
    "practice_manager": {"gp_practices": 3.0},
    "nurse_ahp": {"community_providers": 2.5, "nhs_trusts_acute": 1.5},
    "la_commissioner": {"local_authority": 3.0, "voluntary_sector": 1.5},
    "public_health": {"public_health": 4.0, "local_authority": 2.0, "academia": 2.0},
    "analyst": {"academia": 2.0, "regional_nhs": 1.5},
    "vcse_rep": {"voluntary_sector": 4.0},
    "patient_public_rep": {"voluntary_sector": 2.5},
    "finance": {"regional_nhs": 2.0, "nhs_trusts_acute": 1.5},
    "board_chief_executive": {"regional_nhs": 3.0, "nhs_trusts_acute": 2.0, "local_authority": 1.5},
    "board_chair": {"regional_nhs": 2.0, "local_authority": 1.5},
}


@dataclass(frozen=True)
class SimulatedNetworks:
    """Simulated advice networks.

    Attributes
    ----------
    edges : pandas.DataFrame
        ``organisation, source, target, weight`` (frequency 1-5); "source goes to target for
        advice". No tie leaves a non-respondent.
    nodes : pandas.DataFrame
        ``organisation, id, label`` (pseudonymous, ``P01``... within an organisation, in a
        random order), ``role, board, responded, broker`` (planted brokers) and the score
        column when one was used.
    contacts : pandas.DataFrame
        ``organisation, respondent, category, count, frequency``: one row per respondent and
        outside category (count 0 and frequency NaN when none); non-respondents have no rows.
    organisations : pandas.DataFrame
        Per organisation: ``n``, ``board_size``, ``target_board_density``,
        ``base_density``, ``n_respondents``.
    params : dict
        The generating parameters and the seed.
    """

    edges: pd.DataFrame
    nodes: pd.DataFrame
    contacts: pd.DataFrame
    organisations: pd.DataFrame
    params: dict = field(default_factory=dict)

    def organisation(self, name) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Edges (source, target, weight) and nodes of one organisation."""
        e = self.edges.loc[self.edges["organisation"] == name, ["source", "target", "weight"]]
        n = self.nodes.loc[self.nodes["organisation"] == name]
        if n.empty:
            raise AcapInputError(f"no organisation {name!r}", "organisation")
        return e.reset_index(drop=True), n.reset_index(drop=True)


def _logit(p):
    return np.log(p / (1 - p))


def _check_range(r, lo, hi, what):
    try:
        a, b = float(r[0]), float(r[1])
    except (TypeError, IndexError, ValueError):
        raise AcapInputError(f"expected a (low, high) pair, got {r!r}", what) from None
    if not (lo <= a <= b <= hi):
        raise AcapInputError(f"expected {lo} <= low <= high <= {hi}, got {r!r}", what)
    return a, b


def simulate_networks(organisations: pd.DataFrame, seed: int | None = None, *,
                      board_density: tuple[float, float] = (0.4, 0.8),
                      board_size: tuple[int, int] = (5, 14),
                      other_density: tuple[float, float] = (0.04, 0.12),
                      reciprocity: float = 0.3, homophily: float = 0.6,
                      n_brokers: int = 2, nonresponse: float = 0.12,
                      score: str | None = None, score_effect: float = 0.0,
                      role_groups: Mapping[str, str] | None = None) -> SimulatedNetworks:
    """Simulate an advice network and outside contacts for each organisation.

    Parameters
    ----------
    organisations : pandas.DataFrame
        One row per person: ``respondent_id``, ``organisation``, ``role``; optionally a
        boolean ``board`` column and score columns (e.g. a scale score per person, as from
        :func:`acap.simulate.simulate` after scoring).
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`; the same seed gives the same networks.
    board_density : (low, high)
        Range of the board's target density (over observed cells).
    board_size : (min, max)
        Board size limits (the minimum is capped at the organisation's size).
    other_density : (low, high)
        Range of the base tie probability for ties with at least one non-board end.
    reciprocity : float
        Probability that a tie is returned.
    homophily : float
        Log-odds bonus for two people with the same role.
    n_brokers : int
        Brokers per organisation (fewer in small organisations: at most ``(n - 2) // 4``).
    nonresponse : float
        Probability that a person did not answer the network module (halved for board
        members).
    score : str, optional
        Score column driving tie probability (needed when ``score_effect != 0``).
    score_effect : float
        Log-odds per standard deviation of the score, on both sending and receiving.
    role_groups : mapping, optional
        Role -> group for the brokers' "other group" ties (e.g. ``Bank.role_groups``);
        default: each role is its own group.

    Returns
    -------
    SimulatedNetworks

    Examples
    --------
    >>> import pandas as pd
    >>> people = pd.DataFrame({"respondent_id": range(12), "organisation": "A",
    ...                        "role": ["board_chair", "analyst", "finance"] * 4})
    >>> a = simulate_networks(people, seed=3)
    >>> b = simulate_networks(people, seed=3)
    >>> a.edges.equals(b.edges)
    True
    """
    if not isinstance(organisations, pd.DataFrame):
        raise AcapInputError("expected a DataFrame of people", "organisations")
    need = [c for c in ("respondent_id", "organisation", "role") if c not in organisations.columns]
    if need:
        raise AcapInputError(f"missing column(s) {need}", "organisations")
    people = organisations.reset_index(drop=True)
    if people["respondent_id"].isna().any() or people["respondent_id"].duplicated().any():
        raise AcapInputError("respondent_id must be unique and present", "organisations")
    if people["organisation"].isna().any():
        row = int(np.flatnonzero(people["organisation"].isna().to_numpy())[0])
        raise AcapInputError(f"missing organisation in row {row}", "organisations")
    bd = _check_range(board_density, 0.0, 1.0, "board_density")
    od = _check_range(other_density, 1e-6, 1 - 1e-6, "other_density")
    bs = _check_range(board_size, 2, 10_000, "board_size")
    for name, v in (("reciprocity", reciprocity), ("nonresponse", nonresponse)):
        if not 0 <= v < 1:
            raise AcapInputError(f"must be in [0, 1), got {v!r}", name)
    if score_effect != 0 and score is None:
        raise AcapInputError("score_effect needs a score column", "score")
    if score is not None:
        if score not in people.columns:
            raise AcapInputError(f"no score column {score!r}", "organisations")
        sv = pd.to_numeric(people[score], errors="coerce").to_numpy(float)
        sd = np.nanstd(sv)
        z = np.nan_to_num((sv - np.nanmean(sv)) / sd if sd > 0 else sv * 0.0)
    else:
        z = np.zeros(len(people))
    groups = people["role"].map(lambda r: (role_groups or {}).get(r, r)).to_numpy(object)
    roles = people["role"].to_numpy(object)
    if "board" in people.columns:
        is_board_role = people["board"].fillna(False).astype(bool).to_numpy()
    else:
        is_board_role = people["role"].astype(str).str.startswith("board").to_numpy()

    rng = np.random.default_rng(seed)
    cats = list(OUTSIDE_CATEGORIES)
    edges, nodes, contacts, orgs = [], [], [], []
    for org, idx in people.groupby("organisation", sort=False).indices.items():
        idx = np.asarray(idx)
        n = idx.size
        ids = people["respondent_id"].to_numpy(object)[idx]
        zo, ro, go = z[idx], roles[idx], groups[idx]

        # board: board roles, topped up or cut at random
        board = is_board_role[idx].copy()
        lo, hi = min(int(bs[0]), n), min(int(bs[1]), n)
        if board.sum() < lo:
            extra = rng.choice(np.flatnonzero(~board), lo - board.sum(), replace=False)
            board[extra] = True
        elif board.sum() > hi:
            drop = rng.choice(np.flatnonzero(board), board.sum() - hi, replace=False)
            board[drop] = False

        # Board members, the core of the study, answer twice as often as others.
        responded = rng.random(n) >= np.where(board, nonresponse / 2, nonresponse)
        nb = min(int(n_brokers), max(0, (n - 2) // 4))
        broker = np.zeros(n, bool)
        if nb:
            broker[rng.choice(n, nb, replace=False)] = True
            responded[broker] = True

        eta = homophily * (ro[:, None] == ro[None, :]) + score_effect * (zo[:, None] + zo[None, :])
        A = np.zeros((n, n), bool)
        obs = np.repeat(responded[:, None], n, axis=1)
        np.fill_diagonal(obs, False)

        # board ties: exact count over observed board cells, weighted order, reciprocation
        d_target = rng.uniform(*bd)
        bcell = obs & board[:, None] & board[None, :]
        ci, cj = np.nonzero(bcell)
        m = int(round(d_target * ci.size))
        # Keep the realised density in range despite rounding on small boards.
        m = int(np.clip(m, np.ceil(bd[0] * ci.size), np.floor(bd[1] * ci.size))) if ci.size else 0
        if m:
            keys = eta[ci, cj] + rng.gumbel(size=ci.size)
            placed = 0
            recip_draw = rng.random(ci.size)
            for k in np.argsort(-keys):
                i, j = ci[k], cj[k]
                if placed >= m:
                    break
                if A[i, j]:
                    continue
                A[i, j] = True
                placed += 1
                if placed < m and bcell[j, i] and not A[j, i] and recip_draw[k] < reciprocity:
                    A[j, i] = True
                    placed += 1

        # other ties: at least one end off the board
        base = rng.uniform(*od)
        ocell = obs & ~(board[:, None] & board[None, :])
        p = 1 / (1 + np.exp(-(_logit(base) + eta + 0.8 * board[None, :])))
        new = ocell & (rng.random((n, n)) < p)
        back = new.T & ocell & (rng.random((n, n)) < reciprocity)
        A |= new | back

        # brokers: ties across role groups, never board-board
        for b in np.flatnonzero(broker):
            cand = (go != go[b]) & (np.arange(n) != b)
            if board[b]:
                cand &= ~board
            for c in np.flatnonzero(cand):
                if responded[c] and rng.random() < 0.6:
                    A[c, b] = True
                if rng.random() < 0.45:
                    A[b, c] = True

        A &= obs  # no out-ties from non-respondents, no loops
        si, ti = np.nonzero(A)
        mutual = A[ti, si]
        both_board = board[si] & board[ti]
        w = np.clip(np.round(2.0 + 1.0 * both_board + 0.8 * mutual
                             + rng.normal(0, 0.9, si.size)), 1, 5).astype(int)
        edges.append(pd.DataFrame({"organisation": org, "source": ids[si], "target": ids[ti],
                                   "weight": w}))

        labels = np.asarray(pseudonyms(n), dtype=object)[rng.permutation(n)]
        nd = pd.DataFrame({"organisation": org, "id": ids, "label": labels, "role": ro,
                           "board": board, "responded": responded, "broker": broker})
        if score is not None:
            nd[score] = people[score].to_numpy()[idx]
        nodes.append(nd)

        # outside contacts, respondents only
        base_means = np.array([CONTACT_MEANS[c] for c in cats])
        for k in np.flatnonzero(responded):
            boost = ROLE_CONTACT_BOOSTS.get(ro[k], {})
            mu = base_means * np.array([boost.get(c, 1.0) for c in cats])
            mu = mu * (2.0 if broker[k] else 1.0) * np.exp(0.5 * score_effect * zo[k])
            lam = mu * rng.gamma(2.0, 0.5, size=len(cats))
            count = rng.poisson(lam)
            freq = np.where(count > 0,
                            np.clip(np.round(2.3 + 0.5 * np.log1p(count)
                                             + rng.normal(0, 0.9, len(cats))), 1, 5), np.nan)
            contacts.append(pd.DataFrame({"organisation": org, "respondent": ids[k],
                                          "category": cats, "count": count, "frequency": freq}))
        orgs.append({"organisation": org, "n": n, "board_size": int(board.sum()),
                     "target_board_density": d_target, "base_density": base,
                     "n_respondents": int(responded.sum())})

    edge_cols = ["organisation", "source", "target", "weight"]
    cont_cols = ["organisation", "respondent", "category", "count", "frequency"]
    return SimulatedNetworks(
        edges=pd.concat(edges, ignore_index=True) if edges else pd.DataFrame(columns=edge_cols),
        nodes=pd.concat(nodes, ignore_index=True),
        contacts=(pd.concat(contacts, ignore_index=True) if contacts
                  else pd.DataFrame(columns=cont_cols)),
        organisations=pd.DataFrame(orgs).set_index("organisation"),
        params=dict(seed=seed, board_density=bd, board_size=bs, other_density=od,
                    reciprocity=reciprocity, homophily=homophily, n_brokers=n_brokers,
                    nonresponse=nonresponse, score=score, score_effect=score_effect),
    )
