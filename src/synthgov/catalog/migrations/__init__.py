"""Alembic migrations of the catalog schema (run by :func:`synthgov.catalog.open_catalog`, never by hand)."""
