"""What one ``GET /v0/status`` costs the database: one connection, two statements, indexed,
and on SQLite none of it through aiosqlite.

Every statement costs several thread hops on aiosqlite (cursor, execute, fetch, close), which
made the status read ~5x the bare framework in bench/ when it took two transactions and four
statements; now the read runs whole on the store's reader thread (store/reads.py). These tests
fail when a change adds a round trip, drops an index the read needs, or sends the read back
through aiosqlite."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from oc_helpers import quote_request
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from oneclick.domain.engine import DepositRecord
from oneclick.testing.world import FakeWorld


@dataclass
class Traffic:
    checkouts: int = 0
    statements: list[tuple[str, Any]] = field(default_factory=list)


@contextmanager
def traffic(db: AsyncEngine) -> Iterator[Traffic]:
    """The pool checkouts and SQL statements (with parameters) issued on ``db``."""
    seen = Traffic()
    sync = db.sync_engine

    def on_checkout(*_: Any) -> None:
        seen.checkouts += 1

    def on_execute(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.statements.append((statement, parameters))

    event.listen(sync.pool, "checkout", on_checkout)
    event.listen(sync, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(sync, "before_cursor_execute", on_execute)
        event.remove(sync.pool, "checkout", on_checkout)


@contextmanager
def reads(world: FakeWorld) -> Iterator[Traffic]:
    """The statements of the SQLite reader status reads go through (these tests run on a
    file); ``checkouts`` counts the hops to its thread."""
    reader = world.store.reader
    assert reader is not None
    seen = Traffic()
    original, since = reader.swap_snapshot, reader.swap_snapshot_since

    async def counted(address: str, memo: str | None) -> Any:
        seen.checkouts += 1
        return await original(address, memo)

    async def counted_since(address: str, memo: str | None, stamp: object) -> Any:
        seen.checkouts += 1
        return await since(address, memo, stamp)

    def on_statement(statement: str, parameters: tuple[Any, ...]) -> None:
        seen.statements.append((statement, parameters))

    reader.listeners.append(on_statement)
    reader.swap_snapshot = counted  # type: ignore[method-assign]
    reader.swap_snapshot_since = counted_since  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        reader.listeners.remove(on_statement)
        del reader.swap_snapshot, reader.swap_snapshot_since


async def _quote_with_two_deposits(client: httpx.AsyncClient, world: FakeWorld) -> str:
    address: str = (await client.post("/v0/quote", json=quote_request())).json()["quote"][
        "depositAddress"
    ]
    for tx_hash in ("ab" * 32, "cd" * 32):
        submit = {"txHash": tx_hash, "depositAddress": address}
        assert (await client.post("/v0/deposit/submit", json=submit)).status_code == 200
    async with world.store.transaction() as tx:  # the bridge confirms both (status shows them)
        swap = await tx.swaps.by_deposit(address, None)
        assert swap is not None
        for tx_hash in ("ab" * 32, "cd" * 32):
            seen = DepositRecord(
                tx_hash, "BRIDGE", "btc:mainnet", 5000, "COMPLETED", world.clock.now(),
                swap.origin_asset,
            )  # fmt: skip
            await tx.swaps.record_bridge_deposit(swap.id, seen)
    return address


async def test_status_is_one_connection_and_two_statements(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    address = await _quote_with_two_deposits(client, world)
    with reads(world) as seen, traffic(world.store.db) as aiosqlite:
        response = await client.get("/v0/status", params={"depositAddress": address})
    assert response.status_code == 200
    assert (aiosqlite.checkouts, aiosqlite.statements) == (0, [])
    details = response.json()["swapDetails"]
    # the deposits come joined to the swap row: each once, in the order they were recorded
    assert [t["hash"] for t in details["originChainTxHashes"]] == ["ab" * 32, "cd" * 32]
    assert seen.checkouts == 1
    assert len(seen.statements) == 2, [s for s, _ in seen.statements]


async def test_status_of_an_unknown_address_is_one_statement(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    with reads(world) as seen:
        response = await client.get("/v0/status", params={"depositAddress": "0xabc"})
    assert response.status_code == 404
    assert (seen.checkouts, len(seen.statements)) == (1, 1)


async def test_every_status_statement_searches_an_index(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    address = await _quote_with_two_deposits(client, world)
    with reads(world) as seen:
        await client.get("/v0/status", params={"depositAddress": address})
    assert len(seen.statements) == 2
    database = world.store.db.url.database
    assert database is not None
    with sqlite3.connect(database) as con:
        for statement, parameters in seen.statements:
            plan = [row[3] for row in con.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            scans = [step for step in plan if step.startswith("SCAN")]
            assert not scans, (statement, plan)
            assert any("USING INDEX" in step for step in plan), (statement, plan)
