"""The reconciliation on a real ``oneclick up`` (issue 13): USDT sent on Ethereum to a USDC
quote's deposit address comes back to ``refundTo`` by itself, and a tx hash that paid nobody,
submitted to ``/v0/deposit/submit``, never shows in ``/v0/status``."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from e2e_stack import RunningStack
from e2e_swapkit import ARB_USDC, ETH_USDC, ETH_USDT, POLL_S, Devnet

from oneclick.client import OneClickClient, QuoteRequest

pytestmark = [pytest.mark.devnet, pytest.mark.slow]

USDT = 10**6
REFUND_TIMEOUT_S = 180.0  # "within a few minutes"; the devnet reconciles every 5 s


async def _status(api_url: str, address: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=api_url, timeout=30.0) as http:
        response = await http.get("/v0/status", params={"depositAddress": address})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _wrong_token_comes_back(stack: RunningStack) -> None:
    api = OneClickClient(stack.api_url, manager_public_key=stack.manager_public_key, timeout=60.0)
    devnet = Devnet(stack.devnet, stack.data_dir / "devnet")
    async with api, devnet:
        refund_to = await devnet.address(ETH_USDC, "refund")
        recipient = await devnet.address(ARB_USDC, "recipient")
        request = QuoteRequest(
            origin_asset=ETH_USDC, destination_asset=ARB_USDC, amount=str(20 * 10**6),
            recipient=recipient, refund_to=refund_to,
        )  # fmt: skip
        address = (await api.quote(request, verify=True)).quote.deposit_address
        never_paid = "0x" + "5e" * 32  # well formed, pays nobody
        bogus = await api.submit_deposit(never_paid, address)
        assert bogus.status == "KNOWN_DEPOSIT_TX"

        wrong, _ = await devnet.pay(ETH_USDT, address, 7 * USDT)

        expected = 7 * USDT - devnet.withdrawal_fee(ETH_USDT)
        give_up = time.monotonic() + REFUND_TIMEOUT_S
        while await devnet.balance(ETH_USDT, refund_to) != expected:
            assert time.monotonic() < give_up, "the wrong token never came back to refundTo"
            await asyncio.sleep(POLL_S)  # polling the chain for an outcome, not waiting one out

        # The refund is recorded once the bridge confirms its payout: poll the ledger for it.
        while True:
            body = await _status(stack.api_url, address)
            entries = body["swapDetails"]["deposits"]
            if entries and entries[0]["status"] == "refunded" and entries[0]["refundTxHashes"]:
                break
            assert time.monotonic() < give_up, body
            await asyncio.sleep(POLL_S)
        [entry] = entries
        assert entry["txHash"].lower() == wrong.lower()
        assert (entry["asset"], entry["amount"]) == (ETH_USDT, str(7 * USDT))
        assert body["status"] == "KNOWN_DEPOSIT_TX"  # still waiting for its USDC
        shown = [t["hash"] for t in body["swapDetails"]["originChainTxHashes"]]
        assert never_paid not in shown
        assert wrong.lower() not in [h.lower() for h in shown]  # not this swap's asset
        assert all(t["explorerUrl"] == "" for t in body["swapDetails"]["originChainTxHashes"])
        # A hash that cannot be an Ethereum transaction is refused at once.
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=30.0) as http:
            refused = await http.post(
                "/v0/deposit/submit", json={"txHash": "0xdead", "depositAddress": address}
            )
        assert refused.status_code == 400, refused.text


def test_a_wrong_token_comes_back_to_refund_to_by_itself(running_stack: RunningStack) -> None:
    asyncio.run(_wrong_token_comes_back(running_stack))
