"""Typed views of the 1Click API v0 bodies. Python names are snake_case, the wire's camelCase is
the alias; unknown fields are kept (a newer server may add some) and ``to_wire()`` gives the body
back as it came, which is what a quote signature is verified over (PROTOCOL.md §5.13)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from nearintents.quote_signature import verify_quote_signature


class SwapStatus(StrEnum):
    PENDING_DEPOSIT = "PENDING_DEPOSIT"
    KNOWN_DEPOSIT_TX = "KNOWN_DEPOSIT_TX"
    INCOMPLETE_DEPOSIT = "INCOMPLETE_DEPOSIT"
    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    REFUNDED = "REFUNDED"
    FAILED = "FAILED"


TERMINAL_STATUSES: frozenset[str] = frozenset(
    {SwapStatus.SUCCESS, SwapStatus.REFUNDED, SwapStatus.FAILED}
)


class _Wire(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True
    )

    def to_wire(self) -> dict[str, Any]:
        """The body as received (fields that were absent stay absent, unknown ones come back)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    @classmethod
    def from_wire(cls, body: Any) -> Self:
        return cls.model_validate(body)


class Token(_Wire):
    asset_id: str
    decimals: int
    blockchain: str
    symbol: str
    price: Decimal
    price_updated_at: str
    contract_address: str | None = None
    coingecko_id: str | None = None


class AppFee(_Wire):
    recipient: str
    fee: int


def deadline_in(delta: timedelta, *, now: datetime | None = None) -> str:
    """An ISO deadline ``delta`` from now, in the wire's millisecond form."""
    moment = (now or datetime.now(UTC)) + delta
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class QuoteRequest(_Wire):
    """``POST /v0/quote``. The defaults are the common case: a non-dry EXACT_INPUT swap from the
    origin chain to the destination chain, 1 % slippage."""

    origin_asset: str
    destination_asset: str
    amount: str
    recipient: str
    refund_to: str
    deadline: str = Field(default_factory=lambda: deadline_in(timedelta(minutes=30)))
    dry: bool = False
    swap_type: str = "EXACT_INPUT"
    slippage_tolerance: int = 100
    deposit_type: str = "ORIGIN_CHAIN"
    refund_type: str = "ORIGIN_CHAIN"
    recipient_type: str = "DESTINATION_CHAIN"
    deposit_mode: str | None = None
    referral: str | None = None
    quote_waiting_time_ms: int | None = None
    app_fees: list[AppFee] | None = None
    virtual_chain_recipient: str | None = None
    virtual_chain_refund_recipient: str | None = None
    custom_recipient_msg: str | None = None
    connected_wallets: list[str] | None = None
    session_id: str | None = None

    def body(self) -> dict[str, Any]:
        """The JSON body to send: every required field, optional ones only when set."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class QuoteEcho(_Wire):
    """The request as the service echoes it in a quote (a status echo may carry ``null``s)."""

    origin_asset: str
    destination_asset: str
    amount: str
    recipient: str
    refund_to: str
    dry: bool
    swap_type: str
    slippage_tolerance: int | None = None
    deposit_type: str | None = None
    refund_type: str | None = None
    recipient_type: str | None = None
    deadline: str | None = None


class Quote(_Wire):
    amount_in: str
    amount_in_formatted: str
    amount_in_usd: str | None = None
    min_amount_in: str
    amount_out: str
    amount_out_formatted: str
    amount_out_usd: str | None = None
    min_amount_out: str
    time_estimate: int | None = None
    deposit_address: str | None = None
    deposit_memo: str | None = None
    deadline: str | None = None
    time_when_inactive: str | None = None
    refund_fee: str | None = None
    withdraw_fee: str | None = None


class QuoteResponse(_Wire):
    correlation_id: str
    timestamp: str
    signature: str
    quote_request: QuoteEcho
    quote: Quote

    def verify_signature(self, manager_public_key: str) -> bool:
        """The manager's ed25519 signature over this response (PROTOCOL.md §5.13)."""
        return verify_quote_signature(self.to_wire(), manager_public_key)


class TransactionDetails(_Wire):
    hash: str
    explorer_url: str | None = None


class DepositEntry(_Wire):
    """One inbound transfer and what became of it (``swapDetails.deposits``, ``full`` profile)."""

    tx_hash: str
    explorer_url: str | None = None
    asset: str
    amount: str
    status: str  # pending | credited | swapped | refunded | parked
    swapped_amount: str | None = None
    refunded_amount: str | None = None
    refund_tx_hashes: list[TransactionDetails] = Field(default_factory=list)
    reason: str | None = None


class SwapDetails(_Wire):
    intent_hashes: list[str] = Field(default_factory=list)
    near_tx_hashes: list[str] = Field(default_factory=list)
    origin_chain_tx_hashes: list[TransactionDetails] = Field(default_factory=list)
    destination_chain_tx_hashes: list[TransactionDetails] = Field(default_factory=list)
    amount_in: str | None = None
    amount_in_formatted: str | None = None
    amount_out: str | None = None
    amount_out_formatted: str | None = None
    deposited_amount: str | None = None
    deposited_amount_formatted: str | None = None
    refunded_amount: str | None = None
    refunded_amount_formatted: str | None = None
    refund_reason: str | None = None
    slippage: int | None = None
    withdraw_fee: str | None = None
    deposits: list[DepositEntry] = Field(default_factory=list)


class ExecutionStatus(_Wire):
    """``GET /v0/status`` and ``POST /v0/deposit/submit``. ``status`` is a plain string so that a
    status this client does not know yet is still readable; compare it with :class:`SwapStatus`."""

    correlation_id: str
    quote_response: QuoteResponse
    status: str
    updated_at: str
    swap_details: SwapDetails = Field(default_factory=SwapDetails)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def progress_key(self) -> tuple[str, str]:
        """What changes when the swap makes progress (status or any hash/amount)."""
        details = self.swap_details.model_dump_json(by_alias=True, exclude_unset=True)
        return self.status, details


class GeneratedIntent(_Wire):
    standard: str
    payload: Any


class GenerateIntentResponse(_Wire):
    intent: GeneratedIntent
    correlation_id: str | None = None


class SubmitIntentResponse(_Wire):
    intent_hash: str
    correlation_id: str | None = None
