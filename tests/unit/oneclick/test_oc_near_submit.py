"""``/v0/deposit/submit`` with ``nearSenderAccount`` for a NEAR-native ``ORIGIN_CHAIN`` deposit
(issue 16): the submitted hash is checked against NEAR ``tx`` and listed in
``originChainTxHashes`` only when its final receipts move the origin token from that sender to
the deposit address."""

from __future__ import annotations

from typing import Any

import pytest
from oc_engine_kit import WNEAR, Kit

from oneclick.testing.near import FakeNearChain

ALICE = "alice.near"
AMOUNT = 10**24  # 1 wNEAR


@pytest.fixture
def kit_options() -> dict[str, Any]:
    return {"near": True, "near_operator": "operator.near"}


def chain(kit: Kit) -> FakeNearChain:
    assert kit.world.near is not None
    return kit.world.near


async def near_quote(kit: Kit) -> dict[str, Any]:
    chain(kit).accounts.add(ALICE)  # refunds go back to her on NEAR
    return await kit.quote(originAsset=WNEAR, refundTo=ALICE, amount=str(AMOUNT))


async def submit(kit: Kit, quote: dict[str, Any], tx_hash: str, sender: str = ALICE) -> Any:
    body = {"txHash": tx_hash, "depositAddress": quote["depositAddress"],
            "nearSenderAccount": sender}  # fmt: skip
    return await kit.client.post("/v0/deposit/submit", json=body)


async def step(kit: Kit) -> None:
    """The engine's next look at the swap (its deposit step, when it polls again)."""
    due = await kit.next_due()
    assert due is not None
    kit.clock.set(max(due, kit.clock.now()))
    assert await kit.worker.run_once()


def shown(body: dict[str, Any]) -> list[str]:
    return [t["hash"] for t in body["swapDetails"]["originChainTxHashes"]]


async def test_a_final_transfer_to_the_deposit_address_is_listed(kit: Kit) -> None:
    quote = await near_quote(kit)
    address = quote["depositAddress"]
    tx_hash = chain(kit).user_transfer(ALICE, "wrap.near", address, AMOUNT)
    assert (await submit(kit, quote, tx_hash)).status_code == 200
    assert shown(await kit.status(quote)) == []  # not before NEAR `tx` says so
    await step(kit)
    body = await kit.status(quote)
    assert shown(body) == [tx_hash]
    assert body["status"] == "KNOWN_DEPOSIT_TX"


async def test_an_ft_transfer_call_less_what_came_back_is_listed(kit: Kit) -> None:
    quote = await near_quote(kit)
    tx_hash = chain(kit).user_transfer(ALICE, "wrap.near", quote["depositAddress"], AMOUNT,
                                       returned=40_000)  # fmt: skip
    assert (await submit(kit, quote, tx_hash)).status_code == 200
    await step(kit)
    assert tx_hash in shown(await kit.status(quote))


@pytest.mark.parametrize(
    "case",
    ["another_sender", "another_receiver", "another_token", "failed", "all_returned"],
)
async def test_a_transaction_that_does_not_pay_the_address_is_never_listed(
    kit: Kit, case: str
) -> None:
    quote = await near_quote(kit)
    address = quote["depositAddress"]
    near = chain(kit)
    sender, token, receiver, returned, failed = ALICE, "wrap.near", address, 0, False
    if case == "another_sender":
        sender = "bob.near"  # signed by bob, submitted as alice's: `tx` does not know it
    elif case == "another_receiver":
        receiver = "shop.near"
    elif case == "another_token":
        token = "usdc.near"
    elif case == "failed":
        failed = True
    else:
        returned = AMOUNT
    tx_hash = near.user_transfer(sender, token, receiver, AMOUNT, returned=returned,
                                 failed=failed)  # fmt: skip
    assert (await submit(kit, quote, tx_hash)).status_code == 200
    await step(kit)
    body = await kit.status(quote)
    assert tx_hash not in shown(body)
    assert body["status"] == "KNOWN_DEPOSIT_TX"  # recorded, waiting for a real deposit


async def test_an_unknown_hash_stays_unshown_until_near_finds_it_final(kit: Kit) -> None:
    quote = await near_quote(kit)
    near = chain(kit)
    tx_hash = near.user_transfer(ALICE, "wrap.near", quote["depositAddress"], AMOUNT)
    receipts = near.user_txs.pop(tx_hash)  # submitted before the node knows it
    assert (await submit(kit, quote, tx_hash)).status_code == 200
    await step(kit)
    assert shown(await kit.status(quote)) == []
    near.user_txs[tx_hash] = receipts
    near.final = False  # known, not final yet: what it says may still change
    await step(kit)
    assert shown(await kit.status(quote)) == []
    near.final = True
    await step(kit)
    assert shown(await kit.status(quote)) == [tx_hash]


@pytest.mark.parametrize("bad", ["0x" + "ab" * 32, "1" * 10, "O" * 44])
async def test_a_hash_that_cannot_be_a_near_transaction_is_a_400(kit: Kit, bad: str) -> None:
    quote = await near_quote(kit)
    response = await submit(kit, quote, bad)
    assert response.status_code == 400, response.text
    assert "is not a near transaction hash" in response.json()["message"]
