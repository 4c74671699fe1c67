"""``GET /v0/status``'s read on a SQLite file: one thread hop and two prepared statements.

Through SQLAlchemy on aiosqlite the read cost two things that dwarfed the query itself
(bench/, issue 15): a dozen thread hops (aiosqlite runs every DB-API call - cursor, execute,
fetch, close, commit, the pool's reset - on its connection's thread and hands each answer back
through the event loop), and Core's per-execution work (building the statement, its cache key,
the execution context and the result metadata), ~50x what SQLite spends on the two indexed
lookups on this machine. Here the statements are compiled ONCE from the same SQLAlchemy
definitions (so the SQL and the column types stay the schema's), and executed on a connection
of our own, on one thread of our own, inside one read transaction: one hop there and back.

The answer is the one ``SqlSession.swap_snapshot`` gives; a test runs both on the same rows.
WAL mode (``store.database``) lets these reads run beside the writers without blocking either.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Row, bindparam, select
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.sql import Select

from oneclick.domain.engine import DepositRecord
from oneclick.services.ports import SwapSnapshot
from oneclick.store.engine import _ENGINE_KINDS, _leg, engine_swap
from oneclick.store.tables import deposits, intents, swaps

Listener = Callable[[str, tuple[Any, ...]], None]

# ``DepositRecord``'s fields in order, labelled apart from the ``swaps`` columns they join
# (the same statement as ``SqlSession.swap_snapshot``).
_DEPOSIT_FIELDS = (
    deposits.c.tx_hash, deposits.c.source, deposits.c.chain, deposits.c.amount,
    deposits.c.status, deposits.c.created_at,
)  # fmt: skip
_DEPOSIT_LABELS = [column.label(f"deposit_{column.name}") for column in _DEPOSIT_FIELDS]


class _Mapped:
    """What ``engine_swap`` and ``_leg`` read of a ``Row``: its ``_mapping``."""

    __slots__ = ("_mapping",)

    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping


@dataclass(frozen=True)
class Prepared:
    """A SQLAlchemy ``select`` compiled once for SQLite: its SQL, the order of its named
    parameters, and per result column its name and the type's result processor."""

    sql: str
    parameters: tuple[str, ...]
    constants: dict[str, Any]
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]

    @classmethod
    def compile(cls, statement: Select[Any]) -> Prepared:
        dialect = SQLiteDialect_pysqlite()
        compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        order = tuple(compiled.positiontup or ())
        # the statement's own values (the IN list); the named ones come per call
        constants = dict(compiled.construct_params())
        columns = list(statement.selected_columns)
        return cls(
            sql=compiled.string,
            parameters=order,
            constants=constants,
            names=tuple(c.name for c in columns),
            processors=tuple(
                c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
            ),
        )

    def run(
        self, con: sqlite3.Connection, listeners: Sequence[Listener], **values: Any
    ) -> list[_Mapped]:
        params = tuple(
            values[name] if name in values else self.constants[name] for name in self.parameters
        )
        for listener in listeners:
            listener(self.sql, params)
        rows = con.execute(self.sql, params).fetchall()
        pairs = tuple(zip(self.names, self.processors, strict=True))
        return [
            _Mapped({n: p(v) if p else v for (n, p), v in zip(pairs, row, strict=True)})
            for row in rows
        ]


def _statements() -> tuple[Prepared, Prepared]:
    # the parameters' "" values only let the IN list render; every call passes its own
    swap = (
        select(swaps, *_DEPOSIT_LABELS)
        .outerjoin(deposits, deposits.c.swap_id == swaps.c.id)
        .where(
            swaps.c.deposit_address == bindparam("address", ""),
            swaps.c.deposit_memo == bindparam("memo", ""),
        )
        .order_by(deposits.c.id)
    )
    legs = (
        select(intents)
        .where(intents.c.swap_id == bindparam("swap_id", ""), intents.c.kind.in_(_ENGINE_KINDS))
        .order_by(intents.c.created_at, intents.c.intent_hash)
    )
    return Prepared.compile(swap), Prepared.compile(legs)


class SqliteReader:
    """One thread and one read-only ``sqlite3`` connection to ``url``'s file, built on first
    use; :meth:`close` (wired to the async engine's ``dispose``) ends both. ``listeners`` see
    every statement with its parameters (tests count and EXPLAIN them)."""

    def __init__(self, url: URL) -> None:
        assert url.database, "SqlStore builds a reader for a SQLite file only"
        self.path = url.database
        self.listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._con: sqlite3.Connection | None = None  # only ever used on the executor's thread
        self._prepared: tuple[Prepared, Prepared] | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._con is None:
            # isolation_level=None: we BEGIN ourselves, so both statements read one snapshot
            # (Python's sqlite3 would otherwise open no transaction for a SELECT).
            con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA busy_timeout=5000")
            con.execute("PRAGMA query_only=ON")  # this connection only ever reads
            self._con = con
        return self._con

    def _snapshot(self, address: str, memo: str) -> SwapSnapshot | None:
        if self._prepared is None:
            self._prepared = _statements()
        swap_statement, legs_statement = self._prepared
        con = self._connection()
        con.execute("BEGIN")
        try:
            rows = swap_statement.run(con, self.listeners, address=address, memo=memo)
            if not rows:
                return None
            swap = engine_swap(cast(Row[Any], rows[0]))
            legs = legs_statement.run(con, self.listeners, swap_id=swap.id)
        finally:
            con.execute("COMMIT")
        found = [
            DepositRecord(*(row._mapping[label.name] for label in _DEPOSIT_LABELS))
            for row in rows
            if row._mapping["deposit_tx_hash"] is not None
        ]
        return SwapSnapshot(swap, [_leg(cast(Row[Any], r)) for r in legs], found)

    async def swap_snapshot(self, address: str, memo: str | None) -> SwapSnapshot | None:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="oneclick-sqlite-read")
            executor = self._executor
        return await asyncio.get_running_loop().run_in_executor(
            executor, self._snapshot, address, memo or ""
        )

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)  # no read is running on the connection any more
        if self._con is not None:
            self._con.close()
            self._con = None
