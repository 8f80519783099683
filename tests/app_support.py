"""Shared helpers of the app tests: stores on SQLite and on a throw-away PostgreSQL database."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent / "app"
MAIN = str(APP_DIR / "main.py")
if str(APP_DIR) not in sys.path:
    sys.path.insert(0, str(APP_DIR))

PG_URL = os.environ.get("ACAP_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def postgres_database():
    """A new, uniquely named PostgreSQL database (URL yielded), dropped afterwards."""
    import sqlalchemy as sa

    name = f"acap_{secrets.token_hex(6)}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def any_store(kind: str, tmp_path):
    """An empty, migrated store on ``kind`` ("sqlite" or "postgres")."""
    from acap.store import open_store

    if kind == "sqlite":
        store = open_store(data_dir=tmp_path)
        try:
            yield store
        finally:
            store.close()
    else:
        with postgres_database() as url:
            store = open_store(url=url)
            try:
                yield store
            finally:
                store.close()
