"""Alembic environment: runs on the connection :mod:`synthgov.catalog.schema` hands over.

Importing this module outside an Alembic run does nothing (so doctest collection is safe).
"""

from __future__ import annotations

from alembic import context

from synthgov.catalog.models import Base


def run_migrations() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


try:
    _config = context.config
except (AttributeError, NameError):  # imported outside an Alembic run
    _config = None
if _config is not None:
    run_migrations()
