"""Issue 7's acceptance on the devnet: ``oneclick up`` (real anvil chains, the bridge, the relay,
two solvers) driven over HTTP like a user, for every route, swap type and refund path.

All the module's swaps start at once on one background event loop (``swaps`` fixture); each test
waits for its own and checks, unit by unit (:func:`e2e_swapkit.audit`), that the recipient got
exactly ``swapDetails.amountOut``, the refund address exactly ``refundedAmount``, the fee accounts
exactly their fees, and that everything the custody account received is accounted for in the
verifier's event log. Recipients, refund addresses and fee accounts are fresh, so a balance is
the delta. The stack runs with a 10 s minimum deadline and 2 s sweep and quote retries
(``e2e_stack.STACK_ENV``) so that deadline refunds and late deposits take seconds.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from e2e_stack import RunningStack
from e2e_swapkit import (
    ARB_USDC,
    ARB_USDT,
    BTC,
    ETH_USDC,
    NEAR_USDC,
    PLATFORM_FEE_ACCOUNT,
    WNEAR,
    XRP,
    Audit,
    Devnet,
    Ledger,
    Parties,
    Scenarios,
    Swap,
    audit,
    custody_account,
    custody_ledger,
    deposit,
    fresh_intents_account,
    quote,
    wait_status,
)

from nearintents import signing
from nearintents.keys import Ed25519SecretKey, implicit_account_id
from oneclick.client import (
    BadRequest,
    ExecutionStatus,
    OneClickClient,
    QuoteRequest,
    deadline_in,
)

pytestmark = [pytest.mark.devnet, pytest.mark.slow, pytest.mark.timeout(300)]

USDC = 10**6
RESULT_TIMEOUT_S = 240.0
SHORT_DEADLINE = timedelta(seconds=20)  # the stack's minimum is 10 s (STACK_ENV)
DRAIN_DEADLINE = timedelta(seconds=30)  # draining the solvers takes a few seconds first


@dataclass
class World:
    api: OneClickClient
    devnet: Devnet
    collector: str  # the verifier's protocol fee collector
    platform_before: dict[str, int]
    audits: dict[str, Audit] = field(default_factory=dict)

    async def check(self, swap: Swap, *, left: int = 0) -> Audit:
        checked = await audit(self.devnet, swap, self.devnet.log(), collector=self.collector,
                              left=left)  # fmt: skip
        self.audits[swap.name] = checked
        return checked

    async def aclose(self) -> None:
        await self.api.aclose()
        await self.devnet.__aexit__()


Scenario = Callable[[World], Coroutine[Any, Any, Audit]]
SCENARIOS: dict[str, Scenario] = {}
ORIGINS = (ETH_USDC, ARB_USDC, BTC, NEAR_USDC)


def refund_shown(status: ExecutionStatus) -> bool:
    return status.swap_details.refunded_amount is not None


def scenario(fn: Scenario) -> Scenario:
    SCENARIOS[fn.__name__] = fn
    return fn


async def parties(w: World, swap_from: str, swap_to: str, **app_fees: int) -> Parties:
    """A fresh recipient on the destination chain and a fresh refund address on the origin's."""
    recipient, refund_to = await asyncio.gather(
        w.devnet.address(swap_to, "recipient"), w.devnet.address(swap_from, "refund")
    )
    return Parties(recipient, refund_to, dict(app_fees))


# --- happy paths -------------------------------------------------------------------------------


@scenario
async def evm_token_to_evm_token(w: World) -> Audit:
    """USDC on Ethereum to USDC on Arbitrum, EXACT_INPUT, with a 50 bps app fee to a NEAR
    Intents account: the recipient gets amountOut (>= minAmountOut), the app fee account
    ceil(amountIn * 50 / 10_000), the platform ceil(amountIn * 20 / 10_000)."""
    app_fee = fresh_intents_account("appfee")
    who = await parties(w, ETH_USDC, ARB_USDC)
    who.app_fees[app_fee] = 50
    swap = await quote(w.api, "USDC eth -> USDC arb", who, origin_asset=ETH_USDC,
                       destination_asset=ARB_USDC, amount=str(30 * USDC))  # fmt: skip
    await deposit(w.devnet, swap, int(swap.quote.quote.amount_in))
    final = await wait_status(w.api, swap, {"SUCCESS"})
    assert int(final.swap_details.amount_out or 0) >= int(swap.quote.quote.min_amount_out)
    checked = await w.check(swap)
    assert checked.origin.fees[app_fee] == 150_000
    return checked


@scenario
async def bitcoin_to_evm(w: World) -> Audit:
    """BTC (a simulated Bitcoin ledger, bech32 deposit address) to USDC on Ethereum."""
    swap = await quote(w.api, "BTC -> USDC eth", await parties(w, BTC, ETH_USDC),
                       origin_asset=BTC, destination_asset=ETH_USDC, amount="100000")  # fmt: skip
    assert swap.deposit_address.startswith("bc1")
    await deposit(w.devnet, swap, 100_000)
    final = await wait_status(w.api, swap, {"SUCCESS"})
    assert int(final.swap_details.amount_out or 0) >= int(swap.quote.quote.min_amount_out)
    return await w.check(swap)


@scenario
async def evm_to_memo_chain_exact_output(w: World) -> Audit:
    """USDC on Arbitrum to exactly 40 XRP at the recipient's XRP address (EXACT_OUTPUT); the
    slippage buffer in amountIn that the swap did not need goes back to an INTENTS refund
    account (any amount can be refunded inside the verifier)."""
    who = await parties(w, ARB_USDC, XRP)
    who.refund_to = fresh_intents_account("refund")
    swap = await quote(w.api, "USDC arb -> XRP (EXACT_OUTPUT)", who, origin_asset=ARB_USDC,
                       destination_asset=XRP, amount=str(40 * USDC), swap_type="EXACT_OUTPUT",
                       refund_type="INTENTS")  # fmt: skip
    assert swap.quote.quote.amount_out == str(40 * USDC)
    await deposit(w.devnet, swap, int(swap.quote.quote.amount_in))
    await wait_status(w.api, swap, {"SUCCESS"})
    # The buffer comes back by the sweep right after SUCCESS.
    final = await wait_status(w.api, swap, {"SUCCESS"}, done=refund_shown)
    assert final.swap_details.amount_out == str(40 * USDC)
    checked = await w.check(swap)
    assert checked.refunded > 0
    return checked


@scenario
async def near_native_to_evm_flex_input(w: World) -> Audit:
    """USDC NEP-141 on NEAR (deposited with a verifier transfer to the custody account, as
    `oneclick devnet deposit` does for NEAR assets) to USDC on Ethereum, FLEX_INPUT: 27 USDC
    arrive for a 25 USDC quote and all 27 are swapped (minimum output pro rata)."""
    who = await parties(w, ETH_USDC, ETH_USDC)
    who.refund_to = fresh_intents_account("refund")
    swap = await quote(w.api, "USDC near -> USDC eth (FLEX_INPUT)", who, origin_asset=NEAR_USDC,
                       destination_asset=ETH_USDC, amount=str(25 * USDC),
                       swap_type="FLEX_INPUT", deposit_type="INTENTS",
                       refund_type="INTENTS")  # fmt: skip
    assert len(swap.deposit_address) == 64  # the custody account itself
    await deposit(w.devnet, swap, 27 * USDC)
    final = await wait_status(w.api, swap, {"SUCCESS"})
    minimum = int(swap.quote.quote.min_amount_out) * 27 // 25
    assert int(final.swap_details.amount_out or 0) >= minimum
    assert final.swap_details.deposited_amount == str(27 * USDC)
    return await w.check(swap)


@scenario
async def near_ft_transfer_to_evm(w: World) -> Audit:
    """wNEAR to USDC on Ethereum, depositType ORIGIN_CHAIN: alice pays the deposit address (the
    custody implicit account) with a plain NEP-141 ``ft_transfer`` on NEAR, outside
    intents.near. The service moves it in (``ft_transfer_call`` signed by the custody key, the
    operator account creating and funding the custody account) and the swap succeeds."""
    who = await parties(w, ETH_USDC, ETH_USDC)
    who.refund_to = fresh_intents_account("refund")
    amount = 5 * 10**24
    swap = await quote(w.api, "wNEAR (ft_transfer on NEAR) -> USDC eth", who, origin_asset=WNEAR,
                       destination_asset=ETH_USDC, amount=str(amount),
                       refund_type="INTENTS")  # fmt: skip
    assert len(swap.deposit_address) == 64  # the custody account itself
    # wrap.near requires NEP-145 registration: the service's operator registers the custody
    # account while it waits (alice's ft_transfer would fail before).
    async with asyncio.timeout(60):
        while not await w.devnet.nep145_registered(WNEAR, swap.deposit_address):  # noqa: ASYNC110 - polls the node
            await asyncio.sleep(0.2)
    swap.deposited_at = time.monotonic()
    tx_hash = await w.devnet.near_ft_transfer("alice", WNEAR, swap.deposit_address, amount)
    swap.deposit_txs.append(tx_hash)
    swap.sent.append(amount)
    alice = next(x["address"] for x in w.devnet.manifest["wallets"]
                 if x["chain"] == "near:mainnet" and x["name"] == "alice")  # fmt: skip
    submitted = await w.api.submit_deposit(tx_hash, swap.deposit_address,
                                           near_sender_account=alice)  # fmt: skip
    assert submitted.status in {"KNOWN_DEPOSIT_TX", "PROCESSING", "SUCCESS"}
    final = await wait_status(w.api, swap, {"SUCCESS"})
    # The status lists alice's ft_transfer, checked with NEAR `tx` (final, paying the deposit
    # address from her account), and the transaction that moved it into intents.near.
    shown = [t.hash for t in final.swap_details.origin_chain_tx_hashes]
    assert tx_hash in shown, shown
    assert len(shown) == 2, shown
    assert final.swap_details.deposited_amount == str(amount)
    assert int(final.swap_details.amount_out or 0) >= int(swap.quote.quote.min_amount_out)
    assert await w.devnet.nep141_balance(WNEAR, swap.deposit_address) == 0  # all moved in
    return await w.check(swap)


STORAGE_MIN = 1_250_000_000_000_000_000_000  # the devnet tokens' storage_balance_bounds().min


@scenario
async def evm_to_wnear_by_ft_transfer_call_at_a_fresh_unregistered_account(w: World) -> Audit:
    """USDC on Ethereum to wNEAR *as the token*, asked for with ``customRecipientMsg`` (1Click:
    ``ft_transfer_call`` when withdrawing to NEAR), at a fresh named account running
    near-sdk-rs' NEP-141 receiver example and registered nowhere: the service pays its
    ``storage_deposit`` in wNEAR inside the ``ft_withdraw`` (as the SDK builds it), the
    receiver keeps the tokens, and SUCCESS reports what it holds."""
    who = await parties(w, ETH_USDC, ETH_USDC)
    who.recipient = f"defi-{uuid.uuid4().hex[:12]}.near"
    await w.devnet.deploy_ft_receiver(who.recipient, WNEAR)
    assert not await w.devnet.nep145_registered(WNEAR, who.recipient)
    swap = await quote(w.api, "USDC eth -> wNEAR (ft_transfer_call, unregistered)", who,
                       origin_asset=ETH_USDC, destination_asset=WNEAR, amount=str(30 * USDC),
                       custom_recipient_msg="take-my-money")  # fmt: skip
    await deposit(w.devnet, swap, int(swap.quote.quote.amount_in))
    final = await wait_status(w.api, swap, {"SUCCESS"})
    delivered = int(final.swap_details.amount_out or 0)
    account, usdc, wnear = await near_output_ledgers(w, swap)
    # Bought = burnt by the one ft_withdraw: the amount sent and its storage deposit.
    assert wnear.bought == wnear.withdrawn == delivered + STORAGE_MIN, wnear
    assert wnear.deposited == 0, wnear  # nothing came back
    assert await w.devnet.nep141_balance(WNEAR, who.recipient) == delivered  # as wNEAR
    assert await w.devnet.nep145_registered(WNEAR, who.recipient)
    [near_tx] = final.swap_details.destination_chain_tx_hashes
    assert near_tx.hash in final.swap_details.near_tx_hashes
    w.audits[swap.name] = Audit(swap, account, usdc, wnear, delivered, 0)
    return w.audits[swap.name]


async def near_output_ledgers(w: World, swap: Swap) -> tuple[str, Ledger, Ledger]:
    """The custody account's USDC (eth) and wNEAR ledgers, read back: every unit of the input
    credited once and swapped, none unexplained, and the verifier's balances as the ledgers
    say."""
    log = w.devnet.log()
    account = custody_account(log, swap)
    common: dict[str, Any] = {"solvers": w.devnet.solvers, "collector": w.collector}
    usdc = custody_ledger(log, account, ETH_USDC, fee_accounts=[PLATFORM_FEE_ACCOUNT], **common)
    wnear = custody_ledger(log, account, WNEAR, **common)
    assert not usdc.unexplained, usdc
    assert not wnear.unexplained, wnear
    assert usdc.deposited == sum(swap.sent), usdc
    held = await w.devnet.views.mt_batch_balance_of(account, [ETH_USDC, WNEAR])
    assert held == [usdc.held, wnear.held], (held, usdc, wnear)
    assert usdc.held == 0, usdc
    return account, usdc, wnear


@scenario
async def evm_to_near_usdc_at_an_unregistered_account(w: World) -> Audit:
    """USDC on Ethereum to USDC on NEAR (an NEP-141 other than wNEAR) at a fresh named account
    registered nowhere: the operator account pays its NEP-145 ``storage_deposit``, then a plain
    ``ft_withdraw`` (``ft_transfer``) delivers. Audited to the unit; the receiver holds
    exactly ``amountOut`` on the token contract."""
    who = await parties(w, ETH_USDC, ETH_USDC)
    who.recipient = f"shop-{uuid.uuid4().hex[:12]}.near"
    await w.devnet.deploy_ft_receiver(who.recipient, NEAR_USDC)  # a named account that exists
    assert not await w.devnet.nep145_registered(NEAR_USDC, who.recipient)
    swap = await quote(w.api, "USDC eth -> USDC near (unregistered)", who, origin_asset=ETH_USDC,
                       destination_asset=NEAR_USDC, amount=str(30 * USDC))  # fmt: skip
    await deposit(w.devnet, swap, int(swap.quote.quote.amount_in))
    await wait_status(w.api, swap, {"SUCCESS"})
    assert await w.devnet.nep145_registered(NEAR_USDC, who.recipient)
    return await w.check(swap)


@scenario
async def evm_to_a_near_account_that_cannot_receive(w: World) -> Audit:
    """USDC on Ethereum to wNEAR with ``customRecipientMsg`` at an implicit account without a
    contract: its ``ft_on_transfer`` cannot run, so every withdrawal comes back to the custody
    account (``ft_resolve_withdraw``). The service signs it anew a bounded number of times,
    then parks the swap with the reason: never SUCCESS, nothing delivered, the output back in
    the custody account to the unit."""
    who = await parties(w, ETH_USDC, ETH_USDC)
    who.recipient = implicit_account_id(Ed25519SecretKey.generate().public_key)
    swap = await quote(w.api, "USDC eth -> wNEAR (cannot receive)", who,
                       origin_asset=ETH_USDC, destination_asset=WNEAR, amount=str(30 * USDC),
                       custom_recipient_msg="take-my-money")  # fmt: skip
    await deposit(w.devnet, swap, int(swap.quote.quote.amount_in))
    final = await wait_status(w.api, swap, {"FAILED"}, timeout_s=400)
    assert "SUCCESS" not in swap.statuses, swap.statuses
    assert final.swap_details.destination_chain_tx_hashes == []
    account, usdc, wnear = await near_output_ledgers(w, swap)
    # Every withdrawal came back (mt_mint memo refund) but the first one's storage deposit,
    # which registered the receiver on wrap.near: the rest of the output is held, to the unit.
    assert wnear.bought > 0, wnear
    assert wnear.deposited == wnear.withdrawn - STORAGE_MIN, wnear
    assert wnear.held == wnear.bought - STORAGE_MIN, wnear
    assert await w.devnet.nep141_balance(WNEAR, who.recipient) == 0
    assert await w.devnet.native_near(who.recipient) == 0
    w.audits[swap.name] = Audit(swap, account, usdc, wnear, 0, 0)
    return w.audits[swap.name]


@scenario
async def evm_to_native_near_at_a_fresh_implicit_account(w: World) -> Audit:
    """USDC on Ethereum to wNEAR at a fresh implicit NEAR account (never funded, registered
    nowhere): paid out as native NEAR with ``native_withdraw``, whose transfer creates the
    account; SUCCESS only once the transfer receipt is read back from the ``tx`` outcome."""
    who = await parties(w, ETH_USDC, ETH_USDC)
    who.recipient = implicit_account_id(Ed25519SecretKey.generate().public_key)
    assert await w.devnet.native_near(who.recipient) == 0
    swap = await quote(w.api, "USDC eth -> NEAR (implicit account)", who, origin_asset=ETH_USDC,
                       destination_asset=WNEAR, amount=str(30 * USDC))  # fmt: skip
    await deposit(w.devnet, swap, int(swap.quote.quote.amount_in))
    final = await wait_status(w.api, swap, {"SUCCESS"})
    assert int(final.swap_details.amount_out or 0) >= int(swap.quote.quote.min_amount_out)
    [near_tx] = final.swap_details.destination_chain_tx_hashes
    assert near_tx.hash in final.swap_details.near_tx_hashes
    return await w.check(swap)


@scenario
async def intents_deposit_to_intents_recipient(w: World) -> Audit:
    """depositType INTENTS funded through /v0/generate-intent, signed by the user's own key
    (an implicit account funded first), /v0/submit-intent; wNEAR delivered inside the verifier
    to an INTENTS recipient."""
    key = Ed25519SecretKey.generate()
    user = implicit_account_id(key.public_key)
    who = Parties(fresh_intents_account("recipient"), user)
    swap = await quote(w.api, "INTENTS USDC -> INTENTS wNEAR", who, origin_asset=ETH_USDC,
                       destination_asset=WNEAR, amount=str(15 * USDC), deposit_type="INTENTS",
                       recipient_type="INTENTS", refund_type="INTENTS")  # fmt: skip
    amount = int(swap.quote.quote.amount_in)
    await w.devnet.intents_transfer(ETH_USDC, user, amount)
    assert await w.devnet.final_balance(ETH_USDC, user, amount) == amount
    generated = await w.api.generate_intent(swap.deposit_address, user)
    payload = generated.intent.payload
    message = json.loads(payload["message"])
    to_sign = {**message, "nonce": payload["nonce"], "verifying_contract": payload["recipient"]}
    signed = signing.sign(generated.intent.standard, to_sign, key)
    assert signed["payload"]["message"] == payload["message"]  # what the wallet was shown
    swap.deposited_at = time.monotonic()
    submitted = await w.api.submit_intent(signed)
    assert submitted.intent_hash == signing.intent_hash(signed)
    swap.sent.append(amount)
    swap.payers.add(user)
    await wait_status(w.api, swap, {"SUCCESS"})
    checked = await w.check(swap)
    assert await w.devnet.balance(ETH_USDC, user) == 0  # the user paid amountIn, once
    return checked


# --- deposits that are short, late, too much, or unswappable -----------------------------------


@scenario
async def incomplete_deposit_topped_up(w: World) -> Audit:
    """12 of 20 USDC: INCOMPLETE_DEPOSIT; the 8 missing arrive: SUCCESS for the whole 20."""
    swap = await quote(w.api, "top-up", await parties(w, ETH_USDC, ARB_USDC),
                       origin_asset=ETH_USDC, destination_asset=ARB_USDC,
                       amount=str(20 * USDC))  # fmt: skip
    await deposit(w.devnet, swap, 12 * USDC)
    await wait_status(w.api, swap, {"INCOMPLETE_DEPOSIT"})
    await deposit(w.devnet, swap, 8 * USDC)
    final = await wait_status(w.api, swap, {"SUCCESS"})
    assert "INCOMPLETE_DEPOSIT" in swap.statuses
    assert final.swap_details.deposited_amount == str(20 * USDC)
    return await w.check(swap)


@scenario
async def incomplete_deposit_refunded_at_deadline(w: World) -> Audit:
    """12 of 20 USDC and nothing more before the deadline: REFUNDED (DEPOSIT_TOO_LOW) and the
    12 USDC less the bridge fee are back on Ethereum."""
    swap = await quote(w.api, "short, deadline", await parties(w, ETH_USDC, ARB_USDC),
                       origin_asset=ETH_USDC, destination_asset=ARB_USDC,
                       amount=str(20 * USDC), deadline=deadline_in(SHORT_DEADLINE))  # fmt: skip
    await deposit(w.devnet, swap, 12 * USDC)
    await wait_status(w.api, swap, {"INCOMPLETE_DEPOSIT"})
    final = await wait_status(w.api, swap, {"REFUNDED"})
    assert final.swap_details.refund_reason == "DEPOSIT_TOO_LOW"
    fee = w.devnet.withdrawal_fee(ETH_USDC)
    assert final.swap_details.refunded_amount == str(12 * USDC - fee)
    return await w.check(swap)


@scenario
async def over_deposit_refunds_the_excess(w: World) -> Audit:
    """26 USDC for a 20 USDC EXACT_INPUT quote: SUCCESS for 20, the 6 extra refunded."""
    swap = await quote(w.api, "over-deposit", await parties(w, ETH_USDC, ARB_USDC),
                       origin_asset=ETH_USDC, destination_asset=ARB_USDC,
                       amount=str(20 * USDC))  # fmt: skip
    await deposit(w.devnet, swap, 26 * USDC)
    await wait_status(w.api, swap, {"SUCCESS"})
    final = await wait_status(w.api, swap, {"SUCCESS"}, done=refund_shown)
    fee = w.devnet.withdrawal_fee(ETH_USDC)
    assert final.swap_details.refunded_amount == str(6 * USDC - fee)
    return await w.check(swap)


@scenario
async def no_solver_liquidity_refunded_at_deadline(w: World) -> Audit:
    """USDC to USDT on Arbitrum while no solver has USDT left to promise (quotes reserve a
    solver's inventory until they expire: dry quotes take all of it after our quote, and no
    other swap of the session wants USDT on Arbitrum); the deposit arrives, no quote meets the
    minimum before the deadline: REFUNDED (NO_QUOTE_ABOVE_MINIMUM), the USDC back on chain."""
    swap = await quote(w.api, "no liquidity", await parties(w, ETH_USDC, ARB_USDT),
                       origin_asset=ETH_USDC, destination_asset=ARB_USDT,
                       amount=str(20 * USDC), deadline=deadline_in(DRAIN_DEADLINE))  # fmt: skip
    await drain_solvers(w, ARB_USDT, quoted_out=int(swap.quote.quote.amount_out))
    probe = QuoteRequest(origin_asset=ETH_USDC, destination_asset=ARB_USDT,
                         amount=str(20 * USDC), recipient=swap.parties.recipient,
                         refund_to=swap.parties.refund_to, dry=True,
                         quote_waiting_time_ms=1_000)  # fmt: skip
    with pytest.raises(BadRequest, match="no quote"):
        await w.api.quote(probe)
    await deposit(w.devnet, swap, 20 * USDC)
    final = await wait_status(w.api, swap, {"REFUNDED"})
    assert "PROCESSING" in swap.statuses
    assert final.swap_details.refund_reason == "NO_QUOTE_ABOVE_MINIMUM"
    assert final.swap_details.refunded_amount == str(20 * USDC - w.devnet.withdrawal_fee(ETH_USDC))
    return await w.check(swap)


async def drain_solvers(w: World, token: str, *, quoted_out: int) -> None:
    """Dry EXACT_OUTPUT quotes that leave every solver less than ``quoted_out`` / 2 of ``token``
    to promise for a minute (a solver offers only inventory no live quote of its own holds).

    The solvers' balances bound what they can offer; our own quote may hold up to
    ``quoted_out`` more of each, so big chunks go first with that slack, then chunks of
    ``quoted_out`` / 2 until nobody can fill one."""
    estimate = {s: await w.devnet.balance(token, s) for s in w.devnet.solvers}
    recipient, refund_to = await asyncio.gather(
        w.devnet.address(token, "drain"), w.devnet.address(ETH_USDC, "drain")
    )
    slack, chunk = 2 * quoted_out, quoted_out // 2

    async def take(size: int, wait_ms: int) -> bool:
        request = QuoteRequest(origin_asset=ETH_USDC, destination_asset=token,
                               amount=str(size), recipient=recipient, refund_to=refund_to,
                               swap_type="EXACT_OUTPUT", dry=True,
                               quote_waiting_time_ms=wait_ms)  # fmt: skip
        try:
            await w.api.quote(request)
        except BadRequest:
            return False
        return True

    for _ in range(2 * len(estimate)):
        sizes = [e - slack for e in estimate.values() if e - slack >= chunk]
        if not sizes:
            break
        size = min(sizes)
        assert await take(size, 3_000), f"no solver offered {size} of {token}"
        for solver, held in estimate.items():
            if held - slack >= size:  # it could not have declined
                estimate[solver] = held - size
    for _ in range(40):
        if not await take(chunk, 1_000):
            return
    raise AssertionError(f"the solvers kept offering {chunk} of {token}")


@scenario
async def late_deposit_after_success_refunded(w: World) -> Audit:
    """A second transfer after SUCCESS is refunded by the sweep and shows on the swap
    (its tx among originChainTxHashes, refundedAmount, and the ledger in deposits[])."""
    swap = await quote(w.api, "late deposit", await parties(w, ETH_USDC, ARB_USDC),
                       origin_asset=ETH_USDC, destination_asset=ARB_USDC,
                       amount=str(20 * USDC))  # fmt: skip
    first = await deposit(w.devnet, swap, 20 * USDC)
    await wait_status(w.api, swap, {"SUCCESS"})
    late = await deposit(w.devnet, swap, 5 * USDC)
    final = await wait_status(w.api, swap, {"SUCCESS"}, done=refund_shown)
    fee = w.devnet.withdrawal_fee(ETH_USDC)
    assert final.swap_details.refunded_amount == str(5 * USDC - fee)
    hashes = {t.hash.lower() for t in final.swap_details.origin_chain_tx_hashes}
    assert late.lower() in hashes, hashes
    assert final.swap_details.deposited_amount == str(25 * USDC)
    # The ledger tells the story: the first transfer swapped, the second refunded.
    story = [(d.tx_hash.lower(), d.status) for d in final.swap_details.deposits]
    assert story == [(first.lower(), "swapped"), (late.lower(), "refunded")], story
    return await w.check(swap)


# --- the module's fixture and tests ------------------------------------------------------------


@pytest.fixture(scope="module")
def swaps(running_stack: RunningStack) -> Iterator[tuple[Scenarios, World]]:
    runner = Scenarios()

    async def open_world() -> World:
        api = OneClickClient(running_stack.api_url,
                             manager_public_key=running_stack.manager_public_key,
                             timeout=60.0)  # fmt: skip
        devnet = Devnet(running_stack.devnet, running_stack.data_dir / "devnet")
        before = {t: await devnet.balance(t, PLATFORM_FEE_ACCOUNT) for t in ORIGINS}
        return World(api, devnet, await devnet.fee_collector(), before)

    world = runner.run(open_world())
    for name, run in SCENARIOS.items():
        runner.start(name, run(world))
    try:
        yield runner, world
    finally:
        runner.close(world.aclose())


def collect(swaps: tuple[Scenarios, World], name: str) -> Audit:
    runner, _ = swaps
    checked: Audit = runner.result(name, RESULT_TIMEOUT_S)
    took = checked.swap.seconds
    print(f"\n{checked.swap.name}: {' -> '.join(checked.swap.statuses)}; deposit to "
          f"{checked.swap.final.status if checked.swap.final else '?'} "
          f"{took:.1f} s\n  {checked.line()}")  # fmt: skip
    return checked


def test_usdc_ethereum_to_usdc_arbitrum_with_an_app_fee(swaps: tuple[Scenarios, World]) -> None:
    collect(swaps, "evm_token_to_evm_token")


def test_bitcoin_to_usdc_ethereum(swaps: tuple[Scenarios, World]) -> None:
    collect(swaps, "bitcoin_to_evm")


def test_usdc_arbitrum_to_exactly_40_xrp(swaps: tuple[Scenarios, World]) -> None:
    collect(swaps, "evm_to_memo_chain_exact_output")


def test_near_usdc_to_usdc_ethereum_flex_input(swaps: tuple[Scenarios, World]) -> None:
    collect(swaps, "near_native_to_evm_flex_input")


def test_wnear_paid_by_a_plain_ft_transfer_to_usdc_ethereum(
    swaps: tuple[Scenarios, World],
) -> None:
    collect(swaps, "near_ft_transfer_to_evm")


def test_usdc_ethereum_to_wnear_by_ft_transfer_call_at_a_fresh_unregistered_account(
    swaps: tuple[Scenarios, World],
) -> None:
    collect(swaps, "evm_to_wnear_by_ft_transfer_call_at_a_fresh_unregistered_account")


def test_usdc_ethereum_to_near_usdc_at_an_unregistered_account(
    swaps: tuple[Scenarios, World],
) -> None:
    collect(swaps, "evm_to_near_usdc_at_an_unregistered_account")


def test_a_payout_to_a_near_account_that_cannot_receive_it_is_never_delivered(
    swaps: tuple[Scenarios, World],
) -> None:
    collect(swaps, "evm_to_a_near_account_that_cannot_receive")


def test_usdc_ethereum_to_native_near_at_a_fresh_implicit_account(
    swaps: tuple[Scenarios, World],
) -> None:
    collect(swaps, "evm_to_native_near_at_a_fresh_implicit_account")


def test_a_payout_to_a_named_near_account_that_does_not_exist_is_refused(
    swaps: tuple[Scenarios, World],
) -> None:
    """A native NEAR transfer to a missing named account fails and intents.near does not refund
    a failed native_withdraw: no quote is given for it (the SDK's validateWithdrawal check)."""
    runner, w = swaps

    async def ask(recipient: str) -> None:
        who = await parties(w, ETH_USDC, ETH_USDC)
        who.recipient = recipient
        await quote(w.api, "USDC eth -> NEAR", who, origin_asset=ETH_USDC,
                    destination_asset=WNEAR, amount=str(30 * USDC))  # fmt: skip

    missing = fresh_intents_account("missing")
    with pytest.raises(BadRequest, match=f"recipient '{missing}' is not an existing NEAR account"):
        runner.run(ask(missing))


def test_intents_deposit_by_signed_intent_to_an_intents_recipient(
    swaps: tuple[Scenarios, World],
) -> None:
    collect(swaps, "intents_deposit_to_intents_recipient")


def test_incomplete_deposit_topped_up_succeeds(swaps: tuple[Scenarios, World]) -> None:
    collect(swaps, "incomplete_deposit_topped_up")


def test_incomplete_deposit_is_refunded_at_the_deadline(swaps: tuple[Scenarios, World]) -> None:
    collect(swaps, "incomplete_deposit_refunded_at_deadline")


def test_over_deposit_succeeds_and_refunds_the_excess(swaps: tuple[Scenarios, World]) -> None:
    collect(swaps, "over_deposit_refunds_the_excess")


def test_no_solver_liquidity_is_refunded_at_the_deadline(swaps: tuple[Scenarios, World]) -> None:
    collect(swaps, "no_solver_liquidity_refunded_at_deadline")


def test_late_deposit_after_success_is_refunded(swaps: tuple[Scenarios, World]) -> None:
    collect(swaps, "late_deposit_after_success_refunded")


def test_platform_fee_account_got_exactly_the_platform_fees(
    swaps: tuple[Scenarios, World],
) -> None:
    """The platform fee account (shared by every swap) grew, per token, by exactly the platform
    fees the audited swaps paid."""
    runner, world = swaps
    failed = {n: e for n, e in runner.wait_all(RESULT_TIMEOUT_S).items() if e is not None}
    assert not failed, f"scenarios failed (see their tests): {sorted(failed)}"

    async def deltas() -> dict[str, tuple[int, int]]:
        out = {}
        for token in ORIGINS:
            paid = sum(a.origin.fees.get(PLATFORM_FEE_ACCOUNT, 0) for a in world.audits.values()
                       if a.swap.origin == token)  # fmt: skip
            now = await world.devnet.balance(token, PLATFORM_FEE_ACCOUNT)
            out[token] = (now - world.platform_before[token], paid)
        return out

    found = runner.run(deltas())
    assert all(grew == paid for grew, paid in found.values()), found
    assert sum(paid for _, paid in found.values()) > 0


def test_devnet_cli_moves_nep141_tokens_on_near_outside_intents(
    running_stack: RunningStack,
) -> None:
    """`oneclick devnet deposit|balance --on-near`: alice's NEAR account signs a plain
    `ft_transfer` (a real signed transaction through the devnet's NEAR RPC path)."""

    def cli(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "oneclick.cli", "devnet", *args, "--json",
             "--data-dir", str(running_stack.data_dir)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        answer: dict[str, Any] = json.loads(done.stdout)
        return answer

    [alice] = [w for w in running_stack.devnet["wallets"]
               if w["chain"] == "near:mainnet" and w["name"] == "alice"]  # fmt: skip
    receiver = fresh_intents_account("on-near")
    before = int(cli("balance", "--asset", NEAR_USDC, "--address", alice["address"],
                     "--on-near")["balance"])  # fmt: skip
    sent = cli("deposit", "--asset", NEAR_USDC, "--to", receiver, "--amount", "1234",
               "--on-near")  # fmt: skip
    assert sent["kind"] == "ft_transfer on NEAR"

    def final_balance(address: str, expected: int) -> int:
        """The balance once it reads ``expected``: views read NEAR's ``final``, which trails the
        transaction by the devnet's --finality-lag blocks."""
        deadline = time.monotonic() + 30
        while True:
            has = int(cli("balance", "--asset", NEAR_USDC, "--address", address,
                          "--on-near")["balance"])  # fmt: skip
            if has == expected or time.monotonic() > deadline:
                return has
            time.sleep(0.2)  # polls the node for a condition, bounded above

    assert final_balance(alice["address"], before - 1234) == before - 1234
    assert final_balance(receiver, 1234) == 1234
    inside = cli("balance", "--asset", NEAR_USDC, "--address", receiver)  # in the verifier
    assert inside["balance"] == "0"
