"""Seed a store with simulated answers (``acap demo`` and ``acap serve`` on an empty database).

Simulated respondents answer through invitation codes as online respondents would: each
organisation gets as many codes as it invited, the respondents' answers are stored against
the first codes as submitted, and the rest stay unanswered, so response rates look real. The
answers are written in bulk (one transaction per organisation) rather than page by page,
which would take a thousand transactions for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import select

from acap.store import models as m
from acap.store.api import Store, _now, _pseudonym, check_answers, check_background, hash_code


@dataclass(frozen=True)
class SeededWave:
    """A wave seeded by :func:`seed_demo`.

    Attributes
    ----------
    wave_id : int
    unanswered : dict
        Organisation name -> the codes nobody has answered yet (plaintext, returned once).
    respondents : int
        Submitted respondents stored.
    """

    wave_id: int
    unanswered: dict = field(default_factory=dict)
    respondents: int = 0


def seed_demo(store: Store, simulation, *, title: str = "Demo wave", actor: str = "acap demo",
              bank=None) -> SeededWave:
    """Store a simulation's organisations and answers as a wave of online responses.

    Parameters
    ----------
    store : Store
    simulation : acap.simulate.Simulation
        Its ``organisations`` (type, invited) and ``responses``.
    title : str
        The wave's title.
    actor : str
        Recorded in the audit log.
    bank : Bank, optional
        The simulation's bank (the default bank when omitted).

    Returns
    -------
    SeededWave
    """
    from acap.items import load_bank

    bank = bank or load_bank()
    store.register_bank(bank)
    orgs = simulation.organisations
    for name, row in orgs.iterrows():
        if store.organisation_id(name) is None:
            store.add_organisation(name, row["type"], actor=actor)
    wave = store.create_wave(title, bank=bank.bank, bank_version=bank.version, actor=actor)
    items = [c for c in simulation.responses.columns if c in bank.items]
    unanswered, total = {}, 0
    for name, rows in simulation.responses.groupby("organisation", sort=False):
        invited = int(orgs.loc[name, "invited"]) if "invited" in orgs.columns else len(rows)
        codes = store.issue_codes(wave, store.organisation_id(name), max(invited, len(rows)), actor=actor)
        _store_submitted(store, wave, codes[:len(rows)], rows, items, bank)
        unanswered[name] = codes[len(rows):]
        total += len(rows)
    return SeededWave(wave_id=wave, unanswered=unanswered, respondents=total)


def _store_submitted(store: Store, wave_id: int, codes: list[str], rows: pd.DataFrame, items: list[str],
                     bank) -> None:
    """Answers and background of ``rows`` stored as submitted against ``codes``, in one transaction."""
    checked = []
    for code, (_, row) in zip(codes, rows.iterrows()):
        where = f"respondent {row.get('respondent_id', '')}"
        answers = check_answers(bank, {i: None if pd.isna(row[i]) else row[i] for i in items}, where)
        years = row.get("years_in_role")
        bg = check_background(bank, {"role": row["role"],
                                     "years_in_role": None if years is None or pd.isna(years) else float(years)},
                              where)
        checked.append((code, answers, bg))
    now = _now()
    with store._write() as s, s.begin():
        invs = {i.code_hash: i for i in s.scalars(select(m.Invitation).where(
            m.Invitation.code_hash.in_([hash_code(c) for c, _, _ in checked])))}
        version = s.get(m.Wave, wave_id).bank_version
        responses = []
        for code, _, bg in checked:
            inv = invs[hash_code(code)]
            inv.status, inv.page, inv.updated_at = "submitted", "review", now
            responses.append(m.Response(wave_id=wave_id, organisation_id=inv.organisation_id, invitation_id=inv.id,
                                        respondent_id=_pseudonym(), bank_version=version, source="online",
                                        submitted=True, started_at=now, submitted_at=now, **bg))
        s.add_all(responses)
        s.flush()
        values = [{"response_id": r.id, "item": k, "value": v, "page": bank.items[k]["scale"] or bank.items[k]["kind"]}
                  for r, (_, answers, _) in zip(responses, checked) for k, v in answers.items()]
        if values:
            s.execute(store._insert(m.Answer), values)


__all__ = ["SeededWave", "seed_demo"]
