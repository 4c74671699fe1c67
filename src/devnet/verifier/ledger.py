"""The machinery under the :class:`~devnet.verifier.verifier.Verifier`: lifecycle, the store,
atomic transactions with blocks and receipts, committed-state reads, and the delivery of payouts
to external sinks (at least once, surviving restarts).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from devnet.verifier.chain import Block, Chain, Receipt, TxRecord
from devnet.verifier.clock import Clock, SystemClock
from devnet.verifier.errors import VerifierError
from devnet.verifier.near_tokens import DEFAULT_TOKENS, FtConfig, NearLedger
from devnet.verifier.runtime import INTENT_TX_TABLE, Runtime, TxContext
from devnet.verifier.sinks import Payout, PayoutResult, PayoutSink
from devnet.verifier.state import VerifierState
from devnet.verifier.store import Base, Changes, MemoryStore, Overlay, SqliteStore, Store

logger = logging.getLogger(__name__)

DEFAULT_RELAYER = "relayer.devnet.near"
DEFAULT_DAO = "dao.devnet.near"
DB_FILE = "verifier.sqlite3"
# idempotency key -> hash of the transaction committed under it (see LedgerCore.transact)
IDEMPOTENCY_TABLE = "idempotency"
# A new (empty) block is produced for `block` queries once the clock has moved this far.
BLOCK_TIME_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class VerifierConfig:
    """Used when a data directory is created; a re-opened one keeps its stored settings."""

    account_id: str = "intents.near"
    wnear_id: str = "wrap.near"
    fee: int = 0
    fee_collector: str = "fees.intents.near"
    chain_id: str = "devnet"
    tokens: tuple[FtConfig, ...] = field(default=DEFAULT_TOKENS)


class LedgerCore:
    """Open with :meth:`open`; close (or use as a context manager) to release the store."""

    def __init__(self, store: Store, *, clock: Clock, config: VerifierConfig) -> None:
        self._lock = threading.RLock()
        self._store = store
        self.clock = clock
        self._base = Base(store.load())
        self._sinks: list[PayoutSink] = []
        self._delivering: set[str] = set()
        # How many blocks `final` trails the head (NEAR RPC finality "final"; 0: none). The
        # undo records of the commits of the blocks above `final` let views read the state as
        # of the final block. In memory only: after a restart `final` starts at the head.
        self.finality_lag = 0
        self._journal: list[tuple[int, Changes]] = []
        if self._base.get("meta", "verifying_contract") is None:
            self._initialise(config)
        self.account_id = self._meta("verifying_contract")
        self.chain_id = self._meta("chain_id")
        self.near = NearLedger(self._meta("wnear_id"))
        self._runtime = Runtime(self.account_id, self.near, self._sinks)

    @classmethod
    def open(
        cls,
        data_dir: Path | str | None = None,
        *,
        clock: Clock | None = None,
        config: VerifierConfig | None = None,
    ) -> Self:
        """A verifier persisted under ``data_dir`` (created if new), or in memory only."""
        store: Store = MemoryStore() if data_dir is None else SqliteStore(Path(data_dir) / DB_FILE)
        return cls(store, clock=clock or SystemClock(), config=config or VerifierConfig())

    def close(self) -> None:
        with self._lock:
            self._store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- plumbing ---------------------------------------------------------------------------------

    def _meta(self, key: str) -> str:
        value = self._base.get("meta", key)
        assert value is not None
        return value

    def _initialise(self, config: VerifierConfig) -> None:
        db = Overlay(self._base)
        for key, value in (
            ("verifying_contract", config.account_id),
            ("wnear_id", config.wnear_id),
            ("fee", str(config.fee)),
            ("fee_collector", config.fee_collector),
            ("chain_id", config.chain_id),
        ):
            db.put("meta", key, value)
        VerifierState(db, self.clock.now_ns()).init_salt()
        Chain(db).genesis(self.clock.now_ns(), config.chain_id)
        ledger = NearLedger(config.wnear_id)
        for token in config.tokens:
            ledger.add_token(db, token)
            ledger.register(db, token.contract_id, config.account_id)
        self._commit(db)

    def _commit(self, db: Overlay) -> None:
        # Disk first: if the write fails, memory still matches what a restart would load.
        self._store.write(db.changes)
        if self.finality_lag <= 0:
            self._base.apply(db.changes)
            return
        undo = {key: self._base.get(*key) for key in db.changes}
        self._base.apply(db.changes)
        head = int(self._base.get("meta", "head") or 0)
        self._journal.append((head, undo))
        final = head - self.finality_lag
        self._journal = [(h, u) for h, u in self._journal if h > final]

    def _view_db(self) -> Overlay:
        return Overlay(self._base)

    def _state(self) -> VerifierState:
        return VerifierState(self._view_db(), self.clock.now_ns())

    def transact(
        self,
        signer_id: str,
        receiver_id: str,
        method: str,
        args: Any,
        run: Callable[[TxContext], Receipt],
        *,
        deposit: int = 0,
        idempotency_key: str | None = None,
    ) -> TxRecord:
        """Record one transaction: ``run`` makes its receipts and returns the one whose result
        is the transaction's. Commits atomically, then delivers external payouts.

        ``idempotency_key``: the key is stored with the transaction's hash in the same commit;
        called again with it, nothing runs and the first transaction's record is returned
        (failed or not: a failed one changed nothing, and answering the same keeps a retry's
        outcome that of the first call). Raises ValueError if the key was used for a different
        call (signer, receiver, method and arguments must match)."""
        with self._lock:
            if idempotency_key is not None:
                prior = self._keyed_tx(idempotency_key)
                if prior is not None:
                    _check_same_call(prior, idempotency_key, signer_id, receiver_id, method, args)
                    return prior
            now = self.clock.now_ns()
            db = Overlay(self._base)
            chain = Chain(db)
            tx = chain.new_tx(signer_id, receiver_id, method, args, deposit, now)
            ctx = TxContext(db, tx, now)
            result = run(ctx)
            first = tx.receipts[0]
            tx.status = first.status if first.failed else result.status
            chain.put_tx(tx)
            if idempotency_key is not None:
                db.put(IDEMPOTENCY_TABLE, idempotency_key, tx.hash)
            self._commit(db)
        self._deliver(ctx.external_payouts)
        record = self.tx(tx.hash)
        assert record is not None
        return record

    def _call(
        self,
        signer_id: str,
        receiver_id: str,
        method: str,
        args: Any,
        body: Callable[[Overlay, Receipt, TxContext], Any],
        *,
        deposit: int = 0,
    ) -> TxRecord:
        """A transaction of a single function call."""

        def run(ctx: TxContext) -> Receipt:
            return ctx.call(
                signer_id,
                receiver_id,
                method,
                args,
                lambda db, receipt: body(db, receipt, ctx),
                deposit=deposit,
            )

        return self.transact(signer_id, receiver_id, method, args, run, deposit=deposit)

    # --- typed views ------------------------------------------------------------------------------

    def mt_balance_of(self, account_id: str, token_id: str) -> int:
        with self._lock:
            return self._state().balance_of(account_id, token_id)

    def mt_batch_balance_of(self, account_id: str, token_ids: Sequence[str]) -> list[int]:
        with self._lock:
            state = self._state()
            return [state.balance_of(account_id, t) for t in token_ids]

    def current_salt(self) -> str:
        with self._lock:
            return self._state().current_salt

    def is_valid_salt(self, salt: str) -> bool:
        with self._lock:
            return self._state().is_valid_salt(salt)

    def fee(self) -> int:
        with self._lock:
            return self._state().fee

    def fee_collector(self) -> str:
        with self._lock:
            return self._state().fee_collector

    def is_nonce_used(self, account_id: str, nonce_b64: str) -> bool:
        with self._lock:
            return self._state().is_nonce_used(account_id, nonce_b64)

    def public_keys_of(self, account_id: str) -> list[str]:
        with self._lock:
            return self._state().public_keys_of(account_id)

    def has_public_key(self, account_id: str, public_key: str) -> bool:
        with self._lock:
            return self._state().has_public_key(account_id, public_key)

    def ft_balance_of(self, token: str, account_id: str) -> int:
        with self._lock:
            return self.near.ft_balance_of(self._view_db(), token, account_id)

    def native_balance(self, account_id: str) -> int:
        with self._lock:
            return self.near.native_balance(self._view_db(), account_id)

    @contextmanager
    def reading(
        self, *, final: bool = False
    ) -> Iterator[tuple[VerifierState, NearLedger, Overlay]]:
        """A consistent view of the committed state while the block lasts (writes to it are
        dropped); with ``final``, the state as of the final block (``finality_lag`` blocks below
        the head). Other calls wait, so keep the block short."""
        with self._lock:
            db = self._final_db() if final else self._view_db()
            yield VerifierState(db, self.clock.now_ns()), self.near, db

    def _final_db(self) -> Overlay:
        db = self._view_db()
        final = Chain(db).head().height - self.finality_lag
        for height, undo in reversed(self._journal):  # newest first: the oldest value wins
            if height > final:
                db.changes.update(undo)
        return db

    def final_block(self) -> Block:
        """The final block: ``finality_lag`` blocks below the head (never below genesis)."""
        with self._lock:
            head = self.head_block()
            return Chain(self._view_db()).block(max(head.height - self.finality_lag, 0)) or head

    # --- external payouts -------------------------------------------------------------------------

    def register_sink(self, sink: PayoutSink) -> None:
        """Route withdrawals of the tokens ``sink`` accepts to it; pending ones go now."""
        with self._lock:
            self._sinks.append(sink)
        self.deliver_pending_payouts()

    def deliver_pending_payouts(self) -> None:
        with self._lock:
            pending = [key for key, _ in self._base.scan("payout")]
        self._deliver(pending)

    def _deliver(self, payout_ids: list[str]) -> None:
        for payout_id in payout_ids:
            with self._lock:
                raw = self._base.get("payout", payout_id)
                if raw is None or payout_id in self._delivering:
                    continue
                payout = _payout_from_json(raw)
                sink = next((s for s in self._sinks if s.accepts(payout.token)), None)
                if sink is None:
                    continue  # stays pending until a sink for it is registered
                self._delivering.add(payout_id)
            try:
                # Outside the lock: a sink may read the verifier (or take its time).
                result = sink.payout(payout)
            except Exception:
                logger.exception(
                    "payout sink failed; payout stays pending",
                    extra={"action": "payout", "payout_id": payout_id},
                )
                with self._lock:
                    self._delivering.discard(payout_id)
                continue
            with self._lock:
                self._resolve_external(payout, result)
                self._delivering.discard(payout_id)

    def _resolve_external(self, payout: Payout, result: PayoutResult) -> None:
        db = Overlay(self._base)
        chain = Chain(db)
        tx = chain.tx(payout.tx_hash)
        assert tx is not None, "a pending payout always has its transaction"
        ctx = TxContext(db, tx, self.clock.now_ns())
        method = {"ft": "ft_transfer", "nft": "nft_transfer", "mt": "mt_batch_transfer"}[
            payout.kind
        ]
        if payout.msg is not None:
            method += "_call"

        def body(db: Overlay, receipt: Receipt) -> None:
            if not result.ok:
                raise VerifierError(f"{payout.token} failed the {method}")
            receipt.logs.extend(result.logs)

        ctx.call(
            self.account_id,
            payout.token,
            method,
            {"receiver_id": payout.receiver_id},
            body,
            deposit=1,
        )
        self._runtime.resolve(ctx, payout, result)
        chain.put_tx(tx)
        db.put("payout", payout.id, None)
        self._commit(db)

    # --- records ----------------------------------------------------------------------------------

    def tx(self, tx_hash: str) -> TxRecord | None:
        with self._lock:
            return Chain(self._view_db()).tx(tx_hash)

    def _keyed_tx(self, idempotency_key: str) -> TxRecord | None:
        tx_hash = self._base.get(IDEMPOTENCY_TABLE, idempotency_key)
        if tx_hash is None:
            return None
        record = self.tx(tx_hash)
        assert record is not None, "a key is committed with its transaction"
        return record

    def tx_for_idempotency_key(self, idempotency_key: str) -> TxRecord | None:
        """The transaction committed under ``idempotency_key`` (see :meth:`transact`), if any."""
        with self._lock:
            return self._keyed_tx(idempotency_key)

    def tx_for_intent(self, intent_hash: str) -> TxRecord | None:
        """The transaction that executed the signed intent ``intent_hash`` (base58, as in
        ``intents_executed``), or None if none did. Kept for the devnet's relay, which must
        find out after a crash whether a batch it sent went through; NEAR RPC has no such
        query, so this is in-process only."""
        with self._lock:
            tx_hash = self._base.get(INTENT_TX_TABLE, intent_hash)
            return None if tx_hash is None else self.tx(tx_hash)

    def head_block(self) -> Block:
        """The latest block; an empty one is added when the clock moved on, so block time
        follows the ledger clock even without transactions."""
        with self._lock:
            db = self._view_db()
            chain = Chain(db)
            head = chain.head()
            now = self.clock.now_ns()
            if now - head.timestamp_ns >= BLOCK_TIME_NS:
                head = chain.next_block(now)
                self._commit(db)
            return head

    def block(self, height: int) -> Block | None:
        with self._lock:
            return Chain(self._view_db()).block(height)

    def block_by_hash(self, block_hash: str) -> Block | None:
        with self._lock:
            return Chain(self._view_db()).block_by_hash(block_hash)

    def dump(self) -> dict[str, dict[str, str]]:
        """A copy of every committed table (for tests and debugging)."""
        with self._lock:
            return {name: dict(rows) for name, rows in self._base.tables.items()}


def _check_same_call(
    prior: TxRecord, key: str, signer_id: str, receiver_id: str, method: str, args: Any
) -> None:
    def canonical(value: Any) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    if (prior.signer_id, prior.receiver_id, prior.method, canonical(prior.args)) != (
        signer_id,
        receiver_id,
        method,
        canonical(args),
    ):
        raise ValueError(
            f"idempotency key {key!r} was used for a different call (transaction {prior.hash})"
        )


def _payout_from_json(raw: str) -> Payout:
    data = json.loads(raw)
    data["token_ids"] = tuple(data["token_ids"])
    data["amounts"] = tuple(data["amounts"])
    return Payout(**data)
