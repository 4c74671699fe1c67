"""The service on fakes behind an in-process HTTP client: SQLite under tmp_path, or PostgreSQL
for a module that asks for both with ``pytestmark = ON_BOTH_DATABASES`` (oc_helpers)."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from oneclick.testing.world import FakeWorld, fake_world, sqlite_url


@pytest.fixture
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FakeWorld]:
    on_postgres = getattr(request, "param", "sqlite") == "postgres"
    url = request.getfixturevalue("postgres_url") if on_postgres else sqlite_url(tmp_path)
    built = await fake_world(str(url))
    yield built
    await built.aclose()


@pytest.fixture
async def client(world: FakeWorld) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=world.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://oneclick") as http:
        yield http
