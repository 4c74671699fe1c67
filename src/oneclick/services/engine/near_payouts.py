"""Payouts and refunds to NEAR accounts: the intent that delivers them, the receiver check before
signing, and the delivery read back from the withdrawal's receipts (never assumed).

wNEAR goes out as native NEAR with ``native_withdraw`` (as the SDK does: no storage
registration needed, sdk-monorepo intents-sdk/src/bridges/direct-bridge/direct-bridge-utils.ts);
any other NEP-141 as ``ft_withdraw`` with the SDK's ``min_gas``. ``native_withdraw`` is not
refunded when its transfer fails, so a named receiver must exist before anything is signed.
"""

from __future__ import annotations

import logging

from nearintents.payload import AnyIntent, FtWithdraw, NativeWithdraw
from nearintents.rpc import UnknownTransaction
from nearintents.rpc.near import is_final_outcome
from nearintents.rpc.near_delivery import (
    FT_WITHDRAW_MIN_GAS,
    Delivery,
    can_be_created_by_transfer,
    ft_delivery,
    native_delivery,
)
from oneclick.domain.assets import Asset
from oneclick.domain.engine import EngineSwap, Leg
from oneclick.domain.errors import PermanentError, TemporaryError
from oneclick.domain.near_paths import delivers_native_near
from oneclick.domain.records import IntentKind
from oneclick.services.boundary import calling
from oneclick.services.engine.context import EngineContext
from oneclick.services.ports import NearChain

logger = logging.getLogger(__name__)


def near_delivery_intent(asset: Asset, contract: str, amount: int, receiver: str) -> AnyIntent:
    if delivers_native_near(asset):
        return NativeWithdraw(receiver_id=receiver, amount=amount)
    return FtWithdraw(
        token=contract, receiver_id=receiver, amount=amount, min_gas=FT_WITHDRAW_MIN_GAS
    )


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
    ctx: EngineContext, swap: EngineSwap, leg: Leg, asset: Asset, contract: str, tx_hash: str
) -> int | None:
    """The amount delivered by the SETTLED withdrawal ``leg`` (executed in ``tx_hash``), or None
    while its receipts are still running or its block is not final yet (the same rule as
    ``VerifierViews.executed_in``). A transfer that failed is never reported delivered."""
    near, relayer = _near(ctx)
    amount = leg.debits.get(asset.asset_id, 0)
    receiver = _receiver(swap, leg)
    try:
        async with calling("NEAR RPC (tx)"):
            outcome = await near.tx_status(tx_hash, relayer)
    except UnknownTransaction as exc:  # not indexed yet by this node
        raise TemporaryError(f"NEAR transaction {tx_hash} is not known yet") from exc
    if not is_final_outcome(outcome):
        return None
    if delivers_native_near(asset):
        delivery = native_delivery(outcome, receiver_id=receiver)
    else:
        delivery = ft_delivery(
            outcome,
            token=contract,
            sender_id=ctx.quotes.verifier_contract,
            receiver_id=receiver,
            amount=amount,
        )
    if delivery is Delivery.PENDING:
        return None
    if delivery is Delivery.NOT_DELIVERED:
        logger.error(
            "withdrawal to %s in %s was not delivered",
            receiver,
            tx_hash,
            extra={"action": "confirm", "swap_id": swap.id, "intent_hash": leg.intent_hash},
        )
        raise PermanentError(
            f"the withdrawal of {amount} {asset.asset_id} to {receiver} in {tx_hash} was not "
            "delivered (the receiver's transfer failed); an operator must act"
        )
    return amount


def _receiver(swap: EngineSwap, leg: Leg) -> str:
    return swap.refund_to if leg.kind is IntentKind.REFUND else swap.recipient
