"""Alembic environment for acap's store: run from :func:`acap.store.open_store` with a connection.

No alembic.ini is needed: ``acap.store.engine.alembic_config`` builds the configuration and
passes the open connection in ``config.attributes["connection"]``.
"""

from alembic import context

from acap.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only programmatic use is supported
    raise RuntimeError("acap's migrations run through acap.store.open_store (or acap.store.engine.migrate)")

# render_as_batch: SQLite cannot ALTER most things, so changes are made by copying tables.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
