"""NEAR-native ``ORIGIN_CHAIN`` deposits: the user's plain ``ft_transfer`` lands in the custody
account's NEP-141 balance on the token contract, outside ``intents.near``. The service moves it
in with ``ft_transfer_call(receiver_id = intents.near, msg = "")``, signed by the custody key
(an empty ``msg`` credits the sender: near/intents ``defuse/src/tokens/nep141/deposit.rs``).

Gas (a funded operator account, the choice documented in docs/protocol-notes.md): a custody
account is an implicit account that does not exist until NEAR is sent to it; the operator sends
it ``CUSTODY_NEAR`` (creating it with its own key), which pays the transaction's gas and the
1 yoctoNEAR ``ft_transfer_call`` attaches. Balances are the truth: a crash between steps repeats
them; a moved deposit leaves nothing on the token to move again.
"""

from __future__ import annotations

import logging

from nearintents.near_tx import TGAS, FunctionCall, Transfer
from nearintents.rpc import Finality
from nearintents.rpc.near_delivery import deposit_credited
from oneclick.domain.engine import DepositRecord, EngineSwap
from oneclick.domain.errors import TemporaryError
from oneclick.services.boundary import calling
from oneclick.services.engine.context import EngineContext
from oneclick.services.engine.near_storage import register_on_token

logger = logging.getLogger(__name__)

CUSTODY_NEAR = 10**22  # 0.01 NEAR: creates the implicit account and pays its gas
# nearcore refuses a transaction whose signer holds less than its prepaid gas at the gas price
# (NotEnoughBalance): 50 Tgas at mainnet's 10^8 yocto/gas is 0.005 NEAR; below 0.006 the
# operator tops the custody account up again.
CUSTODY_MIN_NEAR = 6 * 10**21
DEPOSIT_GAS = 50 * TGAS  # ft_transfer_call + ft_on_transfer + ft_resolve_transfer


async def sweep_near_deposit(ctx: EngineContext, swap: EngineSwap) -> None:
    """Move whatever the custody account holds on the origin token into the verifier."""
    near, signer = ctx.near, ctx.near_signer
    if near is None or signer is None:
        return  # quoting refused NEAR-native ORIGIN_CHAIN deposits without an operator
    contract = swap.origin_asset.removeprefix("nep141:")
    custody = swap.custody_account_id
    async with calling("NEAR RPC (ft_balance_of)"):
        held = int(await near.view(contract, "ft_balance_of", {"account_id": custody}) or 0)
    if held <= 0:
        # NEP-145: wrap.near and USDC refuse a user's ft_transfer to an unregistered account;
        # while the swap waits for its deposit, the operator registers the custody account.
        await register_on_token(ctx, contract, custody)
        return
    async with calling("NEAR RPC (view_account)"):
        # At the head, not `final`: a custody account funded a block ago must not be funded twice.
        has = await near.native_balance(custody, finality=Finality.OPTIMISTIC)
    if has is None or has < CUSTODY_MIN_NEAR:  # missing, or its gas spent by earlier moves
        async with calling("NEAR RPC (operator transfer)"):
            nonce, block = await near.access_key(
                signer.operator_account_id, signer.operator_public_key
            )
            funding = signer.sign_as_operator(custody, nonce + 1, block, [Transfer(CUSTODY_NEAR)])
            funded = await near.send_tx(funding.base64)
        if not funded.succeeded:
            raise TemporaryError(f"the operator could not fund {custody}: {funded.failure}")
    account = ctx.custody.account(swap.custody_index)
    call = FunctionCall(
        "ft_transfer_call",
        {"receiver_id": ctx.quotes.verifier_contract, "amount": str(held), "msg": ""},
        gas=DEPOSIT_GAS,
        deposit=1,
    )
    async with calling("NEAR RPC (ft_transfer_call)"):
        nonce, block = await near.access_key(custody, account.public_key)
        moved = signer.sign_as_custody(swap.custody_index, contract, nonce + 1, block, [call])
        outcome = await near.send_tx(moved.base64)
    if not outcome.succeeded:
        raise TemporaryError(f"moving {held} {swap.origin_asset} into the verifier failed")
    # The hash /v0/status will show, read back from NEAR `tx`: it must credit the custody
    # account with what was moved (the swap itself waits for the balance at final anyway).
    async with calling("NEAR RPC (tx)"):
        seen = await near.tx_status(moved.hash, custody)
    credited = deposit_credited(seen, verifier_id=ctx.quotes.verifier_contract,
                                owner_id=custody, token_id=swap.origin_asset)  # fmt: skip
    if credited != held:
        logger.warning(
            "NEAR tx %s credits %s, not the %s moved: not shown as the deposit", moved.hash,
            credited, held, extra={"action": "deposit", "swap_id": swap.id},
        )  # fmt: skip
        return
    now = ctx.clock.now()
    async with ctx.store.transaction() as tx:
        await tx.fence(swap.id, ctx.owner, now)
        await tx.record_bridge_deposit(
            swap.id,
            DepositRecord(tx_hash=moved.hash, source="NEAR", chain="near", amount=held,
                          status="COMPLETED", created_at=now),
        )  # fmt: skip
    logger.info(
        "NEAR deposit of %s moved into the verifier", held,
        extra={"action": "deposit", "swap_id": swap.id},
    )  # fmt: skip
