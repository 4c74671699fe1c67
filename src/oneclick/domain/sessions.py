"""User sessions and the shape of a user's history query (``/v0/auth/*``, ``/v0/account/*``):
the session record, the history filters, and the opaque, stable history cursor."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from oneclick.domain.errors import RequestError
from oneclick.domain.swaps import SwapStatus

WILDCARD = "null"  # the SDK's "any value" in an index-aligned type filter
MAX_HISTORY_LIMIT = 100


@dataclass(frozen=True, slots=True)
class UserSession:
    """One authentication of an Intents account; its tokens are never stored, only the SHA-256
    of the current refresh token's id (``refresh_digest``)."""

    id: str
    account_id: str
    public_key: str
    standard: str
    auth_nonce: str
    refresh_digest: str
    created_at: datetime
    expires_at: datetime  # the refresh token's (and so the session's) absolute end
    refreshes: int = 0
    refreshed_at: datetime | None = None
    revoked_at: datetime | None = None
    revoke_reason: str | None = None


class RevokeReason:
    REFRESH_REUSE = "REFRESH_REUSE"  # a superseded refresh token came back: assume it leaked
    KEY_REMOVED = "KEY_REMOVED"  # the signing key is no longer the account's in the verifier


@dataclass(frozen=True, slots=True, order=True)
class HistoryPosition:
    """Where a swap sits in a user's history: newest first by creation time, then by id (so
    that two swaps created in the same microsecond still have one order)."""

    created_at: datetime
    swap_id: str

    def encode(self) -> str:
        # Microseconds, exactly as stored (the wire's timestamps keep milliseconds only).
        at = self.created_at.astimezone(UTC).isoformat()
        text = json.dumps([at, self.swap_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str, *, what: str) -> HistoryPosition:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            at, swap_id = json.loads(raw)
            if not isinstance(at, str) or not isinstance(swap_id, str) or len(swap_id) > 36:
                raise ValueError("not a position")
            moment = datetime.fromisoformat(at)
            if moment.tzinfo is None:
                raise ValueError("no time zone")
            return cls(moment.astimezone(UTC), swap_id)
        except (ValueError, TypeError, binascii.Error) as exc:
            raise RequestError(f"{what} is not a cursor this service issued") from exc


@dataclass(frozen=True, slots=True)
class TypeFilter:
    """One index-aligned (depositType, recipientType, refundType) condition; None: any."""

    deposit_type: str | None = None
    recipient_type: str | None = None
    refund_type: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    account_id: str
    limit: int = 20
    older_than: HistoryPosition | None = None  # prevCursor
    newer_than: HistoryPosition | None = None  # nextCursor
    statuses: frozenset[SwapStatus] = frozenset()
    deposit_address: str | None = None
    deposit_memo: str | None = None
    search: str | None = None
    types: tuple[TypeFilter, ...] = field(default_factory=tuple)


def type_filters(
    deposit_types: list[str], recipient_types: list[str], refund_types: list[str]
) -> tuple[TypeFilter, ...]:
    """The SDK's three index-aligned lists as conditions (OR of ANDs); ``"null"`` is a
    wildcard, and a shorter list counts as wildcards at the missing positions."""
    size = max(len(deposit_types), len(recipient_types), len(refund_types))

    def at(values: list[str], index: int) -> str | None:
        value = values[index] if index < len(values) else WILDCARD
        return None if value == WILDCARD else value

    filters = tuple(
        TypeFilter(at(deposit_types, i), at(recipient_types, i), at(refund_types, i))
        for i in range(size)
    )
    if TypeFilter() in filters:  # one all-wildcard condition matches every swap
        return ()
    return filters


# The history's status enum has no KNOWN_DEPOSIT_TX: a deposit seen but not credited is still
# a pending deposit from the user's side (README, "User sessions and account history").
def history_status(status: SwapStatus) -> SwapStatus:
    return SwapStatus.PENDING_DEPOSIT if status is SwapStatus.KNOWN_DEPOSIT_TX else status


def statuses_matching(wire: list[str]) -> frozenset[SwapStatus]:
    chosen = {SwapStatus(value) for value in wire}
    if SwapStatus.PENDING_DEPOSIT in chosen:
        chosen.add(SwapStatus.KNOWN_DEPOSIT_TX)
    return frozenset(chosen)
