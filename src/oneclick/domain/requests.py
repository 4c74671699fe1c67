"""The quote request as the domain sees it: the wire enums and :func:`validate_quote_request`,
which turns what a caller sent into a :class:`QuoteSpec` or a clear ``RequestError``
(PROTOCOL.md §5.2, §5.7, §5.8)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from oneclick.domain.addresses import (
    MEMO_CHAINS,
    is_evm_address,
    require_chain_address,
    require_intents_account,
)
from oneclick.domain.amounts import parse_amount
from oneclick.domain.assets import Asset, AssetRegistry
from oneclick.domain.errors import ErrorCode, RequestError
from oneclick.domain.quotes import MAX_APP_FEE_BPS, MAX_SLIPPAGE_BPS, InputFee, SwapType
from oneclick.domain.timestamps import parse_timestamp

E = TypeVar("E", bound=StrEnum)

MAX_QUOTE_WAITING_MS = 30_000
MAX_REFERRAL_LEN = 64
MAX_APP_FEES = 10
MAX_CUSTOM_MSG_LEN = 4096


class DepositType(StrEnum):
    ORIGIN_CHAIN = "ORIGIN_CHAIN"
    INTENTS = "INTENTS"
    CONFIDENTIAL_INTENTS = "CONFIDENTIAL_INTENTS"


class RefundType(StrEnum):
    ORIGIN_CHAIN = "ORIGIN_CHAIN"
    INTENTS = "INTENTS"
    CONFIDENTIAL_INTENTS = "CONFIDENTIAL_INTENTS"


class RecipientType(StrEnum):
    DESTINATION_CHAIN = "DESTINATION_CHAIN"
    INTENTS = "INTENTS"
    CONFIDENTIAL_INTENTS = "CONFIDENTIAL_INTENTS"


class DepositMode(StrEnum):
    SIMPLE = "SIMPLE"
    MEMO = "MEMO"


@dataclass(frozen=True, slots=True)
class QuoteInput:
    """What the caller sent, with JSON types already checked at the edge (the API)."""

    dry: bool
    swap_type: str
    slippage_tolerance: int
    origin_asset: str
    deposit_type: str
    destination_asset: str
    amount: str
    refund_to: str
    refund_type: str
    recipient: str
    recipient_type: str
    deadline: str
    deposit_mode: str | None = None
    app_fees: tuple[tuple[str, int], ...] = ()
    referral: str | None = None
    quote_waiting_time_ms: int | None = None
    virtual_chain_recipient: str | None = None
    virtual_chain_refund_recipient: str | None = None
    custom_recipient_msg: str | None = None


@dataclass(frozen=True, slots=True)
class QuoteSpec:
    """A valid quote request."""

    dry: bool
    swap_type: SwapType
    slippage_bps: int
    origin: Asset
    destination: Asset
    amount: int
    deposit_type: DepositType
    deposit_mode: DepositMode
    refund_to: str
    refund_type: RefundType
    recipient: str
    recipient_type: RecipientType
    deadline: datetime
    quote_waiting_ms: int
    app_fees: tuple[InputFee, ...] = field(default=())
    referral: str | None = None
    custom_recipient_msg: str | None = None  # ft_transfer_call's msg for a payout to NEAR


def _enum(kind: type[E], value: str, what: str) -> E:
    try:
        return kind(value)
    except ValueError as exc:
        allowed = ", ".join(member.value for member in kind)
        raise RequestError(f"{what} must be one of {allowed}") from exc


def _not_confidential(value: StrEnum, what: str) -> None:
    if value.value == "CONFIDENTIAL_INTENTS":
        raise RequestError(f"{what} CONFIDENTIAL_INTENTS is not supported by this service")


def _app_fees(raw: tuple[tuple[str, int], ...]) -> tuple[InputFee, ...]:
    if len(raw) > MAX_APP_FEES:
        raise RequestError(f"at most {MAX_APP_FEES} appFees are allowed")
    fees = []
    for recipient, bps in raw:
        if isinstance(bps, bool) or not isinstance(bps, int) or not 0 <= bps <= MAX_APP_FEE_BPS:
            raise RequestError(f"appFees fee must be an integer between 0 and {MAX_APP_FEE_BPS}")
        require_intents_account(recipient, what="appFees recipient")
        fees.append(InputFee(recipient, bps))
    return tuple(fees)


def _referral(referral: str | None) -> str | None:
    if not referral:
        return None
    if referral != referral.lower() or len(referral) > MAX_REFERRAL_LEN:
        raise RequestError(f"referral must be lowercase, at most {MAX_REFERRAL_LEN} characters")
    return referral


def parse_slippage(value: object) -> int:
    """``slippageTolerance``: an integer number of basis points within bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError("slippageTolerance must be an integer number of basis points")
    if not 0 <= value <= MAX_SLIPPAGE_BPS:
        raise RequestError(f"slippageTolerance must be between 0 and {MAX_SLIPPAGE_BPS} bps")
    return value


def parse_quote_deadline(
    value: str, now: datetime, min_deadline: timedelta, max_deadline: timedelta | None
) -> datetime:
    """A quote's ``deadline``, at least ``min_deadline`` ahead and (a live quote's deposit
    account is watched until its deadline: bound that work) at most ``max_deadline``."""
    deadline = parse_timestamp(value, what="deadline")
    if deadline < now + min_deadline:
        raise RequestError(
            f"deadline must be at least {int(min_deadline.total_seconds())} seconds in the future"
        )
    if max_deadline is not None and deadline > now + max_deadline:
        raise RequestError(
            f"deadline must be at most {int(max_deadline.total_seconds())} seconds in the future"
        )
    return deadline


def validate_quote_request(
    raw: QuoteInput,
    registry: AssetRegistry,
    *,
    now: datetime,
    min_deadline: timedelta,
    max_deadline: timedelta | None = None,
) -> QuoteSpec:
    """Check every rule of a quote request; the first broken one raises ``RequestError``."""
    swap_type = _enum(SwapType, raw.swap_type, "swapType")
    if swap_type is SwapType.ANY_INPUT:
        raise RequestError("swapType ANY_INPUT is not supported by this service")
    deposit_type = _enum(DepositType, raw.deposit_type, "depositType")
    refund_type = _enum(RefundType, raw.refund_type, "refundType")
    recipient_type = _enum(RecipientType, raw.recipient_type, "recipientType")
    for value, what in (
        (deposit_type, "depositType"),
        (refund_type, "refundType"),
        (recipient_type, "recipientType"),
    ):
        _not_confidential(value, what)
    deposit_mode = _enum(DepositMode, raw.deposit_mode or DepositMode.SIMPLE, "depositMode")

    origin = registry.resolve(raw.origin_asset, what="originAsset")
    destination = registry.resolve(raw.destination_asset, what="destinationAsset")
    # A same-asset quote moves the asset without a swap (a chain deposit delivered inside
    # Intents, or back out): only an input-exact type makes sense without a market.
    if origin.asset_id == destination.asset_id and swap_type is SwapType.EXACT_OUTPUT:
        raise RequestError(
            "a quote with destinationAsset equal to originAsset must be EXACT_INPUT or FLEX_INPUT"
        )
    amount = parse_amount(raw.amount)

    slippage = parse_slippage(raw.slippage_tolerance)
    deadline = parse_quote_deadline(raw.deadline, now, min_deadline, max_deadline)

    if recipient_type is RecipientType.INTENTS:
        require_intents_account(raw.recipient, what="recipient")
    else:
        require_chain_address(destination.blockchain, raw.recipient, what="recipient")
    if refund_type is RefundType.INTENTS:
        require_intents_account(raw.refund_to, what="refundTo")
    else:
        require_chain_address(origin.blockchain, raw.refund_to, what="refundTo")

    if deposit_mode is DepositMode.MEMO and (
        deposit_type is not DepositType.ORIGIN_CHAIN or origin.blockchain not in MEMO_CHAINS
    ):
        raise RequestError(
            "depositMode MEMO is only available for ORIGIN_CHAIN deposits on memo chains "
            f"({', '.join(sorted(MEMO_CHAINS))})"
        )
    for address, what in (
        (raw.virtual_chain_recipient, "virtualChainRecipient"),
        (raw.virtual_chain_refund_recipient, "virtualChainRefundRecipient"),
    ):
        if address and not is_evm_address(address):
            raise RequestError(f"{what} must be an EVM address")
    if raw.custom_recipient_msg and len(raw.custom_recipient_msg) > MAX_CUSTOM_MSG_LEN:
        raise RequestError(f"customRecipientMsg is longer than {MAX_CUSTOM_MSG_LEN} characters")

    waiting = raw.quote_waiting_time_ms or 0
    if isinstance(waiting, bool) or not isinstance(waiting, int):
        raise RequestError("quoteWaitingTimeMs must be an integer")
    if not 0 <= waiting <= MAX_QUOTE_WAITING_MS:
        raise RequestError(f"quoteWaitingTimeMs must be between 0 and {MAX_QUOTE_WAITING_MS}")

    if (
        deposit_type is DepositType.ORIGIN_CHAIN
        and swap_type is not SwapType.EXACT_OUTPUT
        and amount < origin.min_deposit_amount
    ):
        raise RequestError(
            f"amount is below the minimum deposit of {origin.min_deposit_amount}",
            code=ErrorCode.AMOUNT_TOO_LOW,
            params={"minAmountIn": str(origin.min_deposit_amount)},
        )

    return QuoteSpec(
        dry=raw.dry,
        swap_type=swap_type,
        slippage_bps=slippage,
        origin=origin,
        destination=destination,
        amount=amount,
        deposit_type=deposit_type,
        deposit_mode=deposit_mode,
        refund_to=raw.refund_to,
        refund_type=refund_type,
        recipient=raw.recipient,
        recipient_type=recipient_type,
        deadline=deadline,
        quote_waiting_ms=waiting,
        app_fees=_app_fees(raw.app_fees),
        referral=_referral(raw.referral),
        custom_recipient_msg=raw.custom_recipient_msg,
    )
