"""The survey store: waves, invitation codes, answers saved page by page, network rosters and
nominations, accounts and an append-only audit log, on SQLite (embedded) or PostgreSQL (shared).

Open it with :func:`open_store`; it creates and migrates the database to the newest schema
(Alembic migrations shipped in ``acap/store/migrations``, run programmatically; no alembic.ini).

* Embedded default: SQLite file ``<data_dir>/acap.sqlite`` (WAL, foreign keys and a busy
  timeout on every connection).
* Shared: PostgreSQL through ``ACAP_DATABASE_URL`` (``postgresql+psycopg://user@host/db``).

API (:class:`Store`; every call is one transaction and refuses bad input whole with
:class:`~acap.errors.AcapInputError` naming what and where):

====================================================  ====================================================
``add_organisation(name, type, parent=None, *, actor)``  -> id; types :data:`ORGANISATION_TYPES`
``organisations()`` / ``organisation_id(name)``          DataFrame id, name, type, parent_id, parent
``create_wave(title, *, bank, bank_version, opens,       -> id
closes, min_n, network, retention, actor)``
``wave(id)`` -> :class:`Wave`; ``waves()``; ``close_wave(id, actor)``; ``bank(wave_id)`` -> Bank
``issue_codes(wave, org, n, actor)``                     plaintext codes, returned once; stored as SHA-256
``issue_roster_codes(wave, org, actor)``                 personal codes for roster people (mail merge)
``invitation(code)`` -> :class:`Invitation` or None      wave, organisation, status, page, role, person_id
``invitations(wave)`` / ``code_status(codes)``           reminders lists (no codes stored)
``save_page(code, page, answers, background=None)``      upsert one page; don't-know code kept; None = skipped
``answers(code)`` -> dict; ``submit(code)``              :class:`AlreadySubmitted`, :class:`WaveClosed`
``import_roster(wave, org, rows, actor)``                shuffled pseudonyms P01..; ``roster(wave, org)``
``save_nominations(code, {person_id: 1-5}, outside,      outside: category -> count or (count, frequency)
*, person=None)`` / ``nominations(code)``
``create_account(username, password, role, orgs,         argon2id; roles admin / lead / consultant
*, actor)``; ``login(u, p)`` -> :class:`Account` | None; ``set_password``; ``accounts()``
``audit_log()``; ``record(actor, action, target)``       append-only (triggers refuse UPDATE/DELETE)
``response_rates(wave)``                                 by (organisation, role_group)
``export_responses(wave)``                               the demo's responses.csv columns
``export_networks(wave)`` -> (ties, people, contacts)     as :func:`acap.network.split_organisations` takes
``last_submission(wave)``; ``upload_responses(wave,      upload validated by acap.scoring
df, actor)``; ``due_for_purge()``; ``purge_wave(wave, actor)``
====================================================  ====================================================

``actor`` is a username or an :class:`Account`; admin actions are written to the audit log.
Additions beyond the first contract: ``organisation_id``, ``bank``, ``register_bank``,
``issue_roster_codes``, ``invitations``, ``code_status``, ``nominations``, ``set_password``,
``accounts``, ``record``, ``due_for_purge``, :class:`WaveNotOpen` (a subclass of
:class:`WaveClosed`), :func:`acap.store.engine.migrate` / ``downgrade``, and
:func:`acap.store.demo.seed_demo` (store a simulation as a submitted wave with unanswered
codes left over: what ``acap demo`` writes to ``store/`` and ``acap serve`` can seed from).

Examples
--------
>>> import tempfile
>>> store = open_store(data_dir=tempfile.mkdtemp())
>>> org = store.add_organisation("Ashvale ICB", "ICB")
>>> wave = store.create_wave("Spring", actor="admin")
>>> [code] = store.issue_codes(wave, org, 1, actor="admin")
>>> store.save_page(code, "background", {}, {"role": "analyst"})
>>> store.save_page(code, "acquisition", {"AQ01": 6, "AQ02": 8, "AQ03": None})
>>> store.submit(code)
>>> store.invitation(code).status
'submitted'
>>> store.export_responses(wave)[["organisation", "role", "AQ01", "AQ02"]].to_dict("records")
[{'organisation': 'Ashvale ICB', 'role': 'analyst', 'AQ01': 6.0, 'AQ02': 8.0}]
>>> store.close()
"""

from __future__ import annotations

from acap.store.api import (CODE_BYTES, EXPORT_FRONT, PASSWORD_MIN_LENGTH, TYPE_ALIASES, Account,
                            AlreadySubmitted, Invitation, Store, Wave, WaveClosed, WaveNotOpen, hash_code,
                            new_code, normalise_code, open_store, organisation_type)
from acap.store.engine import DATABASE_URL_ENV, database_url, downgrade, make_engine, migrate
from acap.store.models import ACCOUNT_ROLES, INVITATION_STATUSES, ORGANISATION_TYPES

__all__ = [
    "ACCOUNT_ROLES", "CODE_BYTES", "DATABASE_URL_ENV", "EXPORT_FRONT", "INVITATION_STATUSES",
    "ORGANISATION_TYPES", "PASSWORD_MIN_LENGTH", "TYPE_ALIASES", "Account", "AlreadySubmitted",
    "Invitation", "Store", "Wave", "WaveClosed", "WaveNotOpen", "database_url", "downgrade",
    "hash_code", "make_engine", "migrate", "new_code", "normalise_code", "open_store",
    "organisation_type",
]
