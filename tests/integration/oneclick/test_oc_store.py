"""The repository suite, run on SQLite always and on PostgreSQL with ``-m postgres``."""

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from oneclick.domain.errors import Conflict, PermanentError
from oneclick.domain.records import (
    CustodyAccount,
    DepositTx,
    IntentKind,
    IntentRecord,
    IntentState,
    NewSwap,
    Partner,
)
from oneclick.domain.swaps import SwapStatus
from oneclick.store.database import connect_database, upgrade
from oneclick.store.sql import SqlSession, SqlStore
from oneclick.store.tables import metadata
from oneclick.testing.world import sqlite_url

NOW = datetime(2026, 1, 1, 12, 0, 0, 123000, tzinfo=UTC)
HUGE = 2**256 - 1  # beyond any SQLite/PostgreSQL integer type


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    db = connect_database(database_url)
    await upgrade(db)
    yield SqlStore(db)
    await db.dispose()


def _swap(index: int, account: str, address: str, memo: str | None = None) -> NewSwap:
    return NewSwap(
        id=f"00000000-0000-0000-0000-{index:012d}", custody_index=index, custody_account_id=account,
        deposit_address=address, deposit_memo=memo, status=SwapStatus.PENDING_DEPOSIT,
        swap_type="EXACT_INPUT", deposit_type="ORIGIN_CHAIN", recipient_type="DESTINATION_CHAIN",
        refund_type="ORIGIN_CHAIN", origin_asset="nep141:btc.omft.near",
        destination_asset="nep141:eth.omft.near", amount_in=HUGE, min_amount_in=HUGE - 1,
        amount_out=10**30, min_amount_out=0, recipient="0xabc", refund_to="bc1q",
        request_deadline=NOW, quote_deadline=NOW + timedelta(days=1), partner_id=None,
        quote_response='{"quote":{"amountIn":"1"},"b":"é"}', fees='{"input_fees":[]}',
        created_at=NOW,
    )  # fmt: skip


async def _account(store: SqlStore) -> CustodyAccount:
    async with store.transaction() as tx:
        index = await tx.custody.reserve_index()
        account = CustodyAccount(index, f"{index:064x}", f"ed25519:key{index}")
        await tx.custody.record(account, NOW)
    return account


async def test_migrations_match_the_tables_and_are_idempotent(store: SqlStore) -> None:
    await upgrade(store.db)
    async with store.db.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
        version = (await conn.execute(text("select version_num from alembic_version"))).scalar()
    assert diff == []
    assert version == "0009"


async def test_custody_indexes_are_never_reused(store: SqlStore) -> None:
    first = await _account(store)

    async def reserve_then_fail() -> None:
        async with store.transaction() as tx:
            await tx.custody.reserve_index()
            raise RuntimeError("the quote failed after reserving")

    with pytest.raises(RuntimeError):
        await reserve_then_fail()
    second = await _account(store)
    assert second.index > first.index
    async with store.transaction() as tx:
        assert await tx.custody.get(second.account_id) == second


async def test_swaps_round_trip_exactly_and_addresses_are_unique(store: SqlStore) -> None:
    account = await _account(store)
    swap = _swap(account.index, account.account_id, "addr-1")
    async with store.transaction() as tx:
        await tx.swaps.add(swap)
    async with store.transaction() as tx:
        found = await tx.swaps.by_deposit("addr-1", None)
        assert await tx.swaps.by_deposit("addr-1", "memo") is None
        assert await tx.swaps.by_custody_account(account.account_id) == found
        assert await tx.swaps.address_used("addr-1")
        amounts = (await tx._conn.execute(text("select amount_in, amount_out from swaps"))).one()
    assert found is not None
    assert found.quote_response == swap.quote_response
    assert found.created_at == NOW
    assert found.status is SwapStatus.PENDING_DEPOSIT
    assert [int(a) for a in amounts] == [HUGE, 10**30]
    other = await _account(store)
    with pytest.raises(PermanentError, match="already used"):
        async with store.transaction() as tx:
            await tx.swaps.add(_swap(other.index, other.account_id, "addr-1"))


async def test_memo_addresses_share_an_address(store: SqlStore) -> None:
    for memo in ("1", "2"):
        account = await _account(store)
        async with store.transaction() as tx:
            await tx.swaps.add(_swap(account.index, account.account_id, "pool", memo))
    async with store.transaction() as tx:
        one, two = await tx.swaps.by_deposit("pool", "1"), await tx.swaps.by_deposit("pool", "2")
    assert one is not None
    assert two is not None
    assert one.id != two.id
    assert one.deposit_memo == "1"


async def _move(tx: SqlSession, swap_id: str, status: SwapStatus, now: datetime) -> None:
    swap = await tx.swaps.load(swap_id)
    assert swap is not None
    swap.move_to(status)
    await tx.swaps.save(swap, now)


async def test_deposits_status_versions_and_intents(store: SqlStore) -> None:
    account = await _account(store)
    swap = _swap(account.index, account.account_id, "addr")
    async with store.transaction() as tx:
        await tx.swaps.add(swap)
        assert await tx.swaps.record_deposit_tx(DepositTx(swap.id, "tx1", None, None, NOW))
        assert not await tx.swaps.record_deposit_tx(DepositTx(swap.id, "tx1", None, None, NOW))
        assert await tx.swaps.deposit_txs(swap.id) == ["tx1"]
        stale = await tx.swaps.load(swap.id)
        current = await tx.swaps.load(swap.id)
        assert stale is not None
        assert current is not None
        current.move_to(SwapStatus.KNOWN_DEPOSIT_TX)
        await tx.swaps.save(current, NOW)
        stale.move_to(SwapStatus.PROCESSING)
        with pytest.raises(Conflict, match="version"):
            await tx.swaps.save(stale, NOW)
    async with store.transaction() as tx:
        record = await tx.swaps.by_deposit("addr", None)
        assert record is not None
        assert record.status is SwapStatus.KNOWN_DEPOSIT_TX
        assert record.version == 1
        intent = IntentRecord("h" * 44, swap.id, IntentKind.USER_TRANSFER, "alice.near", "n",
                              "{}", IntentState.SIGNED, NOW, ("q1",))  # fmt: skip
        await tx.intents.add(intent)
        await tx.intents.set_state(intent.intent_hash, IntentState.PUBLISHED)
        stored = await tx.intents.get(intent.intent_hash)
    assert stored is not None
    assert stored.state is IntentState.PUBLISHED
    assert stored.quote_hashes == ("q1",)


async def test_the_swap_repository_saves_each_change_once_with_its_version(
    store: SqlStore,
) -> None:
    from oneclick.domain.engine import Phase

    account = await _account(store)
    swap = _swap(account.index, account.account_id, "addr-aggregate")
    later = NOW + timedelta(seconds=5)
    async with store.transaction() as tx:
        await tx.swaps.add(swap)
    async with store.transaction() as tx:
        stale = await tx.swaps.load(swap.id)  # another writer's view, at version 0
    async with store.transaction() as tx:
        mine = await tx.swaps.load(swap.id)
        assert mine is not None
        mine.move_to(SwapStatus.KNOWN_DEPOSIT_TX)
        mine.enter(Phase.SWAP)
        await tx.swaps.save(mine, later)
        mine.record_deposited(HUGE)
        await tx.swaps.save(mine, later)
    async with store.transaction() as tx:
        stored = await tx.swaps.load(swap.id)
    assert stored is not None
    assert (stored.version, stored.status, stored.phase) == (2, mine.status, Phase.SWAP)
    assert (stored.state.deposited_amount, stored.state.updated_at) == (HUGE, later)
    assert stale is not None
    stale.move_to(SwapStatus.PROCESSING)
    with pytest.raises(Conflict, match="version"):
        async with store.transaction() as tx:
            await tx.swaps.save(stale, later)
    async with store.transaction() as tx:
        after = await tx.swaps.load(swap.id)
        log = await tx.swaps.transitions(swap.id)
    assert after is not None
    assert (after.version, after.status) == (2, SwapStatus.KNOWN_DEPOSIT_TX)  # nothing written
    assert [(t.from_status, t.to_status) for t in log] == [
        (None, SwapStatus.PENDING_DEPOSIT),
        (SwapStatus.PENDING_DEPOSIT, SwapStatus.KNOWN_DEPOSIT_TX),
    ]


async def test_an_operator_reopens_a_swap_only_while_no_worker_holds_it(store: SqlStore) -> None:
    from oneclick.domain.engine import Phase
    from oneclick.store.claims import SqlClaims

    account = await _account(store)
    swap = _swap(account.index, account.account_id, "addr-reopen")
    async with store.transaction() as tx:
        await tx.swaps.add(swap)
        await _move(tx, swap.id, SwapStatus.FAILED, NOW)
    claims = SqlClaims(store.db)
    [claim] = await claims.claim("worker", NOW, 60, 1)
    async with store.transaction() as tx:
        leased = await tx.swaps.load(swap.id)
        assert leased is not None
        leased.move_to(SwapStatus.PENDING_DEPOSIT, operator=True, reason="operator")
        assert not await tx.swaps.reopen(leased, NOW)  # a worker holds it: nothing changed
    await claims.release(claim, "worker", next_run_at=None, attempts=3, last_error="boom")
    later = NOW + timedelta(seconds=5)
    async with store.transaction() as tx:
        stale = await tx.swaps.load(swap.id)
        parked = await tx.swaps.load(swap.id)
        assert stale is not None
        assert parked is not None
        parked.move_to(SwapStatus.PENDING_DEPOSIT, operator=True, reason="operator")
        parked.enter(Phase.DEPOSIT)
        assert await tx.swaps.reopen(parked, later)
        stale.move_to(SwapStatus.PROCESSING, operator=True)
        assert not await tx.swaps.reopen(stale, later)  # it changed since it was loaded
        row = await tx.swaps.get(swap.id)
        log = await tx.swaps.transitions(swap.id)
    assert row is not None
    assert (row.status, row.version) == (SwapStatus.PENDING_DEPOSIT, 2)
    assert (row.next_run_at, row.attempts, row.last_error) == (later, 0, None)
    assert [(t.to_status, t.reason) for t in log[-2:]] == [
        (SwapStatus.FAILED, "parked: an operator must act"),
        (SwapStatus.PENDING_DEPOSIT, "operator"),
    ]


async def test_partners(store: SqlStore) -> None:
    partner = Partner("p-1", "acme", NOW, NOW + timedelta(days=1))
    async with store.transaction() as tx:
        await tx.partners.add(partner)
        await tx.partners.revoke("p-1", NOW)
        assert (await tx.partners.by_name("acme")) == Partner(
            "p-1", "acme", NOW, partner.expires_at, NOW
        )
        assert [p.name for p in await tx.partners.all()] == ["acme"]
        assert await tx.partners.get("missing") is None


async def test_every_status_change_appends_to_the_transition_log(store: SqlStore) -> None:
    from oneclick.domain.engine import Phase, RefundReason

    account = await _account(store)
    swap = _swap(account.index, account.account_id, "addr-log")
    async with store.transaction() as tx:
        await tx.swaps.add(swap)
        await _move(tx, swap.id, SwapStatus.KNOWN_DEPOSIT_TX, NOW)
    later = NOW + timedelta(seconds=5)
    async with store.transaction() as tx:
        aggregate = await tx.swaps.load(swap.id)
        assert aggregate is not None
        aggregate.enter(Phase.SWAP)
        await tx.swaps.save(aggregate, later)  # no status change: no entry
        aggregate.move_to(SwapStatus.PROCESSING)
        await tx.swaps.save(aggregate, later)
        aggregate.move_to(SwapStatus.PROCESSING)
        await tx.swaps.save(aggregate, later)  # unchanged

    async def rolled_back() -> None:
        async with store.transaction() as tx:
            failing = await tx.swaps.load(swap.id)
            assert failing is not None
            failing.move_to(SwapStatus.FAILED)
            await tx.swaps.save(failing, later)
            raise RuntimeError("the step failed after the update")

    with pytest.raises(RuntimeError):
        await rolled_back()  # the log entry goes with the status change it records
    async with store.transaction() as tx:
        aggregate.refund_because(RefundReason.DEPOSIT_TOO_LOW)
        aggregate.move_to(SwapStatus.REFUNDED)
        await tx.swaps.save(aggregate, later)  # the version the rollback left alone
    async with store.transaction() as tx:
        log = await tx.swaps.transitions(swap.id)
        tail = await tx.swaps.transitions(swap.id, after_seq=2)
    assert [(t.seq, t.from_status, t.to_status) for t in log] == [
        (1, None, SwapStatus.PENDING_DEPOSIT),
        (2, SwapStatus.PENDING_DEPOSIT, SwapStatus.KNOWN_DEPOSIT_TX),
        (3, SwapStatus.KNOWN_DEPOSIT_TX, SwapStatus.PROCESSING),
        (4, SwapStatus.PROCESSING, SwapStatus.REFUNDED),
    ]
    assert [t.at for t in log] == [NOW, NOW, later, later]
    assert log[3].reason == "DEPOSIT_TOO_LOW"
    assert tail == log[2:]
    assert len({t.cursor for t in log}) == 4


async def test_the_webhook_outbox_row_commits_with_its_transition(store: SqlStore) -> None:
    from dataclasses import replace

    from oneclick.domain.webhooks import DeliveryState

    partner = Partner("11111111-1111-1111-1111-111111111111", "acme", NOW, None)
    async with store.transaction() as tx:
        await tx.partners.add(partner)
        await tx.webhooks.set(partner.id, "https://acme.example/hooks", "salt")
    account = await _account(store)
    swap = replace(_swap(account.index, account.account_id, "addr-hook"), partner_id=partner.id)
    plain = await _account(store)
    async with store.transaction() as tx:
        await tx.swaps.add(swap)
        await tx.swaps.add(_swap(plain.index, plain.account_id, "addr-plain"))  # no partner

    async def rolled_back() -> None:
        async with store.transaction() as tx:
            await _move(tx, swap.id, SwapStatus.KNOWN_DEPOSIT_TX, NOW)
            raise RuntimeError("after the status change")

    with pytest.raises(RuntimeError):
        await rolled_back()
    async with store.transaction() as tx:
        found = await tx.webhooks.deliveries(partner.id, 10)
        due = await tx.webhooks.claim_due(NOW, timedelta(seconds=60), 10)
        again = await tx.webhooks.claim_due(NOW, timedelta(seconds=60), 10)  # leased
    assert [(d.event_id, d.state) for d in found] == [(f"evt_{swap.id}_1", DeliveryState.PENDING)]
    assert [(d.event_id, d.url, d.salt) for d in due] == [
        (f"evt_{swap.id}_1", "https://acme.example/hooks", "salt")
    ]
    assert again == []
    later = NOW + timedelta(minutes=5)
    async with store.transaction() as tx:
        await tx.partners.revoke(partner.id, NOW)
        await _move(tx, swap.id, SwapStatus.KNOWN_DEPOSIT_TX, NOW)
        leased_again = await tx.webhooks.claim_due(later, timedelta(seconds=60), 10)
        found = await tx.webhooks.deliveries(partner.id, 10)
    assert len(found) == 1  # a revoked partner's new transitions are not queued
    assert [(d.event_id, d.url) for d in leased_again] == [(f"evt_{swap.id}_1", None)]  # dropped


async def test_the_status_snapshot_is_the_sessions_on_every_backend(store: SqlStore) -> None:
    """``SqlStore.swap_snapshot`` (SQLite: the prepared reader of store/reads.py) answers what
    ``session.swaps.snapshot`` answers: amounts beyond 2**64, memos, non-ASCII text."""
    account = await _account(store)
    async with store.transaction() as tx:
        swap = _swap(account.index, account.account_id, "addr-s", memo="m1")
        plan = '{"input_fees":[{"recipient":"fees.near","bps":10}],"withdraw_fee":"7"}'
        await tx.swaps.add(dataclasses.replace(swap, fees=plan))
        await tx.swaps.record_deposit_tx(DepositTx(swap.id, "tx1", None, "m1", NOW))
    fast = await store.swap_snapshot("addr-s", "m1")
    async with store.transaction() as tx:
        slow = await tx.swaps.snapshot("addr-s", "m1")
    assert fast is not None
    assert fast == slow
    assert (fast.swap.amount_in, fast.swap.quote_response) == (
        HUGE,
        _swap(0, "", "").quote_response,
    )
    assert [d.tx_hash for d in fast.deposits] == ["tx1"]
    assert await store.swap_snapshot("addr-s", None) is None  # the memo is part of the key
