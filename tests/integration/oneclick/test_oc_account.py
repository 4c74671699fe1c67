"""The signed-in user's account over HTTP: ``/v0/account/balances`` read from the Verifier, and
``/v0/account/history``: which swaps are the user's, the HistoryItem fields, status / type /
search filters, and cursors that stay stable while new swaps arrive. On SQLite and PostgreSQL."""

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from oc_engine_kit import sign_in
from oc_helpers import ON_BOTH_DATABASES, USDT, quote_request
from sqlalchemy import update
from test_oc_user_sessions import bearer

from nearintents import signing
from nearintents.keys import Ed25519SecretKey, implicit_account_id
from oneclick.domain.swaps import SwapStatus
from oneclick.store.tables import swaps
from oneclick.testing.world import FakeWorld

pytestmark = ON_BOTH_DATABASES

BTC = "nep141:btc.omft.near"
WNEAR = "nep141:wrap.near"
HISTORY_ITEM_FIELDS = {
    "status",
    "depositType",
    "recipientType",
    "createdAt",
    "depositAddress",
    "depositMemo",
    "originAsset",
    "amountInFormatted",
    "amountInUsd",
    "destinationAsset",
    "amountOutFormatted",
    "amountOutUsd",
    "recipient",
    "quoteTransactions",
    "refundTo",
    "refundType",
    "refundReason",
    "refundFee",
    "refundFeeFormatted",
}  # fmt: skip  (refundedAmount* appear once something was refunded)


async def signed_in(client: httpx.AsyncClient, world: FakeWorld) -> tuple[str, dict[str, str]]:
    return await signed_in_as(client, world, Ed25519SecretKey.generate())


async def signed_in_as(
    client: httpx.AsyncClient, world: FakeWorld, key: Ed25519SecretKey
) -> tuple[str, dict[str, str]]:
    token = await sign_in(client, world.clock.now(), key)
    return implicit_account_id(key.public_key), bearer(token)


async def quote_for(client: httpx.AsyncClient, **change: Any) -> str:
    response = await client.post("/v0/quote", json=quote_request(**change))
    assert response.status_code == 200, response.text
    address: str = response.json()["quote"]["depositAddress"]
    return address


async def paid_to(client: httpx.AsyncClient, account: str, **change: Any) -> str:
    return await quote_for(client, recipientType="INTENTS", recipient=account, **change)


async def set_status(world: FakeWorld, address: str, status: SwapStatus) -> None:
    # Forced, as an operator editing the row would (the aggregate allows only the engine's
    # transitions, and these tests need statuses no swap reaches that way).
    async with world.store.db.begin() as conn:
        await conn.execute(
            update(swaps)
            .where(swaps.c.deposit_address == address)
            .values(status=status.value, version=swaps.c.version + 1)
        )


async def history(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get("/v0/account/history", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def addresses(body: dict[str, Any]) -> list[str]:
    return [item["depositAddress"] for item in body["items"]]


# --- balances ----------------------------------------------------------------------------------


async def test_balances_are_read_from_the_verifier(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    account, headers = await signed_in(client, world)
    world.verifier.ledger.mint(account, BTC, 12_345)
    world.verifier.ledger.mint(account, WNEAR, 10**24)
    reads = world.verifier.batch_reads
    listed = await client.get("/v0/account/balances", headers=headers)
    assert listed.status_code == 200
    assert listed.json() == {
        "balances": [
            {"tokenId": BTC, "available": "12345", "source": "private"},
            {"tokenId": WNEAR, "available": str(10**24), "source": "private"},
        ]
    }
    assert world.verifier.batch_reads == reads + 1  # one mt_batch_balance_of view
    world.verifier.ledger.mint(account, BTC, 5)  # read back, never cached
    asked = await client.get(
        "/v0/account/balances", params=[("tokenIds", f"{BTC},{USDT}"), ("tokenIds", BTC)],
        headers=headers,
    )  # fmt: skip
    assert asked.json()["balances"] == [
        {"tokenId": BTC, "available": "12350", "source": "private"},
        {"tokenId": USDT, "available": "0", "source": "private"},
    ]


async def test_balances_refuse_what_is_no_token_id(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    _, headers = await signed_in(client, world)
    bad = await client.get("/v0/account/balances", params={"tokenIds": "wrap"}, headers=headers)
    assert bad.status_code == 400
    many = ",".join(f"nep141:t{i}.near" for i in range(101))
    too_many = await client.get("/v0/account/balances", params={"tokenIds": many}, headers=headers)
    assert too_many.status_code == 400


# --- history -----------------------------------------------------------------------------------


async def test_history_holds_the_swaps_that_name_the_users_intents_account(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    account, headers = await signed_in(client, world)
    paid = await paid_to(client, account)
    world.clock.advance(timedelta(seconds=1))
    refunded_to = await quote_for(
        client, originAsset=WNEAR, amount=str(10**24), depositType="INTENTS",
        refundType="INTENTS", refundTo=account,
    )  # fmt: skip
    world.clock.advance(timedelta(seconds=1))
    await quote_for(client)  # chain to chain: nobody's account
    await paid_to(client, "someone-else.near")
    body = await history(client, headers)
    assert addresses(body) == [refunded_to, paid]  # newest first
    item = body["items"][1]
    assert set(item) >= HISTORY_ITEM_FIELDS
    assert item["status"] == "PENDING_DEPOSIT"
    assert (item["depositType"], item["recipientType"], item["refundType"]) == (
        "ORIGIN_CHAIN", "INTENTS", "ORIGIN_CHAIN",
    )  # fmt: skip
    assert item["recipient"] == account
    assert item["depositMemo"] is None
    assert item["originAsset"] == "1cs_v1:btc:native:coin"
    assert item["destinationAsset"] == USDT
    assert item["amountInFormatted"] == "0.0001"
    assert item["quoteTransactions"] == []
    assert item["refundReason"] is None
    assert item["refundFee"] is not None
    assert item["refundFeeFormatted"]


async def test_a_seen_deposit_is_still_a_pending_deposit_in_history(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    account, headers = await signed_in(client, world)
    address = await paid_to(client, account)
    submitted = await client.post(
        "/v0/deposit/submit", json={"txHash": "ab" * 32, "depositAddress": address}
    )
    assert submitted.json()["status"] == "KNOWN_DEPOSIT_TX"
    body = await history(client, headers)
    assert body["items"][0]["status"] == "PENDING_DEPOSIT"
    assert addresses(await history(client, headers, status="PENDING_DEPOSIT")) == [address]
    assert addresses(await history(client, headers, search="ab" * 32)) == [address]


async def test_history_filters_by_status_type_address_and_search(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    account, headers = await signed_in(client, world)
    done = await paid_to(client, account)
    world.clock.advance(timedelta(seconds=1))
    failed = await paid_to(client, account)
    world.clock.advance(timedelta(seconds=1))
    from_intents = await paid_to(client, account, depositType="INTENTS")
    await set_status(world, done, SwapStatus.SUCCESS)
    await set_status(world, failed, SwapStatus.FAILED)

    assert addresses(await history(client, headers, status="SUCCESS")) == [done]
    both = await history(client, headers, status=["SUCCESS", "FAILED"])
    assert addresses(both) == [failed, done]
    assert addresses(await history(client, headers, status="SUCCESS,FAILED")) == [failed, done]
    assert addresses(await history(client, headers, depositType="INTENTS")) == [from_intents]
    # Index-aligned: (INTENTS, *, *) OR (ORIGIN_CHAIN, INTENTS, ORIGIN_CHAIN) is everything.
    aligned = await history(
        client, headers, depositType=["INTENTS", "ORIGIN_CHAIN"],
        recipientType=["null", "INTENTS"], refundType=["null", "ORIGIN_CHAIN"],
    )  # fmt: skip
    assert addresses(aligned) == [from_intents, failed, done]
    assert addresses(await history(client, headers, recipientType="DESTINATION_CHAIN")) == []
    assert addresses(await history(client, headers, depositAddress=failed)) == [failed]
    assert addresses(await history(client, headers, search=done)) == [done]
    assert len(addresses(await history(client, headers, search=account))) == 3
    for bad in ({"status": "KNOWN"}, {"depositType": "CHAIN"}, {"limit": "0"},
                {"limit": "101"}, {"limit": "2.5"}, {"prevCursor": "garbage"},
                {"prevCursor": "W10", "nextCursor": "W10"}):  # fmt: skip
        response = await client.get("/v0/account/history", params=bad, headers=headers)
        assert response.status_code == 400, bad
    assert len((await history(client, headers, limit="2.0"))["items"]) == 2


async def test_history_cursors_stay_stable_while_swaps_arrive(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    account, headers = await signed_in(client, world)
    created = []
    for index in range(5):
        created.append(await paid_to(client, account))
        if index % 2:  # two swaps share each timestamp: the id orders them
            world.clock.advance(timedelta(seconds=1))
    first = await history(client, headers, limit=2)
    assert addresses(first) == addresses(await history(client, headers, limit=10))[:2]
    seen = addresses(first)
    cursor = first["prevCursor"]
    arrived = []
    while True:
        world.clock.advance(timedelta(seconds=1))
        arrived.append(await paid_to(client, account))  # a new swap between two pages
        page = await history(client, headers, limit=2, prevCursor=cursor)
        seen += addresses(page)
        if len(page["items"]) < 2:
            break
        cursor = page["prevCursor"]
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))
    # Polling forward from the first page's nextCursor yields exactly what arrived since.
    polled: list[str] = []
    cursor = first["nextCursor"]
    while True:
        page = await history(client, headers, limit=2, nextCursor=cursor)
        polled += addresses(page)
        cursor = page["nextCursor"]
        if not page["items"]:
            break
    assert sorted(polled) == sorted(arrived)
    assert len(polled) == len(set(polled))
    quiet = await history(client, headers, nextCursor=cursor)
    assert quiet["items"] == []
    assert quiet["nextCursor"] == cursor


async def test_history_of_an_account_without_swaps_is_empty(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    await paid_to(client, "someone-else.near")
    _, headers = await signed_in(client, world)
    assert await history(client, headers) == {"items": []}


@pytest.mark.parametrize("number", [100.0, 100])
async def test_integral_floats_are_accepted_where_upstream_types_a_number(
    client: httpx.AsyncClient, number: float
) -> None:
    body = quote_request(
        dry=True, slippageTolerance=number, quoteWaitingTimeMs=number * 10,
        appFees=[{"recipient": "fees.near", "fee": number / 2}],
    )  # fmt: skip
    response = await client.post("/v0/quote", json=body)
    assert response.status_code == 200, response.text
    echoed = response.json()["quoteRequest"]
    assert echoed["slippageTolerance"] == 100
    assert echoed["appFees"][0]["fee"] == 50
    assert isinstance(echoed["slippageTolerance"], int)


@pytest.mark.parametrize(
    ("field", "value"),
    [("slippageTolerance", 100.5), ("slippageTolerance", "100"), ("quoteWaitingTimeMs", 0.5),
     ("slippageTolerance", True), ("appFees", [{"recipient": "fees.near", "fee": 1.25}])],
)  # fmt: skip
async def test_non_integral_numbers_stay_a_400(
    client: httpx.AsyncClient, field: str, value: object
) -> None:
    response = await client.post("/v0/quote", json=quote_request(dry=True, **{field: value}))
    assert response.status_code == 400, response.text
    assert field in response.json()["message"]


async def test_a_swap_the_user_funded_with_a_signed_transfer_is_theirs(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    key = Ed25519SecretKey.generate()
    account = implicit_account_id(key.public_key)
    address = await quote_for(client, depositType="INTENTS")  # pays out to a chain address
    _, headers = await signed_in_as(client, world, key)
    assert (await history(client, headers))["items"] == []
    generated = await client.post(
        "/v0/generate-intent",
        json={"type": "swap_transfer", "standard": "raw_ed25519", "signerId": account,
              "depositAddress": address},
    )  # fmt: skip
    signed = signing.sign("raw_ed25519", json.loads(generated.json()["intent"]["payload"]), key)
    submitted = await client.post(
        "/v0/submit-intent", json={"type": "swap_transfer", "signedData": signed}
    )
    assert submitted.status_code == 200, submitted.text
    assert addresses(await history(client, headers)) == [address]
    assert addresses(await history(client, headers, search=account)) == [address]
