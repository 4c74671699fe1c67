"""``get_status`` and ``submit_deposit``: a swap found by its deposit address (and memo)."""

from __future__ import annotations

import logging
import re

from oneclick.domain.errors import NotFound, RequestError, TemporaryError
from oneclick.domain.records import DepositTx
from oneclick.domain.requests import DepositType
from oneclick.domain.swaps import SwapRecord, after_deposit_submitted
from oneclick.services.boundary import calling
from oneclick.services.context import ServiceContext
from oneclick.services.ports import StoreSession

logger = logging.getLogger(__name__)

_TX_HASH = re.compile(r"[\x21-\x7e]{1,256}", re.ASCII)


async def _find(tx: StoreSession, address: str, memo: str | None) -> SwapRecord:
    swap = await tx.swap_by_deposit(address, memo or None)
    if swap is None:
        raise NotFound(f"Deposit address {address} not found")
    return swap


async def get_status(ctx: ServiceContext, address: str, memo: str | None) -> SwapRecord:
    """The swap behind ``address`` (+ ``memo`` when its quote had one); 404 otherwise."""
    async with ctx.store.transaction() as tx:
        return await _find(tx, address, memo)


async def submit_deposit(
    ctx: ServiceContext,
    *,
    tx_hash: str,
    address: str,
    memo: str | None,
    near_sender_account: str | None,
) -> SwapRecord:
    """Record the deposit tx (idempotent), then tell the bridge about it (outside the
    transaction). The bridge notification only speeds things up: its failure is logged."""
    if not _TX_HASH.fullmatch(tx_hash):
        raise RequestError("txHash must be a non-empty transaction hash without spaces")
    async with ctx.store.transaction() as tx:
        swap = await _find(tx, address, memo)
        await tx.record_deposit_tx(
            DepositTx(swap.id, tx_hash, near_sender_account, memo, ctx.clock.now())
        )
        new_status = after_deposit_submitted(swap.status)
        if new_status is not swap.status:
            await tx.set_status(
                swap.id, new_status, expected_version=swap.version, now=ctx.clock.now()
            )
        swap = await _find(tx, address, memo)
    origin = ctx.registry.by_token_id(swap.origin_asset)
    if (
        swap.deposit_type == DepositType.ORIGIN_CHAIN.value
        and origin is not None
        and not origin.is_near_native
        and origin.bridge_chain is not None
    ):
        try:
            async with calling("the bridge (notify_deposit)"):
                await ctx.bridge.notify_deposit(
                    origin.bridge_chain,
                    address,
                    tx_hash,
                    near_sender_account=near_sender_account,
                    memo=swap.deposit_memo,
                )
        except (TemporaryError, ValueError) as exc:
            logger.warning(
                "notify_deposit failed: %s",
                exc,
                extra={"action": "notify_deposit", "swap_id": swap.id, "deposit_address": address},
            )
    return swap
