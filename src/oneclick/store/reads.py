"""``GET /v0/status``'s read on a SQLite file: two prepared statements, no thread hop.

Through SQLAlchemy on aiosqlite the read cost two things that dwarfed the query itself
(bench/, issue 15): a dozen thread hops (aiosqlite runs every DB-API call - cursor, execute,
fetch, close, commit, the pool's reset - on its connection's thread and hands each answer back
through the event loop), and Core's per-execution work (building the statement, its cache key,
the execution context and the result metadata), many times what SQLite spends on the two
indexed lookups. Here the statements are compiled ONCE from the same SQLAlchemy
definitions (so the SQL and the column types stay the schema's), and executed on a connection
of our own inside one read transaction, on the event loop (see ``SqliteReader`` for why).

The answer is the one ``SqlSwaps.snapshot`` gives; a test runs both on the same rows.
WAL mode (``store.database``) lets these reads run beside the writers without blocking either.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Row, bindparam, select
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.sql import Select

from oneclick.domain.engine import DepositRecord
from oneclick.services.ports import StampedSnapshot, SwapSnapshot
from oneclick.store.rows import _ENGINE_KINDS, _leg, swap_state
from oneclick.store.tables import deposits, intents, swaps

T = TypeVar("T")
Listener = Callable[[str, tuple[Any, ...]], None]
SNAPSHOTS_KEPT = 4096  # deposit addresses whose last snapshot is kept, at most (~12 KiB each)

# ``DepositRecord``'s fields in order, labelled apart from the ``swaps`` columns they join (the
# status read's join, here and in ``SqlSwaps.snapshot``).
SNAPSHOT_DEPOSIT = [
    column.label(f"deposit_{column.name}")
    for column in (
        deposits.c.tx_hash, deposits.c.source, deposits.c.chain, deposits.c.amount,
        deposits.c.status, deposits.c.created_at, deposits.c.asset, deposits.c.reason,
    )
]  # fmt: skip


class _Mapped:
    """What ``swap_state`` and ``_leg`` read of a ``Row``: its ``_mapping``."""

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

    def fetch(
        self, con: sqlite3.Connection, listeners: Sequence[Listener], **values: Any
    ) -> list[tuple[Any, ...]]:
        """The rows as SQLite answers them (see :meth:`mapped`)."""
        params = tuple(
            values[name] if name in values else self.constants[name] for name in self.parameters
        )
        for listener in listeners:
            listener(self.sql, params)
        return con.execute(self.sql, params).fetchall()

    def mapped(self, rows: list[tuple[Any, ...]]) -> list[_Mapped]:
        """``rows`` by column name, each value through its type's result processor."""
        pairs = tuple(zip(self.names, self.processors, strict=True))
        return [
            _Mapped({n: p(v) if p else v for (n, p), v in zip(pairs, row, strict=True)})
            for row in rows
        ]


def _statements() -> tuple[Prepared, Prepared]:
    # the parameters' "" values only let the IN list render; every call passes its own
    swap = (
        select(swaps, *SNAPSHOT_DEPOSIT)
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


class _Converted:
    """The last snapshot built per deposit address, with the rows it was built from: rows equal
    to them give that same snapshot back (it is a function of the rows alone), without the
    result processors, ``swap_state`` and the JSON it parses. ``size`` addresses at most,
    least recently read dropped first. Snapshots are shared: no caller may change one."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()  # the loop and the busy-retry thread both build
        self._entries: OrderedDict[tuple[str, str], tuple[Any, Any, SwapSnapshot]] = OrderedDict()

    def get(
        self,
        address: str,
        memo: str,
        rows: list[tuple[Any, ...]],
        legs: list[tuple[Any, ...]],
        convert: Callable[[list[tuple[Any, ...]], list[tuple[Any, ...]]], SwapSnapshot],
    ) -> SwapSnapshot:
        key = (address, memo)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == rows and entry[1] == legs:
                self._entries.move_to_end(key)
                return entry[2]
        snapshot = convert(rows, legs)
        with self._lock:
            self._entries[key] = (rows, legs, snapshot)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return snapshot


def rows_digest(*rows: object) -> bytes:
    """A digest of rows as ``sqlite3`` answers them (tuples of str, int, float, bytes, None,
    whose ``repr`` is unambiguous), or of a ``SwapSnapshot`` (dataclasses, enums, datetimes,
    lists and dicts of such values): equal digests, equal values (BLAKE2b, 128 bits). Two equal
    values may still differ (a dict's order): that only costs a needless rendering."""
    return hashlib.blake2b(repr(rows).encode("utf-8", "surrogatepass"), digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class RowsStamp:
    """The stamp of a status read on SQLite (``SqliteReader.swap_snapshot_since``): the
    digest of the rows read, and the ``PRAGMA data_version`` of the connection (``connection``:
    which one, a number never reused) taken just BEFORE they were read.

    SQLite changes a connection's ``data_version`` whenever ANOTHER connection commits (to the
    same file, from any process: https://sqlite.org/pragma.html#pragma_data_version), and these
    connections never write (``query_only``). So while it still reads the same value on the
    same connection, nothing has been committed since the rows were read, and they are still
    the rows: no query needed. Taken after them, a commit landing between the read and the
    pragma would go unseen; taken before, such a commit only costs one needless read."""

    digest: bytes
    connection: int
    data_version: int


def _busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class SqliteReader:
    """Read-only ``sqlite3`` connections to ``url``'s file, built on first use: one used on the
    event loop itself, one on a thread of its own for the rare read that must wait for a lock;
    :meth:`close` (wired to ``AsyncEngine.dispose``) ends them. ``listeners`` see every
    statement with its parameters (tests count and EXPLAIN them).

    Why on the loop: the two statements are indexed point reads that take a fraction of what
    one hop to a thread and back costs on a busy 2-core machine (bench: 2.9x the throughput at
    one connection, 1.6x at 16), and in WAL mode a reader never waits for a writer. The loop
    connection has no busy timeout: if SQLite ever answers "busy" (WAL recovery, a checkpoint
    holding an exclusive lock), the read is retried on the thread, whose connection waits up
    to 5 s, so the loop itself never waits on a lock."""

    def __init__(self, url: URL, snapshots_kept: int = SNAPSHOTS_KEPT) -> None:
        assert url.database, "SqlStore builds a reader for a SQLite file only"
        self.path = url.database
        self.listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._loop_con: sqlite3.Connection | None = None  # only used on the event loop
        self._thread_con: sqlite3.Connection | None = None  # only used on the executor's thread
        self._prepared: tuple[Prepared, Prepared] | None = None
        self._converted = _Converted(snapshots_kept)
        self._numbers = itertools.count(1)
        self._connection_number: dict[sqlite3.Connection, int] = {}  # a RowsStamp's connection

    def _connect(self, busy_timeout_ms: int) -> sqlite3.Connection:
        # isolation_level=None: we BEGIN ourselves, so both statements read one snapshot
        # (Python's sqlite3 would otherwise open no transaction for a SELECT).
        con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        con.execute(f"PRAGMA busy_timeout={busy_timeout_ms:d}")
        con.execute("PRAGMA query_only=ON")  # these connections only ever read
        with self._lock:
            self._connection_number[con] = next(self._numbers)
        return con

    def _rows(
        self, con: sqlite3.Connection, address: str, memo: str
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The swap's rows (joined to its deposits) and its legs', in one read transaction."""
        if self._prepared is None:
            self._prepared = _statements()
        swap_statement, legs_statement = self._prepared
        con.execute("BEGIN")
        try:
            rows = swap_statement.fetch(con, self.listeners, address=address, memo=memo)
            legs = []
            if rows:
                swap_id = rows[0][swap_statement.names.index("id")]
                legs = legs_statement.fetch(con, self.listeners, swap_id=swap_id)
        finally:
            if con.in_transaction:
                con.execute("COMMIT")
        return rows, legs

    def _snapshot(self, con: sqlite3.Connection, address: str, memo: str) -> SwapSnapshot | None:
        rows, legs = self._rows(con, address, memo)
        if not rows:
            return None
        return self._converted.get(address, memo, rows, legs, self._convert)

    def _since(
        self, con: sqlite3.Connection, address: str, memo: str, seen: object
    ) -> StampedSnapshot | None:
        number = self._connection_number[con]
        data_version = con.execute("PRAGMA data_version").fetchone()[0]
        if (
            isinstance(seen, RowsStamp)
            and seen.connection == number
            and seen.data_version == data_version
        ):
            return StampedSnapshot(seen, None)  # nothing committed since: the same rows
        rows, legs = self._rows(con, address, memo)
        if not rows:
            return None
        stamp = RowsStamp(rows_digest(rows, legs), number, data_version)
        if isinstance(seen, RowsStamp) and seen.digest == stamp.digest:
            return StampedSnapshot(stamp, None)  # commits, but none to this swap's rows
        return StampedSnapshot(stamp, self._convert(rows, legs))

    def _convert(self, rows: list[tuple[Any, ...]], legs: list[tuple[Any, ...]]) -> SwapSnapshot:
        swap_statement, legs_statement = self._prepared or _statements()
        mapped = swap_statement.mapped(rows)
        found = [
            DepositRecord(*(row._mapping[label.name] for label in SNAPSHOT_DEPOSIT))
            for row in mapped
            if row._mapping["deposit_tx_hash"] is not None
        ]
        swap = swap_state(cast(Row[Any], mapped[0]))
        leg_rows = legs_statement.mapped(legs)
        return SwapSnapshot(swap, [_leg(cast(Row[Any], r)) for r in leg_rows], found)

    def _on_thread(self, address: str, memo: str) -> SwapSnapshot | None:
        if self._thread_con is None:
            self._thread_con = self._connect(busy_timeout_ms=5000)
        return self._snapshot(self._thread_con, address, memo)

    def _since_on_thread(self, address: str, memo: str, seen: object) -> StampedSnapshot | None:
        if self._thread_con is None:
            self._thread_con = self._connect(busy_timeout_ms=5000)
        return self._since(self._thread_con, address, memo, seen)

    async def swap_snapshot(self, address: str, memo: str | None) -> SwapSnapshot | None:
        return await self._read(self._snapshot, self._on_thread, address, memo or "")

    async def swap_snapshot_since(
        self, address: str, memo: str | None, seen: object
    ) -> StampedSnapshot | None:
        """``Store.swap_snapshot_since``: ``seen`` a :class:`RowsStamp` of an earlier read
        (anything else: read). Snapshots built here are not kept (the caller keeps what it
        built from them)."""

        def on_loop(con: sqlite3.Connection, address: str, memo: str) -> StampedSnapshot | None:
            return self._since(con, address, memo, seen)

        def on_thread(address: str, memo: str) -> StampedSnapshot | None:
            return self._since_on_thread(address, memo, seen)

        return await self._read(on_loop, on_thread, address, memo or "")

    async def _read(
        self,
        on_loop: Callable[[sqlite3.Connection, str, str], T],
        on_thread: Callable[[str, str], T],
        address: str,
        memo: str,
    ) -> T:
        """``on_loop`` on the loop's connection; ``on_thread`` if SQLite answers busy."""
        if self._loop_con is None:
            self._loop_con = self._connect(busy_timeout_ms=0)
        try:
            return on_loop(self._loop_con, address, memo)
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="oneclick-sqlite-read")
            executor = self._executor
        return await asyncio.get_running_loop().run_in_executor(executor, on_thread, address, memo)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)  # no read is running on the thread's connection
        for con in (self._loop_con, self._thread_con):
            if con is not None:
                con.close()
        self._loop_con = self._thread_con = None
        with self._lock:
            self._connection_number.clear()
