"""The account history of swaps the engine actually ran (fake world, driven deterministically):
a refunded swap shows its reason, refunded amount and deposit; a successful one the amounts
executed, the same as ``/v0/status`` shows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from oc_engine_kit import Kit, sign_in

from nearintents.keys import Ed25519SecretKey, implicit_account_id


async def _history(kit: Kit, key: Ed25519SecretKey) -> list[dict[str, Any]]:
    """Signed in now (the engine's hours outlive any access token), the user's history."""
    headers = {"Authorization": f"Bearer {await sign_in(kit.client, kit.clock.now(), key)}"}
    response = await kit.client.get("/v0/account/history", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_refunded_swap_shows_why_and_how_much(kit: Kit) -> None:
    key = Ed25519SecretKey.generate()
    account = implicit_account_id(key.public_key)
    quote = await kit.quote(recipientType="INTENTS", recipient=account)
    tx = await kit.deposit(quote, 60_000)  # under the 100_000 quoted: refunded at the deadline
    await kit.drive(until=kit.clock.now() + timedelta(hours=3))
    status = await kit.status(quote)
    assert status["status"] == "REFUNDED"
    [item] = await _history(kit, key)
    assert item["status"] == "REFUNDED"
    assert item["refundReason"] == "DEPOSIT_TOO_LOW"
    assert item["refundedAmountFormatted"] == status["swapDetails"]["refundedAmountFormatted"]
    assert item["refundedAmountUsd"] == status["swapDetails"]["refundedAmountUsd"]
    assert item["quoteTransactions"] == [{"txHash": tx}]
    assert item["amountInFormatted"] == "0.001"  # nothing was swapped: the quoted amount


async def test_a_successful_swap_shows_the_amounts_executed(kit: Kit) -> None:
    key = Ed25519SecretKey.generate()
    account = implicit_account_id(key.public_key)
    quote = await kit.quote(recipientType="INTENTS", recipient=account)
    await kit.deposit(quote, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    status = await kit.status(quote)
    assert status["status"] == "SUCCESS", status
    [item] = await _history(kit, key)
    details = status["swapDetails"]
    assert item["status"] == "SUCCESS"
    assert item["amountInFormatted"] == details["amountInFormatted"]
    assert item["amountOutFormatted"] == details["amountOutFormatted"]
    assert item["amountOutUsd"] == details["amountOutUsd"]
    assert item["refundReason"] is None
    assert "refundedAmountFormatted" not in item
