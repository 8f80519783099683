"""Engines and migrations: SQLite (embedded default) or PostgreSQL (``ACAP_DATABASE_URL``).

Every SQLite connection gets WAL journalling, foreign keys and a busy timeout (a ``connect``
event). The store's writing transactions start with ``BEGIN IMMEDIATE`` (execution option
:data:`WRITE`) so that two writers queue on the busy timeout instead of one failing when it
upgrades a read lock to a write lock; everything else gets a plain ``BEGIN``, which WAL lets
run beside a writer.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url

from acap.errors import AcapInputError

#: Environment variable naming the shared database (``postgresql+psycopg://user@host/db``).
DATABASE_URL_ENV = "ACAP_DATABASE_URL"
#: Default data folder of the embedded store, and the SQLite file inside it.
DEFAULT_DATA_DIR = "acap-data"
SQLITE_FILE = "acap.sqlite"
#: SQLite busy timeout: how long a writer waits for another before giving up.
BUSY_TIMEOUT_MS = 30_000
#: Execution option marking a connection's transactions as writing (SQLite: BEGIN IMMEDIATE).
WRITE = "acap_write"
_MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: PostgreSQL advisory lock held while migrating, so replicas starting
# together do not both create the tables.
_MIGRATION_LOCK = 0x0AC4_5102


def database_url(url: str | None = None, data_dir: str | os.PathLike | None = None) -> str:
    """The URL to open: ``url``, else ``$ACAP_DATABASE_URL``, else SQLite in ``data_dir``."""
    url = url or os.environ.get(DATABASE_URL_ENV)
    if url:
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            # psycopg 3 is the driver acap installs; plain URLs would ask for psycopg2.
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    folder = Path(data_dir if data_dir is not None else DEFAULT_DATA_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / SQLITE_FILE).resolve()}"


def make_engine(url: str, **kwargs) -> Engine:
    """An engine with acap's per-connection settings (see module docs)."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise AcapInputError(f"not a database URL: {exc}", "database URL") from None
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000,
                                                     "check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise AcapInputError(f"unsupported database {parsed.get_backend_name()!r} (SQLite or PostgreSQL)",
                             "database URL")
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    return create_engine(parsed, **kwargs)


def _sqlite_connect(dbapi_connection, _record) -> None:
    # The driver's own transaction handling is turned off so that _sqlite_begin decides.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a crash loses no committed page
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


def alembic_config(connection: Connection | None = None):
    """Alembic configuration for the migrations shipped inside the package (no alembic.ini)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database schema to ``revision`` (the newest by default); a no-op when there.

    On PostgreSQL an advisory lock makes replicas that start together migrate one at a time;
    on SQLite the migration's ``BEGIN IMMEDIATE`` does the same.
    """
    _run(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Downgrade the database schema to ``revision`` (``"base"``: no acap tables left)."""
    _run(engine, "downgrade", revision)


def _run(engine: Engine, direction: str, revision: str) -> None:
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with engine.execution_options(**{WRITE: True}).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        cfg = alembic_config(conn)
        if direction == "upgrade":
            head = ScriptDirectory.from_config(cfg).get_current_head()
            if revision == "head" and MigrationContext.configure(conn).get_current_revision() == head:
                return  # the common case on every start: nothing to load or run
            command.upgrade(cfg, revision)
        else:
            command.downgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None when empty)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def table_names(engine: Engine) -> list[str]:
    """Tables in the database (for tests of the migrations)."""
    return sorted(inspect(engine).get_table_names())
