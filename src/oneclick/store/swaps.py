"""The swap repository (the ``SwapRepository`` port, ``session.swaps``): the swap aggregate
under the lease fence, saved with its version check and transition-log entry; its legs (the
engine's signed intents), its deposits and its transition log; and the API's and the
operator's reads of the swaps (by deposit address, counts, the swaps needing attention)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from oneclick.domain.engine import DepositRecord, Leg, Phase, SwapState
from oneclick.domain.errors import Conflict, PermanentError
from oneclick.domain.records import DepositTx, IntentKind, IntentState, NewSwap
from oneclick.domain.swap_aggregate import Swap, SwapChanges
from oneclick.domain.swaps import TERMINAL, SwapRecord, SwapStatus
from oneclick.domain.transitions import REASON_QUOTED, Transition
from oneclick.services.ports import LeaseLost, SwapSnapshot
from oneclick.store.leases import lease_now
from oneclick.store.reads import SNAPSHOT_DEPOSIT as _SNAPSHOT_DEPOSIT
from oneclick.store.rows import (
    _amounts_json,
    deposits_of,
    dialect_insert,
    insert_ignoring_duplicates,
    legs_of,
    signed_intent_row,
    swap_state,
)
from oneclick.store.tables import deposits, intents, swap_transitions, swaps
from oneclick.store.transitions import append_transition, transition


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


def _swap(row: Row[tuple[object, ...]]) -> SwapRecord:
    m = row._mapping
    return SwapRecord(
        id=m["id"],
        deposit_address=m["deposit_address"],
        deposit_memo=m["deposit_memo"] or None,
        status=SwapStatus(m["status"]),
        quote_response=m["quote_response"],
        origin_asset=m["origin_asset"],
        destination_asset=m["destination_asset"],
        deposit_type=m["deposit_type"],
        custody_account_id=m["custody_account_id"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        version=m["version"],
    )


class SqlSwaps:
    """The ``SwapRepository`` port (``session.swaps``): the swap aggregate, its legs, its
    deposits and its transition log, in the session's transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def load(self, swap_id: str) -> Swap | None:
        row = (await self._conn.execute(select(swaps).where(swaps.c.id == swap_id))).first()
        return Swap(swap_state(row)) if row else None

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
        return Swap(swap_state(row))

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

    async def add(self, swap: NewSwap) -> None:
        values = {
            name: getattr(swap, name)
            for name in NewSwap.__dataclass_fields__
            if name not in ("deposit_memo", "status")
        }
        values.update(
            deposit_memo=swap.deposit_memo or "",
            status=swap.status.value,
            updated_at=swap.created_at,
            next_run_at=swap.created_at,
        )
        try:
            await self._conn.execute(insert(swaps).values(**values))
        except IntegrityError as exc:
            raise PermanentError(
                f"deposit address {swap.deposit_address} is already used by another swap"
            ) from exc
        await append_transition(
            self._conn, swap.id, from_status=None, to_status=swap.status, at=swap.created_at,
            reason=REASON_QUOTED,
        )  # fmt: skip

    async def get(self, swap_id: str) -> SwapState | None:
        row = (await self._conn.execute(select(swaps).where(swaps.c.id == swap_id))).first()
        return swap_state(row) if row else None

    async def by_deposit(self, address: str, memo: str | None) -> SwapRecord | None:
        row = (
            await self._conn.execute(
                select(swaps).where(
                    swaps.c.deposit_address == address, swaps.c.deposit_memo == (memo or "")
                )
            )
        ).first()
        return _swap(row) if row else None

    async def by_custody_account(self, account_id: str) -> SwapRecord | None:
        row = (
            await self._conn.execute(select(swaps).where(swaps.c.custody_account_id == account_id))
        ).first()
        return _swap(row) if row else None

    async def address_used(self, address: str) -> bool:
        query = select(swaps.c.id).where(swaps.c.deposit_address == address).limit(1)
        return (await self._conn.execute(query)).first() is not None

    async def snapshot(self, address: str, memo: str | None) -> SwapSnapshot | None:
        # Two statements, not three: the deposits come joined to the swap row (each statement
        # costs a few thread hops on aiosqlite, which dominated GET /v0/status; see bench/).
        rows = (
            await self._conn.execute(
                select(swaps, *_SNAPSHOT_DEPOSIT)
                .outerjoin(deposits, deposits.c.swap_id == swaps.c.id)
                .where(swaps.c.deposit_address == address, swaps.c.deposit_memo == (memo or ""))
                .order_by(deposits.c.id)
            )
        ).all()
        if not rows:
            return None
        swap = swap_state(rows[0])
        found = [
            DepositRecord(*(row._mapping[c.name] for c in _SNAPSHOT_DEPOSIT))
            for row in rows
            if row._mapping["deposit_tx_hash"] is not None
        ]
        return SwapSnapshot(swap, await self.legs(swap.id), found)

    async def counts(self) -> dict[str, int]:
        """How many swaps are in each status (for the ``oneclick_swaps`` gauge)."""
        result = await self._conn.execute(
            select(swaps.c.status, func.count()).group_by(swaps.c.status)
        )
        return {str(status): int(count) for status, count in result.all()}

    async def live_unfunded(self, client: str, now: datetime) -> int:
        """``client``'s swaps still waiting for a deposit before their request deadline."""
        query = select(func.count()).where(
            swaps.c.client == client,
            swaps.c.status == SwapStatus.PENDING_DEPOSIT.value,
            swaps.c.request_deadline > now,
        )
        return int((await self._conn.execute(query)).scalar_one())

    async def wake(self, swap_id: str, now: datetime) -> None:
        await self._conn.execute(
            update(swaps)
            .where(swaps.c.id == swap_id, swaps.c.next_run_at.is_not(None))
            .values(next_run_at=now, woken_at=now)
        )

    async def attention(self, now: datetime, grace_seconds: float) -> list[SwapState]:
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
        return [swap_state(r) for r in rows]

    async def record_deposit_tx(self, deposit: DepositTx) -> bool:
        # One statement, so that two concurrent submissions of one tx cannot both insert (a
        # read-then-insert raised IntegrityError in the loser: a 500). A row comes back only
        # when it was inserted.
        result = await self._conn.execute(
            insert_ignoring_duplicates(self._conn, deposits, ("swap_id", "tx_hash"))
            .values(
                swap_id=deposit.swap_id,
                tx_hash=deposit.tx_hash,
                source="SUBMITTED",
                near_sender_account=deposit.near_sender_account,
                memo=deposit.memo,
                created_at=deposit.created_at,
            )
            .returning(deposits.c.id)
        )
        return result.first() is not None

    async def deposit_txs(self, swap_id: str) -> list[str]:
        query = select(deposits.c.tx_hash).where(deposits.c.swap_id == swap_id)
        return [str(r[0]) for r in (await self._conn.execute(query.order_by(deposits.c.id)))]

    async def deposit_senders(self, swap_id: str) -> dict[str, str]:
        """Who sent each deposit of a swap, where known: a NEAR sender, or the signer of the
        transfer that funded an INTENTS deposit (by the hash of the transaction it settled in)."""
        senders: dict[str, str] = {}
        for tx_hash, sender in (
            await self._conn.execute(
                select(deposits.c.tx_hash, deposits.c.near_sender_account).where(
                    deposits.c.swap_id == swap_id, deposits.c.near_sender_account.is_not(None)
                )
            )
        ).all():
            senders[str(tx_hash)] = str(sender)
        for tx_hash, signer in (
            await self._conn.execute(
                select(intents.c.tx_hash, intents.c.signer_id).where(
                    intents.c.swap_id == swap_id,
                    intents.c.kind == IntentKind.USER_TRANSFER.value,
                    intents.c.tx_hash.is_not(None),
                )
            )
        ).all():
            senders.setdefault(str(tx_hash), str(signer))
        return senders

    async def transitions(self, swap_id: str, *, after_seq: int = 0) -> list[Transition]:
        """The log (append-only: nothing here updates or deletes it)."""
        rows = await self._conn.execute(
            select(swap_transitions)
            .where(swap_transitions.c.swap_id == swap_id, swap_transitions.c.seq > after_seq)
            .order_by(swap_transitions.c.seq)
        )
        return [transition(r) for r in rows]
