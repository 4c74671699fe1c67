"""The endpoints over HTTP on the fake world: quotes, status, deposits, auth, validation."""

import uuid
from datetime import timedelta

import httpx
import pytest
from oc_helpers import USDT, quote_request

from nearintents.quote_signature import verify_quote_signature
from oneclick.services.partners import add_partner
from oneclick.testing.world import FakeWorld


def _is_uuid(text: str) -> bool:
    return str(uuid.UUID(text)) == text


async def test_tokens_are_public_and_priced(client: httpx.AsyncClient) -> None:
    response = await client.get("/v0/tokens")
    assert response.status_code == 200
    btc = next(t for t in response.json() if t["assetId"] == "nep141:btc.omft.near")
    assert btc["price"] == 60000
    assert btc["decimals"] == 8
    assert btc["blockchain"] == "btc"
    assert _is_uuid(response.headers["x-correlation-id"])


async def test_dry_quote_is_signed_and_allocates_nothing(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    response = await client.post("/v0/quote", json=quote_request(dry=True))
    assert response.status_code == 200
    body = response.json()
    assert "depositAddress" not in body["quote"]
    assert "deadline" not in body["quote"]
    assert verify_quote_signature(body, world.keys.manager_public_key)
    assert _is_uuid(body["correlationId"])
    async with world.store.transaction() as tx:
        free = await tx.custody.free_count()
    await client.post("/v0/quote", json=quote_request(dry=True))
    async with world.store.transaction() as tx:
        assert await tx.custody.free_count() == free  # no custody account was taken


async def test_non_dry_quote_then_status_returns_it_verbatim(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    quote = (await client.post("/v0/quote", json=quote_request())).json()
    q = quote["quote"]
    assert q["depositAddress"].startswith("bc1q")
    assert (q["amountIn"], q["minAmountIn"], q["amountInFormatted"]) == ("10000", "10000", "0.0001")
    assert q["deadline"] == q["timeWhenInactive"] == "2026-01-02T14:00:00.000Z"  # + 24 h grace
    assert q["withdrawFee"] == "300000"
    assert q["refundFee"] == "1900"
    assert int(q["minAmountOut"]) == int(q["amountOut"]) * 9900 // 10000
    assert verify_quote_signature(quote, world.keys.manager_public_key)

    status = await client.get("/v0/status", params={"depositAddress": q["depositAddress"]})
    assert status.status_code == 200
    body = status.json()
    assert body["quoteResponse"] == quote
    assert body["status"] == "PENDING_DEPOSIT"
    assert body["swapDetails"] == {
        "intentHashes": [], "nearTxHashes": [], "originChainTxHashes": [],
        "destinationChainTxHashes": [], "deposits": [],
    }  # fmt: skip
    assert verify_quote_signature(body["quoteResponse"], world.keys.manager_public_key)


async def test_each_quote_gets_its_own_custody_account(client: httpx.AsyncClient) -> None:
    first = (await client.post("/v0/quote", json=quote_request())).json()["quote"]
    second = (await client.post("/v0/quote", json=quote_request())).json()["quote"]
    assert first["depositAddress"] != second["depositAddress"]


async def test_intents_and_near_native_deposits_are_the_custody_account(
    client: httpx.AsyncClient,
) -> None:
    intents = await client.post("/v0/quote", json=quote_request(depositType="INTENTS"))
    address = intents.json()["quote"]["depositAddress"]
    assert len(address) == 64
    assert int(address, 16) >= 0
    near = await client.post(
        "/v0/quote",
        json=quote_request(originAsset="nep141:wrap.near", amount=str(10**24), refundTo="bob.near",
                           depositType="INTENTS", refundType="INTENTS"),
    )  # fmt: skip
    assert len(near.json()["quote"]["depositAddress"]) == 64
    assert "refundFee" not in near.json()["quote"]


async def test_near_native_paths_that_would_strand_funds_are_a_400(
    client: httpx.AsyncClient,
) -> None:
    origin = await client.post(
        "/v0/quote",
        json=quote_request(originAsset="nep141:wrap.near", amount=str(10**24), refundTo="bob.near"),
    )
    assert origin.status_code == 400
    assert "depositType ORIGIN_CHAIN is not supported by this service" in origin.json()["message"]
    payout = await client.post(
        "/v0/quote", json=quote_request(destinationAsset="nep141:wrap.near", recipient="bob.near")
    )
    assert payout.status_code == 400
    assert "delivery to a NEAR account cannot be confirmed" in payout.json()["message"]


async def test_memo_deposits_need_the_memo_for_status(client: httpx.AsyncClient) -> None:
    body = quote_request(
        originAsset="nep141:stellar.omft.near",
        amount="100000000",
        refundTo="GAHK7EEG2WWHVKDNT4CEQFZGKF2LGDSW2IVM4S5DP42RBW3K6BTODB4A",
        depositMode="MEMO",
    )
    quote = (await client.post("/v0/quote", json=body)).json()["quote"]
    address, memo = quote["depositAddress"], quote["depositMemo"]
    ok = await client.get("/v0/status", params={"depositAddress": address, "depositMemo": memo})
    assert ok.status_code == 200
    for params in ({"depositAddress": address}, {"depositAddress": address, "depositMemo": "1"}):
        missing = await client.get("/v0/status", params=params)
        assert missing.status_code == 404
        assert missing.json()["message"] == f"Deposit address {address} not found"


async def test_unknown_address_is_a_404_with_the_message(client: httpx.AsyncClient) -> None:
    response = await client.get("/v0/status", params={"depositAddress": "0xabc"})
    assert response.status_code == 404
    assert response.json()["message"] == "Deposit address 0xabc not found"


async def test_deposit_submit_is_idempotent_and_notifies_the_bridge(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    address = (await client.post("/v0/quote", json=quote_request())).json()["quote"][
        "depositAddress"
    ]
    submit = {"txHash": "ab" * 32, "depositAddress": address}
    first = await client.post("/v0/deposit/submit", json=submit)
    second = await client.post("/v0/deposit/submit", json=submit)
    assert first.status_code == second.status_code == 200
    assert first.json()["status"] == second.json()["status"] == "KNOWN_DEPOSIT_TX"
    assert [n["tx_hash"] for n in world.bridge.notified] == ["ab" * 32] * 2
    assert world.bridge.notified[0]["chain"] == "btc:mainnet"
    unknown = await client.post("/v0/deposit/submit", json={**submit, "depositAddress": "x1"})
    assert unknown.status_code == 404


async def test_anonymous_pays_the_platform_fee_partners_do_not(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    _, token = await add_partner(
        world.store,
        "acme",
        secret=world.keys.jwt_secret,
        now=world.clock.now(),
        ttl=timedelta(days=1),
    )
    anonymous = (await client.post("/v0/quote", json=quote_request(dry=True))).json()
    partner = await client.post(
        "/v0/quote", json=quote_request(dry=True), headers={"Authorization": f"Bearer {token}"}
    )
    via_key = await client.post(
        "/v0/quote", json=quote_request(dry=True), headers={"x-api-key": token}
    )
    assert partner.status_code == via_key.status_code == 200
    assert int(partner.json()["quote"]["amountOut"]) > int(anonymous["quote"]["amountOut"])
    assert via_key.json()["quote"]["amountOut"] == partner.json()["quote"]["amountOut"]


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Basic abc", "Bearer "])
async def test_invalid_tokens_are_401(client: httpx.AsyncClient, header: str) -> None:
    response = await client.post(
        "/v0/quote", json=quote_request(), headers={"Authorization": header}
    )
    assert response.status_code == 401
    assert "message" in response.json()


async def test_expired_and_revoked_tokens_are_401(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    from oneclick.services.partners import revoke_partner

    _, short = await add_partner(
        world.store, "brief", secret=world.keys.jwt_secret, now=world.clock.now(),
        ttl=timedelta(minutes=1),
    )  # fmt: skip
    _, revoked = await add_partner(
        world.store, "gone", secret=world.keys.jwt_secret, now=world.clock.now(), ttl=None
    )
    await revoke_partner(world.store, "gone", now=world.clock.now())
    world.clock.advance(timedelta(minutes=2))
    for token in (short, revoked):
        response = await client.post(
            "/v0/quote", json=quote_request(deadline="2026-01-01T15:00:00Z"),
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
        assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (quote_request(slippageTolerance=1.5), "slippageTolerance"),
        (quote_request(amount=10000), "amount"),
        (quote_request(swapType="NOPE"), "swapType"),
        ({"dry": True}, "is required"),
        (quote_request(originAsset="nep141:nope.near"), "not a supported asset"),
        (quote_request(deadline="2020-01-01T00:00:00Z"), "deadline"),
        (quote_request(recipientType="CONFIDENTIAL_INTENTS"), "CONFIDENTIAL_INTENTS"),
        (quote_request(appFees=[{"recipient": "x.near", "fee": 600}]), "appFees"),
        (quote_request(confidentiality="advanced"), "confidential"),
    ],
)
async def test_bad_input_is_a_400_with_a_message(
    client: httpx.AsyncClient, body: dict, message: str
) -> None:
    response = await client.post("/v0/quote", json=body)
    assert response.status_code == 400
    assert message in response.json()["message"]


async def test_malformed_json_and_missing_params_are_400(client: httpx.AsyncClient) -> None:
    bad = await client.post(
        "/v0/quote", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400
    assert bad.json()["message"] == "Request body is not valid JSON"
    missing = await client.get("/v0/status")
    assert missing.status_code == 400
    assert "depositAddress" in missing.json()["message"]


async def test_no_quote_from_solvers_is_a_400(client: httpx.AsyncClient, world: FakeWorld) -> None:
    world.relay.prices.pop(USDT)
    response = await client.post("/v0/quote", json=quote_request())
    assert response.status_code == 400
    assert "no quote" in response.json()["message"]


async def test_untrusted_solver_quotes_are_dropped(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    from nearintents.rpc import Quote

    rogue = Quote(
        quote_hash="rogue", defuse_asset_identifier_in="nep141:btc.omft.near",
        defuse_asset_identifier_out=USDT, amount_in=1, amount_out=10**30,
        expiration_time=world.clock.now() + timedelta(minutes=1),
    )  # fmt: skip
    world.relay.extra_answers.append(rogue)
    quote = (await client.post("/v0/quote", json=quote_request())).json()["quote"]
    assert int(quote["amountOut"]) < 10**10


async def test_any_input_withdrawals_are_404(client: httpx.AsyncClient) -> None:
    address = (await client.post("/v0/quote", json=quote_request())).json()["quote"][
        "depositAddress"
    ]
    for target in (address, "unknown"):
        response = await client.get("/v0/any-input/withdrawals", params={"depositAddress": target})
        assert response.status_code == 404


async def test_quote_waiting_time_reaches_the_relay(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    await client.post("/v0/quote", json=quote_request(dry=True, quoteWaitingTimeMs=1500))
    await client.post("/v0/quote", json=quote_request(dry=True))
    assert [r.wait_ms for r in world.relay.requests] == [1500, None]


async def test_an_output_below_the_bridge_minimum_withdrawal_is_refused(
    client: httpx.AsyncClient,
) -> None:
    # 2 USDT buy ~3,330 sats: more than the 1,900 withdrawal fee, less than the bridge's 5,000
    # minimum withdrawal, so the payout would be rejected after the swap.
    small = quote_request(
        originAsset=USDT,
        destinationAsset="nep141:btc.omft.near",
        amount="2000000",
        refundTo="0xcac3C41676deF4FE375E57118f3eB83A99105577",
        recipient="bc1q6mte80265ghwq4vsrpm9lnaz46uvdreu9z8wly",
    )
    response = await client.post("/v0/quote", json=small)
    assert response.status_code == 400
    assert "minimum withdrawal of 5000" in response.json()["message"]
    enough = dict(small, amount="10000000")  # ~16,600 sats
    assert (await client.post("/v0/quote", json=enough)).status_code == 200
    # Delivered inside NEAR Intents, nothing is withdrawn: no minimum applies.
    inside = dict(small, recipientType="INTENTS", recipient="bob.near")
    assert (await client.post("/v0/quote", json=inside)).status_code == 200
