"""A tiny in-memory stand-in for ``acap.store`` with the API named in the store contract.

Only the app tests use it, and only while the real store is not importable; it keeps the same
method names and return shapes so the pages can be driven without a database.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import pandas as pd


class AlreadySubmitted(Exception):
    pass


class WaveClosed(Exception):
    pass


@dataclass(frozen=True)
class Wave:
    id: int
    title: str
    bank: str = "acap"
    bank_version: str = "1.0"
    opens: date | None = None
    closes: date | None = None
    min_n: int = 5
    network: bool = False
    retention: date | None = None
    status: str = "open"

    @property
    def closed(self) -> bool:
        return self.status != "open"


@dataclass(frozen=True)
class Invitation:
    wave: int
    organisation: int
    status: str
    page: str | None
    organisation_name: str = ""


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    organisations: tuple = ()


@dataclass
class FakeStore:
    orgs: list = field(default_factory=list)
    waves_: dict = field(default_factory=dict)
    invites: dict = field(default_factory=dict)
    accounts: dict = field(default_factory=dict)
    rosters: dict = field(default_factory=dict)
    log: list = field(default_factory=list)
    uploaded: dict = field(default_factory=dict)

    def _h(self, code):
        return hashlib.sha256(code.encode()).hexdigest()

    def add_organisation(self, name, type, parent=None):
        self.orgs.append(dict(id=len(self.orgs) + 1, name=name, type=type, parent=parent))
        return len(self.orgs)

    def organisations(self):
        return pd.DataFrame(self.orgs, columns=["id", "name", "type", "parent"]).set_index("id")

    def create_wave(self, title, *, bank="acap", bank_version="1.0", opens=None, closes=None, min_n=5,
                    network=False, retention=None, actor):
        wid = len(self.waves_) + 1
        self.waves_[wid] = Wave(wid, title, bank, bank_version, opens, closes, min_n, network, retention)
        self.log.append((actor, "create_wave", wid))
        return wid

    def wave(self, wave_id):
        return self.waves_[wave_id]

    def waves(self):
        return pd.DataFrame([w.__dict__ for w in self.waves_.values()]).set_index("id")

    def close_wave(self, wave_id, actor):
        w = self.waves_[wave_id]
        self.waves_[wave_id] = Wave(**{**w.__dict__, "status": "closed"})
        self.log.append((actor, "close_wave", wave_id))

    def issue_codes(self, wave_id, organisation_id, n, actor):
        codes = [secrets.token_urlsafe(16) for _ in range(n)]
        for c in codes:
            self.invites[self._h(c)] = dict(wave=wave_id, organisation=organisation_id, status="sent", page=None,
                                            answers={}, background={}, nominations={}, outside={},
                                            submitted_at=None)
        return codes

    def invitation(self, code):
        r = self.invites.get(self._h(code))
        if r is None:
            return None
        return Invitation(r["wave"], r["organisation"], r["status"], r["page"],
                          self.orgs[r["organisation"] - 1]["name"])

    def save_page(self, code, page, answers, background=None):
        r = self.invites[self._h(code)]
        if r["status"] == "submitted":
            raise AlreadySubmitted(code)
        if self.waves_[r["wave"]].closed:
            raise WaveClosed(code)
        r["answers"].update(answers)
        r["background"].update(background or {})
        r["page"] = page
        r["status"] = "started"

    def answers(self, code):
        r = self.invites[self._h(code)]
        return {**r["answers"], **r["background"]}

    def submit(self, code):
        r = self.invites[self._h(code)]
        if r["status"] == "submitted":
            raise AlreadySubmitted(code)
        if self.waves_[r["wave"]].closed:
            raise WaveClosed(code)
        r["status"] = "submitted"
        r["submitted_at"] = datetime.now(timezone.utc)

    def import_roster(self, wave_id, organisation_id, rows, actor):
        rows = rows.sample(frac=1, random_state=1).reset_index(drop=True)
        rows = rows.assign(person_id=range(1, len(rows) + 1), label=[f"P{k:02d}" for k in range(1, len(rows) + 1)])
        self.rosters[(wave_id, organisation_id)] = rows
        return len(rows)

    def roster(self, wave_id, organisation_id):
        return self.rosters.get((wave_id, organisation_id), pd.DataFrame(columns=["person_id", "name", "role", "label"]))

    def save_nominations(self, code, nominations, outside):
        r = self.invites[self._h(code)]
        r["nominations"], r["outside"] = dict(nominations), dict(outside)

    def nominations(self, code):
        r = self.invites[self._h(code)]
        return dict(r["nominations"]), dict(r["outside"])

    def create_account(self, username, password, role, organisations=(), actor=None):
        self.accounts[username] = (password, Account(username, role, tuple(organisations)))

    def login(self, username, password):
        a = self.accounts.get(username)
        return a[1] if a and a[0] == password else None

    def audit_log(self):
        return pd.DataFrame(self.log, columns=["actor", "action", "target"])

    def response_rates(self, wave_id):
        rows = []
        for o in self.orgs:
            inv = [r for r in self.invites.values() if r["wave"] == wave_id and r["organisation"] == o["id"]]
            if not inv:
                continue
            sub = sum(r["status"] == "submitted" for r in inv)
            rows.append(dict(organisation=o["name"], role_group="all", invited=len(inv),
                             started=sum(r["status"] != "sent" for r in inv), submitted=sub,
                             response_rate=sub / len(inv)))
        return pd.DataFrame(rows)

    def export_responses(self, wave_id):
        from acap.items import load_bank

        bank = load_bank()
        rows = []
        for k, r in self.invites.items():
            if r["wave"] == wave_id and r["status"] == "submitted":
                rows.append(dict(respondent_id=k[:12], bank_version="1.0",
                                 organisation=self.orgs[r["organisation"] - 1]["name"],
                                 role=r["background"].get("role"), years_in_role=r["background"].get("years_in_role"),
                                 **{i: r["answers"].get(i) for i in bank.item_ids}))
        rows += self.uploaded.get(wave_id, [])
        return pd.DataFrame(rows, columns=["respondent_id", "bank_version", "organisation", "role", "years_in_role",
                                           *bank.item_ids])

    def export_networks(self, wave_id):
        return (pd.DataFrame(columns=["organisation", "source", "target", "frequency"]),
                pd.DataFrame(columns=["organisation", "id", "label", "role", "board", "responded"]),
                pd.DataFrame(columns=["organisation", "respondent", "category", "count"]))

    def last_submission(self, wave_id):
        times = [r["submitted_at"] for r in self.invites.values() if r["wave"] == wave_id and r["submitted_at"]]
        return max(times) if times else None

    def purge_wave(self, wave_id, actor):
        for k in [k for k, r in self.invites.items() if r["wave"] == wave_id]:
            self.invites[k].update(answers={}, background={}, nominations={}, outside={})
        self.uploaded.pop(wave_id, None)
        self.log.append((actor, "purge_wave", wave_id))

    def upload_responses(self, wave_id, responses_df, actor):
        self.uploaded.setdefault(wave_id, []).extend(responses_df.to_dict("records"))
        self.log.append((actor, "upload_responses", wave_id))
