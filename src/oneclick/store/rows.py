"""The ``swaps``, ``intents`` and ``deposits`` rows as the engine's domain types (shared by the
swap repository, the claims, the status reader and the reconciliation). The swap repository is
:mod:`oneclick.store.swaps`."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Row, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from oneclick.domain.engine import (
    DepositRecord,
    FeePlan,
    Leg,
    Phase,
    RefundReason,
    SwapState,
)
from oneclick.domain.quotes import SwapType
from oneclick.domain.records import IntentKind, IntentRecord, IntentState
from oneclick.domain.swaps import SwapStatus
from oneclick.store.tables import deposits, intents


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


def swap_state(row: Row[Any]) -> SwapState:
    m = row._mapping
    reason = m["refund_reason"]
    return SwapState(
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


def signed_intent_fields(row: Row[Any]) -> dict[str, Any]:
    """What every signed intent's row holds (the reverse of :func:`signed_intent_row`): a
    user's submitted intent is these; an engine leg adds its own columns."""
    m = row._mapping
    return {
        "intent_hash": m["intent_hash"],
        "swap_id": m["swap_id"],
        "kind": IntentKind(m["kind"]),
        "signer_id": m["signer_id"],
        "nonce": m["nonce"],
        "signed_data": m["signed_data"],
        "state": IntentState(m["state"]),
        "created_at": m["created_at"],
        "quote_hashes": tuple(json.loads(m["quote_hashes"])),
    }


def _leg(row: Row[Any]) -> Leg:
    m = row._mapping
    return Leg(
        **signed_intent_fields(row),
        deadline=m["deadline"],
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
