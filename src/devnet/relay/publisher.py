"""Publishing (PROTOCOL.md §3.2, §3.3, §3.5): check a user's intents against the quotes they
take, burn the quotes, queue the batch, send it with ``execute_intents``, report its status and
tell the winning solvers (``quote_status``).

A batch is written to the store before it is sent ("write, then send"); on a restart the
unsent ones are sent and the sent ones are settled. A batch the store calls unsent may have been
executed just before a crash: the verifier's intent index (``Verifier.tx_for_intent``) is asked,
on a restart and whenever a send fails with "nonce was already used", and a batch whose payloads
all ran in one transaction is settled with that transaction instead of being reported failed.

The submitter sends one batch at a time, in order, so a batch's simulation is never invalidated
by a batch queued before it except through a shared balance; such a batch fails on chain and
says so in ``get_status``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from devnet.relay.faults import AFTER_EXECUTE, Faults
from devnet.relay.quotes import QuoteBook
from devnet.relay.solvers import QuoteOwner, SolverHub
from devnet.relay.store import BatchState, RelayStore, StoredBatch
from devnet.verifier import Clock, InvariantViolated, TxRecord, Verifier, VerifierError
from nearintents import signing
from nearintents.rpc.relay import IntentStatus

logger = logging.getLogger(__name__)

NONCE_USED = "nonce was already used"  # the contract's text (§2.10), for in-flight duplicates
EXPIRED = "expired"  # the relay's reason for a quote past its expiration_time (§3.2)


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    ok: bool
    intent_hashes: list[str]
    reason: str | None = None

    def wire(self, *, plural: bool) -> dict[str, Any]:
        answer: dict[str, Any] = {"status": "OK" if self.ok else "FAILED"}
        if not self.ok:
            answer["reason"] = self.reason
        if plural:
            answer["intent_hashes"] = self.intent_hashes
        else:
            answer["intent_hash"] = self.intent_hashes[0] if self.intent_hashes else None
        return answer


@dataclass(frozen=True, slots=True)
class QueuedBatch:
    id: int
    signed: list[dict[str, Any]]
    intent_hashes: list[str]  # solver intents (= quote hashes) first, then the published ones
    owners: list[QuoteOwner]
    nonces: frozenset[tuple[str, str]]

    @property
    def published_hash(self) -> str:
        return self.intent_hashes[len(self.owners)]


def _nonce_key(signed: dict[str, Any]) -> tuple[str, str]:
    payload = signing.extract_payload(signed)
    return (str(payload["signer_id"]), str(payload["nonce"]))


class Gate:
    """Open by default; tests and fault injection close it to hold a pipeline stage."""

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()

    def pause(self) -> None:
        self._open.clear()

    def resume(self) -> None:
        self._open.set()

    async def wait(self) -> None:
        await self._open.wait()


class Publisher:
    """Owns the submit and settle loops; :meth:`start` / :meth:`stop` them."""

    def __init__(
        self,
        verifier: Verifier,
        store: RelayStore,
        book: QuoteBook,
        hub: SolverHub,
        *,
        clock: Clock,
        relayer_id: str,
        partner_id: str,
    ) -> None:
        self._verifier = verifier
        self._store = store
        self._book = book
        self._hub = hub
        self._clock = clock
        self._relayer_id = relayer_id
        self._partner_id = partner_id
        self._lock = asyncio.Lock()  # publishes are checked one at a time: quotes are single-use
        self._inflight: set[tuple[str, str]] = set()
        self._to_submit: asyncio.Queue[QueuedBatch] = asyncio.Queue()
        self._to_settle: asyncio.Queue[tuple[QueuedBatch, str]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._sending: asyncio.Future[None] | None = None
        self.submissions = Gate()
        self.settlements = Gate()
        self.faults = Faults()

    # --- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        for stored in self._store.unfinished():
            batch = self._recovered(stored)
            if stored.state is BatchState.PENDING:
                executed = self._executed(batch)
                if executed is not None:  # sent just before a crash: settle, never resend
                    self._sent(batch, executed)
                    continue
                self._inflight |= batch.nonces
                self._to_submit.put_nowait(batch)
            elif stored.tx_hash is not None:
                self._to_settle.put_nowait((batch, stored.tx_hash))
        self._tasks = [
            asyncio.create_task(self._submit_loop(), name="relay-submit"),
            asyncio.create_task(self._settle_loop(), name="relay-settle"),
        ]

    async def stop(self) -> None:
        """Stop both loops; a batch being sent is finished and recorded, never cut off. Raises
        what ended a loop early (e.g. a :class:`SimulatedCrash`), once everything stopped."""
        for task in self._tasks:
            task.cancel()
        outcomes = await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        sending, self._sending = self._sending, None
        if sending is not None:
            outcomes += await asyncio.gather(sending, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(
                outcome, asyncio.CancelledError
            ):
                raise outcome

    def _recovered(self, stored: StoredBatch) -> QueuedBatch:
        count = len(stored.quote_hashes)
        owners = [
            QuoteOwner(h, _nonce_key(s)[0], "")
            for h, s in zip(stored.quote_hashes, stored.signed[:count], strict=True)
        ]
        return QueuedBatch(
            stored.id,
            stored.signed,
            stored.intent_hashes,
            owners,
            frozenset(_nonce_key(s) for s in stored.signed),
        )

    # --- publish ----------------------------------------------------------------------------------

    async def publish(
        self, signed_datas: list[dict[str, Any]], quote_hashes: list[str]
    ) -> PublishOutcome:
        async with self._lock:
            outcome, batch = await self._check(signed_datas, quote_hashes)
            if batch is not None:
                self._inflight |= batch.nonces
                self._to_submit.put_nowait(batch)
        if not outcome.ok:
            logger.info(
                "publish refused: %s",
                outcome.reason,
                extra={"action": "publish", "intent_hashes": outcome.intent_hashes},
            )
        return outcome

    async def _check(
        self, signed_datas: list[dict[str, Any]], quote_hashes: list[str]
    ) -> tuple[PublishOutcome, QueuedBatch | None]:
        try:
            hashes = [signing.intent_hash(s) for s in signed_datas]
        except signing.SignedPayloadError as exc:
            return PublishOutcome(False, [], f"invalid signed_data: {exc}"), None

        def refuse(reason: str) -> tuple[PublishOutcome, None]:
            return PublishOutcome(False, hashes, reason), None

        if len(set(quote_hashes)) != len(quote_hashes):
            return refuse("the same quote hash is given twice")
        now = self._clock.now_ns()
        quotes = []
        for quote_hash in quote_hashes:
            quote = self._book.get(quote_hash)
            if self._store.is_quote_used(quote_hash):
                return refuse(f"quote {quote_hash} was already used")
            if quote is None:
                return refuse(f"quote {quote_hash} not found")
            if quote.expiration_ns < now:
                return refuse(EXPIRED)
            quotes.append(quote)
        batch = [q.signed_data for q in quotes] + signed_datas
        try:
            nonces = frozenset(_nonce_key(s) for s in batch)
        except signing.SignedPayloadError as exc:
            return refuse(f"invalid signed_data: {exc}")
        # A nonce of a batch still waiting to be sent is as good as used (the chain cannot see
        # it yet, so simulate_intents would not say so).
        if nonces & self._inflight:
            return refuse(NONCE_USED)
        try:
            simulation = await asyncio.to_thread(self._verifier.simulate_intents, batch)
        except VerifierError as exc:
            return refuse(exc.message)
        violation = simulation.get("invariant_violated")
        if violation is not None:
            return refuse(InvariantViolated(violation).message)
        all_hashes = quote_hashes + hashes
        batch_id = self._store.add_batch(batch, all_hashes, quote_hashes, now)
        for quote_hash in quote_hashes:
            self._book.discard(quote_hash)
        owners = [QuoteOwner(q.quote_hash, q.signer_id, q.connection_id) for q in quotes]
        queued = QueuedBatch(batch_id, batch, all_hashes, owners, nonces)
        return PublishOutcome(True, hashes), queued

    # --- submit and settle ------------------------------------------------------------------------

    async def _submit_loop(self) -> None:
        while True:
            batch = await self._to_submit.get()
            await self.submissions.wait()
            # Shielded: stopping the relay mid-send must not lose the record of what was sent.
            self._sending = asyncio.ensure_future(self._submit(batch))
            await asyncio.shield(self._sending)
            self._sending = None

    async def _submit(self, batch: QueuedBatch) -> None:
        record = await asyncio.to_thread(
            self._verifier.execute_intents, batch.signed, sender_id=self._relayer_id
        )
        self.faults.check(AFTER_EXECUTE)
        self._inflight -= batch.nonces
        if not record.succeeded and record.panic == NONCE_USED:
            # Already on chain (sent by us before a crash, or by someone else)?
            executed = self._executed(batch)
            if executed is not None:
                logger.info(
                    "batch was executed already; settling it with that transaction",
                    extra={"action": "submit", "tx_hash": executed.hash},
                )
                record = executed
        if record.succeeded:
            self._sent(batch, record)
            return
        self._store.set_state(batch.id, BatchState.FAILED, tx_hash=record.hash, reason=record.panic)
        logger.warning(
            "execute_intents failed on chain: %s",
            record.panic,
            extra={"action": "submit", "tx_hash": record.hash, "intent": batch.published_hash},
        )

    def _sent(self, batch: QueuedBatch, record: TxRecord) -> None:
        self._store.set_state(batch.id, BatchState.TX_BROADCASTED, tx_hash=record.hash)
        self._to_settle.put_nowait((batch, record.hash))

    def _executed(self, batch: QueuedBatch) -> TxRecord | None:
        """The transaction that executed every payload of ``batch``, if one did. Payloads
        executed in different transactions (or only some of them) are not this batch."""
        records = [self._verifier.tx_for_intent(h) for h in batch.intent_hashes]
        found = {r.hash: r for r in records if r is not None}
        if len(found) != 1 or None in records:
            return None
        return next(iter(found.values()))

    async def _settle_loop(self) -> None:
        while True:
            batch, tx_hash = await self._to_settle.get()
            await self.settlements.wait()
            # Devnet transactions are final once included; read the outcome back anyway.
            record = self._verifier.tx(tx_hash)
            if record is None or not record.succeeded:
                reason = record.panic if record else "transaction not found"
                self._store.set_state(batch.id, BatchState.FAILED, reason=reason)
                continue
            self._store.set_state(batch.id, BatchState.SETTLED)
            self._hub.quote_status(batch.owners, batch.published_hash, tx_hash, self._partner_id)

    # --- status -----------------------------------------------------------------------------------

    def status(self, intent_hash: str) -> dict[str, Any]:
        """The ``get_status`` result (§3.3)."""
        stored = self._store.batch_of(intent_hash)
        answer: dict[str, Any] = {"intent_hash": intent_hash}
        if stored is None:
            answer["status"] = IntentStatus.NOT_FOUND_OR_NOT_VALID
        elif stored.state is BatchState.FAILED:
            answer["status"] = IntentStatus.NOT_FOUND_OR_NOT_VALID
            answer["status_details"] = "FAILED"
        else:
            answer["status"] = IntentStatus(stored.state)
        if stored is not None and stored.tx_hash is not None:
            answer["data"] = {"hash": stored.tx_hash}
        return answer
