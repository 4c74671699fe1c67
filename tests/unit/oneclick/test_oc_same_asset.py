"""Same-asset quotes (``destinationAsset == originAsset``): no relay leg; the deposit is
credited to custody and transferred (or withdrawn) to the recipient, the fees taken exactly as
for other quotes, an overpayment's excess and an underpayment refunded as usual."""

from __future__ import annotations

from datetime import timedelta

from oc_engine_kit import BTC, BTC_REFUND, EVM_RECIPIENT, USDT, Kit, custody_movements

from oneclick.domain.amounts import mul_div_ceil

PLATFORM = "fees.oneclick.near"  # the anonymous platform fee's recipient (20 bps by default)
TO_INTENTS = {"destinationAsset": BTC, "recipientType": "INTENTS", "recipient": "bob.near"}


def fee(amount: int, bps: int) -> int:
    return mul_div_ceil(amount, bps, 10_000)


async def test_a_same_asset_quote_asks_no_relay_and_takes_the_fees(kit: Kit) -> None:
    asked = len(kit.world.relay.requests)
    app_fee = {"recipient": "app.near", "fee": 30}
    quote = await kit.quote(**TO_INTENTS, appFees=[app_fee])
    assert len(kit.world.relay.requests) == asked
    assert quote["amountIn"] == "100000"
    assert quote["amountOut"] == str(100_000 - fee(100_000, 30) - fee(100_000, 20))
    assert quote["minAmountOut"] == str(int(quote["amountOut"]) * 9900 // 10_000)


async def test_exact_input_chain_deposit_delivered_inside_intents(kit: Kit) -> None:
    quote = await kit.quote(**TO_INTENTS, appFees=[{"recipient": "app.near", "fee": 30}])
    tx = await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS", body
    balances = kit.world.verifier.balances
    assert balances[("bob.near", BTC)] == int(quote["amountOut"])
    assert balances[("app.near", BTC)] == fee(100_000, 30)
    assert balances[(PLATFORM, BTC)] == fee(100_000, 20)
    details = body["swapDetails"]
    assert details["amountIn"] == "100000"
    assert details["amountOut"] == quote["amountOut"]
    assert details["originChainTxHashes"][0]["hash"] == tx
    assert kit.world.relay.requests == []  # the whole swap without one relay quote
    account = await kit.account(quote)
    assert balances.get((account, BTC), 0) == 0


async def test_an_overpayment_delivers_the_quote_and_refunds_the_excess(kit: Kit) -> None:
    quote = await kit.quote(**TO_INTENTS)
    await kit.deposit(quote, 150_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    assert (await kit.status(quote))["status"] == "SUCCESS"
    await kit.drive()  # the sweep
    assert kit.world.verifier.balances[("bob.near", BTC)] == int(quote["amountOut"])
    [refund] = kit.world.verifier.ledger.withdrawals
    assert (refund.amount, refund.memo) == (50_000, f"WITHDRAW_TO:{BTC_REFUND}")
    details = (await kit.status(quote))["swapDetails"]
    assert details["refundedAmount"] == str(50_000 - 1900)
    account = await kit.account(quote)
    assert custody_movements(kit, account)[(BTC, "mint")] == 150_000
    assert kit.world.verifier.balances[(account, BTC)] == 0


async def test_an_underpayment_is_refunded_at_the_deadline(kit: Kit) -> None:
    quote = await kit.quote(**TO_INTENTS)
    await kit.deposit(quote, 60_000)
    await kit.drive(until=kit.clock.now() + timedelta(hours=3))
    body = await kit.status(quote)
    assert body["status"] == "REFUNDED", body
    assert body["swapDetails"]["refundReason"] == "DEPOSIT_TOO_LOW"
    assert ("bob.near", BTC) not in kit.world.verifier.balances
    [refund] = kit.world.verifier.ledger.withdrawals
    assert (refund.amount, refund.memo) == (60_000, f"WITHDRAW_TO:{BTC_REFUND}")


async def test_flex_input_delivers_what_arrived_without_fees_for_a_partner(kit: Kit) -> None:
    quote = await kit.quote(
        **TO_INTENTS, swapType="FLEX_INPUT", slippageTolerance=9999,
        appFees=[],
    )  # fmt: skip
    await kit.deposit(quote, 70_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    assert (await kit.status(quote))["status"] == "SUCCESS"
    assert kit.world.verifier.balances[("bob.near", BTC)] == 70_000 - fee(70_000, 20)


async def test_same_asset_to_its_own_chain_pays_the_withdrawal_fee(kit: Kit) -> None:
    quote = await kit.quote(
        originAsset=USDT, destinationAsset=USDT, amount="50000000",
        refundTo=EVM_RECIPIENT, recipient=EVM_RECIPIENT,
    )  # fmt: skip
    assert quote["amountOut"] == str(50_000_000 - fee(50_000_000, 20) - 300_000)
    await kit.deposit(quote, 50_000_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS", body
    [payout] = kit.world.verifier.ledger.withdrawals
    assert payout.memo == f"WITHDRAW_TO:{EVM_RECIPIENT}"
    assert payout.amount == 50_000_000 - fee(50_000_000, 20)
    assert body["swapDetails"]["amountOut"] == quote["amountOut"]


async def test_exact_output_is_refused_for_the_same_asset(kit: Kit) -> None:
    response = await kit.client.post(
        "/v0/quote",
        json={**(await _body(kit)), **TO_INTENTS, "swapType": "EXACT_OUTPUT"},
    )
    assert response.status_code == 400
    assert "EXACT_INPUT or FLEX_INPUT" in response.json()["message"]


async def _body(kit: Kit) -> dict:
    from oc_engine_kit import quote_request

    return quote_request()
