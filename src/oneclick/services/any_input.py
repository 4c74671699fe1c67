"""ANY_INPUT quotes outside the engine: issuing one (a reusable Intents account with a bridge
deposit address on every chain), its withdrawals (``GET /v0/any-input/withdrawals``) and its
progress for ``/v0/status`` (docs/protocol-notes.md "ANY_INPUT")."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from nearintents.rpc import DepositMode as BridgeDepositMode
from oneclick.domain.addresses import MEMO_CHAINS
from oneclick.domain.amounts import format_units, usd_value
from oneclick.domain.any_input import (
    SDK_BLOCKCHAINS,
    AnyInputSpec,
    WithdrawalState,
    validate_any_input_request,
)
from oneclick.domain.documents import JsonObject, quote_document, request_echo
from oneclick.domain.errors import NotFound, RequestError, Unauthorized
from oneclick.domain.quotes import SwapType
from oneclick.domain.records import NewSwap, Partner
from oneclick.domain.requests import QuoteInput
from oneclick.domain.swaps import SwapRecord, SwapStatus
from oneclick.domain.timestamps import format_timestamp
from oneclick.domain.txhashes import tx_hash_problem
from oneclick.services.boundary import calling
from oneclick.services.context import ServiceContext
from oneclick.services.ports import StoreSession, SwapSnapshot
from oneclick.services.pricing import asset_prices
from oneclick.services.quoting import _take_custody_account

logger = logging.getLogger(__name__)

NO_FEES = json.dumps({"input_fees": [], "withdraw_fee": "0"}, separators=(",", ":"))


async def chain_deposit_addresses(ctx: ServiceContext, account_id: str) -> list[JsonObject]:
    """One deposit address per blockchain the asset list serves, each crediting ``account_id``:
    the bridge's ``deposit_address`` (MEMO mode on memo chains), and the account itself on NEAR
    (``ft_transfer_call`` to the verifier). A chain the SDK's enum cannot name is left out."""
    chains: dict[str, str | None] = {}
    for asset in ctx.registry.all():
        if asset.blockchain in SDK_BLOCKCHAINS and asset.blockchain not in chains:
            chains[asset.blockchain] = None if asset.is_near_native else asset.bridge_chain
    found: list[JsonObject] = []
    for blockchain, bridge_chain in sorted(chains.items()):
        if bridge_chain is None:
            found.append({"blockchain": blockchain, "address": account_id})
            continue
        mode = BridgeDepositMode.MEMO if blockchain in MEMO_CHAINS else None
        async with calling("the bridge (deposit_address)"):
            answer = await ctx.bridge.deposit_address(account_id, bridge_chain, mode)
        entry: JsonObject = {"blockchain": blockchain, "address": answer.address}
        if answer.memo:
            entry["memo"] = answer.memo
        found.append(entry)
    return found


def _zero_body(ctx: ServiceContext) -> JsonObject:
    """An ANY_INPUT quote prices nothing: any amount of any asset is accepted."""
    return {
        "amountIn": "0", "amountInFormatted": "0", "amountInUsd": "0", "minAmountIn": "0",
        "amountOut": "0", "amountOutFormatted": "0", "amountOutUsd": "0", "minAmountOut": "0",
        "timeEstimate": ctx.policy.time_estimate_s,
    }  # fmt: skip


async def request_any_input_quote(
    ctx: ServiceContext,
    raw: QuoteInput,
    *,
    partner: Partner | None,
    correlation_id: str,
    client: str | None,
) -> JsonObject:
    """The signed QuoteResponse of an ANY_INPUT request (partners only, as documented)."""
    if partner is None:
        raise Unauthorized(
            "ANY_INPUT quotes are for partners: send 'Authorization: Bearer <partner JWT>'"
        )
    spec = validate_any_input_request(
        raw, ctx.registry, now=ctx.clock.now(), min_deadline=ctx.policy.min_deadline,
        max_deadline=ctx.policy.max_deadline,
    )  # fmt: skip
    if ctx.upstream is not None:
        # Its chain addresses are the PoA bridge's, one per chain for the account's lifetime;
        # an upstream 1Click lends an address per quote (one asset, one amount) instead.
        raise RequestError(
            "ANY_INPUT is not available in upstream mode: its reusable chain deposit addresses "
            "need the PoA bridge"
        )
    echo = request_echo(raw)
    body = _zero_body(ctx)
    if spec.dry:
        document = quote_document(correlation_id, ctx.clock.now(), echo, body)
        document["signature"] = ctx.custody.sign_quote(document)
        return document
    account = await _take_custody_account(ctx, client, partner)
    addresses = await chain_deposit_addresses(ctx, account.account_id)  # no transaction held
    deadline = spec.deadline + ctx.policy.inactive_grace
    body = {
        "depositAddress": account.account_id,
        "chainDepositAddresses": addresses,
        **body,
        "deadline": format_timestamp(deadline),
        "timeWhenInactive": format_timestamp(deadline),
    }
    now = ctx.clock.now()
    document = quote_document(correlation_id, now, echo, body)
    document["signature"] = ctx.custody.sign_quote(document)
    swap = _new_swap(spec, account.index, account.account_id, deadline, document, now)
    swap = replace(swap, partner_id=partner.id, client=client)
    async with ctx.store.transaction() as tx:
        await tx.swaps.add(swap)
    logger.info(
        "ANY_INPUT quote issued (%d chain deposit addresses)", len(addresses),
        extra={"action": "quote", "swap_id": swap.id, "deposit_address": account.account_id},
    )  # fmt: skip
    return document


def _new_swap(
    spec: AnyInputSpec,
    index: int,
    account_id: str,
    deadline: datetime,
    document: JsonObject,
    now: datetime,
) -> NewSwap:
    # The address takes deposits until ``deadline`` (the request's plus the inactive grace),
    # so that is its request deadline too: nothing is refunded at the request's.
    return NewSwap(
        id=str(uuid.uuid4()), custody_index=index, custody_account_id=account_id,
        deposit_address=account_id, deposit_memo=None, status=SwapStatus.PENDING_DEPOSIT,
        swap_type=SwapType.ANY_INPUT.value, deposit_type="INTENTS",
        recipient_type=spec.recipient_type.value, refund_type=spec.refund_type.value,
        origin_asset=spec.origin_asset, destination_asset=spec.destination_asset,
        amount_in=0, min_amount_in=0, amount_out=0, min_amount_out=0,
        recipient=spec.recipient, refund_to=spec.refund_to, request_deadline=deadline,
        quote_deadline=deadline, partner_id=None,
        quote_response=json.dumps(document, separators=(",", ":"), ensure_ascii=False),
        fees=NO_FEES, created_at=now, client=None,
    )  # fmt: skip


# --- GET /v0/any-input/withdrawals ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WithdrawalLine:
    status: str
    amount_out: str
    amount_out_formatted: str
    amount_out_usd: str
    withdraw_fee: str
    withdraw_fee_formatted: str
    withdraw_fee_usd: str
    timestamp: datetime
    hash: str


@dataclass(frozen=True, slots=True)
class WithdrawalsPage:
    recipient: str
    affiliate_recipient: str
    asset: str
    withdrawals: list[WithdrawalLine]
    page: int
    limit: int
    total: int


async def _any_input_swap(tx: StoreSession, address: str, memo: str | None) -> SwapRecord:
    swap = await tx.swaps.by_deposit(address, memo or None)
    if swap is None:
        raise NotFound(f"Deposit address {address} not found")
    document = json.loads(swap.quote_response)
    if document.get("quoteRequest", {}).get("swapType") != SwapType.ANY_INPUT.value:
        raise NotFound(f"Deposit address {address} is not an ANY_INPUT quote")
    return swap


async def withdrawals_page(
    ctx: ServiceContext,
    address: str,
    memo: str | None,
    *,
    since: datetime | None,
    page: int,
    limit: int,
    newest_first: bool,
) -> WithdrawalsPage:
    """The finished withdrawals of the ANY_INPUT quote at ``address`` (SUCCESS, or FAILED: an
    attempt that expired unexecuted and was retried), finished at or after ``since``, paged."""
    async with ctx.store.transaction() as tx:
        swap = await _any_input_swap(tx, address, memo)
        rows = await tx.any_input.withdrawals(swap.id)
    document = json.loads(swap.quote_response)
    done = [w for w in rows if w.state is not WithdrawalState.PENDING]
    if since is not None:
        done = [w for w in done if w.updated_at >= since]
    done.sort(key=lambda w: (w.updated_at, w.id), reverse=newest_first)
    chosen = done[(page - 1) * limit : page * limit]
    assets = [a for a in (ctx.registry.by_token_id(w.asset) for w in chosen) if a]
    prices = await asset_prices(ctx.prices, assets)
    lines = []
    for w in chosen:
        asset = ctx.registry.by_token_id(w.asset)
        decimals = asset.decimals if asset else 0
        price = prices.get(w.asset)
        success = w.state is WithdrawalState.SUCCESS
        out = (w.delivered or 0) if success else w.amount
        fee = max(w.amount - out, 0) if success else 0
        lines.append(
            WithdrawalLine(
                status=w.state.value, amount_out=str(out),
                amount_out_formatted=format_units(out, decimals),
                amount_out_usd=usd_value(out, decimals, price), withdraw_fee=str(fee),
                withdraw_fee_formatted=format_units(fee, decimals),
                withdraw_fee_usd=usd_value(fee, decimals, price), timestamp=w.updated_at,
                hash=(w.tx_hash if success and w.tx_hash else w.intent_hash),
            )
        )  # fmt: skip
    return WithdrawalsPage(
        recipient=str(document["quoteRequest"]["recipient"]),
        affiliate_recipient=swap.custody_account_id,
        asset=str(document["quoteRequest"]["destinationAsset"]),
        withdrawals=lines, page=page, limit=limit, total=len(done),
    )  # fmt: skip


# --- /v0/status -----------------------------------------------------------------------------


def any_chain_hash_problem(ctx: ServiceContext, tx_hash: str) -> str | None:
    """Why ``tx_hash`` cannot be a deposit to an ANY_INPUT address: a transaction of no chain
    the address has a deposit address on (None: it may be one)."""
    chains = sorted({asset.blockchain for asset in ctx.registry.all()})
    if any(tx_hash_problem(chain, tx_hash) is None for chain in chains):
        return None
    return f"txHash {tx_hash!r} is not a transaction hash of any supported chain"


async def deposit_lines(
    ctx: ServiceContext, snapshot: SwapSnapshot
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """``swapDetails.anyInputDeposits`` (this service's extension): every deposit, its swap
    and its delivery, each with its own intents; and the origin transactions as (hash,
    blockchain) for ``originChainTxHashes``."""
    async with ctx.store.transaction() as tx:
        deposits = await tx.any_input.deposits(snapshot.swap.id)
        withdrawals = {w.id: w for w in await tx.any_input.withdrawals(snapshot.swap.id)}
    legs = {leg.intent_hash: leg for leg in snapshot.legs}
    blockchains = {a.bridge_chain: a.blockchain for a in ctx.registry.all() if a.bridge_chain}
    lines: list[dict[str, Any]] = []
    origin_txs: list[tuple[str, str]] = []
    for d in deposits:
        line: dict[str, Any] = {
            "index": d.seq, "asset": d.asset, "amount": str(d.amount), "source": d.source,
            "chain": d.chain, "phase": d.phase.value, "createdAt": format_timestamp(d.created_at),
        }  # fmt: skip
        if d.tx_hash:
            line["txHash"] = d.tx_hash
            origin_txs.append((d.tx_hash, blockchains.get(d.chain, "near")))
        if d.swap_intent and d.swap_intent in legs:
            line["swapIntentHash"] = d.swap_intent
            line["swapNearTxHash"] = legs[d.swap_intent].tx_hash
        if d.amount_out is not None:
            line["amountOut"] = str(d.amount_out)
        withdrawal = withdrawals.get(d.withdrawal_id or "")
        if withdrawal is not None:
            line["withdrawalIntentHash"] = withdrawal.intent_hash
            if withdrawal.tx_hash:
                line["withdrawalTxHash"] = withdrawal.tx_hash
        if d.last_error:
            line["lastError"] = d.last_error
        lines.append(line)
    return lines, origin_txs
