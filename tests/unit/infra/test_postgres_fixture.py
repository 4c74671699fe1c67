"""The postgres_url fixture: a real server, and a fresh empty database for every test."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.postgres

SEEN_DATABASES: list[str] = []


def _connect(url: str) -> psycopg.Connection:
    parsed = make_url(url)
    assert parsed.drivername == "postgresql+psycopg"
    assert parsed.host == "127.0.0.1"
    return psycopg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database
    )


@pytest.mark.parametrize("run", [1, 2])
def test_fresh_database_per_test(postgres_url: str, run: int) -> None:
    database = make_url(postgres_url).database
    assert database is not None
    assert database not in SEEN_DATABASES
    SEEN_DATABASES.append(database)

    with _connect(postgres_url) as conn:
        # Empty: the table the other run created is not here.
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE item (id integer PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO item VALUES (%s, %s)", (run, f"item-{run}"))
        conn.commit()
    with _connect(postgres_url) as conn:
        assert conn.execute("SELECT id, name FROM item").fetchall() == [(run, f"item-{run}")]


def test_works_with_sqlalchemy(postgres_url: str) -> None:
    from sqlalchemy import create_engine, text

    db = create_engine(postgres_url)
    try:
        with db.begin() as conn:
            conn.execute(text("CREATE TABLE t (v text)"))
            conn.execute(text("INSERT INTO t VALUES ('ok')"))
        with db.connect() as conn:
            assert conn.execute(text("SELECT v FROM t")).scalar_one() == "ok"
            assert int(conn.execute(text("SHOW server_version_num")).scalar_one()) >= 150000
    finally:
        db.dispose()
