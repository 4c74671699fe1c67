"""The SQLite status reader (store/reads.py) answers exactly what ``SqlSwaps.snapshot``
answers, sees every committed write at once, and ends with its ``AsyncEngine``."""

import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from oc_helpers import quote_request

from oneclick.domain.engine import DepositRecord, Leg
from oneclick.domain.records import IntentKind, IntentState
from oneclick.domain.swaps import SwapStatus
from oneclick.services.ports import StampedSnapshot
from oneclick.store.database import connect_database, upgrade
from oneclick.store.reads import RowsStamp, SqliteReader
from oneclick.store.sql import SqlStore
from oneclick.testing.world import FakeWorld

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


async def _busy_swap(client: httpx.AsyncClient, world: FakeWorld) -> tuple[str, str]:
    """A swap with two submitted deposits, a bridge deposit with an amount above 2**63, and a
    leg of each kind (one delivered, with debits and credits): every column type the read
    converts."""
    address: str = (await client.post("/v0/quote", json=quote_request())).json()["quote"][
        "depositAddress"
    ]
    for tx_hash in ("ab" * 32, "cd" * 32):
        submit = {"txHash": tx_hash, "depositAddress": address}
        assert (await client.post("/v0/deposit/submit", json=submit)).status_code == 200
    async with world.store.transaction() as tx:
        swap = await tx.swaps.by_deposit(address, None)
        assert swap is not None
        await tx.swaps.record_bridge_deposit(
            swap.id, DepositRecord("ef" * 32, "BRIDGE", "eth:1", 2**70 + 1, "COMPLETED", NOW)
        )
        for n, kind in enumerate((IntentKind.SWAP, IntentKind.WITHDRAW, IntentKind.REFUND)):
            await tx.swaps.add_leg(
                Leg(
                    intent_hash=f"{n:064x}", swap_id=swap.id, kind=kind, signer_id="a.near",
                    nonce=f"nonce{n}", signed_data="{}", state=IntentState.SETTLED,
                    deadline=NOW + timedelta(minutes=5), created_at=NOW + timedelta(seconds=n),
                    quote_hashes=("q1", "q2"), debits={"nep141:a.near": 2**65 + n},
                    credits={"nep141:b.near": 7}, tx_hash=f"tx{n}",
                    destination_tx_hash="0x" + "12" * 32 if n else None,
                    delivered=2**64 + n if n else None,
                )
            )  # fmt: skip
    return address, swap.id


async def test_the_reader_answers_what_the_session_answers(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    address, _ = await _busy_swap(client, world)
    assert world.store.reader is not None
    fast = await world.store.swap_snapshot(address, None)
    async with world.store.transaction() as tx:
        slow = await tx.swaps.snapshot(address, None)
    assert fast is not None
    assert fast == slow
    assert [d.amount for d in fast.deposits][-1] == 2**70 + 1
    assert {leg.kind for leg in fast.legs} == {IntentKind.SWAP, IntentKind.WITHDRAW,
                                               IntentKind.REFUND}  # fmt: skip
    assert await world.store.swap_snapshot("0xnothere", None) is None


async def test_the_reader_sees_each_commit_at_once(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    address, swap_id = await _busy_swap(client, world)
    before = await world.store.swap_snapshot(address, None)
    assert before is not None
    async with world.store.transaction() as tx:
        swap = await tx.swaps.load(swap_id)
        assert swap is not None
        assert swap.version == before.swap.version
        swap.move_to(SwapStatus.REFUNDED)
        await tx.swaps.save(swap, NOW)
    after = await world.store.swap_snapshot(address, None)
    assert after is not None
    assert (after.swap.status, after.swap.version) == (SwapStatus.REFUNDED,
                                                      before.swap.version + 1)  # fmt: skip


async def test_unchanged_rows_give_the_same_snapshot_and_any_change_a_new_one(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    address, swap_id = await _busy_swap(client, world)
    first = await world.store.swap_snapshot(address, None)
    assert first is not None
    assert await world.store.swap_snapshot(address, None) is first  # built once from its rows
    # a leg changes (not the swap row): a new snapshot, the session's
    async with world.store.transaction() as tx:
        await tx.swaps.add_leg(
            Leg(
                intent_hash="ff" * 32, swap_id=swap_id, kind=IntentKind.REFUND,
                signer_id="a.near", nonce="nonce9", signed_data="{}", state=IntentState.SIGNED,
                deadline=NOW + timedelta(minutes=5), created_at=NOW + timedelta(minutes=1),
                quote_hashes=(), debits={"nep141:a.near": 1}, credits={},
            )
        )  # fmt: skip
    second = await world.store.swap_snapshot(address, None)
    async with world.store.transaction() as tx:
        assert second == await tx.swaps.snapshot(address, None)
    assert second is not None
    assert len(second.legs) == len(first.legs) + 1
    # a deposit changes: a new one again
    async with world.store.transaction() as tx:
        await tx.swaps.record_bridge_deposit(
            swap_id, DepositRecord("aa" * 32, "BRIDGE", "eth:1", 5, "COMPLETED", NOW)
        )
    third = await world.store.swap_snapshot(address, None)
    assert third is not None
    assert len(third.deposits) == len(second.deposits) + 1


async def test_the_reader_is_for_sqlite_files_and_ends_with_its_db(tmp_path: object) -> None:
    memory = SqlStore(connect_database("sqlite+aiosqlite:///:memory:"))
    assert memory.reader is None  # another connection would see another, empty database
    await memory.db.dispose()

    db = connect_database(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    await upgrade(db)
    store = SqlStore(db)
    assert isinstance(store.reader, SqliteReader)
    assert await store.swap_snapshot("0xabc", None) is None  # on the loop: no thread
    assert _reader_threads() == 0
    await db.dispose()  # like the AsyncEngine's pool, the reader would reopen on the next use


async def test_a_busy_database_is_waited_for_on_a_thread_not_on_the_loop(
    client: httpx.AsyncClient, world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    address, _ = await _busy_swap(client, world)
    reader = world.store.reader
    assert reader is not None
    expected = await reader.swap_snapshot(address, None)
    real = reader._snapshot
    loop_thread = threading.get_ident()

    def busy_on_the_loop(con: sqlite3.Connection, *args: str) -> object:
        if threading.get_ident() == loop_thread:
            busy = sqlite3.OperationalError("database is locked")
            busy.sqlite_errorcode = sqlite3.SQLITE_BUSY  # type: ignore[attr-defined]
            raise busy
        return real(con, *args)

    monkeypatch.setattr(reader, "_snapshot", busy_on_the_loop)
    assert await reader.swap_snapshot(address, None) == expected
    assert _reader_threads() == 1
    await world.store.db.dispose()
    assert _reader_threads() == 0


def _reader_threads() -> int:
    return sum(t.name.startswith("oneclick-sqlite-read") for t in threading.enumerate())


async def test_the_reader_keeps_api_status_cache_snapshots(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    """``SqlStore(db, status_cache=N)``: the last N addresses' snapshots are reused."""
    first, second = [
        (await client.post("/v0/quote", json=quote_request())).json()["quote"]["depositAddress"]
        for _ in range(2)
    ]
    for kept, reused in ((2, True), (1, False), (0, False)):
        store = SqlStore(world.store.db, status_cache=kept)
        assert store.reader is not None
        snapshot = await store.swap_snapshot(first, None)
        await store.swap_snapshot(second, None)
        assert (await store.swap_snapshot(first, None) is snapshot) is reused
        store.reader.close()


async def test_a_stamped_read_queries_nothing_until_another_connection_commits(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    """``swap_snapshot_since``: ``PRAGMA data_version`` unchanged on the same connection, no
    statement at all; after any commit (here from a connection of its own, as another process
    would), the rows are read again, and a snapshot comes back only if they changed."""
    address, swap_id = await _busy_swap(client, world)
    other = (await client.post("/v0/quote", json=quote_request())).json()["quote"]["depositAddress"]
    reader, path = world.store.reader, world.store.db.url.database
    assert reader is not None
    assert path is not None
    statements: list[str] = []
    reader.listeners.append(lambda sql, _: statements.append(sql))

    first = await reader.swap_snapshot_since(address, None, None)
    assert first is not None
    assert isinstance(first.stamp, RowsStamp)
    assert first.snapshot == await world.store.swap_snapshot(address, None)
    statements.clear()
    again = await reader.swap_snapshot_since(address, None, first.stamp)
    assert again == StampedSnapshot(first.stamp, None)
    assert statements == []

    with closing(sqlite3.connect(path)) as con, con:  # another swap changes
        con.execute("UPDATE swaps SET last_error = 'x' WHERE deposit_address = ?", (other,))
    unchanged = await reader.swap_snapshot_since(address, None, first.stamp)
    assert unchanged is not None
    assert unchanged.snapshot is None
    assert len(statements) == 2  # read, and found the same
    assert unchanged.stamp != first.stamp  # ... at the new data_version: no read next time
    statements.clear()
    assert await reader.swap_snapshot_since(address, None, unchanged.stamp) == StampedSnapshot(
        unchanged.stamp, None
    )
    assert statements == []

    with closing(sqlite3.connect(path)) as con, con:  # this swap's leg changes
        con.execute("UPDATE intents SET tx_hash = 'tx9' WHERE swap_id = ?", (swap_id,))
    changed = await reader.swap_snapshot_since(address, None, unchanged.stamp)
    assert changed is not None
    assert changed.snapshot is not None
    assert {leg.tx_hash for leg in changed.snapshot.legs} == {"tx9"}
    assert changed.snapshot == await world.store.swap_snapshot(address, None)

    # a stamp of a closed connection proves nothing on the next one
    reader.close()
    statements.clear()
    reopened = await reader.swap_snapshot_since(address, None, changed.stamp)
    assert reopened is not None
    assert reopened.snapshot is None
    assert len(statements) == 2
    assert await reader.swap_snapshot_since("0xnothere", None, changed.stamp) is None


async def test_a_busy_stamped_read_is_answered_on_the_thread(
    client: httpx.AsyncClient, world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    address, _ = await _busy_swap(client, world)
    reader = world.store.reader
    assert reader is not None
    real = reader._since
    loop_thread = threading.get_ident()

    def busy_on_the_loop(con: sqlite3.Connection, *args: Any) -> object:
        if threading.get_ident() == loop_thread:
            busy = sqlite3.OperationalError("database is locked")
            busy.sqlite_errorcode = sqlite3.SQLITE_BUSY  # type: ignore[attr-defined]
            raise busy
        return real(con, *args)

    monkeypatch.setattr(reader, "_since", busy_on_the_loop)
    stamped = await reader.swap_snapshot_since(address, None, None)
    assert stamped is not None
    assert stamped.snapshot == await world.store.swap_snapshot(address, None)
    # the thread's connection stamps its own data_version: trusted there only
    assert await reader.swap_snapshot_since(address, None, stamped.stamp) == StampedSnapshot(
        stamped.stamp, None
    )
    assert _reader_threads() == 1
    await world.store.db.dispose()
    assert _reader_threads() == 0
