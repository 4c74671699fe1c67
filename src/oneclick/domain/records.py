"""What the store keeps besides the swap's status: new swaps, custody accounts, deposit
transactions, signed intents and partners. Plain values; the store maps them to tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from oneclick.domain.swaps import SwapStatus


@dataclass(frozen=True, slots=True)
class CustodyAccount:
    """A per-quote account: derivation index and public data only, never the secret."""

    index: int
    account_id: str
    public_key: str


@dataclass(frozen=True, slots=True)
class NewSwap:
    id: str
    custody_index: int
    custody_account_id: str
    deposit_address: str
    deposit_memo: str | None
    status: SwapStatus
    swap_type: str
    deposit_type: str
    recipient_type: str
    refund_type: str
    origin_asset: str
    destination_asset: str
    amount_in: int
    min_amount_in: int
    amount_out: int
    min_amount_out: int
    recipient: str
    refund_to: str
    request_deadline: datetime
    quote_deadline: datetime
    partner_id: str | None
    quote_response: str  # the signed QuoteResponse, verbatim JSON text
    fees: str  # JSON: the fee plan (input fees, withdraw fee, protocol fee) for the engine
    created_at: datetime
    client: str | None = None  # who asked (``oneclick.services.clients``), for per-client caps


@dataclass(frozen=True, slots=True)
class DepositTx:
    swap_id: str
    tx_hash: str
    near_sender_account: str | None
    memo: str | None
    created_at: datetime


class IntentKind(StrEnum):
    USER_TRANSFER = "USER_TRANSFER"  # a user's signed transfer into a custody account
    SWAP = "SWAP"
    WITHDRAW = "WITHDRAW"
    REFUND = "REFUND"
    FEE = "FEE"
    # the reconciliation's refund of a balance the swap does not need (issue 13)
    STRAY_REFUND = "STRAY_REFUND"


class IntentState(StrEnum):
    SIGNED = "SIGNED"  # persisted, not yet (known to be) published
    PUBLISHED = "PUBLISHED"
    FAILED = "FAILED"  # the relay refused it; alive until its deadline passes unused
    SETTLED = "SETTLED"
    DEAD = "DEAD"  # deadline passed and nonce unused: it can never execute


@dataclass(frozen=True, slots=True)
class IntentRecord:
    """A signed intent, written before it is published (ARCHITECTURE.md §4 rule 1)."""

    intent_hash: str
    swap_id: str | None
    kind: IntentKind
    signer_id: str
    nonce: str  # base64
    signed_data: str  # the MultiPayload, JSON text
    state: IntentState
    created_at: datetime
    quote_hashes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Partner:
    id: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None = None
