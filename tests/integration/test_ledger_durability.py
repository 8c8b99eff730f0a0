"""Crash durability and concurrency of the catalog + ledger, on SQLite and on PostgreSQL.

* A child process writing 200 catalog changes is killed with SIGKILL at random points:
  afterwards the database passes its integrity check, the ledger verifies, every change the
  child acknowledged (printed after its commit returned) is there, and no catalog record
  exists without its ledger event or the reverse.
* 8 processes appending 100 events each produce one linear chain: every event present once,
  each process's events in its own order, every link correct, no fork.

PostgreSQL runs at 127.0.0.1:5432 (database ``test``, trust auth; ``make test`` starts it):
each test creates a uniquely named database and drops it afterwards. These tests fail, not
skip, when PostgreSQL is unreachable, unless ``SYNTHGOV_SKIP_POSTGRES=1`` says so on purpose.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from synthgov.catalog import open_catalog
from synthgov.provenance.keys import create_key

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_database():
    if os.environ.get("SYNTHGOV_SKIP_POSTGRES") == "1":
        pytest.skip("SYNTHGOV_SKIP_POSTGRES=1")
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    name = f"sg_ledger_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:  # pragma: no cover - CI has PostgreSQL
        admin.dispose()
        pytest.fail(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({exc.orig}); run `make services`")
    return admin, name


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.sqlite'}"
        return
    admin, name = _pg_database()
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture()
def workspace(tmp_path):
    ws = tmp_path / "ws"
    create_key("default", workspace=ws)  # made up front, so a kill cannot interrupt key creation
    return ws


WRITER = textwrap.dedent("""
    import hashlib, sys
    from synthgov.catalog import open_catalog
    url, ws, tag, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    h = lambda s: hashlib.sha256(s.encode()).hexdigest()
    cat = open_catalog(url, workspace=ws, checkpoint_every=25)
    print("ready", flush=True)
    for i in range(n):
        with cat.session(actor=f"writer-{tag}") as s:
            src = s.add_source({"name": f"src-{tag}-{i}", "sha256": h(f"src-{tag}-{i}"), "rows": 100, "columns": 4})
            syn = s.add_synthesizer(name="copula", params={"i": i}, trained_on=[src])
            ds = s.add_dataset(sha256=h(f"ds-{tag}-{i}"), name=f"ds-{tag}-{i}", rows=50, columns=4, made_by=syn)
        print(src, syn, ds, flush=True)
""")


def _check_consistent(url, ws, acknowledged):
    cat = open_catalog(url, workspace=ws, checkpoint_every=25)
    try:
        assert cat.integrity_check() == []
        report = cat.ledger.verify()
        assert report.ok, report
        assert cat.check() == []
        for ids in acknowledged:
            for record_id in ids:
                assert cat.get(record_id).id == record_id  # NotFoundError if a commit was lost
        # every complete triple is all-or-nothing: a dataset implies its synthesizer and source
        datasets = cat.list("dataset")
        assert len(cat.list("source")) == len(cat.list("synthesizer")) == len(datasets)
        return len(datasets), report
    finally:
        cat.close()


def test_sigkill_during_catalog_writes_loses_no_acknowledged_commit(db_url, workspace):
    rng = random.Random(20261123)
    acknowledged: list[list[str]] = []
    kills = 0
    open_catalog(db_url, workspace=workspace).close()  # schema in place before the first child
    for round_ in range(3):
        child = subprocess.Popen([sys.executable, "-c", WRITER, db_url, str(workspace), f"r{round_}", "200"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(rng.uniform(0.05, 1.2))
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=60)
        kills += child.returncode == -signal.SIGKILL
        acknowledged += [line.split() for line in out.splitlines() if line.strip()]
        written, report = _check_consistent(db_url, workspace, acknowledged)
        # a commit may land between the last print and the kill, never the other way round
        assert written >= len(acknowledged)
    assert kills >= 2, "the children finished before being killed: the test did not exercise a crash"
    assert 0 < len(acknowledged)
    assert report.checkpoints >= 1


APPENDER = textwrap.dedent("""
    import sys
    from synthgov.catalog import open_catalog
    url, ws, proc, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    cat = open_catalog(url, workspace=ws, checkpoint_every=50)
    sys.stdin.readline()  # start together
    for i in range(n):
        cat.ledger.append("verify", params={"proc": proc, "i": i}, actor=f"proc-{proc}")
""")


def test_eight_processes_append_one_linear_chain(db_url, workspace):
    open_catalog(db_url, workspace=workspace).close()
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, db_url, str(workspace), str(p), "100"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for p in range(8)]
    time.sleep(0.5)
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    cat = open_catalog(db_url, workspace=workspace)
    report = cat.ledger.verify().raise_if_bad()
    events = cat.ledger.events()
    assert report.size == len(events) == 800
    assert [e.index for e in events] == list(range(800))
    assert all(b.prev == a.hash for a, b in zip(events, events[1:], strict=False))
    assert len({e.prev for e in events}) == 800  # no two events share a parent: no fork
    for proc in range(8):
        mine = [e.params["i"] for e in events if e.params["proc"] == proc]
        assert mine == list(range(100))
    sizes = [c.size for c in cat.ledger.checkpoints()]
    assert sizes == sorted(sizes) and sizes[-1] == 800 and len(sizes) == 16
    for old, new in zip(cat.ledger.checkpoints(), cat.ledger.checkpoints()[1:], strict=False):
        cat.ledger.consistency(old.id, new.id)
    cat.close()
