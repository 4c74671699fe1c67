"""The service on fakes behind an in-process HTTP client (SQLite under tmp_path)."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from oneclick.testing.world import FakeWorld, fake_world, sqlite_url


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[FakeWorld]:
    built = await fake_world(sqlite_url(tmp_path))
    yield built
    await built.aclose()


@pytest.fixture
async def client(world: FakeWorld) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=world.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://oneclick") as http:
        yield http
