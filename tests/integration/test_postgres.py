"""Reading a table from PostgreSQL (started by `make test` where the machine has it)."""

from __future__ import annotations

import uuid

import pytest

import synthgov as sg

URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture()
def engine():
    sa = pytest.importorskip("sqlalchemy")
    pytest.importorskip("psycopg")
    engine = sa.create_engine(URL)
    try:
        with engine.connect():
            pass
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432 ({type(exc).__name__}); `make services` starts it")
    yield engine
    engine.dispose()


def test_fit_and_sample_from_a_postgres_query(engine, cps):
    table = f"cps_{uuid.uuid4().hex[:8]}"
    cps.iloc[:2000].to_sql(table, engine, index=False)
    try:
        df = sg.read(URL, query=f'SELECT * FROM "{table}" WHERE education >= 12')
        assert len(df) == int((cps.iloc[:2000].education >= 12).sum())
        out = sg.CopulaSynthesizer(random_state=0).fit(df).sample(300)
        assert out.education.min() >= 12 and list(out.columns) == list(cps.columns)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP TABLE "{table}"')
