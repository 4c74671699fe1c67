"""Partner webhooks: configure a partner's endpoint (and derive its signing secret), deliver
the outbox at least once with exponential backoff for 24 h, and list recent attempts.

Delivery never holds a transaction across the network call: a batch is claimed with a lease,
each event is posted, then its outcome is recorded. A worker killed mid-post leaves the lease to
run out and the event is sent again, under the same ``id``: receivers deduplicate by it."""

from __future__ import annotations

import asyncio
import logging
import secrets
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from oneclick.domain.errors import RequestError, TemporaryError
from oneclick.domain.records import Partner
from oneclick.domain.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    DeliveryRecord,
    DeliveryState,
    DueDelivery,
    Outcome,
    PartnerWebhook,
    after_attempt,
    derive_secret,
    signature_header,
)
from oneclick.services.ports import Clock, Partners

logger = logging.getLogger(__name__)

USER_AGENT = "oneclick-webhooks/1"


class Webhooks(Protocol):
    """Partners' webhook settings and the outbox (``session.webhooks``)."""

    async def set(self, partner_id: str, url: str | None, salt: str | None) -> None: ...

    async def get(self, partner_id: str) -> PartnerWebhook: ...

    async def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[DueDelivery]:
        """Due PENDING events not leased by another worker, leased to the caller."""
        ...

    async def settle(
        self, delivery_id: int, outcome: Outcome, *, attempted: bool, now: datetime, result: str
    ) -> None: ...

    async def deliveries(self, partner_id: str, limit: int) -> list[DeliveryRecord]:
        """The partner's latest events, newest first."""
        ...


class WebhookSession(Protocol):
    @property
    def partners(self) -> Partners: ...

    @property
    def webhooks(self) -> Webhooks: ...


class WebhookStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[WebhookSession]: ...


class WebhookSender(Protocol):
    """POSTs one event; returns the HTTP status. Raises ``TemporaryError`` when no answer came
    (connection refused, timeout, TLS failure)."""

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int: ...


def check_webhook_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or len(url) > 2048:
        raise RequestError("a webhook URL is an absolute http(s) URL of at most 2048 characters")
    if parts.username or parts.password:
        raise RequestError("a webhook URL must not carry credentials (the signature is the auth)")
    return url


async def _partner(tx: WebhookSession, name: str) -> Partner:
    partner = await tx.partners.by_name(name)
    if partner is None:
        raise RequestError(f"no partner named {name!r}")
    return partner


async def set_webhook(
    store: WebhookStore, name: str, url: str | None, *, install_key: bytes, rotate: bool = False
) -> str | None:
    """Point ``name``'s webhooks at ``url`` (``None``: stop; pending events are dropped) and
    return the signing secret. The secret survives a URL change unless ``rotate``."""
    if url is not None:
        check_webhook_url(url)
    async with store.transaction() as tx:
        partner = await _partner(tx, name)
        if url is None:
            await tx.webhooks.set(partner.id, None, None)
            return None
        current = await tx.webhooks.get(partner.id)
        salt = current.salt if current.salt and not rotate else secrets.token_hex(16)
        await tx.webhooks.set(partner.id, url, salt)
    return derive_secret(install_key, partner.id, salt)


async def partner_deliveries(
    store: WebhookStore, name: str, limit: int = 20
) -> list[DeliveryRecord]:
    async with store.transaction() as tx:
        partner = await _partner(tx, name)
        return await tx.webhooks.deliveries(partner.id, limit)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    batch: int = 20
    lease: timedelta = timedelta(seconds=60)  # longer than a post may take (timeout below)
    concurrency: int = 8


async def _attempt(
    delivery: DueDelivery, sender: WebhookSender, install_key: bytes, now: datetime
) -> tuple[bool, str]:
    assert delivery.url is not None
    assert delivery.salt is not None
    secret = derive_secret(install_key, delivery.partner_id, delivery.salt)
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: delivery.event_id,
        SIGNATURE_HEADER: signature_header(secret, int(now.timestamp()), body),
    }
    try:
        status = await sender.post(delivery.url, body, headers)
    except TemporaryError as exc:
        return False, f"no answer: {exc.message}"
    return 200 <= status < 300, f"HTTP {status}"


async def deliver_due(
    store: WebhookStore,
    sender: WebhookSender,
    *,
    install_key: bytes,
    clock: Clock,
    policy: DeliveryPolicy | None = None,
) -> int:
    """Claim and attempt one batch of due events; how many were claimed."""
    policy = policy or DeliveryPolicy()
    now = clock.now()
    async with store.transaction() as tx:
        due = await tx.webhooks.claim_due(now, policy.lease, policy.batch)
    semaphore = asyncio.Semaphore(policy.concurrency)

    async def one(delivery: DueDelivery) -> None:
        async with semaphore:
            if delivery.url is None or delivery.salt is None:
                outcome, attempted, result = Outcome(DeliveryState.DROPPED, None), False, "no URL"
            else:
                ok, result = await _attempt(delivery, sender, install_key, clock.now())
                attempted = True
                outcome = after_attempt(
                    ok, attempts=delivery.attempts + 1, created_at=delivery.created_at,
                    now=clock.now(),
                )  # fmt: skip
            async with store.transaction() as tx:
                await tx.webhooks.settle(
                    delivery.id, outcome, attempted=attempted, now=clock.now(), result=result
                )
            if outcome.state is not DeliveryState.DELIVERED:
                logger.warning(
                    "webhook %s: %s (%s)",
                    delivery.event_id,
                    outcome.state.value,
                    result,
                    extra={"action": "webhook", "partner_id": delivery.partner_id},
                )

    async with asyncio.TaskGroup() as group:
        for delivery in due:
            group.create_task(one(delivery))
    return len(due)
