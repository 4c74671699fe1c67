"""The signed quote document (PROTOCOL.md §5.3, §5.13).

Its keys are camelCase here, outside ``api/``, on purpose: this JSON object is a protocol
artefact, not a presentation of our data. Its field names are what the manager signature covers,
and it is persisted verbatim so that ``/v0/status`` returns the very object that was signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from oneclick.domain.amounts import format_units, usd_value
from oneclick.domain.assets import Asset
from oneclick.domain.quotes import QuoteAmounts
from oneclick.domain.requests import DepositMode, QuoteInput
from oneclick.domain.timestamps import format_timestamp

JsonObject = dict[str, object]


def request_echo(raw: QuoteInput) -> JsonObject:
    """The ``quoteRequest`` echo: what the caller sent, defaults filled in."""
    echo: JsonObject = {
        "dry": raw.dry,
        "depositMode": raw.deposit_mode or DepositMode.SIMPLE.value,
        "swapType": raw.swap_type,
        "slippageTolerance": raw.slippage_tolerance,
        "originAsset": raw.origin_asset,
        "depositType": raw.deposit_type,
        "destinationAsset": raw.destination_asset,
        "amount": raw.amount,
        "refundTo": raw.refund_to,
        "refundType": raw.refund_type,
        "recipient": raw.recipient,
        "recipientType": raw.recipient_type,
        "deadline": raw.deadline,
        "quoteWaitingTimeMs": raw.quote_waiting_time_ms or 0,
    }
    optional = {
        "referral": raw.referral,
        "virtualChainRecipient": raw.virtual_chain_recipient,
        "virtualChainRefundRecipient": raw.virtual_chain_refund_recipient,
        "customRecipientMsg": raw.custom_recipient_msg,
    }
    echo.update({key: value for key, value in optional.items() if value is not None})
    if raw.app_fees:
        echo["appFees"] = [{"recipient": r, "fee": bps} for r, bps in raw.app_fees]
    return echo


@dataclass(frozen=True, slots=True)
class Deposit:
    """Where the user pays and until when (non-dry quotes only)."""

    address: str
    memo: str | None
    deadline: datetime
    time_when_inactive: datetime


def quote_body(
    amounts: QuoteAmounts,
    origin: Asset,
    destination: Asset,
    prices: dict[str, Decimal],
    *,
    time_estimate: int,
    deposit: Deposit | None,
    refund_fee: int,
) -> JsonObject:
    """The ``quote`` object. ``prices`` maps asset ids to USD prices (missing: no price)."""
    in_price = prices.get(origin.asset_id)
    out_price = prices.get(destination.asset_id)
    body: JsonObject = {}
    if deposit is not None:
        body["depositAddress"] = deposit.address
        if deposit.memo:
            body["depositMemo"] = deposit.memo
    body.update(
        {
            "amountIn": str(amounts.amount_in),
            "amountInFormatted": format_units(amounts.amount_in, origin.decimals),
            "amountInUsd": usd_value(amounts.amount_in, origin.decimals, in_price),
            "minAmountIn": str(amounts.min_amount_in),
            "amountOut": str(amounts.amount_out),
            "amountOutFormatted": format_units(amounts.amount_out, destination.decimals),
            "amountOutUsd": usd_value(amounts.amount_out, destination.decimals, out_price),
            "minAmountOut": str(amounts.min_amount_out),
            "timeEstimate": time_estimate,
        }
    )
    if deposit is not None:
        body["deadline"] = format_timestamp(deposit.deadline)
        body["timeWhenInactive"] = format_timestamp(deposit.time_when_inactive)
        if refund_fee > 0:
            body["refundFee"] = str(refund_fee)
    if amounts.withdraw_fee > 0:
        body["withdrawFee"] = str(amounts.withdraw_fee)
    return body


def quote_document(
    correlation_id: str, timestamp: datetime, echo: JsonObject, body: JsonObject
) -> JsonObject:
    """The unsigned QuoteResponse; the caller adds ``signature``."""
    return {
        "correlationId": correlation_id,
        "timestamp": format_timestamp(timestamp),
        "quoteRequest": echo,
        "quote": body,
    }
