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
from nearintents.rpc import Finality, UnknownTransaction
from nearintents.rpc.near import is_final_outcome
from nearintents.rpc.near_delivery import deposit_credited, ft_received
from oneclick.domain.engine import DepositRecord, SwapState
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
# Submitted hashes looked up per engine step: a client that submits many costs bounded RPC.
MAX_TX_LOOKUPS = 5
NOT_A_DEPOSIT = "FAILED"  # a final transaction that pays the address nothing: never shown


async def confirm_submitted_transfers(ctx: EngineContext, swap: SwapState) -> None:
    """Check the user's submitted NEAR hashes (``/v0/deposit/submit`` with
    ``nearSenderAccount``) against NEAR ``tx``: a FINAL transaction whose token receipts move
    the origin token from that sender to the custody account is recorded as seen, so
    ``originChainTxHashes`` lists it. One NEAR does not know yet stays unshown and is looked up
    again at the next step while the swap waits for its deposit (the bound: its deadline); a
    final one that pays the address nothing is recorded as such and never looked up again.

    Its amount is not recorded: the service's own ``ft_transfer_call`` that moved the tokens
    in carries the credited amount, and a transfer must not be counted twice in
    ``swapDetails.deposits``."""
    near = ctx.near
    if near is None:
        return
    async with ctx.store.transaction() as tx:
        unseen = [d.tx_hash for d in await tx.swaps.deposits(swap.id)
                  if d.source == "SUBMITTED" and d.status is None]  # fmt: skip
        senders = await tx.swaps.deposit_senders(swap.id) if unseen else {}
    contract = swap.origin_asset.removeprefix("nep141:")
    found: list[DepositRecord] = []
    for tx_hash in [h for h in unseen if h in senders][:MAX_TX_LOOKUPS]:
        async with calling("NEAR RPC (tx)"):
            try:
                outcome = await near.tx_status(tx_hash, senders[tx_hash])
            except UnknownTransaction:
                continue  # not on NEAR (yet): still unshown
        if not is_final_outcome(outcome):
            continue  # what it says may still change
        paid = ft_received(outcome, token=contract, sender_id=senders[tx_hash],
                           receiver_id=swap.custody_account_id)  # fmt: skip
        found.append(
            DepositRecord(tx_hash=tx_hash, source="SUBMITTED", chain="near", amount=None,
                          status="COMPLETED" if paid > 0 else NOT_A_DEPOSIT,
                          created_at=ctx.clock.now(),
                          asset=swap.origin_asset if paid > 0 else None)
        )  # fmt: skip
        if paid <= 0:
            logger.info(
                "submitted NEAR tx %s pays %s nothing in %s: not shown", tx_hash,
                swap.custody_account_id, swap.origin_asset,
                extra={"action": "deposit", "swap_id": swap.id},
            )  # fmt: skip
    if not found:
        return
    now = ctx.clock.now()
    async with ctx.store.transaction() as tx:
        await tx.swaps.fence(swap.id, ctx.owner, now)
        for record in found:
            await tx.swaps.record_bridge_deposit(swap.id, record)


async def sweep_near_deposit(ctx: EngineContext, swap: SwapState) -> None:
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
        await tx.swaps.fence(swap.id, ctx.owner, now)
        await tx.swaps.record_bridge_deposit(
            swap.id,
            DepositRecord(tx_hash=moved.hash, source="NEAR", chain="near", amount=held,
                          status="COMPLETED", created_at=now),
        )  # fmt: skip
    logger.info(
        "NEAR deposit of %s moved into the verifier", held,
        extra={"action": "deposit", "swap_id": swap.id},
    )  # fmt: skip
