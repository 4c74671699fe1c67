"""The non-swap use cases need only their own repository: each runs here against a store whose
transactions expose nothing but that repository (``session.partners``, ``session.custody``,
``session.webhooks``), so a use case that reached for anything else would fail."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from oneclick.custody.keys import KeyCustody, KeyMaterial
from oneclick.domain.errors import Unauthorized
from oneclick.services import partners, webhooks
from oneclick.services.custody_pool import top_up_custody_pool
from oneclick.store.database import connect_database, upgrade
from oneclick.store.sql import SqlSession, SqlStore
from oneclick.testing.world import sqlite_url

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


class _Only:
    """A store whose sessions carry only the named repositories of the real ones."""

    def __init__(self, store: SqlStore, *names: str) -> None:
        self._store, self._names = store, names

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SimpleNamespace]:
        async with self._store.transaction() as tx:
            yield SimpleNamespace(**{name: getattr(tx, name) for name in self._names})


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    db = connect_database(sqlite_url(tmp_path))
    await upgrade(db)
    yield SqlStore(db)
    await db.dispose()


async def test_partner_use_cases_need_only_the_partners(store: SqlStore) -> None:
    only = _Only(store, "partners")
    secret = b"s" * 32
    partner, token = await partners.add_partner(only, "acme", secret=secret, now=NOW, ttl=None)
    assert [p.name for p in await partners.list_partners(only)] == ["acme"]
    assert await partners.authenticate(only, token, secret=secret, now=NOW) == partner
    revoked = await partners.revoke_partner(only, "acme", now=NOW)
    assert revoked.revoked_at == NOW
    with pytest.raises(Unauthorized):
        await partners.authenticate(only, token, secret=secret, now=NOW)


async def test_the_custody_pool_needs_only_the_custody_accounts(store: SqlStore) -> None:
    only = _Only(store, "custody")
    custody = KeyCustody(KeyMaterial.generate())
    assert await top_up_custody_pool(only, custody, 3, NOW) == 3
    assert await top_up_custody_pool(only, custody, 3, NOW) == 0  # already full
    async with only.transaction() as tx:
        taken = await tx.custody.take(NOW)
        assert taken == custody.account(taken.index)
        assert await tx.custody.get(taken.account_id) == taken
        assert await tx.custody.free_count() == 2


async def test_webhook_settings_need_only_partners_and_webhooks(store: SqlStore) -> None:
    await partners.add_partner(store, "acme", secret=b"s" * 32, now=NOW, ttl=None)
    only = _Only(store, "partners", "webhooks")
    first = await webhooks.set_webhook(only, "acme", "https://acme.example/h", install_key=b"k")
    again = await webhooks.set_webhook(only, "acme", "https://acme.example/2", install_key=b"k")
    assert first is not None
    assert first == again  # the secret survives a URL change
    assert await webhooks.partner_deliveries(only, "acme") == []


def test_the_session_has_no_flat_methods_of_the_other_aggregates() -> None:
    # Each of these now lives on a repository (``session.custody.take``, ...).
    flat = {
        "take_custody_account", "free_custody_accounts", "reserve_custody_index",
        "partner_by_name", "add_partner", "revoke_partner", "user_session",
        "rotate_user_session", "account_history", "claim_deliveries", "set_partner_webhook",
    }  # fmt: skip
    assert not flat & set(dir(SqlSession))


def test_the_session_is_only_its_repositories() -> None:
    # The swap side's reads and writes live on ``session.swaps`` (``session.swaps.by_deposit``,
    # ``.add``, ``.counts``, ...) and the reconciliation's on ``session.reconcile``.
    session = SqlSession(cast(AsyncConnection, None))
    repositories = {
        "swaps", "any_input", "intents", "custody", "partners", "user_sessions", "history",
        "webhooks", "reconcile",
    }  # fmt: skip
    assert {name for name in dir(session) if not name.startswith("_")} == repositories
