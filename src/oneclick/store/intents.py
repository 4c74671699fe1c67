"""The intents a user signed and submitted (``POST /v0/intents``): the ``IntentRepository`` port
(``session.intents``). The engine's own signed intents are legs (``session.swaps``)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from oneclick.domain.records import IntentRecord, IntentState
from oneclick.store.rows import signed_intent_fields, signed_intent_row
from oneclick.store.tables import intents


class SqlIntents:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, intent: IntentRecord) -> None:
        await self._conn.execute(insert(intents).values(**signed_intent_row(intent)))

    async def get(self, intent_hash: str) -> IntentRecord | None:
        row = (
            await self._conn.execute(select(intents).where(intents.c.intent_hash == intent_hash))
        ).first()
        if row is None:
            return None
        return IntentRecord(**signed_intent_fields(row))

    async def set_state(self, intent_hash: str, state: IntentState) -> None:
        await self._conn.execute(
            update(intents)
            .where(intents.c.intent_hash == intent_hash)
            .values(state=state.value, updated_at=datetime.now(UTC))
        )
