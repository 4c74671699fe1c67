"""A signed-in user's account (``GET /v0/account/balances``, ``/v0/account/history``): their
balances in the Verifier, read there, and the swaps that name their Intents account
(store/accounts.py says which), with the amounts ``/v0/status`` shows; each deposit into one of
their ANY_INPUT addresses is an item of its own."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from nearintents.tokens import InvalidTokenId, TokenId
from oneclick.domain.amounts import format_units, usd_value
from oneclick.domain.any_input import ORIGINAL, AnyInputDeposit
from oneclick.domain.assets import Asset
from oneclick.domain.errors import NotFound, RequestError
from oneclick.domain.sessions import (
    DEPOSIT_STATUS,
    HistoryKind,
    HistoryPosition,
    HistoryQuery,
    HistoryRow,
    history_status,
)
from oneclick.domain.timestamps import format_timestamp
from oneclick.services import status
from oneclick.services.boundary import calling
from oneclick.services.context import ServiceContext
from oneclick.services.pricing import asset_prices

MAX_TOKEN_IDS = 100  # one mt_batch_balance_of view


@dataclass(frozen=True, slots=True)
class Balance:
    token_id: str
    available: int


async def balances(ctx: ServiceContext, account_id: str, token_ids: list[str]) -> list[Balance]:
    """The account's balances of ``token_ids`` as the Verifier holds them (zeros included);
    without ``token_ids``, the non-zero balances of every token this service lists."""
    asked = list(dict.fromkeys(token_ids))
    if len(asked) > MAX_TOKEN_IDS:
        raise RequestError(f"tokenIds: at most {MAX_TOKEN_IDS} token ids per request")
    for token_id in asked:
        try:
            TokenId.parse(token_id)
        except InvalidTokenId as exc:
            raise RequestError(f"tokenIds: {token_id!r} is not a token id: {exc}") from exc
    wanted = asked or sorted({asset.asset_id for asset in ctx.registry.all()})
    if not wanted:
        return []
    async with calling("the verifier (mt_batch_balance_of)"):
        amounts = await ctx.verifier.mt_batch_balance_of(account_id, wanted)
    found = [Balance(t, a) for t, a in zip(wanted, amounts, strict=True)]
    return found if asked else [b for b in found if b.available > 0]


@dataclass(frozen=True, slots=True)
class HistoryPage:
    items: list[dict[str, Any]]
    next_cursor: str | None = None  # poll for newer swaps from here
    prev_cursor: str | None = None  # fetch older swaps from here
    positions: list[HistoryPosition] = field(default_factory=list)


def _quoted(document: dict[str, Any], name: str) -> Any:
    return document.get("quote", {}).get(name)


async def _item(ctx: ServiceContext, address: str, memo: str, swap_id: str) -> dict[str, Any]:
    report = await status.status_report(ctx, address, memo or None)
    document, progress = report.quote_response, report.progress
    request = document.get("quoteRequest", {})
    try:
        origin = ctx.registry.resolve(request.get("originAsset"), what="originAsset")
    except RequestError:  # an asset delisted since the quote: no decimals to format with
        origin = None
    async with ctx.store.transaction() as tx:
        senders = await tx.swaps.deposit_senders(swap_id)
    transactions = []
    for line in progress.deposits:
        entry: dict[str, Any] = {"txHash": line.tx.hash}
        if line.tx.hash in senders:
            entry["sender"] = senders[line.tx.hash]
        transactions.append(entry)
    # What was executed once it was; before that, what the quote promised.
    formatted_in, usd_in = (
        (progress.amount_in.formatted, progress.amount_in.usd)
        if progress.amount_in
        else (_quoted(document, "amountInFormatted"), _quoted(document, "amountInUsd"))
    )
    formatted_out, usd_out = (
        (progress.amount_out.formatted, progress.amount_out.usd)
        if progress.amount_out
        else (_quoted(document, "amountOutFormatted"), _quoted(document, "amountOutUsd"))
    )
    item: dict[str, Any] = {
        "status": history_status(report.status).value,
        "depositType": request.get("depositType"),
        "recipientType": request.get("recipientType"),
        "refundType": request.get("refundType"),
        "createdAt": document.get("timestamp"),
        "depositAddress": address,
        "depositMemo": memo or None,
        "originAsset": request.get("originAsset"),
        "amountInFormatted": formatted_in,
        "amountInUsd": usd_in,
        "destinationAsset": request.get("destinationAsset"),
        "amountOutFormatted": formatted_out,
        "amountOutUsd": usd_out,
        "recipient": request.get("recipient"),
        "quoteTransactions": transactions,
        "refundTo": request.get("refundTo"),
        "refundReason": progress.refund_reason,
    }
    if progress.refunded is not None:
        item["refundedAmountFormatted"] = progress.refunded.formatted
        item["refundedAmountUsd"] = progress.refunded.usd
    refund_fee = _quoted(document, "refundFee")
    item["refundFee"] = refund_fee if isinstance(refund_fee, str) else None
    if isinstance(refund_fee, str) and origin is not None and refund_fee.isdigit():
        item["refundFeeFormatted"] = format_units(int(refund_fee), origin.decimals)
    return item


def _listed_asset(ctx: ServiceContext, asset_id: str) -> Asset | None:
    try:
        return ctx.registry.resolve(asset_id, what="asset")
    except RequestError:  # delisted since: no decimals to format with
        return None


def _formatted(value: int, asset: Asset | None, prices: dict[str, Decimal]) -> tuple[str, str]:
    if asset is None:
        return str(value), "0"
    usd = usd_value(value, asset.decimals, prices.get(asset.asset_id))
    return format_units(value, asset.decimals), usd


async def _deposit_item(
    ctx: ServiceContext, row: HistoryRow, document: dict[str, Any], deposit: AnyInputDeposit
) -> dict[str, Any]:
    """One deposit into an ANY_INPUT address as its own item: its asset and amount in, what its
    swap bought (or, for ``1cs_v1:original``, the same asset and amount) out, its origin
    transaction, and a status of its own (``DEPOSIT_STATUS``)."""
    request = document.get("quoteRequest", {})
    destination_id = request.get("destinationAsset")
    if destination_id == ORIGINAL:
        destination_id = deposit.asset
    origin = _listed_asset(ctx, deposit.asset)
    destination = _listed_asset(ctx, destination_id) if isinstance(destination_id, str) else None
    prices = await asset_prices(ctx.prices, [a for a in (origin, destination) if a])
    formatted_in, usd_in = _formatted(deposit.amount, origin, prices)
    item: dict[str, Any] = {
        "status": DEPOSIT_STATUS[deposit.phase].value,
        "depositType": request.get("depositType"),
        "recipientType": request.get("recipientType"),
        "refundType": request.get("refundType"),
        "createdAt": format_timestamp(deposit.created_at),
        "depositAddress": row.deposit_address,
        "depositMemo": row.deposit_memo or None,
        "originAsset": deposit.asset,
        "amountInFormatted": formatted_in,
        "amountInUsd": usd_in,
        "destinationAsset": destination_id,
        "recipient": request.get("recipient"),
        "quoteTransactions": [{"txHash": deposit.tx_hash}] if deposit.tx_hash else [],
        "refundTo": request.get("refundTo"),
        "refundReason": None,  # no refunds on ANY_INPUT
        "refundFee": None,
    }
    if deposit.amount_out is not None:
        item["amountOutFormatted"], item["amountOutUsd"] = _formatted(
            deposit.amount_out, destination, prices
        )
    return item


async def _swap_document(ctx: ServiceContext, row: HistoryRow) -> dict[str, Any]:
    snapshot = await ctx.store.swap_snapshot(row.deposit_address, row.deposit_memo or None)
    if snapshot is None:
        raise NotFound(f"Deposit address {row.deposit_address} not found")
    document: dict[str, Any] = json.loads(snapshot.swap.quote_response)
    return document


async def history(ctx: ServiceContext, query: HistoryQuery) -> HistoryPage:
    """One page of the account's history (its swaps, and each deposit into its ANY_INPUT
    addresses as an item of its own), newest first, with the cursors to page on."""
    if query.older_than is not None and query.newer_than is not None:
        raise RequestError("pass either prevCursor or nextCursor, not both")
    async with ctx.store.transaction() as tx:
        page = await tx.history.page(query)
    items = []
    documents: dict[str, dict[str, Any]] = {}
    deposits: dict[str, AnyInputDeposit] = {}
    for row in page:
        try:
            if row.position.kind == HistoryKind.SWAP:
                items.append(await _item(ctx, row.deposit_address, row.deposit_memo, row.swap_id))
                continue
            if row.swap_id not in documents:
                documents[row.swap_id] = await _swap_document(ctx, row)
                async with ctx.store.transaction() as tx:
                    found = await tx.any_input.deposits(row.swap_id)
                deposits.update((d.id, d) for d in found)
            document = documents[row.swap_id]
            items.append(await _deposit_item(ctx, row, document, deposits[row.position.item_id]))
        except NotFound:  # cannot happen for a row just read; a page never fails on it
            continue
    positions = [row.position for row in page]
    newest = positions[0] if positions else query.newer_than
    oldest = positions[-1] if positions else query.older_than
    return HistoryPage(
        items,
        next_cursor=newest.encode() if newest else None,
        prev_cursor=oldest.encode() if oldest else None,
        positions=positions,
    )
