"""The devnet Solver Relay (solver-relay-v2, PROTOCOL.md §3): quotes collected from connected
solvers, intents published through the in-process Verifier, statuses; no I/O of its own (the
HTTP and WebSocket sides are in :mod:`devnet.relay.app`).

``quote`` wait window ([inferred], open question 1): the relay waits ``wait_ms`` (else
``max_wait_ms``, else 3 s; the smaller of the two when both are given; never more than the
configured cap) and returns early once every solver that was asked has answered, but not before
``min_wait_ms``. Solvers that have nothing to offer stay silent, as the AMM solver does.

Amounts: solvers are asked for and sign their raw amounts; the answer carries the channel's
side, reconciled with the verifier's current protocol fee (:mod:`devnet.relay.fees`), so that a
channel signing ``{in: "-amount_in", out: "amount_out"}`` verbatim settles exactly.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from devnet.relay.faults import Faults
from devnet.relay.fees import NoSolverAmount, solver_request
from devnet.relay.jsonrpc import REJECTED, UNKNOWN_QUOTE, RpcFault
from devnet.relay.publisher import Gate, Publisher, PublishOutcome
from devnet.relay.quotes import QuoteBook, QuoteRejected, check_quote, min_amount
from devnet.relay.solvers import SolverConnection, SolverHub
from devnet.relay.store import RelayStore
from devnet.verifier import DEFAULT_RELAYER, Clock, Verifier
from nearintents.rpc.relay import DEFAULT_QUOTE_WINDOW_MS, QuoteRequest

logger = logging.getLogger(__name__)

_SECOND_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """``api_keys`` empty (the devnet default) means no authentication; otherwise every RPC
    call and solver connection must present one (``Authorization: Bearer`` or ``X-API-Key``)."""

    api_keys: frozenset[str] = frozenset()
    partner_id: str = "1click"  # metadata.partner_id of the events solvers receive
    default_wait_ms: int = DEFAULT_QUOTE_WINDOW_MS
    max_wait_ms: int = 30_000
    relayer_id: str = DEFAULT_RELAYER  # who sends execute_intents
    send_queue_size: int = 256  # messages waiting for one solver before it is dropped
    send_timeout_s: float = 5.0  # one WebSocket send to a solver
    max_message_bytes: int = 1 << 20
    quote_grace_s: int = 600  # expired quotes are remembered this long to answer "expired"


class Relay:
    """``async with Relay(verifier) as relay:`` runs its publish pipeline until exit.

    ``data_dir`` keeps published intents and used quotes across restarts (memory if None); the
    clock defaults to the verifier's, so quote expiry and on-chain deadlines agree.
    """

    def __init__(
        self,
        verifier: Verifier,
        *,
        data_dir: Path | str | None = None,
        config: RelayConfig | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.verifier = verifier
        self.config = config or RelayConfig()
        self.clock = clock or verifier.clock
        self.hub = SolverHub()
        self.book = QuoteBook(self.config.quote_grace_s * _SECOND_NS)
        self.store = RelayStore.open(data_dir)
        self.publisher = Publisher(
            verifier,
            self.store,
            self.book,
            self.hub,
            clock=self.clock,
            relayer_id=self.config.relayer_id,
            partner_id=self.config.partner_id,
        )

    @property
    def submissions(self) -> Gate:
        """Pause to hold published batches before ``execute_intents`` (fault injection)."""
        return self.publisher.submissions

    @property
    def settlements(self) -> Gate:
        """Pause to hold sent batches in ``TX_BROADCASTED``."""
        return self.publisher.settlements

    @property
    def faults(self) -> Faults:
        """Simulated crashes (tests): ``relay.faults.crash_at.add(AFTER_EXECUTE)``."""
        return self.publisher.faults

    async def start(self) -> None:
        await self.publisher.start()

    async def stop(self) -> None:
        for connection in list(self.hub.connections.values()):
            connection.close("relay stopping")
        try:
            await self.publisher.stop()
        finally:
            self.store.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- quote ------------------------------------------------------------------------------------

    def window_s(self, request: QuoteRequest) -> tuple[float, float]:
        """(how long to collect at most, how long to collect at least), in seconds."""
        given = [w for w in (request.wait_ms, request.max_wait_ms) if w is not None]
        wait_ms = min(min(given, default=self.config.default_wait_ms), self.config.max_wait_ms)
        min_wait_ms = min(request.min_wait_ms or 0, wait_ms)
        return wait_ms / 1000, min_wait_ms / 1000

    async def quote(self, request: QuoteRequest) -> list[dict[str, Any]] | None:
        """Fan ``request`` out to the solvers and return the valid offers, best first (§3.1)."""
        fee_pips = self.verifier.fee()
        try:
            asked = solver_request(request, fee_pips)
        except NoSolverAmount as exc:
            logger.info("quote not asked: %s", exc, extra={"action": "quote"})
            return None
        wait_s, min_wait_s = self.window_s(request)
        loop = asyncio.get_running_loop()
        started = loop.time()
        collection = self.hub.open_collection(
            asked, self.config.partner_id, channel_request=request, fee_pips=fee_pips
        )
        try:
            try:
                async with asyncio.timeout(wait_s):
                    await collection.all_answered.wait()
            except TimeoutError:
                pass  # the window closed: answer with what arrived
            rest = started + min_wait_s - loop.time()
            if rest > 0:
                await asyncio.sleep(rest)  # the caller asked to give solvers at least this long
        finally:
            self.hub.close_collection(collection.quote_id)
        return collection.result()

    async def answer_quote(self, connection: SolverConnection, params: Any) -> None:
        """A solver's ``quote_response`` (§3.4); raises :class:`RpcFault` if it is refused."""
        if not isinstance(params, dict):
            raise RpcFault(REJECTED, "quote_response params must be an object")
        quote_id = params.get("quote_id")
        collection = self.hub.collections.get(quote_id) if isinstance(quote_id, str) else None
        if collection is None:
            raise RpcFault(UNKNOWN_QUOTE, f"unknown or closed quote_id {quote_id!r}")
        try:
            collection.begin_answer(connection.id)
            try:
                if params.get("other_quote_hashes"):
                    raise QuoteRejected("other_quote_hashes (multi-hop) is not supported here")
                signed_data = params.get("signed_data")
                floor = min_amount(params.get("quote_output"))
                if signed_data is None and floor is not None:
                    collection.min_amounts.append(floor)
                    return
                quote = await asyncio.to_thread(
                    check_quote,
                    self.verifier,
                    collection.request,
                    params.get("quote_output"),
                    signed_data,
                    connection_id=connection.id,
                    now_ns=self.clock.now_ns(),
                )
                if collection.offer(quote)[1] <= 0:
                    raise QuoteRejected("amount_out is nothing once the protocol fee is taken")
                if quote.quote_hash in self.book or self.store.is_quote_used(quote.quote_hash):
                    raise QuoteRejected(f"quote {quote.quote_hash} was offered before")
                if collection.quote_id not in self.hub.collections:
                    raise QuoteRejected("the quote window closed before the answer was checked")
                self.book.add(quote, self.clock.now_ns())
                collection.quotes.append(quote)
                connection.signer_ids.add(quote.signer_id)
            finally:
                collection.finish_answer(connection.id)
        except QuoteRejected as exc:
            logger.warning(
                "dropped a quote from solver %s for quote %s: %s",
                connection.id,
                quote_id,
                exc,
                extra={"action": "quote_rejected", "quote_id": quote_id, "reason": str(exc)},
            )
            raise RpcFault(REJECTED, f"quote rejected: {exc}") from exc

    # --- publish and status -----------------------------------------------------------------------

    async def publish(
        self, signed_datas: list[dict[str, Any]], quote_hashes: list[str]
    ) -> PublishOutcome:
        return await self.publisher.publish(signed_datas, quote_hashes)

    def status(self, intent_hash: str) -> dict[str, Any]:
        return self.publisher.status(intent_hash)
