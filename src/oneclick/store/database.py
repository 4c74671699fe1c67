"""Engines and migrations: SQLite under the data directory by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from oneclick.domain.errors import ConfigurationError

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_FILE = "oneclick.db"


def default_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / SQLITE_FILE).resolve()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def make_engine(url: str) -> AsyncEngine:
    """An async engine; only ``sqlite+aiosqlite`` and ``postgresql+psycopg`` are accepted."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigurationError("database.url is not a valid SQLAlchemy URL") from exc
    if parsed.drivername == "sqlite+aiosqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername in ("postgresql+psycopg", "postgresql"):
        return create_async_engine(parsed.set(drivername="postgresql+psycopg"), pool_pre_ping=True)
    raise ConfigurationError(
        f"unsupported database driver {parsed.drivername!r}: "
        "use sqlite+aiosqlite:///… or postgresql+psycopg://…"
    )


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Run the packaged migrations up to ``revision`` (idempotent)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)
