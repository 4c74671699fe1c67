"""Each deposit into an ANY_INPUT reusable address is its own account-history item (fake world,
driven deterministically): its own asset, amounts, tx hash and status, paged together with the
user's other swaps on one stable cursor, and filtered like them (docs/protocol-notes.md "User
sessions and account history")."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from oc_engine_kit import BTC, USDT, Kit, opened_kit, sign_in
from test_oc_any_input import ANY, _auth, _quote

from nearintents.keys import Ed25519SecretKey, implicit_account_id
from oneclick.domain.amounts import format_units
from oneclick.testing.assets import USDC_BASE


async def _signed_in(kit: Kit, key: Ed25519SecretKey) -> dict[str, str]:
    return {"Authorization": f"Bearer {await sign_in(kit.client, kit.clock.now(), key)}"}


async def _page(kit: Kit, key: Ed25519SecretKey, **params: Any) -> dict[str, Any]:
    """One page of the user's history (signed in now: the engine's hours outlive a token)."""
    response = await kit.client.get(
        "/v0/account/history", params=params, headers=await _signed_in(kit, key)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _items(kit: Kit, key: Ed25519SecretKey, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await _page(kit, key, **params))["items"]
    return items


def _hashes(items: list[dict[str, Any]]) -> list[str | None]:
    return [t["txHash"] for item in items for t in item["quoteTransactions"]]


async def _funded_twice_then_once_more(kit: Kit) -> None:
    key = Ed25519SecretKey.generate()
    owner = implicit_account_id(key.public_key)
    # An ordinary swap of the same user first: the oldest item.
    plain = await kit.quote(recipientType="INTENTS", recipient=owner)
    await kit.deposit(plain, 100_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    assert (await kit.status(plain))["status"] == "SUCCESS"

    quote = (await _quote(kit, await _auth(kit), recipient=owner, recipientType="INTENTS"))["quote"]
    account = quote["depositAddress"]
    # No deposit yet: the address itself is the item, waiting for one.
    waiting, plain_item = await _items(kit, key)
    assert (waiting["depositAddress"], waiting["status"]) == (account, "PENDING_DEPOSIT")
    assert waiting["originAsset"] == ANY
    assert plain_item["depositAddress"] == plain["depositAddress"]

    bridge = kit.world.bridge
    btc_tx = bridge.deposit(account, BTC, 2_000_000)  # 0.02 BTC on Bitcoin
    base_tx = bridge.deposit(account, USDC_BASE, 150_000_000)  # 150 USDC on Base
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    lines = {d["txHash"]: d for d in (await kit.status(quote))["swapDetails"]["anyInputDeposits"]}
    assert {d["phase"] for d in lines.values()} == {"DELIVERED"}

    items = await _items(kit, key)
    assert len(items) == 3  # two deposits and the plain swap; the address no longer on its own
    deposits, plain_item = items[:2], items[2]
    assert plain_item["depositAddress"] == plain["depositAddress"]
    by_hash = {item["quoteTransactions"][0]["txHash"]: item for item in deposits}
    assert set(by_hash) == {btc_tx, base_tx}
    assert all(len(item["quoteTransactions"]) == 1 for item in deposits)
    btc, base = by_hash[btc_tx], by_hash[base_tx]
    assert (btc["originAsset"], btc["amountInFormatted"]) == (BTC, "0.02")
    assert (base["originAsset"], base["amountInFormatted"]) == (USDC_BASE, "150")
    for tx_hash, item in by_hash.items():
        assert item["status"] == "SUCCESS"
        assert item["depositAddress"] == account
        assert item["destinationAsset"] == USDT
        assert item["recipient"] == owner
        bought = int(lines[tx_hash]["amountOut"])
        assert item["amountOutFormatted"] == format_units(bought, 6)  # what its swap bought
        assert item["refundReason"] is None

    # Page backward one item at a time while a third deposit arrives in between.
    first = await _page(kit, key, limit=1)
    assert len(first["items"]) == 1
    third_tx = bridge.deposit(account, USDC_BASE, 20_000_000)  # 20 USDC: pooled, under $1,000
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    seen = list(first["items"])
    cursor = first["prevCursor"]
    while True:
        page = await _page(kit, key, limit=1, prevCursor=cursor)
        if not page["items"]:
            break
        seen += page["items"]
        cursor = page["prevCursor"]
    assert _hashes(seen[:2]) == _hashes(deposits)  # no skip, no repeat, the same order
    assert seen[2]["depositAddress"] == plain["depositAddress"]
    assert len(seen) == 3
    # ... and the newer one is found forward from the first page's nextCursor.
    newer = await _page(kit, key, limit=5, nextCursor=first["nextCursor"])
    [third] = newer["items"]
    assert third["quoteTransactions"] == [{"txHash": third_tx}]
    assert (third["originAsset"], third["amountInFormatted"]) == (USDC_BASE, "20")
    assert third["status"] == "PROCESSING"  # swapped, waiting in the pool for its withdrawal
    assert (await _page(kit, key, nextCursor=newer["nextCursor"]))["items"] == []
    assert _hashes(await _items(kit, key))[:3] == [third_tx, *_hashes(deposits)]

    # Filters apply to deposits and swaps alike.
    assert _hashes(await _items(kit, key, status="PROCESSING")) == [third_tx]
    succeeded = await _items(kit, key, status="SUCCESS")
    assert _hashes(succeeded[:2]) == _hashes(deposits)
    assert succeeded[2]["depositAddress"] == plain["depositAddress"]
    assert await _items(kit, key, status="PENDING_DEPOSIT") == []
    assert _hashes(await _items(kit, key, search=btc_tx)) == [btc_tx]
    assert len(await _items(kit, key, search=account)) == 3
    assert len(await _items(kit, key, depositAddress=account)) == 3
    assert [i["depositAddress"] for i in await _items(kit, key, depositType="ORIGIN_CHAIN")] == [
        plain["depositAddress"]
    ]
    assert len(await _items(kit, key, depositType="INTENTS")) == 3
    # Another user sees none of it.
    assert await _items(kit, Ed25519SecretKey.generate()) == []


async def test_each_deposit_of_a_reusable_address_is_its_own_history_item(kit: Kit) -> None:
    await _funded_twice_then_once_more(kit)


@pytest.mark.postgres
async def test_each_deposit_is_its_own_history_item_on_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    async with opened_kit(tmp_path, database_url=postgres_url) as kit:
        await _funded_twice_then_once_more(kit)


async def test_original_delivers_each_deposit_as_its_own_item(kit: Kit) -> None:
    key = Ed25519SecretKey.generate()
    owner = implicit_account_id(key.public_key)
    quote = (
        await _quote(
            kit, await _auth(kit), destinationAsset="1cs_v1:original", recipient=owner,
            recipientType="INTENTS",
        )
    )["quote"]  # fmt: skip
    btc_tx = kit.world.bridge.deposit(quote["depositAddress"], BTC, 1_000)
    await kit.drive(until=kit.clock.now() + timedelta(minutes=20))
    [item] = await _items(kit, key)
    assert item["quoteTransactions"] == [{"txHash": btc_tx}]
    assert item["status"] == "SUCCESS"
    assert (item["originAsset"], item["destinationAsset"]) == (BTC, BTC)  # as it came
    assert item["amountInFormatted"] == item["amountOutFormatted"] == "0.00001"
