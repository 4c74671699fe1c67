"""A non-dry quote whose deposit address is its custody account (INTENTS, NEAR-native) takes
the account and records the swap in ONE transaction: one commit, i.e. one disk flush, on the
request path (bench/, issue 15), and an account is never left taken by a swap not stored. A
quote that asks the bridge for its address keeps two (never a transaction across that call)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from oc_helpers import quote_request
from sqlalchemy import event

from oneclick.store.swaps import SqlSwaps
from oneclick.testing.world import DEFAULT_CUSTODY_POOL, FakeWorld


@contextmanager
def commits(world: FakeWorld) -> Iterator[list[int]]:
    seen: list[int] = []

    def on_commit(*_: Any) -> None:
        seen.append(1)

    engine = world.store.db.sync_engine
    event.listen(engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(engine, "commit", on_commit)


async def _free(world: FakeWorld) -> int:
    async with world.store.transaction() as tx:
        return await tx.custody.free_count()


async def test_an_intents_quote_commits_once(client: httpx.AsyncClient, world: FakeWorld) -> None:
    body = quote_request(depositType="INTENTS")
    with commits(world) as seen:
        response = await client.post("/v0/quote", json=body)
    assert response.status_code == 200, response.text
    assert len(seen) == 1
    address = response.json()["quote"]["depositAddress"]
    status = await client.get("/v0/status", params={"depositAddress": address})
    assert status.json()["status"] == "PENDING_DEPOSIT"  # the swap is stored
    assert await _free(world) == DEFAULT_CUSTODY_POOL - 1


async def test_a_bridge_quote_commits_apart_around_the_bridge_call(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    with commits(world) as seen:
        response = await client.post("/v0/quote", json=quote_request())
    assert response.status_code == 200, response.text
    assert len(seen) == 2


async def test_a_swap_not_stored_leaves_its_account_in_the_pool(
    client: httpx.AsyncClient, world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fail(*_: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(SqlSwaps, "add", fail)
    with pytest.raises(RuntimeError):
        await client.post("/v0/quote", json=quote_request(depositType="INTENTS"))
    assert await _free(world) == DEFAULT_CUSTODY_POOL
