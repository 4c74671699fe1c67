"""Alembic environment: migrations run on a connection handed in by ``oneclick db upgrade``."""

from __future__ import annotations

from alembic import context

from oneclick.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `oneclick db upgrade` (oneclick.store.database)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
