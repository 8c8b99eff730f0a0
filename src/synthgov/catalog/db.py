"""Where the catalog lives and how to talk to it: URL resolution, engines, write transactions.

The URL is, in order: the one given, ``$SYNTHGOV_DB``, then
``sqlite:///<workspace>/catalog.sqlite``. ``postgresql://`` is read as
``postgresql+psycopg://`` (psycopg 3, the ``postgres`` extra).

SQLite runs in WAL mode with ``synchronous=FULL`` (a commit that returned survives a
crash or power loss), foreign keys on and a busy timeout. Writes serialise: SQLite
takes the write lock up front (``BEGIN IMMEDIATE``), PostgreSQL a transaction-scoped
advisory lock, so concurrent processes append one linear ledger.

>>> resolve_url("postgresql://u@db/x")
'postgresql+psycopg://u@db/x'
>>> resolve_url(None, workspace="/tmp/ws").endswith("/tmp/ws/catalog.sqlite")
True
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError

from ..errors import CatalogError, DependencyError, ParameterError
from ..workspace import Workspace

__all__ = ["DB_ENV", "resolve_url", "make_engine", "write_transaction", "read_connection", "unreachable",
           "CONNECT_TIMEOUT_S", "BUSY_TIMEOUT_S"]

DB_ENV = "SYNTHGOV_DB"
#: Seconds to wait for a PostgreSQL server before giving up.
CONNECT_TIMEOUT_S = 5
#: Seconds a writer waits for another writer's lock (SQLite busy timeout, PostgreSQL lock timeout).
BUSY_TIMEOUT_S = 60
_LOCK_KEY = 0x73796E7467  # "syntg": the advisory lock every synthgov writer takes on PostgreSQL


def resolve_url(url: str | None = None, *, workspace: str | os.PathLike | Workspace | None = None) -> str:
    """The catalog URL: ``url``, else ``$SYNTHGOV_DB``, else the workspace's SQLite file."""
    if url is not None and not isinstance(url, str):
        raise ParameterError(f"url must be a database URL string, got {type(url).__name__}",
                             hint="e.g. sqlite:///catalog.sqlite or postgresql://user@host/db")
    url = url or os.environ.get(DB_ENV) or None
    if url is None:
        ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
        return f"sqlite:///{ws.root / 'catalog.sqlite'}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _bad_url(url: str, why: str) -> CatalogError:
    return CatalogError(f"cannot use the catalog URL {_safe(url)}: {why}",
                        hint="use sqlite:///PATH or postgresql://USER@HOST:PORT/DB (set it with SYNTHGOV_DB)",
                        details={"code": "SG-CATALOG-URL"})


def _safe(url: str) -> str:
    """The URL with any password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<malformed>"


def unreachable(url: str, exc: BaseException) -> CatalogError:
    """The error for a database that cannot be opened or reached."""
    reason = getattr(exc, "orig", None) or exc
    text = " ".join(str(reason).split())[:300]
    return CatalogError(f"the catalog database {_safe(url)} cannot be reached: {text}",
                        hint=f"check that the server runs and the URL is right (set {DB_ENV}), "
                             "or that the SQLite file's folder exists and is writable",
                        details={"code": "SG-CATALOG-UNREACHABLE", "url": _safe(url)})


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with synthgov's durability and locking settings (no connection made yet)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise _bad_url(url, str(exc)) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise _bad_url(url, "the catalog must be a file (an in-memory database is lost at exit)")
        engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S})
        _sqlite_hooks(engine)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() not in ("psycopg",):
            raise _bad_url(url, f"driver {parsed.get_driver_name()!r} is not supported; use postgresql+psycopg://")
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise DependencyError("the PostgreSQL catalog needs psycopg",
                                  hint="pip install 'synthgov[postgres]'") from None
        try:
            return create_engine(parsed, pool_pre_ping=True,
                                 connect_args={"connect_timeout": CONNECT_TIMEOUT_S,
                                               "options": f"-c lock_timeout={BUSY_TIMEOUT_S * 1000}"})
        except NoSuchModuleError as exc:
            raise _bad_url(url, str(exc)) from None
    raise _bad_url(url, f"backend {backend!r} is not supported (SQLite or PostgreSQL)")


def _sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised through every SQLite test
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        # read altered (non-UTF-8) text instead of failing, so verification can report it
        dbapi_conn.text_factory = lambda raw: raw.decode("utf-8", "surrogateescape")
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - exercised through every SQLite test
        mode = conn.get_execution_options().get("synthgov_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@contextlib.contextmanager
def _writer_lock(url: str) -> Iterator[None]:
    """SQLite on POSIX: queue writers on an advisory file lock next to the database.

    SQLite's own busy handler sleeps up to 100 ms between retries, so eight contending
    writers spend most of their time asleep; polling a file lock every 2 ms hands the lock on
    promptly. The operating system drops the lock when its process dies (even by SIGKILL).
    """
    path = sqlite_path(url)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: SQLite's busy timeout alone
        fcntl = None
    if path is None or fcntl is None:
        yield
        return
    try:
        fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        yield  # a read-only folder: SQLite will say what is wrong
        return
    try:
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise CatalogError(f"the catalog {path} stayed locked by another writer for {BUSY_TIMEOUT_S} s",
                                       hint="retry; if it persists, look for a stuck synthgov process",
                                       details={"code": "SG-CATALOG-WRITE"}) from None
                time.sleep(0.002)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def write_transaction(engine: Engine, url: str) -> Iterator[Connection]:
    """One serialised write transaction: commits on success, rolls back on any error."""
    with _writer_lock(url) if engine.dialect.name == "sqlite" else contextlib.nullcontext():
        with _write_transaction(engine, url) as conn:
            yield conn


@contextlib.contextmanager
def _write_transaction(engine: Engine, url: str) -> Iterator[Connection]:
    try:
        conn = engine.connect()
    except (OperationalError, DBAPIError) as exc:
        raise unreachable(url, exc) from None
    try:
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(synthgov_begin="IMMEDIATE")
        try:
            txn = conn.begin()
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
        except OperationalError as exc:
            raise CatalogError(f"the catalog is locked by another writer and did not free up: {exc.orig}",
                               hint="retry; if it persists, look for a stuck synthgov process",
                               details={"code": "SG-CATALOG-WRITE"}) from None
        with txn:
            yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def read_connection(engine: Engine, url: str) -> Iterator[Connection]:
    """A connection in a read transaction (a consistent snapshot on SQLite WAL)."""
    try:
        conn = engine.connect()
    except (OperationalError, DBAPIError) as exc:
        raise unreachable(url, exc) from None
    try:
        with conn.begin():
            yield conn
    finally:
        conn.close()


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (None for other backends)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    return Path(parsed.database) if parsed.get_backend_name() == "sqlite" and parsed.database else None
