"""Connected solvers (PROTOCOL.md §3.4): subscriptions, a bounded send queue per connection,
and the hub that fans ``quote`` requests out and routes ``quote_status`` events back.

Nothing here awaits a solver: events are queued without blocking, and a connection whose queue
is full (a slow or stuck solver) is closed rather than allowed to hold anyone up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from devnet.relay.quotes import QuoteCollection
from nearintents.rpc.relay import QuoteRequest

logger = logging.getLogger(__name__)


class Topic(StrEnum):
    QUOTE = "quote"
    QUOTE_STATUS = "quote_status"


@dataclass(frozen=True, slots=True)
class QuoteOwner:
    """Who made a quote: where its ``quote_status`` event goes."""

    quote_hash: str
    signer_id: str
    connection_id: str


def traceparent() -> str:
    """A W3C trace context header value, as the production relay puts in ``metadata``."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


class SolverConnection:
    """One solver WebSocket: what it subscribed to and the messages waiting to be sent."""

    def __init__(self, *, queue_size: int) -> None:
        self.id = uuid.uuid4().hex
        self.outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self.subscriptions: dict[str, Topic] = {}
        # Accounts whose valid quotes came over this connection: where their quote_status goes.
        self.signer_ids: set[str] = set()
        self.closing = asyncio.Event()
        self.close_reason = ""

    def subscribe(self, topic: Topic) -> str:
        subscription_id = str(uuid.uuid4())
        self.subscriptions[subscription_id] = topic
        return subscription_id

    def unsubscribe(self, subscription_id: str) -> bool:
        return self.subscriptions.pop(subscription_id, None) is not None

    def subscribed(self, topic: Topic) -> list[str]:
        return [s for s, t in self.subscriptions.items() if t is topic]

    def send(self, message: dict[str, Any]) -> bool:
        """Queue a message; a full queue closes the connection. Never blocks."""
        if self.closing.is_set():
            return False
        try:
            self.outbox.put_nowait(json.dumps(message, separators=(",", ":")))
        except asyncio.QueueFull:
            self.close("send queue full: the solver is not reading")
            return False
        return True

    def event(self, subscription_id: str, data: dict[str, Any], partner_id: str) -> bool:
        """Send an event in the production relay's envelope (§3.4, the AMM solver's shape)."""
        metadata = {"traceparent": traceparent(), "partner_id": partner_id}
        return self.send(
            {
                "jsonrpc": "2.0",
                "method": "event",
                "params": {"subscription": subscription_id, "data": data, "metadata": metadata},
            }
        )

    def close(self, reason: str) -> None:
        if not self.closing.is_set():
            self.close_reason = reason
            self.closing.set()


class SolverHub:
    """The connected solvers and the ``quote`` calls waiting for their answers."""

    def __init__(self) -> None:
        self.connections: dict[str, SolverConnection] = {}
        self.collections: dict[str, QuoteCollection] = {}

    def register(self, connection: SolverConnection) -> None:
        self.connections[connection.id] = connection

    def unregister(self, connection: SolverConnection) -> None:
        self.connections.pop(connection.id, None)
        for collection in self.collections.values():
            collection.forget(connection.id)

    def subscribers(self, topic: Topic) -> list[SolverConnection]:
        return [c for c in self.connections.values() if c.subscribed(topic)]

    def open_collection(
        self,
        request: QuoteRequest,
        partner_id: str,
        *,
        channel_request: QuoteRequest | None = None,
        fee_pips: int = 0,
    ) -> QuoteCollection:
        """Send ``request`` (the solvers' amounts) to every ``quote`` subscriber and start
        collecting answers to ``channel_request`` (the channel's amounts, at ``fee_pips``)."""
        collection = QuoteCollection(
            quote_id=str(uuid.uuid4()),
            request=request,
            channel_request=channel_request,
            fee_pips=fee_pips,
        )
        data: dict[str, Any] = {
            "quote_id": collection.quote_id,
            "defuse_asset_identifier_in": request.defuse_asset_identifier_in,
            "defuse_asset_identifier_out": request.defuse_asset_identifier_out,
        }
        if request.exact_amount_in is not None:
            data["exact_amount_in"] = str(request.exact_amount_in)
        else:
            data["exact_amount_out"] = str(request.exact_amount_out)
        data["min_deadline_ms"] = request.min_deadline_ms
        self.collections[collection.quote_id] = collection
        for connection in self.subscribers(Topic.QUOTE):
            subscriptions = connection.subscribed(Topic.QUOTE)
            if any([connection.event(s, data, partner_id) for s in subscriptions]):
                collection.asked.add(connection.id)
        collection.check()  # nobody asked: the answer is complete already
        return collection

    def close_collection(self, quote_id: str) -> None:
        self.collections.pop(quote_id, None)

    def quote_status(
        self, quotes: Iterable[QuoteOwner], intent_hash: str, tx_hash: str, partner_id: str
    ) -> None:
        """Tell each winning solver its quote settled: on the connection that made the quote,
        or, if that one is gone, on connections that carried quotes of the same signer."""
        for quote in quotes:
            data = {"quote_hash": quote.quote_hash, "intent_hash": intent_hash, "tx_hash": tx_hash}
            origin = self.connections.get(quote.connection_id)
            targets = (
                [origin]
                if origin is not None
                else [c for c in self.connections.values() if quote.signer_id in c.signer_ids]
            )
            delivered = False
            for connection in targets:
                for subscription_id in connection.subscribed(Topic.QUOTE_STATUS):
                    delivered |= connection.event(subscription_id, data, partner_id)
            if not delivered:
                logger.info(
                    "quote_status for %s not delivered: its solver is not subscribed or gone",
                    quote.quote_hash,
                    extra={"action": "quote_status", "quote_hash": quote.quote_hash},
                )
