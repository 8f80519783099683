"""SQLAlchemy 2 models of the survey store (the schema the Alembic migrations build).

The migrations in ``acap/store/migrations/versions`` are the schema's source of truth for a
database; these classes describe the same tables for queries, and a test checks that the two
agree (Alembic's ``compare_metadata`` finds no difference).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (Boolean, CheckConstraint, Date, DateTime, ForeignKey, Integer, MetaData, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Organisation types a commissioning system holds (the ``organisations.type`` column).
ORGANISATION_TYPES: tuple[str, ...] = (
    "ICB", "ICB place", "local authority", "NHS trust", "primary care network",
    "commissioning support unit", "voluntary sector", "legacy CCG",
)
#: Account roles: admin (everything), lead (their own organisations), consultant (assigned ones).
ACCOUNT_ROLES: tuple[str, ...] = ("admin", "lead", "consultant")
#: Invitation statuses, in the order a respondent moves through them.
INVITATION_STATUSES: tuple[str, ...] = ("sent", "started", "submitted")

# Named constraints: batch-mode migrations on SQLite recreate tables and must find them by name.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint(_in("type", ORGANISATION_TYPES), name="type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Wave(Base):
    __tablename__ = "waves"
    __table_args__ = (CheckConstraint("min_n >= 1", name="min_n"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    bank: Mapped[str] = mapped_column(String(60))
    bank_version: Mapped[str] = mapped_column(String(20))
    opens: Mapped[date | None] = mapped_column(Date)
    closes: Mapped[date | None] = mapped_column(Date)
    min_n: Mapped[int] = mapped_column(Integer)
    network: Mapped[bool] = mapped_column(Boolean)
    retention: Mapped[date | None] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RosterPerson(Base):
    """One person on an organisation's network roster for a wave, under a shuffled pseudonym."""

    __tablename__ = "roster_people"
    __table_args__ = (UniqueConstraint("wave_id", "organisation_id", "label", name="uq_roster_people_label"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(60))
    board: Mapped[bool] = mapped_column(Boolean, default=False)


class Invitation(Base):
    __tablename__ = "invitations"
    __table_args__ = (CheckConstraint(_in("status", INVITATION_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    # SHA-256 hex of the code; the code itself is never stored (see acap.store.api.hash_code).
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("roster_people.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="sent")
    page: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Response(Base):
    """One respondent's answers in a wave: online (from an invitation) or uploaded."""

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("wave_id", "respondent_id", name="uq_responses_respondent"),
                      UniqueConstraint("wave_id", "fingerprint", name="uq_responses_fingerprint"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"), unique=True)
    # Random pseudonym, unrelated to the code, its hash, the issue order or the upload's own IDs.
    respondent_id: Mapped[str] = mapped_column(String(20))
    # SHA-256 of an uploaded row's answers (not its own respondent ID, which may be a name or
    # an e-mail address anyone could hash): refuses the same row uploaded twice.
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    bank_version: Mapped[str] = mapped_column(String(20))
    role: Mapped[str | None] = mapped_column(String(60))
    years_in_role: Mapped[float | None] = mapped_column()
    source: Mapped[str] = mapped_column(String(10))  # "online" or "upload"
    submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class Answer(Base):
    """One item's answer: the response code (the don't-know code kept) or NULL when skipped."""

    __tablename__ = "answers"

    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    item: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[int | None] = mapped_column(Integer)
    page: Mapped[str | None] = mapped_column(String(60))


class Nomination(Base):
    """A tie: ``source`` goes to ``target`` for advice, ``frequency`` 1 (yearly) to 5 (daily)."""

    __tablename__ = "nominations"
    __table_args__ = (CheckConstraint("frequency BETWEEN 1 AND 5", name="frequency"),)

    source_id: Mapped[int] = mapped_column(ForeignKey("roster_people.id", ondelete="CASCADE"), primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("roster_people.id", ondelete="CASCADE"), primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    frequency: Mapped[int] = mapped_column(Integer)


class OutsideContact(Base):
    """How many contacts a respondent has in one outside category (acap.network's categories)."""

    __tablename__ = "outside_contacts"
    __table_args__ = (CheckConstraint("count >= 0", name="count"),
                      CheckConstraint("frequency IS NULL OR frequency BETWEEN 1 AND 5", name="frequency"))

    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[int | None] = mapped_column(Integer)


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint(_in("role", ACCOUNT_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, with its own salt
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AccountOrganisation(Base):
    __tablename__ = "account_organisations"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                                 primary_key=True)


class AuditEntry(Base):
    """One admin action. Append-only: the API never updates or deletes, and triggers refuse it."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
