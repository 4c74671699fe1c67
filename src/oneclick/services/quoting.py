"""``request_quote``: validate, price through the relay, apply fees and slippage, and for a
non-dry quote allocate a custody account and a deposit address, sign and persist the response.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from decimal import Decimal

from nearintents.rpc import DepositMode as BridgeDepositMode
from nearintents.rpc import Quote, QuoteFailure, QuoteRequest
from nearintents.rpc.near_delivery import can_be_created_by_transfer
from oneclick.domain.any_input import is_any_input
from oneclick.domain.documents import (
    Deposit,
    JsonObject,
    quote_body,
    quote_document,
    request_echo,
)
from oneclick.domain.errors import (
    ErrorCode,
    NoQuote,
    PermanentError,
    RequestError,
    TemporaryError,
    TooMany,
)
from oneclick.domain.near_paths import (
    NEAR_NATIVE_ASSET_ID,
    near_deliveries,
    needs_storage_registration,
    refuse_stranding_near_paths,
)
from oneclick.domain.quotes import (
    Fees,
    InputFee,
    QuoteAmounts,
    SwapType,
    check_payout_withdrawable,
    offer_rank,
    quote_amounts,
    same_asset_amounts,
    solver_ask,
)
from oneclick.domain.records import CustodyAccount, NewSwap, Partner
from oneclick.domain.requests import (
    DepositMode,
    DepositType,
    QuoteInput,
    QuoteSpec,
    RecipientType,
    RefundType,
    validate_quote_request,
)
from oneclick.domain.swaps import SwapStatus
from oneclick.services.boundary import calling
from oneclick.services.context import ServiceContext
from oneclick.services.engine.near_payouts import nep145_shortfall
from oneclick.services.ports import StoreSession
from oneclick.services.pricing import asset_prices
from oneclick.services.upstream import payout_cost, upstream_deposit_address

logger = logging.getLogger(__name__)


def _bridge_payout(spec: QuoteSpec) -> bool:
    """The output leaves through the PoA bridge (fee and minimum withdrawal apply)."""
    return (
        spec.recipient_type is RecipientType.DESTINATION_CHAIN
        and not spec.destination.is_near_native
    )


def _fees(
    ctx: ServiceContext, spec: QuoteSpec, partner: Partner | None, near_storage: int = 0
) -> Fees:
    input_fees = list(spec.app_fees)
    if partner is None and ctx.policy.platform_fee_bps > 0:
        input_fees.append(InputFee(ctx.policy.platform_fee_recipient, ctx.policy.platform_fee_bps))
    withdraw_fee = spec.destination.withdrawal_fee if _bridge_payout(spec) else near_storage
    return Fees(tuple(input_fees), withdraw_fee)


async def _near_storage_fee(ctx: ServiceContext, spec: QuoteSpec) -> int:
    """What a wNEAR payout as a token (``customRecipientMsg``: an ``ft_withdraw``) to a
    receiver not registered on wrap.near takes out of itself: the engine pays the receiver's
    ``storage_deposit`` from the payout's wNEAR (``engine.near_payouts``, as the SDK does), so
    the quote charges it as the withdrawal fee and ``minAmountOut`` still reaches the receiver.
    0 for any other payout (another token's registration is the operator's)."""
    destination = spec.destination
    if (
        ctx.near is None
        or spec.recipient_type is not RecipientType.DESTINATION_CHAIN
        or destination.asset_id != NEAR_NATIVE_ASSET_ID
        or not needs_storage_registration(destination, spec.custom_recipient_msg)
    ):
        return 0
    contract = destination.asset_id.removeprefix("nep141:")
    return await nep145_shortfall(ctx.near, contract, spec.recipient)


def _least_amount_in(spec: QuoteSpec, fees: Fees, solver_minimum: int) -> int | None:
    """The smallest request ``amount`` whose solver ask reaches ``solver_minimum`` (the relay's
    minimum is net of our fees; the user's amount is gross). Searched, not inverted, so it
    agrees with :func:`solver_ask`'s rounding exactly; ``None`` for EXACT_OUTPUT (the relay's
    minimum is then on the output side)."""
    if spec.swap_type is SwapType.EXACT_OUTPUT:
        return None

    def reaches(amount: int) -> bool:
        try:
            ask = solver_ask(spec.swap_type, amount, fees)
        except RequestError:
            return False
        return (ask.exact_amount_in or 0) >= solver_minimum

    low, high = spec.amount, max(spec.amount, solver_minimum) * 2
    while not reaches(high):
        if high > 2**128:  # beyond any u128 amount: no minimum to state
            return None
        low, high = high, high * 2
    while high - low > 1:  # invariant: not reaches(low), reaches(high)
        middle = (low + high) // 2
        low, high = (low, middle) if reaches(middle) else (middle, high)
    return high


async def _best_offer(ctx: ServiceContext, spec: QuoteSpec, fees: Fees) -> Quote:
    ask = solver_ask(spec.swap_type, spec.amount, fees)
    request = QuoteRequest(
        defuse_asset_identifier_in=spec.origin.asset_id,
        defuse_asset_identifier_out=spec.destination.asset_id,
        exact_amount_in=ask.exact_amount_in,
        exact_amount_out=ask.exact_amount_out,
        min_deadline_ms=ctx.policy.relay_min_deadline_ms,
        # 0 (the default) leaves the collection window to the relay: the fastest answer.
        wait_ms=spec.quote_waiting_ms or None,
    )
    async with calling("the solver relay"):
        answers = await ctx.relay.quote(request)
    now = ctx.clock.now()
    # Solvers are untrusted: keep only offers for what we asked that are still valid.
    offers = [
        a
        for a in answers
        if isinstance(a, Quote) and a.matches(request) and a.expiration_time > now
    ]
    if not offers:
        minimums = [a.min_amount for a in answers if isinstance(a, QuoteFailure)]
        if minimums:
            least = _least_amount_in(spec, fees, min(minimums))
            raise NoQuote(
                "amount is too low for the available solvers"
                + (f" (at least {least} base units)" if least else ""),
                code=ErrorCode.AMOUNT_TOO_LOW,
                params={"minAmountIn": str(least)} if least else None,
            )
        raise NoQuote("no quote is available for this swap right now")
    return max(offers, key=lambda q: offer_rank(spec.swap_type, q.amount_in, q.amount_out))


async def _amounts(ctx: ServiceContext, spec: QuoteSpec, fees: Fees) -> QuoteAmounts:
    if spec.origin.asset_id == spec.destination.asset_id:  # no swap: nothing to ask the relay
        return same_asset_amounts(spec.swap_type, spec.amount, spec.slippage_bps, fees)
    offer = await _best_offer(ctx, spec, fees)
    try:
        return quote_amounts(
            spec.swap_type, spec.amount, spec.slippage_bps, fees, offer.amount_in, offer.amount_out
        )
    except ValueError as exc:  # a matched offer always fits; this is a bug or a lying relay
        raise PermanentError(f"solver offer {offer.quote_hash} is inconsistent: {exc}") from exc


async def _priced_by_upstream(
    ctx: ServiceContext, spec: QuoteSpec, fees: Fees, amounts: QuoteAmounts
) -> tuple[Fees, QuoteAmounts]:
    """Upstream mode: the chain payout rides the upstream, whose dry quote says what it keeps
    of it; that is the withdrawal fee the quote charges (priced again when it differs from the
    registry's). Its fee is flat per token (the bridge's), so one correction suffices."""
    cost = await payout_cost(ctx, spec.destination, amounts.swap_amount_out, spec.recipient)
    if cost == fees.withdraw_fee:
        return fees, amounts
    fees = Fees(fees.input_fees, cost)
    return fees, await _amounts(ctx, spec, fees)


async def _deposit(
    ctx: ServiceContext, spec: QuoteSpec, account_id: str, amount_in: int
) -> tuple[str, str | None]:
    if not _needs_bridge(spec):
        return account_id, None
    if ctx.upstream is not None:  # the PoA Bridge API is closed: the upstream's address
        return await upstream_deposit_address(ctx, spec, account_id, amount_in)
    chain = spec.origin.bridge_chain
    assert chain is not None  # not NEAR-native
    mode = BridgeDepositMode.MEMO if spec.deposit_mode is DepositMode.MEMO else None
    async with calling("the bridge (deposit_address)"):
        answer = await ctx.bridge.deposit_address(account_id, chain, mode)
    if mode is BridgeDepositMode.MEMO and not answer.memo:
        raise PermanentError("the bridge gave no memo for a MEMO deposit address")
    return answer.address, answer.memo


async def _check_near_receivers(ctx: ServiceContext, spec: QuoteSpec) -> None:
    """A named NEAR account must exist to receive native NEAR (an implicit one is created by the
    transfer); the SDK checks the same before a withdrawal (direct-bridge.ts validateWithdrawal)."""
    for what, asset, account in near_deliveries(spec):
        assert ctx.near is not None  # refuse_stranding_near_paths refused it otherwise
        if not can_be_created_by_transfer(account):
            async with calling("NEAR RPC (view_account)"):
                exists = await ctx.near.account_exists(account)
            if not exists:
                raise RequestError(f"{what} {account!r} is not an existing NEAR account")
        msg = spec.custom_recipient_msg if what == "recipient" else None
        operator = ctx.policy.near_operator_account is not None
        if (
            not operator
            and asset.asset_id != NEAR_NATIVE_ASSET_ID
            and needs_storage_registration(asset, msg)
        ):
            # Its storage_deposit would be paid in wNEAR the custody account does not hold,
            # and no operator account can pay the registration.
            contract = asset.asset_id.removeprefix("nep141:")
            async with calling("NEAR RPC (storage_balance_of)"):
                held = await ctx.near.view(contract, "storage_balance_of", {"account_id": account})
            if held is None:
                raise RequestError(
                    f"{what} {account!r} is not registered on {contract} (NEP-145): register it "
                    f"with storage_deposit first, or use {asset.asset_id} inside intents"
                )


def _fee_plan(fees: Fees, amounts: QuoteAmounts, protocol_fee_pips: int) -> str:
    """``swaps.fees``: the input fees and withdrawal fee the swap charges, and for the record the
    relay's amounts and the verifier's fee they were reconciled with when quoted."""
    return json.dumps(
        {
            "protocol_fee_pips": protocol_fee_pips,
            "input_fees": [
                {"recipient": fee.recipient, "bps": fee.bps, "amount": str(amount)}
                for fee, (_, amount) in zip(fees.input_fees, amounts.fee_amounts, strict=True)
            ],
            "withdraw_fee": str(amounts.withdraw_fee),
            "swap_amount_in": str(amounts.swap_amount_in),
            "swap_amount_out": str(amounts.swap_amount_out),
        },
        separators=(",", ":"),
    )


async def _take_custody_account(
    ctx: ServiceContext, client: str | None, partner: Partner | None
) -> CustodyAccount:
    """:func:`_take_custody_account_in` a transaction of its own."""
    async with ctx.store.transaction() as tx:
        return await _take_custody_account_in(ctx, tx, client, partner)


async def _take_custody_account_in(
    ctx: ServiceContext, tx: StoreSession, client: str | None, partner: Partner | None
) -> CustodyAccount:
    """A pre-derived custody account from the pool (the API holds no master secret), within
    the client's cap on live, unfunded quotes, taken in ``tx``."""
    cap = ctx.policy.max_unfunded_per_partner if partner else ctx.policy.max_unfunded_per_ip
    now = ctx.clock.now()
    if client is not None and cap is not None:
        live = await tx.swaps.live_unfunded(client, now)
        if live >= cap:
            raise TooMany(
                f"this client already has {live} unfunded deposit addresses (the limit is "
                f"{cap}): fund one or let them expire before asking for more"
            )
    account = await tx.custody.take(now)
    if account is None:
        logger.warning("the custody account pool is empty", extra={"action": "quote"})
        raise TemporaryError(
            "no deposit address is available right now (the pool is being refilled): "
            "try again in a few seconds"
        )
    return account


def _needs_bridge(spec: QuoteSpec) -> bool:
    """The deposit address comes from the bridge or the upstream (a network call), not from
    the account itself."""
    return spec.deposit_type is not DepositType.INTENTS and not spec.origin.is_near_native


async def request_quote(
    ctx: ServiceContext,
    raw: QuoteInput,
    *,
    partner: Partner | None,
    correlation_id: str,
    client: str | None = None,
) -> JsonObject:
    """The signed QuoteResponse. Dry: priced only, nothing allocated or stored. ``client``
    (:func:`oneclick.services.clients.client_identity`) is counted against the per-client cap
    on live, unfunded quotes."""
    if is_any_input(raw):  # a reusable address, not a priced swap
        # imported here: services/any_input.py takes the custody pool helper from this module
        from oneclick.services.any_input import request_any_input_quote

        return await request_any_input_quote(
            ctx, raw, partner=partner, correlation_id=correlation_id, client=client
        )
    spec = validate_quote_request(
        raw,
        ctx.registry,
        now=ctx.clock.now(),
        min_deadline=ctx.policy.min_deadline,
        max_deadline=ctx.policy.max_deadline,
    )
    refuse_stranding_near_paths(
        spec,
        near_payouts=ctx.near is not None and ctx.policy.near_relayer_account is not None,
        near_deposits=ctx.near is not None and ctx.policy.near_operator_account is not None,
    )
    await _check_near_receivers(ctx, spec)
    if spec.swap_type is SwapType.ANY_INPUT:  # validate_quote_request refuses it; be explicit
        raise RequestError("swapType ANY_INPUT is not supported by this service")
    fees = _fees(ctx, spec, partner, await _near_storage_fee(ctx, spec))
    amounts = await _amounts(ctx, spec, fees)
    if _bridge_payout(spec) and ctx.upstream is not None and ctx.upstream.payouts:
        fees, amounts = await _priced_by_upstream(ctx, spec, fees, amounts)
    if _bridge_payout(spec):
        check_payout_withdrawable(amounts, spec.destination.min_withdrawal_amount)
    prices: dict[str, Decimal] = await asset_prices(ctx.prices, [spec.origin, spec.destination])
    time_estimate = ctx.policy.time_estimate(spec.origin.blockchain, spec.destination.blockchain)
    echo = request_echo(raw)

    if spec.dry:
        body = quote_body(
            amounts, spec.origin, spec.destination, prices,
            time_estimate=time_estimate, deposit=None, refund_fee=0,
        )  # fmt: skip
        document = quote_document(correlation_id, ctx.clock.now(), echo, body)
        document["signature"] = ctx.custody.sign_quote(document)
        return document

    protocol_fee = await ctx.fee_cache.get()  # for the record: the relay's amounts include it

    def issue(
        account: CustodyAccount, address: str, memo: str | None
    ) -> tuple[JsonObject, NewSwap]:
        deadline = spec.deadline + ctx.policy.inactive_grace
        refund_fee = 0
        if spec.refund_type is RefundType.ORIGIN_CHAIN and not spec.origin.is_near_native:
            refund_fee = spec.origin.withdrawal_fee
        body = quote_body(
            amounts, spec.origin, spec.destination, prices,
            time_estimate=time_estimate, deposit=Deposit(address, memo, deadline, deadline),
            refund_fee=refund_fee,
        )  # fmt: skip
        now = ctx.clock.now()
        document = quote_document(correlation_id, now, echo, body)
        document["signature"] = ctx.custody.sign_quote(document)
        return document, _new_swap(spec, amounts, fees, protocol_fee, account, address, memo,
                                   deadline, document, now, partner, client)  # fmt: skip

    if _needs_bridge(spec):
        account = await _take_custody_account(ctx, client, partner)
        # outside any transaction
        address, memo = await _deposit(ctx, spec, account.account_id, amounts.amount_in)
        document, swap = issue(account, address, memo)
        async with ctx.store.transaction() as tx:
            await tx.swaps.add(swap)
    else:
        # No network call between taking the account and recording the swap: one transaction,
        # one commit (each commit is a disk flush), and no account taken for a swap not stored.
        async with ctx.store.transaction() as tx:
            account = await _take_custody_account_in(ctx, tx, client, partner)
            document, swap = issue(account, account.account_id, None)
            await tx.swaps.add(swap)
        address = account.account_id
    logger.info(
        "quote issued",
        extra={"action": "quote", "swap_id": swap.id, "deposit_address": address},
    )
    return document


def _new_swap(
    spec: QuoteSpec,
    amounts: QuoteAmounts,
    fees: Fees,
    protocol_fee: int,
    account: CustodyAccount,
    address: str,
    memo: str | None,
    deadline: datetime,
    document: JsonObject,
    now: datetime,
    partner: Partner | None,
    client: str | None,
) -> NewSwap:
    return NewSwap(
        id=str(uuid.uuid4()),
        custody_index=account.index,
        custody_account_id=account.account_id,
        deposit_address=address,
        deposit_memo=memo,
        status=SwapStatus.PENDING_DEPOSIT,
        swap_type=spec.swap_type.value,
        deposit_type=spec.deposit_type.value,
        recipient_type=spec.recipient_type.value,
        refund_type=spec.refund_type.value,
        origin_asset=spec.origin.asset_id,
        destination_asset=spec.destination.asset_id,
        amount_in=amounts.amount_in,
        min_amount_in=amounts.min_amount_in,
        amount_out=amounts.amount_out,
        min_amount_out=amounts.min_amount_out,
        recipient=spec.recipient,
        refund_to=spec.refund_to,
        request_deadline=spec.deadline,
        quote_deadline=deadline,
        partner_id=partner.id if partner else None,
        quote_response=json.dumps(document, separators=(",", ":"), ensure_ascii=False),
        fees=_fee_plan(fees, amounts, protocol_fee),
        created_at=now,
        client=client,
    )
