"""Payouts and refunds to NEAR accounts: the intent that delivers them, the receiver checks before
signing, and the delivery read back from the withdrawal's receipts (never assumed).

As the SDK builds them (sdk-monorepo intents-sdk/src/bridges/direct-bridge/direct-bridge-utils.ts
``createWithdrawIntentPrimitive``, direct-bridge.ts ``estimateWithdrawalFee``):

- wNEAR without a ``customRecipientMsg`` goes out as native NEAR with ``native_withdraw`` (no
  storage registration needed). ``native_withdraw`` is not refunded when its transfer fails, so
  a named receiver must exist before anything is signed.
- Any other NEP-141, and wNEAR with a message, is an ``ft_withdraw`` (``ft_transfer``, or
  ``ft_transfer_call`` with the message). ``min_gas`` is the SDK's 17.05 Tgas when there is no
  message (with one, gas use is unpredictable and the SDK leaves it unset). A receiver that is
  not registered on the token (NEP-145 ``storage_balance_of`` below ``storage_balance_bounds``'
  ``min``) gets ``storage_deposit`` = the shortfall, paid in wNEAR: the verifier unwraps it and
  calls the token's ``storage_deposit`` first (near/intents
  ``contracts/defuse/src/contract/tokens/nep141/withdraw.rs``). For a wNEAR payout the wNEAR is
  the payout's own, so the receiver gets the amount less the storage fee, as with the SDK when
  the fee asset is the withdrawn asset. For other tokens the custody account would have to buy
  wNEAR first (the SDK's fee quote), which the engine does not do: the operator account pays
  the receiver's registration instead (without one, such a quote is refused).
- The delivery is the contract's own accounting: what ``ft_resolve_withdraw`` credits back
  (``mt_mint`` memo ``refund``) was not delivered. A withdrawal that came back entirely is
  *bounced*: the tokens are in the custody account again, the leg is closed with nothing
  delivered and a new withdrawal is signed after a back-off, at most ``MAX_BOUNCES`` times;
  then the swap is parked with the reason. It is never reported as delivered.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from nearintents import signing
from nearintents.payload import AnyIntent, FtWithdraw, NativeWithdraw
from nearintents.rpc import UnknownTransaction
from nearintents.rpc.near import is_final_outcome
from nearintents.rpc.near_delivery import (
    FT_WITHDRAW_MIN_GAS,
    Delivery,
    can_be_created_by_transfer,
    ft_withdraw_delivered,
    native_delivery,
)
from oneclick.domain.assets import Asset
from oneclick.domain.engine import BOUNCED, Leg, SwapState
from oneclick.domain.errors import PermanentError, TemporaryError
from oneclick.domain.near_paths import NEAR_NATIVE_ASSET_ID, delivers_native_near
from oneclick.domain.records import IntentKind
from oneclick.services.boundary import calling
from oneclick.services.engine.context import EngineContext
from oneclick.services.engine.near_storage import register_on_token
from oneclick.services.ports import NearChain

logger = logging.getLogger(__name__)


# A withdrawal that bounced (all of it came back) is signed again at most this many times in all.
MAX_BOUNCES = 3


def recipient_msg(swap: SwapState) -> str | None:
    """The quote's ``customRecipientMsg`` (1Click: ``ft_transfer_call`` when withdrawing to
    NEAR), kept in the stored quote response."""
    try:
        request = json.loads(swap.quote_response).get("quoteRequest") or {}
    except (ValueError, AttributeError):
        return None
    msg = request.get("customRecipientMsg") if isinstance(request, dict) else None
    return msg if isinstance(msg, str) else None


def near_delivery_intent(
    asset: Asset, contract: str, amount: int, receiver: str, *, msg: str | None = None,
    storage_deposit: int = 0,
) -> AnyIntent:  # fmt: skip
    """The SDK's ``createWithdrawIntentPrimitive``; ``amount`` is what leaves the custody
    account in ``asset`` (for wNEAR, the storage fee included)."""
    if delivers_native_near(asset) and msg is None:
        return NativeWithdraw(receiver_id=receiver, amount=amount)
    own_fee = storage_deposit if asset.asset_id == NEAR_NATIVE_ASSET_ID else 0
    if amount - own_fee <= 0:
        raise PermanentError(
            f"{amount} {asset.asset_id} does not cover the receiver's storage deposit "
            f"({storage_deposit} yoctoNEAR in wNEAR)"
        )
    return FtWithdraw(
        token=contract,
        receiver_id=receiver,
        amount=amount - own_fee,
        msg=msg,
        storage_deposit=storage_deposit or None,
        min_gas=FT_WITHDRAW_MIN_GAS if msg is None else None,
    )


async def storage_shortfall(ctx: EngineContext, contract: str, receiver: str) -> int:
    """NEP-145: what ``receiver`` lacks on ``contract`` to be registered (0 if it is)."""
    near, _ = _near(ctx)
    return await nep145_shortfall(near, contract, receiver)


async def nep145_shortfall(near: NearChain, contract: str, receiver: str) -> int:
    """:func:`storage_shortfall` on ``near`` (the quote prices it, the payout pays it)."""
    async with calling("NEAR RPC (storage_balance_of)"):
        bounds = await near.view(contract, "storage_balance_bounds", {})
        held = await near.view(contract, "storage_balance_of", {"account_id": receiver})
    try:
        minimum = int(bounds["min"])
        total = 0 if held is None else int(held["total"])
    except (TypeError, KeyError, ValueError) as exc:
        raise TemporaryError(f"{contract} answered an unreadable NEP-145 storage balance") from exc
    return max(minimum - total, 0)


async def plan_near_delivery(
    ctx: EngineContext, swap: SwapState, kind: IntentKind, asset: Asset, amount: int,
    receiver: str,
) -> AnyIntent:  # fmt: skip
    """The intent for a payout or refund to a NEAR account, after the checks that make it land:
    the receiver exists (or is implicit), is registered or gets a ``storage_deposit``, and the
    swap has not bounced ``MAX_BOUNCES`` times already."""
    contract = asset.asset_id.removeprefix("nep141:")
    await check_near_receiver(ctx, receiver)
    await _check_bounces(ctx, swap, kind, receiver)
    msg = recipient_msg(swap) if kind is IntentKind.WITHDRAW else None
    if delivers_native_near(asset) and msg is None:
        return near_delivery_intent(asset, contract, amount, receiver)
    fee = await storage_shortfall(ctx, contract, receiver)
    if fee and asset.asset_id != NEAR_NATIVE_ASSET_ID:
        # Its storage_deposit would be paid in wNEAR the custody account does not hold: the
        # operator registers the receiver (executed before the withdrawal is even published).
        await register_on_token(ctx, contract, receiver)
        fee = 0
    return near_delivery_intent(asset, contract, amount, receiver, msg=msg, storage_deposit=fee)


async def _check_bounces(
    ctx: EngineContext, swap: SwapState, kind: IntentKind, receiver: str
) -> None:
    async with ctx.store.transaction() as tx:
        legs = [leg for leg in await tx.swaps.legs(swap.id) if leg.kind is kind]
    bounced = [leg for leg in legs if is_bounced(leg)]
    if len(bounced) >= MAX_BOUNCES:
        raise PermanentError(
            f"the withdrawal to {receiver} bounced {len(bounced)} times (the receiver cannot "
            f"receive it; last in {bounced[-1].tx_hash}): the tokens are back in the custody "
            "account, nothing was delivered; an operator must act"
        )


def is_bounced(leg: Leg) -> bool:
    return leg.bounced


def _withdrawal(leg: Leg) -> dict[str, Any]:
    """The leg's own ``ft_withdraw``/``native_withdraw`` intent, from its signed payload."""
    payload = signing.extract_payload(json.loads(leg.signed_data))
    for intent in payload.get("intents") or []:
        if isinstance(intent, dict) and intent.get("intent") in ("ft_withdraw", "native_withdraw"):
            return intent
    raise PermanentError(f"intent {leg.intent_hash} is not a withdrawal to NEAR")


def _near(ctx: EngineContext) -> tuple[NearChain, str]:
    if ctx.near is None or ctx.quotes.near_relayer_account is None:
        raise PermanentError(
            "a delivery to a NEAR account needs NEAR RPC and near.relayer_account configured"
        )
    return ctx.near, ctx.quotes.near_relayer_account


async def check_near_receiver(ctx: EngineContext, receiver: str) -> None:
    """Before signing: a named account that does not exist would lose a ``native_withdraw``
    and bounce an ``ft_withdraw``; wait (bounded by the engine's retries) for it instead."""
    if can_be_created_by_transfer(receiver):
        return
    near, _ = _near(ctx)
    async with calling("NEAR RPC (view_account)"):
        exists = await near.account_exists(receiver)
    if not exists:
        raise TemporaryError(f"NEAR account {receiver} does not exist; nothing was sent to it")


async def confirm_near_delivery(
    ctx: EngineContext, swap: SwapState, leg: Leg, asset: Asset, contract: str, tx_hash: str
) -> int | None:
    """The amount delivered by the SETTLED withdrawal ``leg`` (executed in ``tx_hash``), or None
    while its receipts are still running or its block is not final yet (the same rule as
    ``VerifierViews.executed_in``). A transfer that failed is never reported delivered: a
    bounced ``ft_withdraw`` (its tokens credited back) raises :class:`Bounced`."""
    near, relayer = _near(ctx)
    receiver = _receiver(swap, leg)
    try:
        async with calling("NEAR RPC (tx)"):
            outcome = await near.tx_status(tx_hash, relayer)
    except UnknownTransaction as exc:  # not indexed yet by this node
        raise TemporaryError(f"NEAR transaction {tx_hash} is not known yet") from exc
    if not is_final_outcome(outcome):
        return None
    intent = _withdrawal(leg)
    amount = int(intent["amount"])
    if intent["intent"] == "native_withdraw":
        delivery = native_delivery(outcome, receiver_id=receiver)
        if delivery is Delivery.PENDING:
            return None
        if delivery is Delivery.NOT_DELIVERED:
            _log_undelivered(swap, leg, receiver, tx_hash)
            raise PermanentError(
                f"the native_withdraw of {amount} yoctoNEAR to {receiver} in {tx_hash} was not "
                "delivered (the transfer failed and intents.near does not refund it); an "
                "operator must act"
            )
        return amount
    delivered = ft_withdraw_delivered(
        outcome, token=contract, verifier_id=ctx.quotes.verifier_contract,
        owner_id=swap.custody_account_id, receiver_id=receiver, amount=amount,
    )  # fmt: skip
    if delivered is None:
        return None
    if delivered == 0:
        _log_undelivered(swap, leg, receiver, tx_hash)
        raise Bounced(
            f"{BOUNCED}: the withdrawal of {amount} {asset.asset_id} to {receiver} in {tx_hash} "
            "came back to the custody account (ft_resolve_withdraw refunded it)"
        )
    if delivered < amount:
        logger.warning(
            "%s of %s %s reached %s; the rest came back to the custody account",
            delivered, amount, asset.asset_id, receiver,
            extra={"action": "confirm", "swap_id": swap.id, "intent_hash": leg.intent_hash},
        )  # fmt: skip
    return delivered


class Bounced(Exception):  # noqa: N818 (an outcome, caught by confirm_leg)
    """The withdrawal executed and all of it came back: nothing was delivered."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _log_undelivered(swap: SwapState, leg: Leg, receiver: str, tx_hash: str) -> None:
    logger.error(
        "withdrawal to %s in %s was not delivered", receiver, tx_hash,
        extra={"action": "confirm", "swap_id": swap.id, "intent_hash": leg.intent_hash},
    )  # fmt: skip


def _receiver(swap: SwapState, leg: Leg) -> str:
    return swap.refund_to if leg.kind is IntentKind.REFUND else swap.recipient
