"""The engine end to end on fakes: each swap type and deposit/recipient type, under- and
over-deposits, deadlines, no liquidity and late deposits."""

from __future__ import annotations

from datetime import timedelta

from oc_engine_kit import (
    BTC,
    BTC_REFUND,
    EVM_RECIPIENT,
    USDC_NEAR,
    USDT,
    WNEAR,
    Kit,
    custody_movements,
)

from oneclick.domain.swaps import SwapStatus


async def test_exact_input_origin_chain_to_destination_chain(kit: Kit) -> None:
    quote = await kit.quote()
    await kit.drive(until=kit.clock.now() + timedelta(minutes=1))
    assert (await kit.status(quote))["status"] == "PENDING_DEPOSIT"
    tx = await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS", body
    details = body["swapDetails"]
    assert details["originChainTxHashes"] == [
        {"hash": tx, "explorerUrl": f"https://btc.test/tx/{tx}"}
    ]
    assert details["depositedAmount"] == "100000"
    assert details["amountIn"] == "100000"
    assert len(details["intentHashes"]) == 2
    assert len(details["nearTxHashes"]) == 2
    [payout] = kit.world.verifier.ledger.withdrawals
    assert payout.memo == f"WITHDRAW_TO:{EVM_RECIPIENT}"
    assert int(details["amountOut"]) == payout.amount - 300_000
    assert int(details["amountOut"]) >= int(quote["minAmountOut"])
    assert details["withdrawFee"] == "300000"
    assert details["slippage"] == 0
    assert details["destinationChainTxHashes"][0]["explorerUrl"].startswith("https://eth.test/")
    account = await kit.account(quote)
    assert kit.world.verifier.balances.get((account, BTC), 0) == 0
    assert kit.world.verifier.balances.get((account, USDT), 0) == 0


async def _success(kit: Kit, quote: dict, amount: int) -> dict:
    await kit.deposit(quote, amount)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS", body
    return body


async def test_exact_output_buys_exactly_and_refunds_the_buffer(kit: Kit) -> None:
    quote = await kit.quote(swapType="EXACT_OUTPUT", amount="50000000", slippageTolerance=1000)
    assert int(quote["amountIn"]) > int(quote["minAmountIn"])
    body = await _success(kit, quote, int(quote["amountIn"]))
    details = body["swapDetails"]
    assert int(details["amountOut"]) >= 50_000_000
    await kit.drive()  # the sweep refunds the unused buffer
    details = (await kit.status(quote))["swapDetails"]
    refunded = [w for w in kit.world.verifier.ledger.withdrawals if w.token == "btc.omft.near"]
    assert len(refunded) == 1
    assert refunded[0].memo == f"WITHDRAW_TO:{BTC_REFUND}"
    assert int(details["amountIn"]) + refunded[0].amount == int(quote["amountIn"])
    assert details["refundedAmount"] == str(refunded[0].amount - 1900)
    assert "refundReason" not in details


async def test_flex_input_swaps_what_arrived_pro_rata(kit: Kit) -> None:
    quote = await kit.quote(swapType="FLEX_INPUT", slippageTolerance=500)
    paid = int(quote["minAmountIn"]) + 10
    body = await _success(kit, quote, paid)
    details = body["swapDetails"]
    assert details["amountIn"] == str(paid)
    assert int(details["amountOut"]) >= int(quote["minAmountOut"]) * paid // 100_000


async def test_intents_deposit_and_intents_recipient(kit: Kit) -> None:
    quote = await kit.quote(
        depositType="INTENTS", recipientType="INTENTS", recipient="bob.near",
        refundType="INTENTS", refundTo="alice.near",
    )  # fmt: skip
    body = await _success(kit, quote, 100_000)
    assert body["swapDetails"]["originChainTxHashes"] == []
    received = kit.world.verifier.balances[("bob.near", USDT)]
    assert body["swapDetails"]["amountOut"] == str(received)
    assert "withdrawFee" not in body["swapDetails"] or body["swapDetails"]["withdrawFee"] == "0"
    assert kit.world.verifier.ledger.withdrawals == []


async def test_near_native_origin_and_destination_inside_intents(kit: Kit) -> None:
    quote = await kit.quote(
        originAsset=USDC_NEAR, amount="10000000", destinationAsset=WNEAR,
        depositType="INTENTS", recipientType="INTENTS", recipient="bob.near",
        refundType="INTENTS", refundTo="alice.near",
    )  # fmt: skip
    assert quote["depositAddress"] == await kit.account(quote)
    body = await _success(kit, quote, 10_000_000)
    assert kit.world.verifier.ledger.withdrawals == []
    assert body["swapDetails"]["amountOut"] == str(kit.world.verifier.balances[("bob.near", WNEAR)])


async def test_under_deposit_waits_for_a_top_up(kit: Kit) -> None:
    quote = await kit.quote()
    await kit.deposit(quote, 60_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=5))
    body = await kit.status(quote)
    assert body["status"] == "INCOMPLETE_DEPOSIT"
    assert body["swapDetails"]["depositedAmount"] == "60000"
    await kit.deposit(quote, 40_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=15))
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS"
    assert len(body["swapDetails"]["originChainTxHashes"]) == 2


async def test_under_deposit_is_refunded_at_the_deadline(kit: Kit) -> None:
    quote = await kit.quote()
    await kit.deposit(quote, 60_000)
    await kit.drive(until=kit.clock.now() + timedelta(hours=3))
    body = await kit.status(quote)
    assert body["status"] == "REFUNDED", body
    details = body["swapDetails"]
    assert details["refundReason"] == "DEPOSIT_TOO_LOW"
    assert details["refundedAmount"] == str(60_000 - 1900)
    [refund] = kit.world.verifier.ledger.withdrawals
    assert (refund.amount, refund.memo) == (60_000, f"WITHDRAW_TO:{BTC_REFUND}")
    assert details["originChainTxHashes"][-1]["hash"].startswith("0x")


async def test_over_deposit_succeeds_and_the_excess_is_refunded(kit: Kit) -> None:
    quote = await kit.quote()
    await _success(kit, quote, 150_000)
    await kit.drive()
    details = (await kit.status(quote))["swapDetails"]
    assert details["depositedAmount"] == "150000"
    assert details["amountIn"] == "100000"
    assert details["refundedAmount"] == str(50_000 - 1900)
    account = await kit.account(quote)
    moves = custody_movements(kit, account)
    assert moves[(BTC, "mint")] == 150_000
    assert -moves[(BTC, "withdraw")] == 50_000
    assert kit.world.verifier.balances[(account, BTC)] == 0


async def test_no_liquidity_is_refunded_after_the_deadline(kit: Kit) -> None:
    quote = await kit.quote()
    kit.world.relay.margins_bps = ()
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(hours=1))
    assert (await kit.status(quote))["status"] == "PROCESSING"
    await kit.drive(until=kit.clock.now() + timedelta(hours=2))
    body = await kit.status(quote)
    assert body["status"] == "REFUNDED"
    assert body["swapDetails"]["refundReason"] == "NO_QUOTE_ABOVE_MINIMUM"
    assert body["swapDetails"]["intentHashes"] != []  # the refund


async def test_quotes_below_the_minimum_are_not_taken(kit: Kit) -> None:
    quote = await kit.quote()
    kit.world.relay.margins_bps = (500,)  # 5 % worse than quoted: below minAmountOut
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(hours=3))
    body = await kit.status(quote)
    assert body["status"] == "REFUNDED"
    assert body["swapDetails"]["refundReason"] == "NO_QUOTE_ABOVE_MINIMUM"
    assert all(w.token == "btc.omft.near" for w in kit.world.verifier.ledger.withdrawals)


async def test_late_deposit_after_success_is_refunded_and_recorded(kit: Kit) -> None:
    quote = await kit.quote()
    await _success(kit, quote, 100_000)
    kit.clock.advance(timedelta(hours=5))
    late = await kit.deposit(quote, 30_000)
    await kit.drive()
    body = await kit.status(quote)
    assert body["status"] == "SUCCESS"
    details = body["swapDetails"]
    assert late in [t["hash"] for t in details["originChainTxHashes"]]
    assert details["refundedAmount"] == str(30_000 - 1900)
    assert (await kit.swap(quote)).phase.value == "DONE"


async def test_known_deposit_tx_then_credit(kit: Kit) -> None:
    quote = await kit.quote()
    tx = await kit.deposit(quote, 100_000, credited=False)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=1))
    body = await kit.status(quote)
    assert body["status"] == "KNOWN_DEPOSIT_TX"
    assert body["swapDetails"]["originChainTxHashes"][0]["hash"] == tx
    kit.world.bridge.credit(tx)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    assert (await kit.status(quote))["status"] == "SUCCESS"


async def test_deposit_submit_schedules_an_immediate_check(kit: Kit) -> None:
    quote = await kit.quote()
    await kit.drive(until=kit.clock.now() + timedelta(seconds=1))
    swap = await kit.swap(quote)
    assert swap.next_run_at is not None
    assert swap.next_run_at > kit.clock.now()
    response = await kit.client.post(
        "/v0/deposit/submit", json={"txHash": "ab" * 32, "depositAddress": quote["depositAddress"]}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "KNOWN_DEPOSIT_TX"
    assert (await kit.swap(quote)).next_run_at == kit.clock.now()
    assert await kit.next_due() == kit.clock.now()


async def test_a_rejected_swap_intent_is_retried_once_provably_dead(kit: Kit) -> None:
    quote = await kit.quote()
    kit.world.relay.reject_reason = 'invariant violated: {"error":"unmatched_deltas"}'
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(seconds=30))
    async with kit.world.store.transaction() as tx:
        [leg] = await tx.swaps.legs((await kit.swap(quote)).id)
    assert leg.state.value == "FAILED"  # refused, but alive until its deadline passes
    kit.world.relay.reject_reason = None
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    assert (await kit.status(quote))["status"] == "SUCCESS"
    async with kit.world.store.transaction() as tx:
        legs = await tx.swaps.legs((await kit.swap(quote)).id)
    assert [g.state.value for g in legs] == ["DEAD", "SETTLED", "SETTLED"]
    assert legs[1].created_at > leg.deadline + timedelta(seconds=30)


async def test_unrefundable_dust_parks_and_the_operator_finishes_it(kit: Kit) -> None:
    from oneclick.services.engine import admin

    quote = await kit.quote()
    await kit.deposit(quote, 1500)  # below the bridge's minimum withdrawal
    await kit.drive(until=kit.clock.now() + timedelta(hours=3))
    body = await kit.status(quote)
    assert body["status"] == "FAILED"
    swap = await kit.swap(quote)
    assert "below what the bridge can refund" in (swap.last_error or "")
    assert kit.metrics.parks["REFUND"] == 1
    listed = await admin.stuck_swaps(kit.world.store, kit.clock, timedelta(hours=1))
    assert [s.id for s in listed] == [swap.id]
    await kit.deposit(quote, 10_000)  # the user sends more; the operator retries
    await admin.retry_swap(kit.world.store, kit.clock, quote["depositAddress"], None)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    body = await kit.status(quote)
    assert body["status"] == "REFUNDED"
    assert body["swapDetails"]["refundedAmount"] == str(11_500 - 1900)


async def test_operator_refund_of_a_waiting_swap(kit: Kit) -> None:
    from oneclick.services.engine import admin

    quote = await kit.quote()
    await kit.deposit(quote, 50_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=1))
    await admin.refund_swap(kit.world.store, kit.clock, quote["depositAddress"], None)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    body = await kit.status(quote)
    assert body["status"] == "REFUNDED"
    assert body["swapDetails"]["refundReason"] == "OPERATOR_REFUND"


async def test_a_swap_stuck_past_deadline_is_reported_every_time(kit: Kit) -> None:
    from oneclick.services.engine import admin

    quote = await kit.quote()
    kit.world.bridge.withdrawal_delay = timedelta(days=30)  # the payout never completes
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(hours=4))
    swap = await kit.swap(quote)
    assert (swap.status, swap.phase.value) == (SwapStatus.PROCESSING, "PAYOUT")
    first = kit.metrics.stuck_seen[swap.id]
    assert first > 0
    await kit.drive(until=kit.clock.now() + timedelta(minutes=5))
    assert kit.metrics.stuck_seen[swap.id] > first
    listed = await admin.stuck_swaps(kit.world.store, kit.clock, timedelta(hours=1))
    assert [s.id for s in listed] == [swap.id]
    assert await kit.worker.report_attention() == 1
