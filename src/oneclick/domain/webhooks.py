"""Partner webhooks, the pure part: the event body, the signing secret, the signature header
and the retry schedule.

The signature is Stripe's scheme: ``X-OneClick-Signature: t=<unix seconds>,v1=<hex
HMAC-SHA256(secret, "<t>.<body>")>``; a receiver recomputes it, compares in constant time and
refuses a ``t`` too far from its clock (replays). The secret is derived, never stored:
``HMAC-SHA256(install key, "oneclick/webhook-secret/v1|<partner id>|<salt>")`` where the install
key is the key file's JWT secret and the salt (random, stored) changes on rotation. A database
dump alone therefore reveals no partner's secret."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from oneclick.domain.timestamps import format_timestamp
from oneclick.domain.transitions import Transition

SIGNATURE_HEADER = "X-OneClick-Signature"
EVENT_ID_HEADER = "X-OneClick-Event-Id"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
EVENT_TYPE = "swap.status_changed"
MAX_AGE = timedelta(hours=24)  # after this, a delivery that never succeeded is EXPIRED
FIRST_RETRY = timedelta(seconds=10)
MAX_RETRY = timedelta(hours=1)


class DeliveryState(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    EXPIRED = "EXPIRED"  # still failing 24 h after the event
    DROPPED = "DROPPED"  # the partner's webhook was removed before it could be delivered


def event_id(transition: Transition) -> str:
    """The idempotency id: one per (swap, transition), the same on every retry."""
    return f"evt_{transition.swap_id}_{transition.seq}"


def event_body(transition: Transition, deposit_address: str, deposit_memo: str | None) -> str:
    """The delivered JSON (fixed when the event is recorded, so every retry sends the same
    bytes). Thin on purpose: ``GET /v0/status`` has the details."""
    document = {
        "id": event_id(transition),
        "type": EVENT_TYPE,
        "createdAt": format_timestamp(transition.at),
        "data": {
            "depositAddress": deposit_address,
            "depositMemo": deposit_memo,
            "seq": transition.seq,
            "previousStatus": transition.from_status.value if transition.from_status else None,
            "status": transition.to_status.value,
            "reason": transition.reason,
        },
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def derive_secret(install_key: bytes, partner_id: str, salt: str) -> str:
    message = f"oneclick/webhook-secret/v1|{partner_id}|{salt}".encode()
    return SECRET_PREFIX + hmac.new(install_key, message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    secret: str, header: str, body: bytes, now: int, tolerance_s: int = 300
) -> bool:
    """What a receiver does (the README's example, and the tests)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = signature_header(secret, timestamp, body).split("v1=", 1)[1]
    fresh = abs(now - timestamp) <= tolerance_s
    return fresh and hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(frozen=True, slots=True)
class Outcome:
    state: DeliveryState
    next_attempt_at: datetime | None


def after_attempt(ok: bool, *, attempts: int, created_at: datetime, now: datetime) -> Outcome:
    """Exponential backoff (10 s, 20 s, 40 s … capped at 1 h) until 24 h after the event."""
    if ok:
        return Outcome(DeliveryState.DELIVERED, None)
    delay = min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 16), MAX_RETRY)
    retry_at = now + delay
    if retry_at > created_at + MAX_AGE:
        return Outcome(DeliveryState.EXPIRED, None)
    return Outcome(DeliveryState.PENDING, retry_at)


@dataclass(frozen=True, slots=True)
class PartnerWebhook:
    partner_id: str
    url: str | None
    salt: str | None


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A claimed outbox row with where it goes (the partner's current URL and secret salt)."""

    id: int
    event_id: str
    partner_id: str
    body: str
    attempts: int
    created_at: datetime
    url: str | None
    salt: str | None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    event_id: str
    state: DeliveryState
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    last_result: str | None
