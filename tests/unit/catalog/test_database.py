"""Where the catalog lives: URLs, SQLite settings, migrations, and databases that cannot be used."""

from __future__ import annotations

import sqlite3
import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from synthgov.catalog import open_catalog
from synthgov.catalog.db import resolve_url
from synthgov.catalog.models import Base
from synthgov.catalog.schema import head_revision
from synthgov.errors import CatalogError, NotFoundError, ParameterError


def _tables(path) -> dict[str, int]:
    con = sqlite3.connect(path)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        con.close()


def test_default_url_is_the_workspace_sqlite_file_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("SYNTHGOV_DB", raising=False)
    assert resolve_url(None, workspace=tmp_path) == f"sqlite:///{tmp_path.resolve()}/catalog.sqlite"
    monkeypatch.setenv("SYNTHGOV_DB", "postgresql://me@db.internal/catalog")
    assert resolve_url(None, workspace=tmp_path) == "postgresql+psycopg://me@db.internal/catalog"
    assert resolve_url("postgresql+psycopg://x@h/d") == "postgresql+psycopg://x@h/d"
    with pytest.raises(ParameterError):
        resolve_url(42)


def test_sqlite_runs_in_wal_with_full_sync_and_foreign_keys(tmp_path):
    cat = open_catalog(workspace=tmp_path / "ws")
    with cat._engine.connect() as conn:
        pragmas = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in
                   ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}
    assert pragmas["journal_mode"] == "wal" and pragmas["synchronous"] == 2  # 2 = FULL
    assert pragmas["foreign_keys"] == 1 and pragmas["busy_timeout"] >= 1000
    assert (tmp_path / "ws" / "catalog.sqlite").is_file()
    cat.close()


def test_the_migrations_build_exactly_the_models(tmp_path):
    cat = open_catalog(workspace=tmp_path / "ws")
    with cat._engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()
    cat.close()


def test_an_empty_or_older_database_is_upgraded(tmp_path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE unrelated (x INTEGER)")  # a database that predates the catalog schema
    con.commit()
    con.close()
    cat = open_catalog(f"sqlite:///{path}", workspace=tmp_path)
    cat.ledger.append("verify")
    assert cat.ledger.size() == 1
    cat.close()
    tables = _tables(path)
    assert {"events", "checkpoints", "sources", "releases", "alembic_version", "unrelated"} <= set(tables)


def test_a_schema_from_a_newer_synthgov_is_refused_untouched(tmp_path):
    path = tmp_path / "ws" / "catalog.sqlite"
    cat = open_catalog(workspace=tmp_path / "ws", checkpoint_every=0)
    cat.ledger.append("verify")
    cat.close()
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = '0042_from_the_future'")
    con.commit()
    con.close()
    before = _tables(path)
    with pytest.raises(CatalogError, match="newer than this synthgov") as info:
        open_catalog(workspace=tmp_path / "ws")
    assert info.value.details["code"] == "SG-CATALOG-NEWER"
    assert info.value.details["revision"] == "0042_from_the_future"
    assert _tables(path) == before
    con = sqlite3.connect(path)
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0042_from_the_future"
    con.close()


def test_an_unreachable_postgresql_server_fails_fast_with_a_code(tmp_path):
    started = time.monotonic()
    with pytest.raises(CatalogError, match="cannot be reached") as info:
        open_catalog("postgresql://postgres@127.0.0.1:1/nothing", workspace=tmp_path / "ws")
    assert info.value.details["code"] == "SG-CATALOG-UNREACHABLE"
    assert time.monotonic() - started < 30  # bound by the connect timeout, not a hang
    assert not (tmp_path / "ws").exists()


def test_a_sqlite_file_in_a_missing_folder_is_unreachable_and_nothing_is_created(tmp_path):
    with pytest.raises(CatalogError) as info:
        open_catalog(f"sqlite:///{tmp_path}/no/such/dir/catalog.sqlite", workspace=tmp_path / "ws")
    assert info.value.details["code"] == "SG-CATALOG-UNREACHABLE"
    assert not (tmp_path / "no").exists() and not (tmp_path / "ws").exists()


@pytest.mark.parametrize("url", ["mysql://u@h/db", "sqlite://", "sqlite:///:memory:", "not a url at all",
                                 "postgresql+asyncpg://u@h/db"])
def test_unusable_urls_are_refused(tmp_path, url):
    with pytest.raises(CatalogError) as info:
        open_catalog(url, workspace=tmp_path / "ws")
    assert info.value.details["code"] == "SG-CATALOG-URL"


def test_a_password_never_appears_in_errors(tmp_path):
    with pytest.raises(CatalogError) as info:
        open_catalog("postgresql://alice:s3cret-pw@127.0.0.1:1/x", workspace=tmp_path / "ws")
    assert "s3cret-pw" not in str(info.value) and "s3cret-pw" not in str(info.value.details)


def test_read_only_opening_does_not_create_a_catalog(tmp_path):
    with pytest.raises(NotFoundError, match="no catalog"):
        open_catalog(workspace=tmp_path / "ws", create=False)
    assert not (tmp_path / "ws" / "catalog.sqlite").exists()


def test_the_fast_path_revision_constant_is_the_newest_migration():
    from synthgov.catalog.schema import HEAD

    assert HEAD == head_revision()
