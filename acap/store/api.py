"""The store's API: one :class:`Store` per database, safe to share between threads.

Every public method is one transaction: it validates everything it was given first, then
writes, so a refused call (:class:`~acap.errors.AcapInputError` and its subclasses below)
leaves the database as it was.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import numbers
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from acap.errors import AcapInputError
from acap.items import Bank, load_bank
from acap.store import models as m
from acap.store.engine import WRITE, database_url, make_engine, migrate

#: Random bytes in an invitation code: 160 bits (the brief asks for at least 128).
CODE_BYTES = 20
#: Shortest password an account may have.
PASSWORD_MIN_LENGTH = 10
#: Organisation types written differently elsewhere (acap.simulate's labels) -> ours.
TYPE_ALIASES = {"ccg (legacy)": "legacy CCG", "ccg": "legacy CCG", "partner": "voluntary sector",
                "la": "local authority", "pcn": "primary care network", "csu": "commissioning support unit",
                "trust": "NHS trust"}
#: Columns of :meth:`Store.export_responses` before the item columns (as the demo's responses.csv).
EXPORT_FRONT = ("respondent_id", "bank_version", "organisation", "role", "years_in_role")
_SYSTEM = "system"


class AlreadySubmitted(AcapInputError):
    """The code's answers were submitted already; a code submits once."""


class WaveClosed(AcapInputError):
    """The code's wave is closed (or past its closing date), so it takes no more answers."""


class WaveNotOpen(WaveClosed):
    """The code's wave has not opened yet."""


@dataclass(frozen=True)
class Wave:
    """A survey wave (see :meth:`Store.create_wave`)."""

    id: int
    title: str
    bank: str
    bank_version: str
    opens: date | None
    closes: date | None
    min_n: int
    network: bool
    retention: date | None
    closed: bool
    created_at: datetime
    closed_at: datetime | None = None
    purged_at: datetime | None = None

    def accepting(self, today: date | None = None) -> bool:
        """Whether the wave takes answers today (open, not closed, within its dates)."""
        today = today or date.today()
        return (not self.closed and (self.opens is None or self.opens <= today)
                and (self.closes is None or today <= self.closes))


@dataclass(frozen=True)
class Invitation:
    """What a code gives access to. ``status`` is "sent", "started" or "submitted"; ``page`` the
    last page saved; ``role`` and ``years_in_role`` the background answers saved so far;
    ``person_id`` the roster person the code was issued to (personal network links), if any."""

    id: int
    wave_id: int
    wave: Wave
    organisation_id: int
    organisation: str
    status: str
    page: str | None
    role: str | None = None
    years_in_role: float | None = None
    person_id: int | None = None
    submitted_at: datetime | None = None


@dataclass(frozen=True)
class Account:
    """A signed-in account. ``organisations`` are the organisation ids it may see (a lead's
    own, a consultant's assigned ones); an admin sees every organisation."""

    id: int
    username: str
    role: str
    organisations: tuple[int, ...] = ()

    def may_see(self, organisation_id: int) -> bool:
        """Whether this account may read the organisation's results."""
        return self.role == "admin" or organisation_id in self.organisations


def open_store(url: str | None = None, data_dir: str | os.PathLike | None = None, **engine_kwargs) -> "Store":
    """Open (creating and migrating to the newest schema) the survey store.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL. Defaults to ``$ACAP_DATABASE_URL``; without either, the embedded
        default: SQLite file ``<data_dir>/acap.sqlite``.
    data_dir : path-like, optional
        Data folder of the embedded default (``acap-data`` when omitted); created if missing.
    **engine_kwargs
        Passed to :func:`sqlalchemy.create_engine` (e.g. ``pool_size`` on PostgreSQL).

    Returns
    -------
    Store
    """
    engine = make_engine(database_url(url, data_dir), **engine_kwargs)
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        engine.dispose()
        first = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        raise AcapInputError(f"cannot open the database: {first}",
                             f"database {engine.url.render_as_string(hide_password=True)}") from None
    migrate(engine)
    return Store(engine)


def normalise_code(code: str) -> str:
    """A code as typed or pasted, reduced to its characters (case, spaces and dashes ignored)."""
    return "".join(ch for ch in str(code).upper() if ch.isalnum())


def hash_code(code: str) -> str:
    """SHA-256 (hex) of a normalised invitation code: what the database keeps instead of the code.

    A fast unsalted hash is right here, unlike for passwords: a code carries 160 random bits
    from :mod:`secrets`, so no dictionary or brute-force search can invert its hash, while a
    deterministic hash lets a code be found by an index lookup (a salted slow hash would mean
    checking every invitation on every page load).
    """
    return hashlib.sha256(normalise_code(code).encode("ascii")).hexdigest()


def new_code() -> str:
    """A fresh invitation code: 160 random bits as 32 base-32 characters in groups of four."""
    raw = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii")
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite keeps no time zone; every stored time is UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _actor(actor) -> str:
    if isinstance(actor, Account):
        return actor.username
    if not isinstance(actor, str) or not actor.strip():
        raise AcapInputError("say who is acting (a username or Account)", "actor")
    return actor.strip()


def _date(value, where: str) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise AcapInputError(f"{value!r} is not a date (YYYY-MM-DD)", where) from None


def _int(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not float(value).is_integer():
        raise AcapInputError(f"{value!r} is not a whole number", where)
    return int(value)


def _wave(row: m.Wave) -> Wave:
    return Wave(id=row.id, title=row.title, bank=row.bank, bank_version=row.bank_version, opens=row.opens,
                closes=row.closes, min_n=row.min_n, network=bool(row.network), retention=row.retention,
                closed=bool(row.closed), created_at=_aware(row.created_at), closed_at=_aware(row.closed_at),
                purged_at=_aware(row.purged_at))


class Store:
    """The survey store on one database (see :func:`open_store` and the package docs)."""

    def __init__(self, engine: Engine, banks: Iterable[Bank] = ()):
        self.engine = engine
        # Writes take BEGIN IMMEDIATE on SQLite (queueing on the busy timeout); reads a plain
        # BEGIN, so they run beside a writer under WAL.
        self._writer = engine.execution_options(**{WRITE: True})
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._hasher = PasswordHasher()
        self._banks: dict[tuple[str, str], Bank] = {}
        for b in banks:
            self.register_bank(b)

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    # ---- banks -------------------------------------------------------------------------
    def register_bank(self, bank: Bank) -> None:
        """Make an item bank available to waves that name it (the default bank always is)."""
        self._banks[(bank.bank, bank.version)] = bank

    def bank(self, wave_id: int) -> Bank:
        """The item bank a wave asks."""
        w = self.wave(wave_id)
        return self._bank(w.bank, w.bank_version)

    def _bank(self, name: str, version: str) -> Bank:
        if not self._banks:
            self.register_bank(load_bank())
        try:
            return self._banks[(name, version)]
        except KeyError:
            known = ", ".join(f"{b} {v}" for b, v in self._banks)
            raise AcapInputError(f"no item bank {name} {version} is available (known: {known})", "bank") from None

    # ---- sessions ----------------------------------------------------------------------
    def _write(self) -> Session:
        return Session(self._writer, expire_on_commit=False)

    def _read(self) -> Session:
        return Session(self.engine)

    def _audit(self, s: Session, actor, action: str, target: str | None = None, **detail) -> None:
        s.add(m.AuditEntry(at=_now(), actor=_actor(actor), action=action, target=target,
                           detail=json.dumps(detail, default=str, sort_keys=True) if detail else None))

    # ---- organisations -----------------------------------------------------------------
    def add_organisation(self, name: str, type: str, parent: int | str | None = None, *, actor=_SYSTEM) -> int:
        """Add an organisation; returns its id.

        ``type`` is one of :data:`acap.store.ORGANISATION_TYPES` (any case; acap.simulate's
        labels such as "CCG (legacy)" are accepted through :data:`TYPE_ALIASES`); ``parent`` an
        organisation id or name (e.g. the ICB of an ICB place).
        """
        name = str(name or "").strip()
        if not name:
            raise AcapInputError("organisation name is blank", "organisation")
        kind = organisation_type(type)
        with self._write() as s, s.begin():
            if s.scalar(select(m.Organisation.id).where(m.Organisation.name == name)) is not None:
                raise AcapInputError(f"organisation {name!r} exists already", "organisation")
            parent_id = self._organisation_id(s, parent) if parent is not None else None
            org = m.Organisation(name=name, type=kind, parent_id=parent_id, created_at=_now())
            s.add(org)
            s.flush()
            self._audit(s, actor, "add_organisation", name, type=kind, parent_id=parent_id)
            return org.id

    def organisation_id(self, name: str) -> int | None:
        """The id of the organisation called ``name``, or None."""
        with self._read() as s:
            return s.scalar(select(m.Organisation.id).where(m.Organisation.name == str(name).strip()))

    def _organisation_id(self, s: Session, ref: int | str) -> int:
        if isinstance(ref, numbers.Integral) and not isinstance(ref, bool):
            found = s.scalar(select(m.Organisation.id).where(m.Organisation.id == int(ref)))
        else:
            found = s.scalar(select(m.Organisation.id).where(m.Organisation.name == str(ref).strip()))
        if found is None:
            raise AcapInputError(f"no organisation {ref!r}", "organisation")
        return found

    def organisations(self) -> pd.DataFrame:
        """All organisations: columns id, name, type, parent_id, parent (name), in name order."""
        with self._read() as s:
            rows = s.execute(select(m.Organisation.id, m.Organisation.name, m.Organisation.type,
                                    m.Organisation.parent_id).order_by(m.Organisation.name)).all()
        df = pd.DataFrame(rows, columns=["id", "name", "type", "parent_id"])
        df["parent_id"] = df["parent_id"].astype("Int64")
        df["parent"] = df["parent_id"].map(dict(zip(df["id"], df["name"])))
        return df

    # ---- waves -------------------------------------------------------------------------
    def create_wave(self, title: str, *, bank: str = "acap", bank_version: str = "1.0", opens=None, closes=None,
                    min_n: int = 5, network: bool = False, retention=None, actor) -> int:
        """Create a survey wave; returns its id.

        Parameters
        ----------
        title : str
        bank, bank_version : str
            The item bank asked (must be available: the default bank, or one registered).
        opens, closes : date or ISO text, optional
            Answers are taken from ``opens`` to ``closes`` inclusive (open-ended when omitted).
        min_n : int, default 5
            Minimum respondents for any published cell of this wave.
        network : bool, default False
            Whether the wave asks the advice-network questions.
        retention : date or ISO text, optional
            When the wave's answers are to be purged (see :meth:`due_for_purge`).
        actor : str or Account
        """
        title = str(title or "").strip()
        if not title:
            raise AcapInputError("the wave needs a title", "title")
        self._bank(bank, str(bank_version))
        opens, closes = _date(opens, "opens"), _date(closes, "closes")
        retention = _date(retention, "retention")
        if opens and closes and closes < opens:
            raise AcapInputError(f"closes ({closes}) is before opens ({opens})", "closes")
        if retention and closes and retention < closes:
            raise AcapInputError(f"retention date ({retention}) is before the wave closes ({closes})", "retention")
        min_n = _int(min_n, "min_n")
        if min_n < 1:
            raise AcapInputError("minimum n must be at least 1", "min_n")
        with self._write() as s, s.begin():
            w = m.Wave(title=title, bank=bank, bank_version=str(bank_version), opens=opens, closes=closes,
                       min_n=min_n, network=bool(network), retention=retention, closed=False, created_at=_now())
            s.add(w)
            s.flush()
            self._audit(s, actor, "create_wave", f"wave {w.id}", title=title, bank=bank,
                        bank_version=str(bank_version), min_n=min_n, network=bool(network))
            return w.id

    def wave(self, wave_id: int) -> Wave:
        """One wave (AcapInputError when there is none)."""
        with self._read() as s:
            row = s.get(m.Wave, _int(wave_id, "wave"))
            if row is None:
                raise AcapInputError(f"no wave {wave_id!r}", "wave")
            return _wave(row)

    def waves(self) -> pd.DataFrame:
        """All waves, newest first: the fields of :class:`Wave` as columns."""
        with self._read() as s:
            rows = [_wave(r) for r in s.scalars(select(m.Wave).order_by(m.Wave.id.desc()))]
        return pd.DataFrame([r.__dict__ for r in rows], columns=list(Wave.__dataclass_fields__))

    def close_wave(self, wave_id: int, actor) -> None:
        """Close a wave: its codes take no more answers (closing twice is harmless)."""
        _actor(actor)
        with self._write() as s, s.begin():
            w = self._wave_row(s, wave_id)
            if not w.closed:
                w.closed, w.closed_at = True, _now()
                self._audit(s, actor, "close_wave", f"wave {w.id}")

    def _wave_row(self, s: Session, wave_id) -> m.Wave:
        w = s.get(m.Wave, _int(wave_id, "wave"))
        if w is None:
            raise AcapInputError(f"no wave {wave_id!r}", "wave")
        return w

    # ---- invitations -------------------------------------------------------------------
    def issue_codes(self, wave_id: int, organisation_id: int, n: int, actor) -> list[str]:
        """Issue ``n`` one-time codes for an organisation in a wave.

        Returns the plaintext codes: this is the only time they exist outside the respondents'
        hands (the database keeps their SHA-256, see :func:`hash_code`).
        """
        n = _int(n, "n")
        if not 1 <= n <= 100_000:
            raise AcapInputError(f"number of codes {n} is not between 1 and 100000", "n")
        codes = [new_code() for _ in range(n)]
        with self._write() as s, s.begin():
            w = self._wave_row(s, wave_id)
            org = self._organisation_id(s, organisation_id)
            now = _now()
            s.add_all([m.Invitation(wave_id=w.id, organisation_id=org, code_hash=hash_code(c), status="sent",
                                    created_at=now) for c in codes])
            self._audit(s, actor, "issue_codes", f"wave {w.id}", organisation_id=org, n=n)
        return codes

    def issue_roster_codes(self, wave_id: int, organisation_id: int, actor) -> pd.DataFrame:
        """Personal codes for everyone on the organisation's roster who has none yet.

        Returns a DataFrame ``person_id, label, name, code`` (the mail merge), the only copy of
        the codes. A personal code ties its answers and nominations to that roster person.
        """
        with self._write() as s, s.begin():
            w = self._wave_row(s, wave_id)
            org = self._organisation_id(s, organisation_id)
            have = select(m.Invitation.person_id).where(m.Invitation.person_id.is_not(None))
            people = s.execute(select(m.RosterPerson.id, m.RosterPerson.label, m.RosterPerson.name).where(
                m.RosterPerson.wave_id == w.id, m.RosterPerson.organisation_id == org,
                m.RosterPerson.id.not_in(have)).order_by(m.RosterPerson.label)).all()
            out = pd.DataFrame(people, columns=["person_id", "label", "name"])
            out["code"] = [new_code() for _ in range(len(out))]
            now = _now()
            s.add_all([m.Invitation(wave_id=w.id, organisation_id=org, code_hash=hash_code(c), person_id=p,
                                    status="sent", created_at=now) for p, c in zip(out["person_id"], out["code"])])
            self._audit(s, actor, "issue_roster_codes", f"wave {w.id}", organisation_id=org, n=len(out))
        return out

    def invitation(self, code: str) -> Invitation | None:
        """What a code opens, or None for an unknown code."""
        with self._read() as s:
            row = s.execute(self._invitation_query(code)).first()
            return None if row is None else self._invitation(*row)

    def _invitation_query(self, code: str, lock: bool = False):
        q = (select(m.Invitation, m.Wave, m.Organisation.name, m.Response)
             .join(m.Wave, m.Wave.id == m.Invitation.wave_id)
             .join(m.Organisation, m.Organisation.id == m.Invitation.organisation_id)
             .outerjoin(m.Response, m.Response.invitation_id == m.Invitation.id)
             .where(m.Invitation.code_hash == hash_code(code)))
        # PostgreSQL: one code's saves and submit queue on its invitation row (SQLite's
        # BEGIN IMMEDIATE already runs one writer at a time).
        return q.with_for_update(of=m.Invitation) if lock else q

    @staticmethod
    def _invitation(inv: m.Invitation, wave: m.Wave, org_name: str, resp: m.Response | None) -> Invitation:
        return Invitation(id=inv.id, wave_id=inv.wave_id, wave=_wave(wave), organisation_id=inv.organisation_id,
                          organisation=org_name, status=inv.status, page=inv.page,
                          role=resp.role if resp else None, years_in_role=resp.years_in_role if resp else None,
                          person_id=inv.person_id, submitted_at=_aware(resp.submitted_at) if resp else None)

    def invitations(self, wave_id: int) -> pd.DataFrame:
        """Every invitation of a wave (no codes): id, organisation, status, page, person label,
        created_at, updated_at. Filter status != "submitted" for a reminders list."""
        with self._read() as s:
            rows = s.execute(
                select(m.Invitation.id, m.Organisation.name, m.Invitation.status, m.Invitation.page,
                       m.RosterPerson.label, m.Invitation.created_at, m.Invitation.updated_at)
                .join(m.Organisation, m.Organisation.id == m.Invitation.organisation_id)
                .outerjoin(m.RosterPerson, m.RosterPerson.id == m.Invitation.person_id)
                .where(m.Invitation.wave_id == _int(wave_id, "wave")).order_by(m.Invitation.id)).all()
        return pd.DataFrame(rows, columns=["id", "organisation", "status", "page", "person", "created_at",
                                           "updated_at"])

    def code_status(self, codes: Iterable[str]) -> pd.DataFrame:
        """Status of each code in an administrator's own list (e.g. the mail merge), for reminders:
        columns code, organisation, status ("unknown" for a code the store does not hold)."""
        codes = [str(c) for c in codes]
        hashes = {hash_code(c): c for c in codes}
        with self._read() as s:
            rows = dict(((h, (o, st)) for h, o, st in s.execute(
                select(m.Invitation.code_hash, m.Organisation.name, m.Invitation.status)
                .join(m.Organisation, m.Organisation.id == m.Invitation.organisation_id)
                .where(m.Invitation.code_hash.in_(list(hashes))))))
        return pd.DataFrame([(c, *rows.get(hash_code(c), (None, "unknown"))) for c in codes],
                            columns=["code", "organisation", "status"])

    # ---- answering ---------------------------------------------------------------------
    def _open_for_answers(self, s: Session, code: str):
        """The locked invitation, its wave and response (created on first use) for a code that may
        still answer; raises for an unknown code, a closed wave or a submitted code."""
        row = s.execute(self._invitation_query(code, lock=True)).first()
        if row is None:
            raise AcapInputError("this code is not recognised (check it was typed in full)", "code")
        inv, wave, _, resp = row
        today = date.today()
        if not _wave(wave).accepting(today):
            if not wave.closed and wave.opens is not None and today < wave.opens:
                raise WaveNotOpen(f"the survey {wave.title!r} opens on {wave.opens.isoformat()}", "code")
            raise WaveClosed(f"the survey {wave.title!r} has closed, so it takes no more answers", "code")
        if inv.status == "submitted" or (resp is not None and resp.submitted):
            raise AlreadySubmitted("these answers were submitted already; a code submits once", "code")
        return inv, wave, resp

    def _ensure_response(self, s: Session, inv: m.Invitation, wave: m.Wave, resp: m.Response | None) -> m.Response:
        if resp is None:
            resp = m.Response(wave_id=wave.id, organisation_id=inv.organisation_id, invitation_id=inv.id,
                              respondent_id=_pseudonym(), bank_version=wave.bank_version, source="online",
                              submitted=False, started_at=_now())
            s.add(resp)
            s.flush()
        return resp

    def save_page(self, code: str, page: str, answers: Mapping[str, int | None],
                  background: Mapping | None = None) -> None:
        """Save one page of answers (insert or replace each item), atomically.

        Parameters
        ----------
        code : str
        page : str
            The page's name (kept as the invitation's current page, to resume there).
        answers : mapping
            Item id -> response code: 1..points, the bank's don't-know code (kept, scored as
            missing), or None for skipped.
        background : mapping, optional
            ``role`` (role id or label from the bank) and ``years_in_role`` (number or None).

        Raises
        ------
        AcapInputError
            Unknown code, unknown item, value off the scale, unknown role (nothing saved).
        WaveClosed, WaveNotOpen, AlreadySubmitted
        """
        page = str(page or "").strip()
        if not page or len(page) > 60:
            raise AcapInputError("page name must be 1-60 characters", "page")
        with self._write() as s, s.begin():
            inv, wave, resp = self._open_for_answers(s, code)
            bank = self._bank(wave.bank, wave.bank_version)
            values = check_answers(bank, answers, f"page {page!r}")
            bg = check_background(bank, background or {}, f"page {page!r}")
            resp = self._ensure_response(s, inv, wave, resp)
            if values:
                ins = self._insert(m.Answer).values(
                    [{"response_id": resp.id, "item": k, "value": v, "page": page} for k, v in values.items()])
                s.execute(ins.on_conflict_do_update(index_elements=["response_id", "item"],
                                                    set_={"value": ins.excluded.value, "page": ins.excluded.page}))
            for key, value in bg.items():
                setattr(resp, key, value)
            inv.status, inv.page, inv.updated_at = "started", page, _now()

    def answers(self, code: str) -> dict:
        """The answers saved for a code: item id -> code (None where skipped). Empty when none."""
        with self._read() as s:
            return dict(s.execute(
                select(m.Answer.item, m.Answer.value).join(m.Response, m.Response.id == m.Answer.response_id)
                .join(m.Invitation, m.Invitation.id == m.Response.invitation_id)
                .where(m.Invitation.code_hash == hash_code(code))).all())

    def submit(self, code: str) -> None:
        """Submit a code's answers (once). Needs the bank's required background (role) saved.

        Raises
        ------
        AlreadySubmitted, WaveClosed, AcapInputError
        """
        with self._write() as s, s.begin():
            inv, wave, resp = self._open_for_answers(s, code)
            bank = self._bank(wave.bank, wave.bank_version)
            if resp is None:
                raise AcapInputError("nothing has been answered yet", "submit")
            if resp.role is None and any(b.id == "role" and b.required for b in bank.background):
                raise AcapInputError("your role is missing (background page)", "submit")
            now = _now()
            resp.submitted, resp.submitted_at = True, now
            inv.status, inv.updated_at = "submitted", now

    # ---- network -----------------------------------------------------------------------
    def import_roster(self, wave_id: int, organisation_id: int, rows: pd.DataFrame, actor) -> int:
        """Import an organisation's network roster for a wave; returns the number of people.

        ``rows`` has a ``name`` column and optionally ``role`` (bank role id or label) and
        ``board`` (true/false, yes/no, 1/0). The rows are shuffled with :mod:`secrets` before
        the pseudonyms P01, P02 ... are given, so a pseudonym says nothing about a name's place
        in the alphabet or in the file. Re-importing replaces the roster until someone has
        nominated from it.
        """
        if not isinstance(rows, pd.DataFrame):
            raise AcapInputError("expected a table with a 'name' column", "roster")
        if "name" not in rows.columns:
            raise AcapInputError(f"no 'name' column (columns: {list(rows.columns)})", "roster")
        from acap.network.model import pseudonyms

        with self._write() as s, s.begin():
            w = self._wave_row(s, wave_id)
            org = self._organisation_id(s, organisation_id)
            bank = self._bank(w.bank, w.bank_version)
            people = check_roster(bank, rows)
            existing = select(m.RosterPerson.id).where(m.RosterPerson.wave_id == w.id,
                                                       m.RosterPerson.organisation_id == org)
            used = s.scalar(select(func.count()).select_from(m.Nomination).where(
                m.Nomination.source_id.in_(existing) | m.Nomination.target_id.in_(existing)))
            if used:
                raise AcapInputError("people have already nominated from this roster, so it cannot be replaced",
                                     "roster")
            s.execute(update(m.Invitation).where(m.Invitation.person_id.in_(existing)).values(person_id=None))
            s.execute(delete(m.RosterPerson).where(m.RosterPerson.id.in_(existing)))
            secrets.SystemRandom().shuffle(people)
            s.add_all([m.RosterPerson(wave_id=w.id, organisation_id=org, label=label, **p)
                       for label, p in zip(pseudonyms(len(people)), people)])
            self._audit(s, actor, "import_roster", f"wave {w.id}", organisation_id=org, n=len(people))
        return len(people)

    def roster(self, wave_id: int, organisation_id: int) -> pd.DataFrame:
        """An organisation's roster for a wave: id, label, name, role, board (in label order)."""
        with self._read() as s:
            org = self._organisation_id(s, organisation_id)
            rows = s.execute(select(m.RosterPerson.id, m.RosterPerson.label, m.RosterPerson.name,
                                    m.RosterPerson.role, m.RosterPerson.board)
                             .where(m.RosterPerson.wave_id == _int(wave_id, "wave"),
                                    m.RosterPerson.organisation_id == org)
                             .order_by(m.RosterPerson.label)).all()
        return pd.DataFrame(rows, columns=["id", "label", "name", "role", "board"])

    def save_nominations(self, code: str, nominations: Mapping[int, int], outside: Mapping | None = None,
                         *, person: int | None = None) -> None:
        """Save a respondent's network answers, replacing earlier ones, atomically.

        Parameters
        ----------
        code : str
        nominations : mapping
            Roster person id (from :meth:`roster`) -> how often they go to that person for
            advice, 1 (yearly) to 5 (daily). Not themselves.
        outside : mapping, optional
            Category (``acap.network.OUTSIDE_CATEGORIES``) -> number of contacts, or
            ``(count, frequency)`` / ``{"count": .., "frequency": ..}`` with frequency 1-5.
        person : int, optional
            Who on the roster the respondent is, for a code not issued to a roster person.
        """
        with self._write() as s, s.begin():
            inv, wave, resp = self._open_for_answers(s, code)
            if not wave.network:
                raise AcapInputError(f"the survey {wave.title!r} has no network questions", "network")
            roster = dict(s.execute(select(m.RosterPerson.id, m.RosterPerson.label).where(
                m.RosterPerson.wave_id == wave.id, m.RosterPerson.organisation_id == inv.organisation_id)).all())
            me = inv.person_id
            if person is not None:
                person = _int(person, "person")
                if person not in roster:
                    raise AcapInputError(f"person {person} is not on this organisation's roster", "person")
                if me is not None and me != person:
                    raise AcapInputError("this code belongs to another person on the roster", "person")
                me = person
            if me is None:
                raise AcapInputError("say who you are on the roster before naming others", "person")
            ties = check_nominations(nominations, roster, me)
            contacts = check_outside(outside or {})
            taken = s.scalar(select(m.Nomination.response_id).where(m.Nomination.source_id == me).limit(1))
            resp = self._ensure_response(s, inv, wave, resp)
            if taken is not None and taken != resp.id:
                raise AcapInputError("another code has answered for this roster person", "person")
            inv.person_id = me
            s.execute(delete(m.Nomination).where(m.Nomination.response_id == resp.id))
            s.execute(delete(m.OutsideContact).where(m.OutsideContact.response_id == resp.id))
            s.add_all([m.Nomination(source_id=me, target_id=t, response_id=resp.id, frequency=f)
                       for t, f in ties.items()])
            s.add_all([m.OutsideContact(response_id=resp.id, category=c, count=n, frequency=f)
                       for c, (n, f) in contacts.items()])
            inv.status, inv.updated_at = "started", _now()

    def nominations(self, code: str) -> tuple[dict, dict]:
        """A code's saved network answers: (person id -> frequency, category -> (count, frequency))."""
        with self._read() as s:
            rid = s.scalar(select(m.Response.id).join(m.Invitation, m.Invitation.id == m.Response.invitation_id)
                           .where(m.Invitation.code_hash == hash_code(code)))
            ties = dict(s.execute(select(m.Nomination.target_id, m.Nomination.frequency)
                                  .where(m.Nomination.response_id == rid)).all())
            contacts = {c: (n, f) for c, n, f in s.execute(
                select(m.OutsideContact.category, m.OutsideContact.count, m.OutsideContact.frequency)
                .where(m.OutsideContact.response_id == rid))}
        return ties, contacts

    # ---- accounts ----------------------------------------------------------------------
    def create_account(self, username: str, password: str, role: str, organisations: Iterable = (), *,
                       actor) -> int:
        """Create a local account (argon2id password hash); returns its id.

        ``role`` is "admin", "lead" (their own organisations' results) or "consultant" (the
        organisations assigned); ``organisations`` ids or names.
        """
        username = str(username or "").strip()
        if not username:
            raise AcapInputError("username is blank", "username")
        if role not in m.ACCOUNT_ROLES:
            raise AcapInputError(f"unknown role {role!r} (one of {', '.join(m.ACCOUNT_ROLES)})", "role")
        _check_password(password)
        with self._write() as s, s.begin():
            if s.scalar(select(m.Account.id).where(m.Account.username == username)) is not None:
                raise AcapInputError(f"account {username!r} exists already", "username")
            orgs = sorted({self._organisation_id(s, o) for o in organisations})
            acc = m.Account(username=username, password_hash=self._hasher.hash(password), role=role, active=True,
                            created_at=_now())
            s.add(acc)
            s.flush()
            s.add_all([m.AccountOrganisation(account_id=acc.id, organisation_id=o) for o in orgs])
            self._audit(s, actor, "create_account", username, role=role, organisations=orgs)
            return acc.id

    def set_password(self, username: str, password: str, *, actor) -> None:
        """Replace an account's password."""
        _check_password(password)
        with self._write() as s, s.begin():
            acc = s.scalar(select(m.Account).where(m.Account.username == str(username).strip()))
            if acc is None:
                raise AcapInputError(f"no account {username!r}", "username")
            acc.password_hash = self._hasher.hash(password)
            self._audit(s, actor, "set_password", acc.username)

    def login(self, username: str, password: str) -> Account | None:
        """The account when the password is right, else None (same work either way)."""
        with self._write() as s, s.begin():
            acc = s.scalar(select(m.Account).where(m.Account.username == str(username).strip(),
                                                   m.Account.active.is_(True)))
            stored = acc.password_hash if acc is not None else _dummy_hash()
            try:
                self._hasher.verify(stored, str(password))
            except (VerificationError, InvalidHashError):
                return None
            if acc is None:
                return None
            if self._hasher.check_needs_rehash(stored):
                acc.password_hash = self._hasher.hash(str(password))
            orgs = s.scalars(select(m.AccountOrganisation.organisation_id)
                             .where(m.AccountOrganisation.account_id == acc.id)).all()
            return Account(id=acc.id, username=acc.username, role=acc.role, organisations=tuple(sorted(orgs)))

    def accounts(self) -> pd.DataFrame:
        """All accounts (no hashes): id, username, role, active, organisations (list of ids)."""
        with self._read() as s:
            accs = s.execute(select(m.Account.id, m.Account.username, m.Account.role, m.Account.active)
                             .order_by(m.Account.username)).all()
            links = s.execute(select(m.AccountOrganisation.account_id, m.AccountOrganisation.organisation_id)).all()
        df = pd.DataFrame(accs, columns=["id", "username", "role", "active"])
        df["organisations"] = [sorted(o for a, o in links if a == i) for i in df["id"]]
        return df

    # ---- audit -------------------------------------------------------------------------
    def audit_log(self) -> pd.DataFrame:
        """The audit log, oldest first: id, at, actor, action, target, detail (JSON text)."""
        with self._read() as s:
            rows = s.execute(select(m.AuditEntry.id, m.AuditEntry.at, m.AuditEntry.actor, m.AuditEntry.action,
                                    m.AuditEntry.target, m.AuditEntry.detail).order_by(m.AuditEntry.id)).all()
        df = pd.DataFrame(rows, columns=["id", "at", "actor", "action", "target", "detail"])
        df["at"] = pd.to_datetime(df["at"], utc=True)
        return df

    def record(self, actor, action: str, target: str | None = None, **detail) -> None:
        """Append an entry to the audit log (for admin actions taken outside the store, e.g. exports)."""
        with self._write() as s, s.begin():
            self._audit(s, actor, action, target, **detail)

    # ---- results and exports -----------------------------------------------------------
    def response_rates(self, wave_id: int) -> pd.DataFrame:
        """Live response rates of a wave.

        Returns a DataFrame indexed by (organisation, role_group): ``invited``, ``started``,
        ``submitted``, ``response_rate`` (submitted / invited). The row with role_group
        ``"all"`` counts the organisation's invitations (uploaded responses count as submitted
        but were never invited); the role-group rows count started and submitted answers by
        the role given (invitations carry no role, so their ``invited`` is missing).
        """
        w = self.wave(wave_id)
        groups = self._bank(w.bank, w.bank_version).role_groups
        with self._read() as s:
            inv = s.execute(select(m.Organisation.name, m.Invitation.status, func.count())
                            .join(m.Organisation, m.Organisation.id == m.Invitation.organisation_id)
                            .where(m.Invitation.wave_id == w.id)
                            .group_by(m.Organisation.name, m.Invitation.status)).all()
            resp = s.execute(select(m.Organisation.name, m.Response.role, m.Response.submitted, func.count())
                             .join(m.Organisation, m.Organisation.id == m.Response.organisation_id)
                             .where(m.Response.wave_id == w.id)
                             .group_by(m.Organisation.name, m.Response.role, m.Response.submitted)).all()
        cols = ["invited", "started", "submitted"]
        rows: dict[tuple, dict] = {}
        for org, status, n in inv:
            r = rows.setdefault((org, "all"), dict.fromkeys(cols, 0))
            r["invited"] += n
            r["started"] += n if status in ("started", "submitted") else 0
        for org, role, submitted, n in resp:
            total = rows.setdefault((org, "all"), dict.fromkeys(cols, 0))
            g = rows.setdefault((org, groups.get(role, "not given") if role else "not given"),
                                {"invited": np.nan, "started": 0, "submitted": 0})
            g["started"] += n
            g["submitted"] += n if submitted else 0
            total["submitted"] += n if submitted else 0
        index = pd.MultiIndex.from_tuples(sorted(rows), names=["organisation", "role_group"])
        out = pd.DataFrame([rows[k] for k in index], index=index, columns=cols)
        out["response_rate"] = out["submitted"] / out["invited"].where(out["invited"] > 0)
        return out

    def last_submission(self, wave_id: int) -> datetime | None:
        """When the wave's latest answers were submitted (a cache key for results)."""
        with self._read() as s:
            return _aware(s.scalar(select(func.max(m.Response.submitted_at))
                                   .where(m.Response.wave_id == _int(wave_id, "wave"))))

    def export_responses(self, wave_id: int) -> pd.DataFrame:
        """The wave's submitted answers as the responses table acap's scoring reads.

        Columns are those of the demo's ``data/responses.csv`` (see :data:`EXPORT_FRONT`, then
        every item of the wave's bank in bank order): respondent_id (the store's random
        pseudonym, never the code or its hash), bank_version, organisation, role (id),
        years_in_role, and item codes (the don't-know code kept, NaN where skipped). Rows are
        sorted by organisation and respondent_id, so their order says nothing about when
        anyone answered.
        """
        w = self.wave(wave_id)
        items = list(self._bank(w.bank, w.bank_version).items)
        with self.engine.connect() as s:  # Core, not the ORM: no per-row ORM loading on 300,000 answers
            front = s.execute(select(m.Response.id, m.Response.respondent_id, m.Response.bank_version,
                                     m.Organisation.name, m.Response.role, m.Response.years_in_role)
                              .join(m.Organisation, m.Organisation.id == m.Response.organisation_id)
                              .where(m.Response.wave_id == w.id, m.Response.submitted.is_(True))).all()
            answers = s.execute(select(m.Answer.response_id, m.Answer.item, m.Answer.value)
                                .join(m.Response, m.Response.id == m.Answer.response_id)
                                .where(m.Response.wave_id == w.id, m.Response.submitted.is_(True))).all()
        # Columns straight from the row tuples: pandas is slow at reading SQLAlchemy rows.
        cols = list(zip(*front)) or [()] * (len(EXPORT_FRONT) + 1)
        df = pd.DataFrame({name: pd.Series(col, dtype=object) for name, col in zip(EXPORT_FRONT, cols[1:])})
        df["years_in_role"] = df["years_in_role"].astype(float)
        grid = np.full((len(front), len(items)), np.nan)
        if answers:
            rid, item, value = zip(*answers)
            r = pd.Index(cols[0]).get_indexer(rid)
            c = pd.Index(items).get_indexer(item)
            ok = c >= 0  # an item no longer in the bank is left out
            grid[r[ok], c[ok]] = np.asarray(value, dtype=float)[ok]  # None (skipped) becomes NaN
        out = pd.concat([df, pd.DataFrame(grid, columns=items)], axis=1)
        return out.sort_values(["organisation", "respondent_id"], ignore_index=True)

    def export_networks(self, wave_id: int, *, names: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """The wave's advice networks in the shapes :func:`acap.network.split_organisations` takes.

        Returns
        -------
        ties : DataFrame
            organisation, source, target, weight (frequency 1-5): roster person ids; only
            submitted respondents' reports.
        people : DataFrame
            organisation, id, label (pseudonym), role, board, responded, respondent_id (the
            person's pseudonymous respondent ID in :meth:`export_responses`, for linking
            scores; missing for non-respondents); ``name`` too when ``names`` is true.
        contacts : DataFrame
            organisation, respondent (person id), category, count, frequency.
        """
        w = self.wave(wave_id)
        with self._read() as s:
            people = s.execute(select(m.Organisation.name, m.RosterPerson.id, m.RosterPerson.label,
                                      m.RosterPerson.role, m.RosterPerson.board, m.RosterPerson.name)
                               .join(m.Organisation, m.Organisation.id == m.RosterPerson.organisation_id)
                               .where(m.RosterPerson.wave_id == w.id)
                               .order_by(m.Organisation.name, m.RosterPerson.label)).all()
            done = s.execute(select(m.Invitation.person_id, m.Response.respondent_id, m.Response.role)
                             .join(m.Response, m.Response.invitation_id == m.Invitation.id)
                             .where(m.Invitation.wave_id == w.id, m.Invitation.person_id.is_not(None),
                                    m.Response.submitted.is_(True))).all()
            ties = s.execute(select(m.Organisation.name, m.Nomination.source_id, m.Nomination.target_id,
                                    m.Nomination.frequency)
                             .join(m.Response, m.Response.id == m.Nomination.response_id)
                             .join(m.Organisation, m.Organisation.id == m.Response.organisation_id)
                             .where(m.Response.wave_id == w.id, m.Response.submitted.is_(True))
                             .order_by(m.Organisation.name, m.Nomination.source_id, m.Nomination.target_id)).all()
            contacts = s.execute(select(m.Organisation.name, m.Invitation.person_id, m.OutsideContact.category,
                                        m.OutsideContact.count, m.OutsideContact.frequency)
                                 .join(m.Response, m.Response.id == m.OutsideContact.response_id)
                                 .join(m.Invitation, m.Invitation.id == m.Response.invitation_id)
                                 .join(m.Organisation, m.Organisation.id == m.Response.organisation_id)
                                 .where(m.Response.wave_id == w.id, m.Response.submitted.is_(True))
                                 .order_by(m.Organisation.name, m.Invitation.person_id,
                                           m.OutsideContact.category)).all()
        nodes = pd.DataFrame(people, columns=["organisation", "id", "label", "role", "board", "name"])
        answered = {p: (rid, role) for p, rid, role in done}
        nodes["board"] = nodes["board"].astype(bool)
        nodes["responded"] = nodes["id"].isin(list(answered))
        nodes["respondent_id"] = nodes["id"].map(lambda p: answered[p][0] if p in answered else None)
        # The role the person gave in the survey where the roster has none.
        nodes["role"] = nodes["role"].where(nodes["role"].notna(),
                                            nodes["id"].map(lambda p: answered[p][1] if p in answered else None))
        if not names:
            nodes = nodes.drop(columns="name")
        edges = pd.DataFrame(ties, columns=["organisation", "source", "target", "weight"])
        out = pd.DataFrame(contacts, columns=["organisation", "respondent", "category", "count", "frequency"])
        out["frequency"] = out["frequency"].astype(float)
        return edges, nodes, out

    # ---- uploads and retention ---------------------------------------------------------
    def upload_responses(self, wave_id: int, responses: pd.DataFrame, actor) -> int:
        """Add answers collected elsewhere (already in the responses-table shape) to a wave.

        The table is validated whole by :func:`acap.scoring.validate_responses` against the
        wave's bank; every organisation must exist in the store. Each row gets a fresh random
        respondent ID; the file's own IDs (which may be names or e-mail addresses) are not kept
        in any form. A fingerprint of each row's answers is kept instead, so a file (or a row)
        uploaded twice is refused. Returns the number of respondents added.
        """
        from acap.scoring import validate_responses

        w = self.wave(wave_id)
        bank = self._bank(w.bank, w.bank_version)
        valid = validate_responses(responses, bank)
        known = self.organisations()
        orgs = dict(zip(known["name"], known["id"].astype(int)))
        bg = valid.background
        unknown = [o for o in pd.unique(bg["organisation"]) if o not in orgs]
        if unknown:
            row = int(np.flatnonzero((bg["organisation"] == unknown[0]).to_numpy())[0])
            raise AcapInputError(f"organisation {unknown[0]!r} is not in the store (add it first)",
                                 f"row {row}, column organisation")
        dk = {i: bank.response_scales[meta["response_scale"]].dont_know.code for i, meta in bank.items.items()}
        codes = valid.codes.copy()
        for item, code in dk.items():
            codes.loc[valid.dont_know[item].to_numpy(), item] = code
        refs = _fingerprints(w.id, bg, codes)
        now = _now()
        with self._write() as s, s.begin():
            self._wave_row(s, w.id)
            dup = set(s.scalars(select(m.Response.fingerprint).where(m.Response.wave_id == w.id,
                                                                      m.Response.fingerprint.in_(refs))))
            if dup:
                row = next(k for k, r in enumerate(refs) if r in dup)
                raise AcapInputError("these answers were uploaded to this wave already", f"row {row}")
            made = [m.Response(wave_id=w.id, organisation_id=orgs[o], respondent_id=_pseudonym(), fingerprint=ref,
                               bank_version=w.bank_version, role=role, source="upload", submitted=True,
                               years_in_role=None if pd.isna(y) else float(y), started_at=now, submitted_at=now)
                    for ref, o, role, y in zip(refs, bg["organisation"], bg["role"], bg["years_in_role"])]
            s.add_all(made)
            s.flush()
            arr = codes.to_numpy()
            # Blank cells stay absent (read back as skipped); don't-knows keep their code.
            r_idx, c_idx = np.nonzero(~np.isnan(arr))
            cols = list(codes.columns)
            rows = [{"response_id": made[i].id, "item": cols[j], "value": int(arr[i, j]), "page": "upload"}
                    for i, j in zip(r_idx.tolist(), c_idx.tolist())]
            if rows:
                s.execute(self._insert(m.Answer), rows)
            self._audit(s, actor, "upload_responses", f"wave {w.id}", n=len(made))
        return len(made)

    def due_for_purge(self, today: date | None = None) -> list[int]:
        """Waves whose retention date has passed and whose answers are still held."""
        today = today or date.today()
        with self._read() as s:
            return list(s.scalars(select(m.Wave.id).where(m.Wave.retention.is_not(None), m.Wave.retention < today,
                                                          m.Wave.purged_at.is_(None)).order_by(m.Wave.id)))

    def purge_wave(self, wave_id: int, actor) -> None:
        """Delete a wave's answers, responses, nominations, outside contacts, roster (names) and
        invitations, and close it. The wave's own record and the audit log stay."""
        with self._write() as s, s.begin():
            w = self._wave_row(s, wave_id)
            responses = select(m.Response.id).where(m.Response.wave_id == w.id)
            counts = {"responses": s.scalar(select(func.count()).select_from(responses.subquery()))}
            s.execute(delete(m.Nomination).where(m.Nomination.response_id.in_(responses)))
            s.execute(delete(m.OutsideContact).where(m.OutsideContact.response_id.in_(responses)))
            s.execute(delete(m.Answer).where(m.Answer.response_id.in_(responses)))
            s.execute(delete(m.Response).where(m.Response.wave_id == w.id))
            s.execute(delete(m.Invitation).where(m.Invitation.wave_id == w.id))
            s.execute(delete(m.RosterPerson).where(m.RosterPerson.wave_id == w.id))
            now = _now()
            if not w.closed:
                w.closed, w.closed_at = True, now
            w.purged_at = now
            self._audit(s, actor, "purge_wave", f"wave {w.id}", **counts)


# ---- validation helpers (no database) ---------------------------------------------------

def organisation_type(value: str) -> str:
    """The organisation type ``value`` names (case-insensitive, aliases allowed), else AcapInputError."""
    text = str(value or "").strip()
    by_lower = {t.lower(): t for t in m.ORGANISATION_TYPES} | {k: v for k, v in TYPE_ALIASES.items()}
    if text.lower() not in by_lower:
        raise AcapInputError(f"unknown organisation type {value!r} (one of: {', '.join(m.ORGANISATION_TYPES)})",
                             "type")
    return by_lower[text.lower()]


def _fingerprints(wave_id: int, background: pd.DataFrame, codes: pd.DataFrame) -> list[str]:
    """SHA-256 of each uploaded row's organisation, role, years and answers; identical rows
    within one file are told apart by their occurrence number, so re-uploading any of them
    collides while two respondents who answered alike in one file do not."""
    front = zip(background["organisation"], background["role"], background["years_in_role"])
    text = pd.Series(["|".join(map(str, (*f, *row))) for f, row in zip(front, codes.to_numpy().tolist())])
    occurrence = text.groupby(text.to_numpy()).cumcount()
    return [hashlib.sha256(f"{wave_id}|{t}|{k}".encode()).hexdigest() for t, k in zip(text, occurrence)]


def _pseudonym() -> str:
    # 48 random bits: unique within a wave in practice (the database's unique key checks).
    return "R" + secrets.token_hex(6).upper()


def check_answers(bank: Bank, answers: Mapping, where: str) -> dict[str, int | None]:
    """Item -> code after checking every item is in the bank and every code on its scale."""
    if not isinstance(answers, Mapping):
        raise AcapInputError("answers must be a mapping of item id to code", where)
    items = bank.items
    out: dict[str, int | None] = {}
    for item, value in answers.items():
        if item not in items:
            raise AcapInputError(f"unknown item {item!r} (not in bank {bank.bank} {bank.version})", where)
        rs = bank.response_scales[items[item]["response_scale"]]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            out[item] = None
            continue
        ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and float(value).is_integer()
        code = int(value) if ok else None
        if code is None or not (1 <= code <= rs.points or code == rs.dont_know.code):
            raise AcapInputError(f"item {item}: {value!r} is not an answer (1-{rs.points}, "
                                 f"{rs.dont_know.code} for don't know, or None)", where)
        out[item] = code
    return out


def check_background(bank: Bank, background: Mapping, where: str) -> dict:
    """Validated background answers: ``role`` (bank role id) and ``years_in_role``."""
    if not isinstance(background, Mapping):
        raise AcapInputError("background must be a mapping", where)
    out = {}
    for key, value in background.items():
        if key == "role":
            out["role"] = None if value is None else role_id(bank, value, where)
        elif key == "years_in_role":
            spec = next((b for b in bank.background if b.id == "years_in_role"), None)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                out[key] = None
                continue
            lo = spec.min if spec and spec.min is not None else 0
            hi = spec.max if spec and spec.max is not None else math.inf
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not lo <= float(value) <= hi:
                raise AcapInputError(f"years in role {value!r} is not a number from {lo:g} to {hi:g}", where)
            out[key] = float(value)
        else:
            raise AcapInputError(f"unknown background question {key!r} (role, years_in_role)", where)
    return out


def role_id(bank: Bank, value, where: str) -> str:
    """The bank role id that ``value`` (an id or a label, any case) names."""
    by = {r.id.lower(): r.id for r in bank.roles} | {r.label.lower(): r.id for r in bank.roles}
    text = str(value).strip().lower()
    if text not in by:
        raise AcapInputError(f"unknown role {value!r} (roles are listed in the bank)", where)
    return by[text]


_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f", ""}


def check_roster(bank: Bank, rows: pd.DataFrame) -> list[dict]:
    """Roster rows as dicts (name, role, board), refusing the table on the first bad row."""
    people, seen = [], {}
    for k, rec in enumerate(rows.to_dict("records")):
        where = f"roster row {k + 1}"
        name = rec.get("name")
        name = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name).strip()
        if not name:
            raise AcapInputError("name is blank", where)
        if name.lower() in seen:
            raise AcapInputError(f"name {name!r} is also in row {seen[name.lower()]} (names must differ, "
                                 "e.g. add a middle initial)", where)
        seen[name.lower()] = k + 1
        role = rec.get("role")
        role = None if role is None or pd.isna(role) or str(role).strip() == "" else role_id(bank, role, where)
        board = rec.get("board", False)
        if board is None or (isinstance(board, float) and math.isnan(board)):
            board = False
        elif not isinstance(board, (bool, np.bool_)):
            text = str(board).strip().lower()
            if text not in _TRUE | _FALSE:
                raise AcapInputError(f"board {board!r} is not yes or no", where)
            board = text in _TRUE
        people.append({"name": name, "role": role, "board": bool(board)})
    if not people:
        raise AcapInputError("the roster has no people", "roster")
    return people


def check_nominations(nominations: Mapping, roster: Mapping[int, str], me: int) -> dict[int, int]:
    """Person id -> frequency 1-5 after checking each is another person on the roster."""
    if not isinstance(nominations, Mapping):
        raise AcapInputError("nominations must map roster person ids to frequencies", "nominations")
    out = {}
    for person, freq in nominations.items():
        pid = _int(person, "nominations")
        if pid not in roster:
            raise AcapInputError(f"person {person!r} is not on this organisation's roster", "nominations")
        if pid == me:
            raise AcapInputError("you cannot name yourself", "nominations")
        f = _int(freq, f"nominations, {roster[pid]}")
        if not 1 <= f <= 5:
            raise AcapInputError(f"how often {freq!r} is not from 1 (yearly) to 5 (daily)", f"nominations, {roster[pid]}")
        out[pid] = f
    return out


def check_outside(outside: Mapping) -> dict[str, tuple[int, int | None]]:
    """Category -> (count, frequency or None), checked against acap.network's categories."""
    from acap.network.model import OUTSIDE_CATEGORIES

    if not isinstance(outside, Mapping):
        raise AcapInputError("outside contacts must map categories to counts", "outside contacts")
    out = {}
    for cat, value in outside.items():
        where = f"outside contacts, {cat}"
        if cat not in OUTSIDE_CATEGORIES:
            raise AcapInputError(f"unknown category (one of {', '.join(OUTSIDE_CATEGORIES)})", where)
        if isinstance(value, Mapping):
            count, freq = value.get("count"), value.get("frequency")
        elif isinstance(value, (tuple, list)):
            count, freq = (tuple(value) + (None,))[:2]
        else:
            count, freq = value, None
        count = _int(count, where)
        if count < 0:
            raise AcapInputError(f"count {count} is negative", where)
        if freq is not None and not (isinstance(freq, float) and math.isnan(freq)):
            freq = _int(freq, where)
            if not 1 <= freq <= 5:
                raise AcapInputError(f"frequency {freq} is not from 1 to 5", where)
        else:
            freq = None
        out[cat] = (count, freq)
    return out


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < PASSWORD_MIN_LENGTH:
        raise AcapInputError(f"password must be at least {PASSWORD_MIN_LENGTH} characters", "password")


@functools.cache
def _dummy_hash() -> str:
    # Verified against when a username is unknown, so a wrong name costs as long as a wrong password.
    return PasswordHasher().hash(secrets.token_urlsafe(16))
