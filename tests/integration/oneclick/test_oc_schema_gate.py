"""Migrations run once, from ``oneclick db upgrade``; the API and workers refuse to start on an
unmigrated, older or unknown schema with a message that says what to do."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from oneclick.bootstrap import check_schema
from oneclick.cli.main import app
from oneclick.config import load_settings
from oneclick.store.database import connect_database, head_revision, schema_revision, upgrade
from oneclick.testing.world import sqlite_url

runner = CliRunner()


def _data(tmp_path: Path) -> list[str]:
    data = ["--data-dir", str(tmp_path)]
    assert runner.invoke(app, ["keys", "init", *data]).exit_code == 0
    return data


def _at(url: str, revision: str | None, *, stamp: str | None = None) -> None:
    async def prepare() -> None:
        db = connect_database(url)
        try:
            if revision is not None:
                await upgrade(db, revision)
            if stamp is not None:
                async with db.begin() as conn:
                    await conn.execute(text("update alembic_version set version_num = :v"),
                                       {"v": stamp})  # fmt: skip
        finally:
            await db.dispose()

    asyncio.run(prepare())


@pytest.mark.parametrize(
    ("revision", "stamp", "message"),
    [
        (None, None, "no oneclick schema yet: run `oneclick db upgrade`"),
        ("0001", None, "at revision 0001 but this oneclick needs"),
        ("head", "9999", "revision 9999, which this oneclick does not know"),
    ],
)
@pytest.mark.parametrize("command", ["api", "worker"])
def test_api_and_worker_refuse_a_schema_that_is_not_current(
    tmp_path: Path, command: str, revision: str | None, stamp: str | None, message: str
) -> None:
    data = _data(tmp_path)
    _at(sqlite_url(tmp_path), revision, stamp=stamp)
    result = runner.invoke(app, [command, *data])
    assert result.exit_code == 2, result.output
    assert message in result.output
    if revision is None:  # checked, not migrated behind the operator's back

        async def current() -> str | None:
            db = connect_database(sqlite_url(tmp_path))
            try:
                return await schema_revision(db)
            finally:
                await db.dispose()

        assert asyncio.run(current()) is None


def test_db_upgrade_makes_the_schema_current(tmp_path: Path) -> None:
    data = _data(tmp_path)
    _at(sqlite_url(tmp_path), "0001")
    upgraded = runner.invoke(app, ["db", "upgrade", *data])
    assert upgraded.exit_code == 0, upgraded.output
    asyncio.run(check_schema(load_settings(data_dir=tmp_path)))  # raises if not current


@pytest.mark.postgres
async def test_concurrent_upgrades_on_postgresql_migrate_once(postgres_url: str) -> None:
    dbs = [connect_database(postgres_url) for _ in range(4)]
    try:
        await asyncio.gather(*(upgrade(db) for db in dbs))
        assert await schema_revision(dbs[0]) == head_revision()
    finally:
        for db in dbs:
            await db.dispose()
