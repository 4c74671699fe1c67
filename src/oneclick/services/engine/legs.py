"""Legs: the engine's signed intents (swap, payout, refund) through their life.

    sign_leg      versioned nonce from ``current_salt``, signed by the custody key, PERSISTED
    publish_leg   (re)sends the stored bytes; the verifier's nonce check makes repeats harmless
    follow_leg    ``get_status`` and ``is_nonce_used`` at ``final`` decide SETTLED or pending;
                  past the deadline the relay's tx outcome or the custody balance decide DEAD
    confirm_leg   for withdrawals: the bridge's ``withdrawal_status`` proves the payout

A leg is DEAD only when its deadline (plus a margin for clock skew) has passed and it provably
did not execute: then it can never execute, and only then may another intent spend the same funds
(ARCHITECTURE.md §4 rule 2). An unused nonce alone is no proof once the deadline has passed:
``cleanup_nonces`` clears used ones then (docs/protocol-notes.md, "Nonce garbage collection").
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime
from enum import StrEnum

from nearintents import signing
from nearintents.encoding import b64decode
from nearintents.nonce import datetime_to_ns, fresh_versioned_nonce
from nearintents.payload import AnyIntent, DefusePayload, FtWithdraw, Transfer
from nearintents.rpc import IntentStatus, WithdrawalsNotFound, WithdrawalStatus
from nearintents.tokens import TokenId, TokenStandard
from oneclick.domain.addresses import destination
from oneclick.domain.assets import Asset
from oneclick.domain.engine import Leg, SwapState, withdraw_memo
from oneclick.domain.errors import PermanentError, TemporaryError
from oneclick.domain.records import IntentKind, IntentState
from oneclick.services.boundary import calling
from oneclick.services.engine.context import EngineContext
from oneclick.services.engine.deposits import balance
from oneclick.services.engine.near_payouts import (
    Bounced,
    confirm_near_delivery,
    near_delivery_intent,
)
from oneclick.services.engine.upstream_legs import confirm_upstream_leg, upstream_receiver

logger = logging.getLogger(__name__)

# The SDK's gas for a PoA withdrawal, MIN_GAS_AMOUNT in sdk-monorepo
# packages/intents-sdk/src/bridges/poa-bridge/poa-constants.ts (PROTOCOL.md §4.2).
POA_WITHDRAW_GAS = 17_050_000_000_000
_BRIDGE_FAILED = frozenset(
    {
        WithdrawalStatus.FAILED,
        WithdrawalStatus.REJECTED,
        WithdrawalStatus.RETURNING,
        WithdrawalStatus.RETURNED,
    }
)


class Outcome(StrEnum):
    PENDING = "PENDING"
    SETTLED = "SETTLED"
    DEAD = "DEAD"


def _contract(asset: Asset) -> str:
    token = TokenId.parse(asset.asset_id)
    if token.standard is not TokenStandard.NEP141:
        raise PermanentError(f"{asset.asset_id}: only NEP-141 tokens can be withdrawn")
    return asset.asset_id.removeprefix("nep141:")


def is_bridged(asset: Asset) -> bool:
    return not asset.is_near_native


def delivery_intent(asset: Asset, amount: int, receiver: str, *, internal: bool) -> AnyIntent:
    """How ``amount`` of ``asset`` reaches ``receiver``: a ``transfer`` inside the verifier, an
    ``ft_withdraw`` to a NEAR account, or a PoA burn with ``WITHDRAW_TO:<address>[:<memo>]``
    (PROTOCOL.md §4.2), the memo/tag taken out of the receiver's own address format."""
    if internal:
        return Transfer(receiver_id=receiver, tokens={asset.asset_id: amount})
    contract = _contract(asset)
    if not is_bridged(asset):
        return near_delivery_intent(asset, contract, amount, receiver)
    address, memo = destination(asset.blockchain, receiver)
    return FtWithdraw(
        token=contract,
        receiver_id=contract,
        amount=amount,
        memo=withdraw_memo(address, memo),
        min_gas=POA_WITHDRAW_GAS,
    )


async def signed_leg(
    ctx: EngineContext,
    swap: SwapState,
    kind: IntentKind,
    intents: list[AnyIntent],
    *,
    deadline: datetime,
    debits: dict[str, int],
    credits: dict[str, int] | None = None,
    quote_hashes: tuple[str, ...] = (),
) -> Leg:
    """One payload signed as the custody account, not yet persisted: the caller stores it
    (with whatever row points to it) before anything publishes it."""
    async with calling("the verifier (current_salt)"):
        salt = await ctx.verifier.current_salt()
    payload = DefusePayload(
        signer_id=swap.custody_account_id,
        verifying_contract=ctx.quotes.verifier_contract,
        deadline=deadline,
        nonce=fresh_versioned_nonce(salt, datetime_to_ns(deadline)),
        intents=intents,
    )
    as_json = payload.to_json_dict()
    signed = ctx.custody.sign_intent(swap.custody_index, ctx.policy.signing_standard, as_json)
    return Leg(
        intent_hash=signing.intent_hash(signed),
        swap_id=swap.id,
        kind=kind,
        signer_id=swap.custody_account_id,
        nonce=as_json["nonce"],
        signed_data=json.dumps(signed, separators=(",", ":"), ensure_ascii=False),
        state=IntentState.SIGNED,
        deadline=deadline,
        created_at=ctx.clock.now(),
        quote_hashes=quote_hashes,
        debits=debits,
        credits=credits or {},
    )


async def sign_leg(
    ctx: EngineContext,
    swap: SwapState,
    kind: IntentKind,
    intents: list[AnyIntent],
    *,
    deadline: datetime,
    debits: dict[str, int],
    credits: dict[str, int] | None = None,
    quote_hashes: tuple[str, ...] = (),
) -> Leg:
    """Sign one payload as the custody account and persist it (not yet published)."""
    leg = await signed_leg(
        ctx, swap, kind, intents, deadline=deadline, debits=debits, credits=credits,
        quote_hashes=quote_hashes,
    )  # fmt: skip
    now = leg.created_at
    async with ctx.store.transaction() as tx:
        await tx.swaps.fence(swap.id, ctx.owner, now)
        await tx.swaps.add_leg(leg)
    logger.info(
        "%s intent signed",
        kind.value.lower(),
        extra={"action": "sign", "swap_id": swap.id, "intent_hash": leg.intent_hash},
    )
    return leg


async def _save(ctx: EngineContext, swap: SwapState, leg: Leg, **changes: object) -> Leg:
    now = ctx.clock.now()
    async with ctx.store.transaction() as tx:
        await tx.swaps.fence(swap.id, ctx.owner, now)
        await tx.swaps.update_leg(leg.intent_hash, now, **changes)  # type: ignore[arg-type]
    return replace(leg, **changes)  # type: ignore[arg-type]


async def publish_leg(ctx: EngineContext, swap: SwapState, leg: Leg) -> Leg:
    """Send a SIGNED leg (again, after a crash: the same bytes). A refusal is recorded; the leg
    stays live until it is provably dead."""
    if leg.state is not IntentState.SIGNED:
        return leg
    async with calling("the solver relay (publish_intent)"):
        result = await ctx.relay.publish_intent(json.loads(leg.signed_data), leg.quote_hashes)
    if result.ok:
        if result.intent_hash not in (None, leg.intent_hash):
            raise PermanentError(
                f"the relay published {result.intent_hash} for our intent {leg.intent_hash}"
            )
        return await _save(ctx, swap, leg, state=IntentState.PUBLISHED)
    reason = result.reason or "no reason given"
    logger.warning(
        "relay refused %s intent: %s",
        leg.kind.value.lower(),
        reason,
        extra={"action": "publish", "swap_id": swap.id, "intent_hash": leg.intent_hash},
    )
    return await _save(ctx, swap, leg, state=IntentState.FAILED, reason=reason[:500])


async def follow_leg(ctx: EngineContext, swap: SwapState, leg: Leg) -> tuple[Leg, Outcome]:
    """Read the outcome back: the relay's status, then the verifier at ``final`` (the truth).

    The relay reports SETTLED once the transaction is in an optimistic block; ``final`` trails by
    a few blocks, so a leg is SETTLED only when its nonce is used at ``final`` (our views read
    ``final``), and "not there yet" is simply pending. After the deadline an unused nonce proves
    nothing: the contract's garbage collector clears used nonces once their deadline has passed
    (``cleanup_nonces``), so then the relay's transaction outcome, or the custody balance,
    tells executed from dead."""
    if leg.state is IntentState.SETTLED:
        return leg, Outcome.SETTLED
    if leg.state is IntentState.DEAD:
        return leg, Outcome.DEAD
    async with calling("the solver relay (get_status)"):
        status = await ctx.relay.get_status(leg.intent_hash)
    tx_hash = status.tx_hash or leg.tx_hash
    async with calling("the verifier (is_nonce_used)"):
        used = await ctx.verifier.is_nonce_used(leg.signer_id, b64decode(leg.nonce))
    if used:  # executed and final, whatever the relay says
        return await _settle(ctx, swap, leg, tx_hash), Outcome.SETTLED
    if ctx.clock.now() <= leg.deadline + ctx.policy.dead_margin:
        if status.status is IntentStatus.SETTLED:
            ctx.metrics.waiting("final_behind_relay")
            logger.info(
                "%s intent settled at the relay, not yet final",
                leg.kind.value.lower(),
                extra={"action": "follow", "swap_id": swap.id, "intent_hash": leg.intent_hash},
            )
        return leg, Outcome.PENDING
    if await executed_after_deadline(ctx, swap, leg, tx_hash):
        return await _settle(ctx, swap, leg, tx_hash), Outcome.SETTLED
    why = "failed on chain" if status.failed_on_chain else f"expired ({status.status.value})"
    dead = await _save(ctx, swap, leg, state=IntentState.DEAD, reason=why)
    logger.info(
        "%s intent is dead: %s",
        leg.kind.value.lower(),
        why,
        extra={"action": "follow", "swap_id": swap.id, "intent_hash": leg.intent_hash},
    )
    return dead, Outcome.DEAD


async def _settle(ctx: EngineContext, swap: SwapState, leg: Leg, tx_hash: str | None) -> Leg:
    return await _save(ctx, swap, leg, state=IntentState.SETTLED, tx_hash=tx_hash)


async def executed_after_deadline(
    ctx: EngineContext, swap: SwapState, leg: Leg, tx_hash: str | None
) -> bool:
    """Whether a leg whose nonce reads unused past its deadline executed all the same (its nonce
    may have been garbage-collected). First the relay's transaction: its FINAL outcome lists the
    intents it executed (NEAR RPC ``tx``). Failing that, the custody balance at ``final``: a
    swap leg executed iff its credits arrived (nothing else of ours moves them: one live leg per
    account); a payout or refund iff a debit is no longer covered."""
    if tx_hash is not None:
        async with calling("NEAR RPC (tx)"):
            executed = await ctx.verifier.executed_in(tx_hash, leg.intent_hash)
        if executed is not None:
            return executed
    # A same-asset fee leg credits the token it debits: its credit proves nothing.
    if leg.credits and not leg.credits.keys() & leg.debits.keys():
        for token, amount in leg.credits.items():
            if await balance(ctx, swap, token) < amount:
                return False
        return True
    for token, amount in leg.debits.items():
        if await balance(ctx, swap, token) < amount:
            return True
    return False


async def confirm_leg(
    ctx: EngineContext, swap: SwapState, leg: Leg, asset: Asset, *, internal: bool
) -> Leg | None:
    """For a SETTLED payout or refund: the delivered amount and the destination transaction, or
    None while the bridge is still paying out."""
    if leg.delivered is not None:
        return leg
    amount = leg.debits.get(asset.asset_id, 0)
    if internal:
        return await _save(
            ctx, swap, leg, delivered=amount, destination_tx_hash=leg.tx_hash or leg.intent_hash
        )
    tx_hash = leg.tx_hash
    if tx_hash is None:
        async with calling("the solver relay (get_status)"):
            status = await ctx.relay.get_status(leg.intent_hash)
        if status.tx_hash is None:
            raise TemporaryError(
                "the withdrawal executed but its NEAR transaction is not known yet"
            )
        leg = await _save(ctx, swap, leg, tx_hash=status.tx_hash)
        tx_hash = status.tx_hash
    receiver = upstream_receiver(leg) if ctx.upstream is not None else None
    if receiver is not None:  # a transfer to an upstream 1Click that pays out on chain
        return await confirm_upstream_leg(ctx, swap, leg, receiver, amount)
    if not is_bridged(asset):
        try:
            delivered = await confirm_near_delivery(
                ctx, swap, leg, asset, _contract(asset), tx_hash
            )
        except Bounced as bounced:  # the tokens are back: close the leg, sign anew after a pause
            await _save(ctx, swap, leg, delivered=0, reason=bounced.reason)
            raise TemporaryError(bounced.reason) from bounced
        if delivered is None:
            return None
        return await _save(ctx, swap, leg, delivered=delivered, destination_tx_hash=tx_hash)
    async with calling("the bridge (withdrawal_status)"):
        try:
            withdrawals = await ctx.bridge.withdrawal_status(tx_hash)
        except WithdrawalsNotFound:
            withdrawals = []
    if not any(w.status is not WithdrawalStatus.NOT_FOUND for w in withdrawals):
        not_indexed_yet(ctx, swap, leg, tx_hash)
        return None
    for withdrawal in withdrawals:
        if withdrawal.status in _BRIDGE_FAILED:
            raise PermanentError(
                f"the bridge reports the withdrawal in {tx_hash} as {withdrawal.status}"
            )
        if withdrawal.status is WithdrawalStatus.COMPLETED and withdrawal.data is not None:
            data = withdrawal.data
            delivered = data.withdraw_amount
            if delivered is None:
                fee = (
                    data.withdrawal_fee if data.withdrawal_fee is not None else asset.withdrawal_fee
                )
                delivered = max((data.amount or amount) - fee, 0)
            return await _save(
                ctx, swap, leg, delivered=delivered, destination_tx_hash=data.transfer_tx_hash
            )
    return None


def not_indexed_yet(ctx: EngineContext, swap: SwapState, leg: Leg, tx_hash: str) -> None:
    """The bridge does not know a burn that executed: it indexes NEAR with a lag and answers
    "Withdrawals not found" meanwhile (the SDK keeps polling: sdk-monorepo
    packages/internal-utils/src/poaBridge/waitForWithdrawalCompletion.ts). Still pending within
    ``bridge_index_grace`` of the leg's deadline; after that a TemporaryError, so the usual
    bounded retries apply and an operator eventually hears of it."""
    ctx.metrics.waiting("bridge_withdrawal_not_found")
    if ctx.clock.now() > leg.deadline + ctx.policy.bridge_index_grace:
        raise TemporaryError(f"the bridge still does not know the withdrawal in {tx_hash}")
    logger.info(
        "the bridge has not indexed the withdrawal yet",
        extra={"action": "confirm", "swap_id": swap.id, "intent_hash": leg.intent_hash},
    )
