"""Alembic environment: runs on the connection `creditflow.store.migrate` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from creditflow.store.tables import metadata

connection = context.config.attributes.get("connection")

if connection is None:  # `alembic` run by hand, e.g. to autogenerate a revision
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
