"""Legs: the engine's signed intents (swap, payout, refund) through their life.

    sign_leg      versioned nonce from ``current_salt``, signed by the custody key, PERSISTED
    publish_leg   (re)sends the stored bytes; the verifier's nonce check makes repeats harmless
    follow_leg    ``get_status`` and ``is_nonce_used`` decide SETTLED, DEAD or still pending
    confirm_leg   for withdrawals: the bridge's ``withdrawal_status`` proves the payout

A leg is DEAD only when its deadline (plus a margin for clock skew) has passed and its nonce is
unused: then it can never execute, and only then may another intent spend the same funds
(ARCHITECTURE.md §4 rule 2).
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
from nearintents.rpc import IntentStatus, WithdrawalStatus
from nearintents.tokens import TokenId, TokenStandard
from oneclick.domain.assets import Asset
from oneclick.domain.engine import EngineSwap, Leg, withdraw_memo
from oneclick.domain.errors import PermanentError, TemporaryError
from oneclick.domain.records import IntentKind, IntentState
from oneclick.services.boundary import calling
from oneclick.services.engine.context import EngineContext
from oneclick.services.engine.near_payouts import confirm_near_delivery, near_delivery_intent

logger = logging.getLogger(__name__)

# The SDK's gas for a PoA withdrawal (PROTOCOL.md §4.2).
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
    ``ft_withdraw`` to a NEAR account, or a PoA burn with ``WITHDRAW_TO:`` (PROTOCOL.md §4.2)."""
    if internal:
        return Transfer(receiver_id=receiver, tokens={asset.asset_id: amount})
    contract = _contract(asset)
    if not is_bridged(asset):
        return near_delivery_intent(asset, contract, amount, receiver)
    return FtWithdraw(
        token=contract,
        receiver_id=contract,
        amount=amount,
        memo=withdraw_memo(receiver),
        min_gas=POA_WITHDRAW_GAS,
    )


async def sign_leg(
    ctx: EngineContext,
    swap: EngineSwap,
    kind: IntentKind,
    intents: list[AnyIntent],
    *,
    deadline: datetime,
    debits: dict[str, int],
    credits: dict[str, int] | None = None,
    quote_hashes: tuple[str, ...] = (),
) -> Leg:
    """Sign one payload as the custody account and persist it (not yet published)."""
    async with calling("the verifier (current_salt)"):
        salt = await ctx.verifier.current_salt()
    nonce = fresh_versioned_nonce(salt, datetime_to_ns(deadline))
    payload = DefusePayload(
        signer_id=swap.custody_account_id,
        verifying_contract=ctx.quotes.verifier_contract,
        deadline=deadline,
        nonce=nonce,
        intents=intents,
    )
    signed = ctx.custody.sign_intent(
        swap.custody_index, ctx.policy.signing_standard, payload.to_json_dict()
    )
    now = ctx.clock.now()
    leg = Leg(
        intent_hash=signing.intent_hash(signed),
        swap_id=swap.id,
        kind=kind,
        signer_id=swap.custody_account_id,
        nonce=payload.to_json_dict()["nonce"],
        signed_data=json.dumps(signed, separators=(",", ":"), ensure_ascii=False),
        state=IntentState.SIGNED,
        deadline=deadline,
        created_at=now,
        quote_hashes=quote_hashes,
        debits=debits,
        credits=credits or {},
    )
    async with ctx.store.transaction() as tx:
        await tx.fence(swap.id, ctx.owner, now)
        await tx.add_leg(leg)
    logger.info(
        "%s intent signed",
        kind.value.lower(),
        extra={"action": "sign", "swap_id": swap.id, "intent_hash": leg.intent_hash},
    )
    return leg


async def _save(ctx: EngineContext, swap: EngineSwap, leg: Leg, **changes: object) -> Leg:
    now = ctx.clock.now()
    async with ctx.store.transaction() as tx:
        await tx.fence(swap.id, ctx.owner, now)
        await tx.update_leg(leg.intent_hash, now, **changes)  # type: ignore[arg-type]
    return replace(leg, **changes)  # type: ignore[arg-type]


async def publish_leg(ctx: EngineContext, swap: EngineSwap, leg: Leg) -> Leg:
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


async def follow_leg(ctx: EngineContext, swap: EngineSwap, leg: Leg) -> tuple[Leg, Outcome]:
    """Read the outcome back: the relay's status, then the verifier's nonce (the truth)."""
    if leg.state is IntentState.SETTLED:
        return leg, Outcome.SETTLED
    if leg.state is IntentState.DEAD:
        return leg, Outcome.DEAD
    async with calling("the solver relay (get_status)"):
        status = await ctx.relay.get_status(leg.intent_hash)
    if status.status is IntentStatus.SETTLED:
        settled = await _save(ctx, swap, leg, state=IntentState.SETTLED, tx_hash=status.tx_hash)
        return settled, Outcome.SETTLED
    async with calling("the verifier (is_nonce_used)"):
        used = await ctx.verifier.is_nonce_used(leg.signer_id, b64decode(leg.nonce))
    if used:  # executed, whatever the relay says
        settled = await _save(ctx, swap, leg, state=IntentState.SETTLED, tx_hash=status.tx_hash)
        return settled, Outcome.SETTLED
    if ctx.clock.now() > leg.deadline + ctx.policy.dead_margin:
        why = "failed on chain" if status.failed_on_chain else f"expired ({status.status.value})"
        dead = await _save(ctx, swap, leg, state=IntentState.DEAD, reason=why)
        logger.info(
            "%s intent is dead: %s",
            leg.kind.value.lower(),
            why,
            extra={"action": "follow", "swap_id": swap.id, "intent_hash": leg.intent_hash},
        )
        return dead, Outcome.DEAD
    return leg, Outcome.PENDING


async def confirm_leg(
    ctx: EngineContext, swap: EngineSwap, leg: Leg, asset: Asset, *, internal: bool
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
    if not is_bridged(asset):
        delivered = await confirm_near_delivery(ctx, swap, leg, asset, _contract(asset), tx_hash)
        if delivered is None:
            return None
        return await _save(ctx, swap, leg, delivered=delivered, destination_tx_hash=tx_hash)
    async with calling("the bridge (withdrawal_status)"):
        withdrawals = await ctx.bridge.withdrawal_status(tx_hash)
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
