"""User sessions (``session.user_sessions``) and a user's swap history (``session.history``)
on SQLAlchemy Core.

"A user's swaps" are those that pay into, refund into, or were funded from the user's Intents
account: ``recipient`` (recipientType INTENTS), ``refundTo`` (refundType INTENTS), or the signer
of the transfer that funded an INTENTS deposit. Swaps between two chain addresses name no
Intents account, so no session can claim them. Each deposit into an ANY_INPUT address is an
item of its own, owned as the address's swap is."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    Select,
    String,
    Subquery,
    and_,
    delete,
    exists,
    false,
    insert,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from oneclick.domain.errors import Unauthorized
from oneclick.domain.records import IntentKind
from oneclick.domain.sessions import (
    HistoryKind,
    HistoryPosition,
    HistoryQuery,
    HistoryRow,
    UserSession,
    deposit_phases_matching,
)
from oneclick.store.tables import (
    any_input_deposits,
    any_input_withdrawals,
    deposits,
    intents,
    swaps,
    user_sessions,
)

_INTENTS = "INTENTS"


def _session(row: Row[Any]) -> UserSession:
    m = row._mapping
    return UserSession(
        id=m["id"],
        account_id=m["account_id"],
        public_key=m["public_key"],
        standard=m["standard"],
        auth_nonce=m["auth_nonce"],
        refresh_digest=m["refresh_digest"],
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        refreshes=m["refreshes"],
        refreshed_at=m["refreshed_at"],
        revoked_at=m["revoked_at"],
        revoke_reason=m["revoke_reason"],
    )


def _funded_by(account_id: str) -> ColumnElement[bool]:
    return exists().where(
        intents.c.swap_id == swaps.c.id,
        intents.c.kind == IntentKind.USER_TRANSFER.value,
        intents.c.signer_id == account_id,
    )


def _owned_by(account_id: str) -> ColumnElement[bool]:
    return or_(
        and_(swaps.c.recipient_type == _INTENTS, swaps.c.recipient == account_id),
        and_(swaps.c.refund_type == _INTENTS, swaps.c.refund_to == account_id),
        _funded_by(account_id),
    )


def _searched(text: str) -> ColumnElement[bool]:
    """Deposit address, recipient, sender (a NEAR sender or a funding signer) or tx hash."""
    return or_(
        swaps.c.deposit_address == text,
        swaps.c.recipient == text,
        exists().where(
            deposits.c.swap_id == swaps.c.id,
            or_(deposits.c.tx_hash == text, deposits.c.near_sender_account == text),
        ),
        exists().where(
            intents.c.swap_id == swaps.c.id,
            or_(
                and_(intents.c.kind == IntentKind.USER_TRANSFER.value, intents.c.signer_id == text),
                intents.c.tx_hash == text,
                intents.c.destination_tx_hash == text,
            ),
        ),
    )


def _searched_deposit(text: str) -> ColumnElement[bool]:
    """An ANY_INPUT deposit: its address, recipient, origin tx hash, or a hash of its swap or of
    the withdrawal that carried it."""
    d = any_input_deposits
    return or_(
        swaps.c.deposit_address == text,
        swaps.c.recipient == text,
        d.c.tx_hash == text,
        d.c.swap_intent == text,
        exists().where(
            intents.c.intent_hash == d.c.swap_intent,
            or_(intents.c.tx_hash == text, intents.c.destination_tx_hash == text),
        ),
        exists().where(
            any_input_withdrawals.c.id == d.c.withdrawal_id,
            or_(
                any_input_withdrawals.c.intent_hash == text,
                any_input_withdrawals.c.tx_hash == text,
            ),
        ),
    )


def _typed(query: HistoryQuery) -> list[ColumnElement[bool]]:
    if not query.types:
        return []
    return [or_(false(), *(
        and_(
            *([swaps.c.deposit_type == f.deposit_type] if f.deposit_type else []),
            *([swaps.c.recipient_type == f.recipient_type] if f.recipient_type else []),
            *([swaps.c.refund_type == f.refund_type] if f.refund_type else []),
        )
        for f in query.types
    ))]  # fmt: skip


def _addressed(query: HistoryQuery) -> list[ColumnElement[bool]]:
    if query.deposit_address is None:
        return []
    conditions = [swaps.c.deposit_address == query.deposit_address]
    if query.deposit_memo is not None:
        conditions.append(swaps.c.deposit_memo == query.deposit_memo)
    return conditions


def _swap_items(query: HistoryQuery) -> Select[Any]:
    """The user's swaps; an ANY_INPUT address only while no deposit has arrived (from then on
    each deposit is its own item)."""
    conditions = [
        _owned_by(query.account_id),
        ~exists().where(any_input_deposits.c.swap_id == swaps.c.id),
        *_addressed(query),
        *_typed(query),
    ]
    if query.statuses:
        conditions.append(swaps.c.status.in_(sorted(s.value for s in query.statuses)))
    if query.search:
        conditions.append(_searched(query.search))
    return select(
        swaps.c.created_at.label("created_at"),
        literal_column(f"'{HistoryKind.SWAP}'", String).label("kind"),
        swaps.c.id.label("item_id"),
        swaps.c.id.label("swap_id"),
        swaps.c.deposit_address.label("deposit_address"),
        swaps.c.deposit_memo.label("deposit_memo"),
    ).where(*conditions)


def _deposit_items(query: HistoryQuery) -> Select[Any]:
    """Every deposit into the user's ANY_INPUT addresses."""
    d = any_input_deposits
    conditions = [_owned_by(query.account_id), *_addressed(query), *_typed(query)]
    if query.statuses:
        phases = deposit_phases_matching(query.statuses)
        conditions.append(d.c.phase.in_(sorted(p.value for p in phases)) if phases else false())
    if query.search:
        conditions.append(_searched_deposit(query.search))
    return (
        select(
            d.c.created_at.label("created_at"),
            literal_column(f"'{HistoryKind.DEPOSIT}'", String).label("kind"),
            d.c.id.label("item_id"),
            d.c.swap_id.label("swap_id"),
            swaps.c.deposit_address.label("deposit_address"),
            swaps.c.deposit_memo.label("deposit_memo"),
        )
        .select_from(d.join(swaps, swaps.c.id == d.c.swap_id))
        .where(*conditions)
    )


def _before(items: Subquery, position: HistoryPosition) -> ColumnElement[bool]:
    at, kind, item_id = items.c.created_at, items.c.kind, items.c.item_id
    return or_(
        at < position.created_at,
        and_(at == position.created_at, kind < position.kind),
        and_(at == position.created_at, kind == position.kind, item_id < position.item_id),
    )


def _after(items: Subquery, position: HistoryPosition) -> ColumnElement[bool]:
    at, kind, item_id = items.c.created_at, items.c.kind, items.c.item_id
    return or_(
        at > position.created_at,
        and_(at == position.created_at, kind > position.kind),
        and_(at == position.created_at, kind == position.kind, item_id > position.item_id),
    )


class SqlUserSessions:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, session: UserSession) -> None:
        """Insert; ``Unauthorized`` when the account already spent this signed nonce."""
        # The transaction ends with the error (nothing else is in it): no savepoint needed.
        try:
            await self._conn.execute(
                insert(user_sessions).values(
                    id=session.id,
                    account_id=session.account_id,
                    public_key=session.public_key,
                    standard=session.standard,
                    auth_nonce=session.auth_nonce,
                    refresh_digest=session.refresh_digest,
                    refreshes=session.refreshes,
                    created_at=session.created_at,
                    expires_at=session.expires_at,
                )
            )
        except IntegrityError as exc:
            raise Unauthorized(
                "Signature verification failed: this signed payload was already used"
            ) from exc

    async def get(self, session_id: str) -> UserSession | None:
        row = (
            await self._conn.execute(select(user_sessions).where(user_sessions.c.id == session_id))
        ).first()
        return _session(row) if row is not None else None

    async def rotate(
        self, session_id: str, expected_digest: str, new_digest: str, now: datetime
    ) -> bool:
        """Swap the refresh digest if it is still ``expected_digest`` and the session is live:
        of two concurrent refreshes with one token, exactly one wins."""
        result = await self._conn.execute(
            update(user_sessions)
            .where(
                user_sessions.c.id == session_id,
                user_sessions.c.refresh_digest == expected_digest,
                user_sessions.c.revoked_at.is_(None),
            )
            .values(
                refresh_digest=new_digest,
                refreshes=user_sessions.c.refreshes + 1,
                refreshed_at=now,
            )
        )
        return bool(result.rowcount == 1)

    async def revoke(self, session_id: str, now: datetime, reason: str) -> None:
        await self._conn.execute(
            update(user_sessions)
            .where(user_sessions.c.id == session_id, user_sessions.c.revoked_at.is_(None))
            .values(revoked_at=now, revoke_reason=reason)
        )

    async def prune(self, expired_before: datetime) -> int:
        result = await self._conn.execute(
            delete(user_sessions).where(user_sessions.c.expires_at < expired_before)
        )
        return int(result.rowcount)


class SqlAccountHistory:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def page(self, query: HistoryQuery) -> list[HistoryRow]:
        """One page of the user's history, newest first: their swaps and every deposit into
        their ANY_INPUT addresses, in one order of (created_at, kind, id). ``newer_than`` pages
        forward from a position (the oldest newer items first, so that polling never skips
        one), otherwise backward from ``older_than`` or from the newest."""
        items = union_all(_swap_items(query), _deposit_items(query)).subquery("items")
        order = (items.c.created_at, items.c.kind, items.c.item_id)
        statement = select(items)
        if query.newer_than is not None:
            statement = statement.where(_after(items, query.newer_than)).order_by(*order)
        else:
            if query.older_than is not None:
                statement = statement.where(_before(items, query.older_than))
            statement = statement.order_by(*(column.desc() for column in order))
        rows = (await self._conn.execute(statement.limit(query.limit))).all()
        page = [
            HistoryRow(
                HistoryPosition(m["created_at"], str(m["kind"]), str(m["item_id"])),
                str(m["swap_id"]), str(m["deposit_address"]), str(m["deposit_memo"] or ""),
            )
            for m in (row._mapping for row in rows)
        ]  # fmt: skip
        return sorted(page, key=lambda row: row.position, reverse=True)
