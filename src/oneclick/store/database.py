"""Databases and migrations: SQLite under the data directory by default, PostgreSQL by URL.

Migrations run only from ``oneclick db upgrade`` (and ``oneclick up``, for its embedded default
database), never as a side effect of starting the API or a worker: those check the schema's
revision and refuse to start on anything but the one they were built for. On PostgreSQL the
upgrade holds an advisory lock, so that concurrent ``db upgrade`` runs apply it once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
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


def connect_database(url: str) -> AsyncEngine:
    """An ``AsyncEngine``; only ``sqlite+aiosqlite`` and ``postgresql+psycopg`` are accepted."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigurationError("database.url is not a valid SQLAlchemy URL") from exc
    if parsed.drivername == "sqlite+aiosqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        db = create_async_engine(parsed)
        event.listen(db.sync_engine, "connect", _sqlite_pragmas)
        return db
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


# pg_advisory_xact_lock's key for migrations: any constant no other tool sharing the database
# is likely to use (the ASCII of "oneclick" folded into a signed 64-bit integer).
MIGRATION_LOCK_KEY = int.from_bytes(b"oneclick", "big") - 2**63


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        # Held until this transaction ends: a second upgrade waits, then finds nothing to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(db: AsyncEngine, revision: str = "head") -> None:
    """Run the packaged migrations up to ``revision`` (idempotent; once under concurrency)."""
    async with db.begin() as conn:
        await conn.run_sync(_upgrade, revision)


def head_revision() -> str:
    """The schema revision this code needs (the newest packaged migration)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no packaged migrations"
    return head


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def schema_revision(db: AsyncEngine) -> str | None:
    """The database's schema revision; None when it has never been migrated."""
    async with db.connect() as conn:
        return await conn.run_sync(_current_revision)


async def require_current_schema(db: AsyncEngine) -> None:
    """Refuse (``ConfigurationError``) to run on a schema other than :func:`head_revision`."""
    try:
        current = await schema_revision(db)
    except OperationalError as exc:
        raise ConfigurationError(f"cannot reach the database: {exc.orig}") from exc
    needed = head_revision()
    if current == needed:
        return
    if current is None:
        raise ConfigurationError(
            "the database has no oneclick schema yet: run `oneclick db upgrade` first"
        )
    known = {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current in known:
        raise ConfigurationError(
            f"the database schema is at revision {current} but this oneclick needs {needed}: "
            "run `oneclick db upgrade` first"
        )
    raise ConfigurationError(
        f"the database schema is at revision {current}, which this oneclick does not know "
        f"(it needs {needed}): was it migrated by a newer oneclick?"
    )
