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
from oneclick.store.database import head_revision, make_engine, schema_revision, upgrade
from oneclick.testing.world import sqlite_url

runner = CliRunner()


def _data(tmp_path: Path) -> list[str]:
    data = ["--data-dir", str(tmp_path)]
    assert runner.invoke(app, ["keys", "init", *data]).exit_code == 0
    return data


def _at(url: str, revision: str | None, *, stamp: str | None = None) -> None:
    async def prepare() -> None:
        engine = make_engine(url)
        try:
            if revision is not None:
                await upgrade(engine, revision)
            if stamp is not None:
                async with engine.begin() as conn:
                    await conn.execute(text("update alembic_version set version_num = :v"),
                                       {"v": stamp})  # fmt: skip
        finally:
            await engine.dispose()

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
            engine = make_engine(sqlite_url(tmp_path))
            try:
                return await schema_revision(engine)
            finally:
                await engine.dispose()

        assert asyncio.run(current()) is None


def test_db_upgrade_makes_the_schema_current(tmp_path: Path) -> None:
    data = _data(tmp_path)
    _at(sqlite_url(tmp_path), "0001")
    upgraded = runner.invoke(app, ["db", "upgrade", *data])
    assert upgraded.exit_code == 0, upgraded.output
    asyncio.run(check_schema(load_settings(data_dir=tmp_path)))  # raises if not current


@pytest.mark.postgres
async def test_concurrent_upgrades_on_postgresql_migrate_once(postgres_url: str) -> None:
    engines = [make_engine(postgres_url) for _ in range(4)]
    try:
        await asyncio.gather(*(upgrade(engine) for engine in engines))
        assert await schema_revision(engines[0]) == head_revision()
    finally:
        for engine in engines:
            await engine.dispose()
