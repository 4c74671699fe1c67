"""User sessions and the shape of a user's history query (``/v0/auth/*``, ``/v0/account/*``):
the session record, the history filters, and the opaque, stable history cursor."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from oneclick.domain.any_input import DepositPhase
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


class HistoryKind:
    """What a history item is: a swap, or one deposit into an ANY_INPUT address (each of which
    is its own item; docs/protocol-notes.md "User sessions and account history")."""

    DEPOSIT = "D"
    SWAP = "S"


@dataclass(frozen=True, slots=True, order=True)
class HistoryPosition:
    """Where an item sits in a user's history: newest first by creation time, then by kind and
    id (so that two items created in the same microsecond, such as the deposits one pass of the
    engine records, still have one order)."""

    created_at: datetime
    kind: str
    item_id: str

    def encode(self) -> str:
        # Microseconds, exactly as stored (the wire's timestamps keep milliseconds only).
        at = self.created_at.astimezone(UTC).isoformat()
        text = json.dumps([at, self.kind, self.item_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str, *, what: str) -> HistoryPosition:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            parts = json.loads(raw)
            if isinstance(parts, list) and len(parts) == 2:  # before deposits were items
                parts = [parts[0], HistoryKind.SWAP, parts[1]]
            at, kind, item_id = parts
            if not isinstance(at, str) or not isinstance(item_id, str) or len(item_id) > 36:
                raise ValueError("not a position")
            if kind not in (HistoryKind.DEPOSIT, HistoryKind.SWAP):
                raise ValueError("not a kind")
            moment = datetime.fromisoformat(at)
            if moment.tzinfo is None:
                raise ValueError("no time zone")
            return cls(moment.astimezone(UTC), kind, item_id)
        except (ValueError, TypeError, binascii.Error) as exc:
            raise RequestError(f"{what} is not a cursor this service issued") from exc


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One item of a history page as the store finds it: its position, and the swap it is (or
    whose ANY_INPUT address took the deposit it is)."""

    position: HistoryPosition
    swap_id: str
    deposit_address: str
    deposit_memo: str  # "" without one


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


# One ANY_INPUT deposit as a history item: credited and being swapped, or swapped and waiting in
# the pool for its withdrawal, is PROCESSING (it has not reached the recipient yet); delivered is
# SUCCESS; stranded (never swapped before the address went inactive, left to the operator) is
# FAILED. A deposit is recorded only once credited, so none is ever PENDING_DEPOSIT, and there
# are no refunds on ANY_INPUT, so none is REFUNDED.
DEPOSIT_STATUS: dict[DepositPhase, SwapStatus] = {
    DepositPhase.SWAP: SwapStatus.PROCESSING,
    DepositPhase.POOLED: SwapStatus.PROCESSING,
    DepositPhase.DELIVERED: SwapStatus.SUCCESS,
    DepositPhase.STRANDED: SwapStatus.FAILED,
}


def deposit_phases_matching(statuses: frozenset[SwapStatus]) -> frozenset[DepositPhase]:
    """The deposit phases a status filter selects (none of them when it selects none)."""
    return frozenset(phase for phase, status in DEPOSIT_STATUS.items() if status in statuses)
