"""Seeded, realistic multi-organisation responses from a known model.

The generating model (all on a latent standard-normal metric):

* Each respondent has one latent score per scale, ``eta = u_org + r_role + e``. Organisation
  effects ``u_org`` and individual effects ``e`` are both drawn from the scale correlation
  matrix ``phi``; ``u_org`` has variance ``icc1`` and ``e`` variance ``1 - icc1``, so the
  latent intra-class correlation of every scale is ``icc1``.
* Role groups shift all scales by ``role_effects`` (board members tend to rate their
  organisation higher, lay and partner members lower).
* Item ``i`` of scale ``s``: ``y = loading_i * eta_s + sqrt(1 - loading_i**2) * noise``,
  mapped to the 7-point scale by ``round(centre_i + spread * y)`` clipped to 1..7, and
  reverse-keyed items are written reversed (as a respondent would answer them).
* Knowledge sources: gathered and used follow acquisition and exploitation respectively,
  with per-source means whose difference is the generating gap (largest for patient and
  public involvement, as the research found).
* Skipped items and don't-knows occur at given rates; some respondents stop early.

The :class:`Simulation` keeps every generating value in :attr:`Simulation.truth`, so tests
can check that scoring and aggregation recover them.

Examples
--------
>>> from acap.simulate import simulate
>>> sim = simulate(n_organisations=3, seed=1)
>>> sim.responses.shape[0] == sim.organisations["respondents"].sum()
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from acap.items import Bank, load_bank

PLACES = ("Ashvale", "Brackenford", "Calderbrook", "Dunmere", "Elmstead", "Fernhollow", "Greyhaven",
          "Hollinsby", "Ivystone", "Kestrelby", "Larkmoor", "Marshgate", "Northwold", "Oakhurst",
          "Pennbridge", "Quarrendon", "Ravensholt", "Stonecliff", "Tillingham", "Wyebrook")
ORG_TYPES = {"ICB": 0.3, "ICB place": 0.25, "Local authority": 0.25, "CCG (legacy)": 0.1, "Partner": 0.1}
# Shares of respondents by role; board roles are few per organisation.
ROLE_SHARES = {
    "board_chair": 0.03, "board_chief_executive": 0.03, "board_non_executive": 0.06,
    "board_partner_member": 0.05, "board_executive_director": 0.06, "gp_clinical_lead": 0.12,
    "nurse_ahp": 0.06, "practice_manager": 0.06, "commissioning_manager": 0.16, "finance": 0.05,
    "la_commissioner": 0.07, "analyst": 0.08, "public_health": 0.05, "patient_public_rep": 0.05,
    "vcse_rep": 0.02, "other": 0.0,
}
ROLE_EFFECTS = {"board": 0.3, "clinical": -0.1, "managerial": 0.0, "analytical": -0.15,
                "lay_partner": -0.3, "other": 0.0}
# Generating gaps, gathered minus used, in scale points (patient and public involvement largest).
SOURCE_GAPS = {"research": 0.6, "guidance": 0.3, "local_data": 0.2, "patient_public": 1.3,
               "clinical_experience": 0.8, "social_care": 0.7, "other_organisations": 0.9}


@dataclass(frozen=True)
class Simulation:
    """Simulated responses with the values that generated them.

    Attributes
    ----------
    responses : DataFrame
        A responses table as a survey export holds it (respondent_id, bank_version,
        organisation, role, years_in_role, item codes with 8 = don't know, NaN = skipped).
    organisations : DataFrame
        Indexed by organisation: type, respondents, invited.
    truth : dict
        ``phi`` (scale correlations), ``loadings`` (Series by item), ``icc1``,
        ``org_effects`` (organisation x scale latent means), ``role_effects``,
        ``source_gaps``, ``skip_rate``, ``dont_know_rate``, ``spread``.
    seed : int
    """

    responses: pd.DataFrame
    organisations: pd.DataFrame
    truth: dict = field(repr=False)
    seed: int = 0


def scale_correlations(bank: Bank, within_process=0.6, within_coordination=0.5, across=0.45) -> pd.DataFrame:
    """A plausible correlation matrix among the bank's scales (used as the generating ``phi``)."""
    ids = bank.scale_ids
    fam = [bank.scale(s).family for s in ids]
    phi = np.array([[1.0 if i == j else (within_process if fam[i] == fam[j] == "process" else
                                         within_coordination if fam[i] == fam[j] else across)
                     for j in range(len(ids))] for i in range(len(ids))])
    return pd.DataFrame(phi, index=ids, columns=ids)


def simulate(n_organisations: int = 12, seed: int = 0, bank: Bank | None = None, *,
             sizes: tuple[int, int] = (4, 40), icc1: float = 0.12, role_effects: dict | None = None,
             skip_rate: float = 0.03, dont_know_rate: float = 0.04, dropout_rate: float = 0.04,
             loadings: tuple[float, float] = (0.6, 0.85), spread: float = 1.1,
             with_conduits: bool = True) -> Simulation:
    """Simulate responses from several organisations.

    Parameters
    ----------
    n_organisations : int, default 12
    seed : int, default 0
        Everything is reproducible from the seed.
    bank : Bank, optional
        Item bank (default bank when omitted).
    sizes : (int, int), default (4, 40)
        Smallest and largest number of respondents per organisation (uniform).
    icc1 : float, default 0.12
        Latent share of scale variance between organisations.
    role_effects : dict, optional
        Shift per role group in latent SD units; :data:`ROLE_EFFECTS` by default, ``{}`` for none.
    skip_rate, dont_know_rate, dropout_rate : float
        Probability that an item is skipped, answered "don't know", and that a respondent
        stops after the process and co-ordination scales (leaving sources unanswered).
    loadings : (float, float), default (0.6, 0.85)
        Range of standardised item loadings (uniform).
    spread : float, default 1.1
        Scale points per latent SD when mapping to 1-7.
    with_conduits : bool, default True
        Whether the optional conduits block was asked.

    Returns
    -------
    Simulation
    """
    rng = np.random.default_rng(seed)
    bank = bank or load_bank()
    role_effects = ROLE_EFFECTS if role_effects is None else role_effects
    scales = bank.scale_ids
    phi = scale_correlations(bank)
    chol = np.linalg.cholesky(phi.to_numpy())

    names = [PLACES[i % len(PLACES)] + ("" if i < len(PLACES) else f" {i // len(PLACES) + 1}")
             for i in range(n_organisations)]
    types = rng.choice(list(ORG_TYPES), size=n_organisations, p=list(ORG_TYPES.values()))
    names = [f"{n} {t}" if t not in ("Partner",) else f"{n} Community Partnership" for n, t in zip(names, types)]
    n_resp = rng.integers(sizes[0], sizes[1] + 1, size=n_organisations)
    invited = np.ceil(n_resp / rng.uniform(0.45, 0.9, size=n_organisations)).astype(int)
    orgs = pd.DataFrame({"type": types, "respondents": n_resp, "invited": invited},
                        index=pd.Index(names, name="organisation"))

    org_effects = (rng.standard_normal((n_organisations, len(scales))) @ chol.T) * np.sqrt(icc1)
    org_of = np.repeat(np.arange(n_organisations), n_resp)
    n = int(n_resp.sum())
    role_ids = list(ROLE_SHARES)
    shares = np.array(list(ROLE_SHARES.values()))
    roles = rng.choice(role_ids, size=n, p=shares / shares.sum())
    groups = bank.role_groups
    role_shift = np.array([role_effects.get(groups[r], 0.0) for r in roles])
    eta = (org_effects[org_of] + role_shift[:, None]
           + (rng.standard_normal((n, len(scales))) @ chol.T) * np.sqrt(1 - icc1))

    meta = bank.items
    item_ids = list(meta)
    lam = pd.Series(rng.uniform(*loadings, size=len(item_ids)), index=item_ids, name="loading")
    # Realised ACAP sits a little below potential: commissioners gather more than they use.
    side = [bank.scale(meta[i]["scale"]).acap if meta[i]["kind"] == "scale" else None for i in item_ids]
    centre = pd.Series(rng.uniform(4.3, 5.0, size=len(item_ids)) - np.where(np.array(side) == "realised", 0.5, 0.0),
                       index=item_ids)
    codes = np.full((n, len(item_ids)), np.nan)
    scale_col = {s: k for k, s in enumerate(scales)}
    src_latent = {}
    if bank.sources:
        g_eta = eta[:, scale_col["acquisition"]] if "acquisition" in scale_col else eta.mean(axis=1)
        u_eta = eta[:, scale_col["exploitation"]] if "exploitation" in scale_col else eta.mean(axis=1)
        for src in bank.sources.items:
            gap = SOURCE_GAPS.get(src.id, 0.5)
            src_latent[src.gathered] = (g_eta, 4.9)
            src_latent[src.used] = (u_eta, 4.9 - gap)
    for j, iid in enumerate(item_ids):
        m = meta[iid]
        if m["kind"] == "conduit" and not with_conduits:
            continue
        if m["kind"] == "scale":
            base, mid = eta[:, scale_col[m["scale"]]], centre[iid]
        elif iid in src_latent:
            base, mid = src_latent[iid]
        else:  # conduits: relationships matter most (Wye et al. 2015)
            base, mid = eta.mean(axis=1), (5.2 if iid == "CO_REL" else 4.2)
        y = lam[iid] * base + np.sqrt(1 - lam[iid] ** 2) * rng.standard_normal(n)
        x = np.clip(np.round(mid + spread * y), 1, 7)
        if m["reverse"]:
            x = 8 - x
        codes[:, j] = x

    kinds = np.array([meta[i]["kind"] for i in item_ids])
    dk = rng.random(codes.shape) < dont_know_rate * np.where(kinds == "scale", 1.0, 1.5)
    codes[dk] = bank.response_scales["agree7"].dont_know.code
    codes[rng.random(codes.shape) < skip_rate] = np.nan
    stopped = rng.random(n) < dropout_rate
    codes[np.ix_(stopped, kinds != "scale")] = np.nan
    if not with_conduits:
        codes[:, kinds == "conduit"] = np.nan

    responses = pd.DataFrame(codes, columns=item_ids)
    front = pd.DataFrame({
        "respondent_id": [f"R{seed % 1000:03d}{i + 1:06d}" for i in range(n)],
        "bank_version": bank.version,
        "organisation": np.asarray(names)[org_of],
        "role": roles,
        "years_in_role": np.round(rng.gamma(2.0, 2.5, size=n), 1),
    })
    responses = pd.concat([front, responses], axis=1)
    if not with_conduits:
        responses = responses.drop(columns=[i for i in item_ids if meta[i]["kind"] == "conduit"])
    truth = dict(phi=phi, loadings=lam, icc1=icc1, role_effects=dict(role_effects),
                 org_effects=pd.DataFrame(org_effects, index=orgs.index, columns=scales),
                 source_gaps=pd.Series({s.id: SOURCE_GAPS.get(s.id, 0.5) for s in
                                        (bank.sources.items if bank.sources else [])}),
                 skip_rate=skip_rate, dont_know_rate=dont_know_rate, spread=spread)
    return Simulation(responses=responses, organisations=orgs, truth=truth, seed=seed)


def simulate_previous_wave(responses: pd.DataFrame, bank: Bank | None = None, seed: int = 0,
                           drift: float = 0.35) -> pd.DataFrame:
    """An earlier survey wave of the same organisations, for demonstrating change over time.

    Each organisation's respondents are resampled with replacement (new respondent IDs), and
    each organisation draws how far it has moved since: every 1-7 answer is one point lower
    with a probability drawn uniformly from ``[0, drift]`` per organisation and scale, one point
    higher with a probability from ``[0, drift / 3]`` ("don't know" and skipped answers kept),
    so most organisations have improved on some scales and hardly moved on others.

    Parameters
    ----------
    responses : DataFrame
        A simulated (or real) responses table, as :func:`simulate` returns.
    bank : Bank, optional
    seed : int, default 0
    drift : float, default 0.35

    Returns
    -------
    DataFrame
        The same columns, one resampled set of respondents per organisation.
    """
    bank = bank or load_bank()
    rng = np.random.default_rng(seed)
    points = {i: bank.response_scales[d["response_scale"]].points for i, d in bank.items.items()}
    parts = []
    for k, (org, group) in enumerate(responses.groupby("organisation", sort=False)):
        g = group.iloc[rng.integers(0, len(group), len(group))].copy()
        g["respondent_id"] = [f"P{seed % 1000:03d}{k:03d}{j:04d}" for j in range(len(g))]
        for sc in bank.scale_map:
            down, up = rng.uniform(0, drift), rng.uniform(0, drift / 3)
            for it in (i for i in bank.scale_map[sc] if i in g.columns):
                top = points.get(it, 7)
                x = g[it].to_numpy(float)
                answer = np.isfinite(x) & (x >= 1) & (x <= top)
                r = rng.uniform(size=len(x))
                x = np.where(answer & (r < down) & (x > 1), x - 1, np.where(answer & (r > 1 - up) & (x < top), x + 1, x))
                g[it] = x
        parts.append(g)
    return pd.concat(parts, ignore_index=True)
