"""Payouts to NEAR accounts on the fake world with a NEAR chain (issue 16 step 3): wNEAR goes out
as native NEAR with ``native_withdraw``, a named receiver must exist before anything is signed,
and SUCCESS waits for the receiver's transfer receipt in the ``tx`` outcome; a transfer that
fails is never reported delivered."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from oc_engine_kit import USDC_NEAR, WNEAR, Kit, quote_request

from nearintents.payload import FtWithdraw, NativeWithdraw
from nearintents.rpc.near_delivery import FT_WITHDRAW_MIN_GAS
from oneclick.domain.errors import PermanentError
from oneclick.domain.records import IntentKind
from oneclick.services.engine.near_payouts import MAX_BOUNCES, near_delivery_intent
from oneclick.testing import sample_registry
from oneclick.testing.near import STORAGE_MIN, FakeNearChain

IMPLICIT = "ab" * 32


@pytest.fixture
def kit_options() -> dict[str, Any]:
    return {"near": True}


def chain(kit: Kit) -> FakeNearChain:
    assert kit.world.near is not None
    return kit.world.near


async def test_wnear_to_a_fresh_implicit_account_is_delivered_as_native_near(kit: Kit) -> None:
    quote = await kit.quote(destinationAsset=WNEAR, recipient=IMPLICIT)
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS", body
    [payout] = kit.world.verifier.ledger.withdrawals
    assert (payout.native, payout.receiver_id, payout.token) == (True, IMPLICIT, "wrap.near")
    assert body["swapDetails"]["amountOut"] == str(payout.amount)
    [destination] = body["swapDetails"]["destinationChainTxHashes"]
    assert destination["hash"] == payout.tx_hash


async def test_a_named_recipient_that_does_not_exist_gets_no_quote(kit: Kit) -> None:
    body = quote_request(destinationAsset=WNEAR, recipient="nobody.near")
    response = await kit.client.post("/v0/quote", json=body)
    assert response.status_code == 400
    assert response.json()["message"] == "recipient 'nobody.near' is not an existing NEAR account"
    chain(kit).accounts.add("nobody.near")
    assert (await kit.client.post("/v0/quote", json=body)).status_code == 200


async def test_a_payout_whose_transfer_fails_is_not_reported_delivered(kit: Kit) -> None:
    chain(kit).accounts.add("shop.near")
    quote = await kit.quote(destinationAsset=WNEAR, recipient="shop.near")
    chain(kit).refusing.add("shop.near")  # e.g. deleted after the quote
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    body = await kit.status(quote)
    assert body["status"] == "FAILED", body
    assert body["swapDetails"]["destinationChainTxHashes"] == []
    [payout] = kit.world.verifier.ledger.withdrawals  # it executed, and nothing arrived
    swap = await kit.swap(quote)
    async with kit.world.store.transaction() as tx:
        [leg] = [leg for leg in await tx.swaps.legs(swap.id) if leg.kind is IntentKind.WITHDRAW]
    assert leg.delivered is None
    assert leg.tx_hash == payout.tx_hash


async def test_nothing_is_sent_to_a_named_account_that_disappeared_until_it_exists(
    kit: Kit,
) -> None:
    chain(kit).accounts.add("shop.near")
    quote = await kit.quote(destinationAsset=WNEAR, recipient="shop.near")
    chain(kit).accounts.discard("shop.near")
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=10))
    assert (await kit.status(quote))["status"] == "PROCESSING"
    assert kit.world.verifier.ledger.withdrawals == []
    chain(kit).accounts.add("shop.near")
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS", body
    [payout] = kit.world.verifier.ledger.withdrawals
    assert body["swapDetails"]["amountOut"] == str(payout.amount)


async def test_a_wnear_refund_to_a_near_account_is_native_near_confirmed(kit: Kit) -> None:
    """wNEAR funded inside the verifier (depositType INTENTS) and refunded to a NEAR account
    (refundType ORIGIN_CHAIN) when no solver takes it: the same native_withdraw and check."""
    quote = await kit.quote(
        originAsset=WNEAR, amount=str(10**24), depositType="INTENTS", refundTo=IMPLICIT,
    )  # fmt: skip
    kit.world.relay.margins_bps = ()
    await kit.deposit(quote, 10**24)
    await kit.drive(until=kit.clock.now() + timedelta(hours=3))
    body = await kit.status(quote)
    assert body["status"] == "REFUNDED", body
    [refund] = kit.world.verifier.ledger.withdrawals
    assert (refund.native, refund.receiver_id, refund.amount) == (True, IMPLICIT, 10**24)
    assert body["swapDetails"]["refundedAmount"] == str(10**24)


async def test_a_wnear_refund_that_bounces_is_not_reported_refunded(kit: Kit) -> None:
    chain(kit).accounts.add("gone.near")
    quote = await kit.quote(
        originAsset=WNEAR, amount=str(10**24), depositType="INTENTS", refundTo="gone.near",
    )  # fmt: skip
    chain(kit).refusing.add("gone.near")
    kit.world.relay.margins_bps = ()
    await kit.deposit(quote, 10**24)
    await kit.drive(until=kit.clock.now() + timedelta(hours=3))
    body = await kit.status(quote)
    assert body["status"] == "FAILED", body
    assert not body["swapDetails"].get("refundedAmount")


async def test_a_delivery_counts_only_once_its_transaction_is_final(kit: Kit) -> None:
    """The receipts of an EXECUTED_OPTIMISTIC outcome are not proof yet (the same rule as
    ``VerifierViews.executed_in``): the swap waits for the FINAL outcome."""
    chain(kit).final = False
    quote = await kit.quote(destinationAsset=WNEAR, recipient=IMPLICIT)
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=10))
    body = await kit.status(quote)
    assert body["status"] == "PROCESSING", body
    assert len(kit.world.verifier.ledger.withdrawals) == 1  # executed, not yet confirmed
    chain(kit).final = True
    await kit.drive(until=kit.clock.now() + timedelta(minutes=10))
    assert (await kit.status(quote))["status"] == "SUCCESS"


def test_the_intent_is_the_sdks_for_each_request() -> None:
    """sdk-monorepo direct-bridge-utils.ts ``createWithdrawIntentPrimitive``: wNEAR without a
    message unwraps; with one, and for any other NEP-141, an ``ft_withdraw`` whose ``min_gas``
    is set only for a plain ``ft_transfer``; a wNEAR payout pays its receiver's storage
    deposit out of itself."""
    wnear, usdc = sample_registry().by_token_id(WNEAR), sample_registry().by_token_id(USDC_NEAR)
    assert wnear is not None
    assert usdc is not None
    assert near_delivery_intent(wnear, "wrap.near", 10**24, IMPLICIT) == NativeWithdraw(
        receiver_id=IMPLICIT, amount=10**24
    )
    as_token = near_delivery_intent(wnear, "wrap.near", 10**24, "defi.near", msg="take-my-money",
                                    storage_deposit=STORAGE_MIN)  # fmt: skip
    assert as_token == FtWithdraw(token="wrap.near", receiver_id="defi.near",
                                  amount=10**24 - STORAGE_MIN, msg="take-my-money",
                                  storage_deposit=STORAGE_MIN, min_gas=None)  # fmt: skip
    contract = USDC_NEAR.removeprefix("nep141:")
    plain = near_delivery_intent(usdc, contract, 40, "shop.near")
    assert plain == FtWithdraw(token=contract, receiver_id="shop.near", amount=40,
                               min_gas=FT_WITHDRAW_MIN_GAS)  # fmt: skip
    with pytest.raises(PermanentError, match="does not cover the receiver's storage deposit"):
        near_delivery_intent(wnear, "wrap.near", STORAGE_MIN, "defi.near", msg="",
                             storage_deposit=STORAGE_MIN)  # fmt: skip


async def test_an_unregistered_receiver_of_another_nep141_gets_no_quote(kit: Kit) -> None:
    """Its storage_deposit would be paid in wNEAR the custody account does not hold."""
    chain(kit).accounts.add("shop.near")
    body = quote_request(destinationAsset=USDC_NEAR, recipient="shop.near")
    response = await kit.client.post("/v0/quote", json=body)
    assert response.status_code == 400
    assert "is not registered on" in response.json()["message"]
    chain(kit).registered.add((USDC_NEAR.removeprefix("nep141:"), "shop.near"))
    assert (await kit.client.post("/v0/quote", json=body)).status_code == 200


async def _withdraw_legs(kit: Kit, quote: dict) -> list:
    swap = await kit.swap(quote)
    async with kit.world.store.transaction() as tx:
        return [leg for leg in await tx.swaps.legs(swap.id) if leg.kind is IntentKind.WITHDRAW]


async def test_a_bounced_withdrawal_is_signed_again_and_then_delivered(kit: Kit) -> None:
    """wNEAR as the token (``customRecipientMsg``): the first ft_withdraw comes back (the
    receiver could not take it), its leg is closed with nothing delivered and a new one is
    signed; once the receiver can take it, SUCCESS reports the second one only."""
    chain(kit).accounts.add("defi.near")
    chain(kit).registered.add(("wrap.near", "defi.near"))
    quote = await kit.quote(destinationAsset=WNEAR, recipient="defi.near",
                            customRecipientMsg="take-my-money")  # fmt: skip
    ledger = kit.world.verifier.ledger
    ledger.bouncing.add("defi.near")
    await kit.deposit(quote, 100_000)
    until = kit.clock.now() + timedelta(minutes=20)
    while not ledger.withdrawals and kit.clock.now() < until:
        await kit.drive(until=kit.clock.now() + timedelta(seconds=5))
    [first] = ledger.withdrawals
    assert first.bounced
    assert (await kit.status(quote))["status"] == "PROCESSING"
    ledger.bouncing.clear()
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS", body
    bounced, delivered = ledger.withdrawals
    assert not delivered.bounced
    assert bounced.amount == delivered.amount
    assert body["swapDetails"]["amountOut"] == str(delivered.amount)
    assert [d["hash"] for d in body["swapDetails"]["destinationChainTxHashes"]] == [
        delivered.tx_hash
    ]
    legs = await _withdraw_legs(kit, quote)
    assert [(leg.delivered, (leg.reason or "")[:7]) for leg in legs] == [
        (0, "bounced"), (delivered.amount, ""),
    ]  # fmt: skip


async def test_a_withdrawal_that_keeps_bouncing_is_parked_never_delivered(kit: Kit) -> None:
    chain(kit).accounts.add("defi.near")
    chain(kit).registered.add(("wrap.near", "defi.near"))
    quote = await kit.quote(destinationAsset=WNEAR, recipient="defi.near",
                            customRecipientMsg="take-my-money")  # fmt: skip
    ledger = kit.world.verifier.ledger
    ledger.bouncing.add("defi.near")
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=30))
    body = await kit.status(quote)
    assert body["status"] == "FAILED", body
    assert body["swapDetails"]["destinationChainTxHashes"] == []
    assert len(ledger.withdrawals) == MAX_BOUNCES
    assert all(w.bounced for w in ledger.withdrawals)
    swap = await kit.swap(quote)
    # Every unit of the output is back in the custody account.
    assert ledger.balances[(swap.custody_account_id, WNEAR)] == ledger.withdrawals[0].amount
    assert "bounced 3 times" in (swap.last_error or "")


async def test_a_wnear_token_payout_to_an_unregistered_receiver_prices_its_storage_deposit(
    kit: Kit,
) -> None:
    """wNEAR as the token (``customRecipientMsg``: an ``ft_withdraw``) to a receiver not
    registered on wrap.near: the payout pays its ``storage_deposit`` out of itself, so the quote
    charges it as the withdrawal fee and the receiver still gets at least ``minAmountOut``."""
    chain(kit).accounts.update({"defi.near", "shop.near"})
    chain(kit).registered.add(("wrap.near", "shop.near"))
    change: dict[str, Any] = {"destinationAsset": WNEAR, "customRecipientMsg": "take-my-money"}
    registered = await kit.quote(recipient="shop.near", **change)
    quote = await kit.quote(recipient="defi.near", **change)
    assert "withdrawFee" not in registered
    assert quote["withdrawFee"] == str(STORAGE_MIN)
    assert int(quote["amountOut"]) == int(registered["amountOut"]) - STORAGE_MIN
    assert int(quote["minAmountOut"]) < int(registered["minAmountOut"])
    await kit.deposit(quote, int(quote["amountIn"]))
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS", body
    [payout] = kit.world.verifier.ledger.withdrawals
    assert payout.receiver_id == "defi.near"
    assert int(body["swapDetails"]["amountOut"]) == payout.amount >= int(quote["minAmountOut"])
