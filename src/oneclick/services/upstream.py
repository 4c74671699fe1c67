"""Upstream mode (issue 19): chain legs ride an upstream 1Click API while the swap stays ours.

Since the PoA Bridge API closed to partners (PROTOCOL.md §9) an upstream 1Click is the way to a
chain deposit address and a chain payout. Both legs are same-asset quotes of the upstream's:

- deposit: a chain deposit of the user's asset delivered to our custody account
  (``recipientType: INTENTS``); its deposit address (and memo) is handed to the user as ours;
  it refunds on the origin chain, to the user's ``refundTo``, what it cannot deliver;
- payout or refund: an ``INTENTS`` deposit (our custody account ``transfer``s to the upstream's
  Intents deposit address) delivered to the user's chain address.

The deposit leg is FLEX_INPUT with a minimum of 1/10 000 of the amount, so that (almost) any
deposit reaches our custody account and our engine judges it exactly as in PoA mode: an
underpayment waits for a top-up and is refunded by us, an overpayment's excess is refunded by us.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from oneclick.domain.addresses import is_chain_address, is_intents_account
from oneclick.domain.assets import Asset
from oneclick.domain.errors import RequestError, TemporaryError, UpstreamRefused
from oneclick.domain.requests import DepositMode, QuoteSpec, RefundType
from oneclick.services.context import ServiceContext
from oneclick.services.ports import UpstreamQuote, UpstreamQuoteRequest

DEPOSIT_SWAP_TYPE = "FLEX_INPUT"
DEPOSIT_SLIPPAGE_BPS = 9_999  # minAmountIn = floor(amount / 10 000)
# How long the upstream keeps a payout's Intents deposit address open: our transfer is signed
# and published right after the quote, so this only has to outlast the upstream's own work.
PAYOUT_LEG_DEADLINE = timedelta(hours=1)
# The NEAR transactions of the upstream's transfer into our custody account: kept as deposit
# rows of their own source and status, which no deposit logic counts (not a chain transfer:
# ``shown_deposit`` and the ledger skip them), shown among our ``nearTxHashes``.
FORWARDED = "FORWARDED"


async def upstream_deposit_address(
    ctx: ServiceContext, spec: QuoteSpec, account_id: str, amount_in: int
) -> tuple[str, str | None]:
    """The upstream's deposit address (and memo) for a chain deposit of ``amount_in`` of the
    origin asset delivered to custody account ``account_id``. A refusal is the caller's
    (HTTP 400, the upstream's reason); anything else is temporary."""
    upstream = ctx.upstream
    assert upstream is not None
    internal_refund = spec.refund_type is RefundType.INTENTS
    request = UpstreamQuoteRequest(
        dry=False,
        swap_type=DEPOSIT_SWAP_TYPE,
        slippage_bps=DEPOSIT_SLIPPAGE_BPS,
        asset=spec.origin.asset_id,
        amount=amount_in,
        deposit_type="ORIGIN_CHAIN",
        refund_to=spec.refund_to,
        refund_type="INTENTS" if internal_refund else "ORIGIN_CHAIN",
        recipient=account_id,
        recipient_type="INTENTS",
        deadline=spec.deadline,
        deposit_mode="MEMO" if spec.deposit_mode is DepositMode.MEMO else None,
    )
    quote = await upstream.api.quote(request)
    if quote.deposit_address is None:
        raise TemporaryError("the upstream 1Click gave no deposit address")
    if not is_chain_address(spec.origin.blockchain, quote.deposit_address):
        raise TemporaryError(
            f"the upstream 1Click gave a deposit address that is not a {spec.origin.blockchain} one"
        )
    if spec.deposit_mode is DepositMode.MEMO and not quote.deposit_memo:
        raise TemporaryError("the upstream 1Click gave no memo for a MEMO deposit")
    if quote.amount_in != amount_in:
        raise TemporaryError("the upstream 1Click quoted another amount than we asked")
    return quote.deposit_address, quote.deposit_memo


def payout_request(
    asset: Asset, amount: int, receiver: str, *, refund_to: str, dry: bool, now: datetime
) -> UpstreamQuoteRequest:
    """An upstream quote moving ``amount`` of ``asset`` from an Intents deposit to ``receiver``
    on the asset's chain; what it cannot deliver it refunds to ``refund_to`` inside Intents."""
    return UpstreamQuoteRequest(
        dry=dry,
        swap_type="EXACT_INPUT",
        slippage_bps=0,
        asset=asset.asset_id,
        amount=amount,
        deposit_type="INTENTS",
        refund_to=refund_to,
        refund_type="INTENTS",
        recipient=receiver,
        recipient_type="DESTINATION_CHAIN",
        deadline=now + PAYOUT_LEG_DEADLINE,
    )


def check_payout_quote(quote: UpstreamQuote, amount: int) -> None:
    """An upstream payout quote we may pay into: for our amount, to an Intents account."""
    if quote.amount_in != amount or quote.amount_out <= 0:
        raise TemporaryError("the upstream 1Click quoted another payout than we asked")
    if quote.deposit_address is not None and not is_intents_account(quote.deposit_address):
        raise TemporaryError("the upstream 1Click gave an INTENTS deposit address that is not one")


async def payout_cost(ctx: ServiceContext, asset: Asset, amount: int, receiver: str) -> int:
    """What the upstream keeps of a chain payout of ``amount`` (its withdrawal fee and any fee
    of its own), from its dry quote: it refuses amounts below its minimum, and so do we."""
    upstream = ctx.upstream
    assert upstream is not None
    request = payout_request(
        asset,
        amount,
        receiver,
        refund_to=ctx.policy.platform_fee_recipient,
        dry=True,
        now=ctx.clock.now(),
    )
    try:
        quote = await upstream.api.quote(request)
    except UpstreamRefused as exc:
        raise RequestError(
            f"the output cannot be delivered to {asset.blockchain}: {exc.message}"
        ) from exc
    check_payout_quote(quote, amount)
    return amount - quote.amount_out
