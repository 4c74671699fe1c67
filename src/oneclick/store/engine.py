"""The swap repository (the ``SwapRepository`` port, ``session.swaps``): the swap aggregate
under the lease fence, its legs (signed intents) and deposits; and the swap reads and operator
decisions mixed into ``SqlSession``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Table, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from oneclick.domain.engine import (
    DepositRecord,
    EngineSwap,
    FeePlan,
    Leg,
    Phase,
    RefundReason,
)
from oneclick.domain.errors import Conflict
from oneclick.domain.quotes import SwapType
from oneclick.domain.records import IntentKind, IntentRecord, IntentState
from oneclick.domain.swap_aggregate import Swap, SwapChanges
from oneclick.domain.swaps import TERMINAL, SwapStatus
from oneclick.services.ports import LeaseLost
from oneclick.store.leases import lease_now
from oneclick.store.tables import deposits, intents, swaps
from oneclick.store.transitions import append_transition


def dialect_insert(conn: AsyncConnection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT with the dialect's ``ON CONFLICT`` clauses (PostgreSQL and SQLite share them)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignoring_duplicates(
    conn: AsyncConnection, table: Table, unique: tuple[str, ...]
) -> postgresql.Insert | sqlite.Insert:
    """``INSERT … ON CONFLICT (unique) DO NOTHING``: idempotent under concurrency (add
    ``RETURNING`` to learn whether the row was new)."""
    return dialect_insert(conn, table).on_conflict_do_nothing(
        index_elements=[table.c[name] for name in unique]
    )


def engine_swap(row: Row[Any]) -> EngineSwap:
    m = row._mapping
    reason = m["refund_reason"]
    return EngineSwap(
        id=m["id"],
        status=SwapStatus(m["status"]),
        phase=Phase(m["phase"]),
        custody_index=m["custody_index"],
        custody_account_id=m["custody_account_id"],
        deposit_address=m["deposit_address"],
        deposit_memo=m["deposit_memo"] or None,
        swap_type=SwapType(m["swap_type"]),
        deposit_type=m["deposit_type"],
        recipient_type=m["recipient_type"],
        refund_type=m["refund_type"],
        origin_asset=m["origin_asset"],
        destination_asset=m["destination_asset"],
        amount_in=m["amount_in"],
        min_amount_in=m["min_amount_in"],
        amount_out=m["amount_out"],
        min_amount_out=m["min_amount_out"],
        recipient=m["recipient"],
        refund_to=m["refund_to"],
        request_deadline=m["request_deadline"],
        quote_deadline=m["quote_deadline"],
        fee_plan=FeePlan.from_json(m["fees"]),
        quote_response=m["quote_response"],
        updated_at=m["updated_at"],
        next_run_at=m["next_run_at"],
        attempts=m["attempts"],
        last_error=m["last_error"],
        deposited_amount=m["deposited_amount"],
        refund_reason=RefundReason(reason) if reason else None,
        version=m["version"],
    )


def _amounts(text: str) -> dict[str, int]:
    return {str(k): int(v) for k, v in json.loads(text or "{}").items()}


def _amounts_json(amounts: dict[str, int]) -> str:
    return json.dumps({k: str(v) for k, v in sorted(amounts.items())}, separators=(",", ":"))


def _leg(row: Row[Any]) -> Leg:
    m = row._mapping
    return Leg(
        intent_hash=m["intent_hash"],
        swap_id=m["swap_id"],
        kind=IntentKind(m["kind"]),
        signer_id=m["signer_id"],
        nonce=m["nonce"],
        signed_data=m["signed_data"],
        state=IntentState(m["state"]),
        deadline=m["deadline"],
        created_at=m["created_at"],
        quote_hashes=tuple(json.loads(m["quote_hashes"])),
        debits=_amounts(m["debits"]),
        credits=_amounts(m["credits"]),
        tx_hash=m["tx_hash"],
        destination_tx_hash=m["destination_tx_hash"],
        delivered=m["delivered"],
        reason=m["reason"],
    )


_ENGINE_KINDS = (
    IntentKind.SWAP.value,
    IntentKind.WITHDRAW.value,
    IntentKind.REFUND.value,
    IntentKind.STRAY_REFUND.value,
)


def signed_intent_row(intent: IntentRecord | Leg) -> dict[str, Any]:
    """The ``intents`` columns every signed intent has, whether a user's submitted transfer
    (:class:`IntentRecord`) or one of the engine's legs (:class:`Leg`)."""
    return {
        "intent_hash": intent.intent_hash,
        "swap_id": intent.swap_id,
        "kind": intent.kind.value,
        "signer_id": intent.signer_id,
        "nonce": intent.nonce,
        "signed_data": intent.signed_data,
        "quote_hashes": json.dumps(list(intent.quote_hashes)),
        "state": intent.state.value,
        "created_at": intent.created_at,
        "updated_at": intent.created_at,
    }


async def legs_of(conn: AsyncConnection, swap_ids: list[str]) -> dict[str, list[Leg]]:
    """The engine's legs of each of ``swap_ids``, oldest first (one query for a whole batch)."""
    rows = await conn.execute(
        select(intents)
        .where(intents.c.swap_id.in_(swap_ids), intents.c.kind.in_(_ENGINE_KINDS))
        .order_by(intents.c.created_at, intents.c.intent_hash)
    )
    found: dict[str, list[Leg]] = {}
    for row in rows:
        found.setdefault(row.swap_id, []).append(_leg(row))
    return found


async def deposits_of(conn: AsyncConnection, swap_ids: list[str]) -> dict[str, list[DepositRecord]]:
    """The recorded deposits of each of ``swap_ids``, in order (one query for a whole batch)."""
    rows = await conn.execute(
        select(deposits).where(deposits.c.swap_id.in_(swap_ids)).order_by(deposits.c.id)
    )
    found: dict[str, list[DepositRecord]] = {}
    for r in rows:
        found.setdefault(r.swap_id, []).append(
            DepositRecord(
                r.tx_hash, r.source, r.chain, r.amount, r.status, r.created_at, r.asset, r.reason
            )
        )
    return found


class EngineQueries:
    """Mixed into ``SqlSession``: the swap reads of the API and the operator's views and
    decisions; ``_conn`` is its connection (one transaction). What the engine writes is
    :class:`SqlSwaps` (``session.swaps``)."""

    _conn: AsyncConnection

    async def engine_swap(self, swap_id: str) -> EngineSwap | None:
        row = (await self._conn.execute(select(swaps).where(swaps.c.id == swap_id))).first()
        return engine_swap(row) if row else None

    async def wake(self, swap_id: str, now: datetime) -> None:
        await self._conn.execute(
            update(swaps)
            .where(swaps.c.id == swap_id, swaps.c.next_run_at.is_not(None))
            .values(next_run_at=now, woken_at=now)
        )

    async def deposits(self, swap_id: str) -> list[DepositRecord]:
        return (await deposits_of(self._conn, [swap_id])).get(swap_id, [])

    async def legs(self, swap_id: str) -> list[Leg]:
        return (await legs_of(self._conn, [swap_id])).get(swap_id, [])

    async def attention(self, now: datetime, grace_seconds: float) -> list[EngineSwap]:
        late = now - timedelta(seconds=grace_seconds)
        rows = await self._conn.execute(
            select(swaps)
            .where(
                or_(
                    swaps.c.status == SwapStatus.FAILED.value,
                    and_(
                        # nothing seen at all: an abandoned quote expires silently
                        swaps.c.status.not_in(
                            [s.value for s in TERMINAL] + [SwapStatus.PENDING_DEPOSIT.value]
                        ),
                        swaps.c.request_deadline < late,
                        swaps.c.phase != Phase.DONE.value,
                    ),
                    # a finished swap whose sweep was parked (its status stays terminal)
                    and_(swaps.c.phase == Phase.SWEEP.value, swaps.c.next_run_at.is_(None)),
                )
            )
            .order_by(swaps.c.request_deadline)
        )
        return [engine_swap(r) for r in rows]


def _change_values(changes: SwapChanges) -> dict[str, Any]:
    """The ``swaps`` columns a change set writes (the version bumped once)."""
    values: dict[str, Any] = {"updated_at": changes.at, "version": changes.expected_version + 1}
    if changes.status is not None:
        values["status"] = changes.status.value
    if changes.phase is not None:
        values["phase"] = changes.phase.value
    if changes.deposited_amount is not None:
        values["deposited_amount"] = changes.deposited_amount
    if changes.refund_reason is not None:
        values["refund_reason"] = changes.refund_reason.value
    return values


class SqlSwaps:
    """The ``SwapRepository`` port (``session.swaps``): the swap aggregate, its legs and its
    deposits, in the session's transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def load(self, swap_id: str) -> Swap | None:
        row = (await self._conn.execute(select(swaps).where(swaps.c.id == swap_id))).first()
        return Swap(engine_swap(row)) if row else None

    async def fence(self, swap_id: str, owner: str, now: datetime) -> Swap:
        query = select(swaps).where(
            swaps.c.id == swap_id,
            swaps.c.lease_owner == owner,
            swaps.c.lease_until > lease_now(self._conn.dialect.name, now),
        )
        if self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        if row is None:
            raise LeaseLost(f"lease on swap {swap_id} lost by {owner}")
        return Swap(engine_swap(row))

    async def save(self, swap: Swap, now: datetime) -> None:
        changes = swap.changes(now)
        values = _change_values(changes)
        # The version check is the concurrency control: the row is locked by this UPDATE
        # (PostgreSQL) and a writer that changed it first has moved its version on.
        result = await self._conn.execute(
            update(swaps)
            .where(swaps.c.id == changes.swap_id, swaps.c.version == changes.expected_version)
            .values(**values)
        )
        if result.rowcount != 1:
            raise Conflict(f"swap {changes.swap_id} changed concurrently (version conflict)")
        await self._saved(swap, changes, now)

    async def reopen(self, swap: Swap, now: datetime) -> bool:
        changes = swap.changes(now)
        values = _change_values(changes) | {"next_run_at": now, "attempts": 0, "last_error": None}
        result = await self._conn.execute(
            update(swaps)
            .where(
                swaps.c.id == changes.swap_id,
                swaps.c.version == changes.expected_version,
                or_(
                    swaps.c.lease_until.is_(None),
                    swaps.c.lease_until < lease_now(self._conn.dialect.name, now),
                ),
            )
            .values(**values)
        )
        if result.rowcount != 1:
            return False
        await self._saved(swap, changes, now)
        return True

    async def _saved(self, swap: Swap, changes: SwapChanges, now: datetime) -> None:
        """The change is written: its log entry (and webhook) in the same transaction."""
        if changes.move is not None:
            await append_transition(
                self._conn, changes.swap_id, from_status=changes.move.from_status,
                to_status=changes.move.to_status, at=now, reason=changes.move.reason,
            )  # fmt: skip
        swap.saved(now)

    async def legs(self, swap_id: str) -> list[Leg]:
        return (await legs_of(self._conn, [swap_id])).get(swap_id, [])

    async def add_leg(self, leg: Leg) -> None:
        await self._conn.execute(
            insert(intents).values(
                **signed_intent_row(leg),
                deadline=leg.deadline,
                debits=_amounts_json(leg.debits),
                credits=_amounts_json(leg.credits),
            )
        )

    async def update_leg(
        self,
        intent_hash: str,
        now: datetime,
        *,
        state: IntentState | None = None,
        tx_hash: str | None = None,
        destination_tx_hash: str | None = None,
        delivered: int | None = None,
        reason: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"updated_at": now}
        for name, value in (
            ("state", state.value if state else None),
            ("tx_hash", tx_hash),
            ("destination_tx_hash", destination_tx_hash),
            ("delivered", delivered),
            ("reason", reason),
        ):
            if value is not None:
                values[name] = value
        await self._conn.execute(
            update(intents).where(intents.c.intent_hash == intent_hash).values(**values)
        )

    async def deposits(self, swap_id: str) -> list[DepositRecord]:
        return (await deposits_of(self._conn, [swap_id])).get(swap_id, [])

    async def record_bridge_deposit(self, swap_id: str, deposit: DepositRecord) -> None:
        # One upsert statement: the user's ``/v0/deposit/submit`` may insert the same
        # ``(swap_id, tx_hash)`` at the same moment (a read-then-insert raised IntegrityError).
        statement = dialect_insert(self._conn, deposits).values(
            swap_id=swap_id,
            tx_hash=deposit.tx_hash,
            source=deposit.source,
            chain=deposit.chain,
            amount=deposit.amount,
            status=deposit.status,
            created_at=deposit.created_at,
            asset=deposit.asset,
        )
        await self._conn.execute(
            statement.on_conflict_do_update(
                index_elements=[deposits.c.swap_id, deposits.c.tx_hash],
                set_={
                    "chain": statement.excluded.chain,
                    "amount": statement.excluded.amount,
                    "status": statement.excluded.status,
                    # a sighting that does not name the token keeps the one already known
                    "asset": func.coalesce(statement.excluded.asset, deposits.c.asset),
                },
            )
        )
