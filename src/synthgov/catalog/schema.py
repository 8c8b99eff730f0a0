"""Create, upgrade or refuse the catalog schema (Alembic, shipped inside the package).

:func:`ensure_schema` brings a database to the newest revision this synthgov knows,
in one serialised transaction; a database stamped with a revision this synthgov does
not know was written by a newer synthgov, and is refused untouched
(:class:`~synthgov.errors.CatalogError`, ``details["code"] == "SG-CATALOG-NEWER"``).

Alembic is imported only when the database is not already at :data:`HEAD` (a test keeps
that constant equal to the newest migration), so opening an up-to-date catalog stays cheap.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from ..errors import CatalogError
from .db import read_connection, write_transaction

__all__ = ["ensure_schema", "current_revision", "head_revision", "alembic_config", "HEAD"]

#: The newest schema revision (must equal the newest file in migrations/versions).
HEAD = "0001"
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_VERSION_TABLE = "alembic_version"


def alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


@lru_cache(maxsize=1)
def _script():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest schema revision among the shipped migrations."""
    return _script().get_current_head() or ""


def current_revision(conn: Connection) -> str | None:
    """The revision the database is stamped with (None: no catalog schema yet)."""
    if not inspect(conn).has_table(_VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalar()


def _check_known(revision: str | None, url: str) -> None:
    if revision is None:
        return
    try:
        known = _script().get_revision(revision)
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown id
        known = None
    if known is None:
        raise CatalogError(
            f"the catalog at {url} has schema revision {revision!r}, newer than this synthgov knows "
            f"(newest known: {head_revision()!r})",
            hint="upgrade synthgov (pip install -U synthgov), or point SYNTHGOV_DB at another catalog",
            details={"code": "SG-CATALOG-NEWER", "revision": revision, "known_head": head_revision()})


def ensure_schema(engine: Engine, url: str) -> str:
    """Create or upgrade the schema to the newest revision; return it. Refuses a newer schema."""
    with read_connection(engine, url) as conn:
        revision = current_revision(conn)
    if revision == HEAD:
        return HEAD
    _check_known(revision, url)
    from alembic import command

    with write_transaction(engine, url) as conn:
        revision = current_revision(conn)  # another process may have upgraded meanwhile
        _check_known(revision, url)
        if revision != head_revision():
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    return head_revision()
