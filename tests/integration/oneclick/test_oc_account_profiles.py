"""The user-session and account endpoints, and the partner key header, under every profile:
``full`` serves every field of the SDK 0.1.25 models; ``v0.1.10-strict`` and ``rust-v0`` have
no such operations, so they serve the same bodies and prune only the errors to the reference's
``{message}``; a quote with integral floats is served in each profile's own shape."""

from datetime import timedelta

import httpx
import pytest
from oc_helpers import quote_request
from test_oc_account import HISTORY_ITEM_FIELDS, paid_to, signed_in
from test_oc_profiles import RUST, STRICT, check_rust, check_strict, profiled_and_full

from oneclick.services.partners import add_partner
from oneclick.testing.world import FakeWorld

ACCOUNT_PATHS = ("/v0/account/balances", "/v0/account/history")


@pytest.mark.parametrize("profile", ["full", STRICT, RUST])
async def test_account_answers_are_the_full_models_in_every_profile(
    client: httpx.AsyncClient, world: FakeWorld, profile: str
) -> None:
    account, headers = await signed_in(client, world)
    world.verifier.ledger.mint(account, "nep141:wrap.near", 7)
    await paid_to(client, account)
    for path in ACCOUNT_PATHS:
        profiled, full = await profiled_and_full(client, profile, "GET", path, headers=headers)
        assert profiled.status_code == 200
        assert profiled.json() == full.json()
    history = profiled.json()
    assert set(history["items"][0]) >= HISTORY_ITEM_FIELDS
    assert {"nextCursor", "prevCursor"} <= set(history)


@pytest.mark.parametrize("profile", [STRICT, RUST])
async def test_auth_answers_keep_their_fields_in_every_profile(
    client: httpx.AsyncClient, world: FakeWorld, profile: str
) -> None:
    login = await client.post(
        "/v0/auth/refresh", json={"refreshToken": "x"}, headers={"X-OneClick-Compat": profile}
    )
    assert login.status_code == 401
    strict_error = set(login.json())
    assert "message" in strict_error
    if profile == STRICT:
        assert strict_error == {"message"}
    bad = await client.get(
        "/v0/account/history", headers={"X-OneClick-Compat": profile, "Authorization": "Bearer x"}
    )
    assert bad.status_code == 401
    assert "message" in bad.json()


async def test_refresh_keeps_its_rotated_token_in_the_strict_profile(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    from test_oc_user_sessions import login

    session = await login(client, world)
    refreshed = await client.post(
        "/v0/auth/refresh", json={"refreshToken": session["refreshToken"]},
        headers={"X-OneClick-Compat": STRICT},
    )  # fmt: skip
    assert refreshed.status_code == 200
    assert set(refreshed.json()) == {"accessToken", "expiresIn", "refreshToken", "refreshExpiresIn"}


async def test_a_quote_with_floats_keeps_each_profiles_shape(client: httpx.AsyncClient) -> None:
    floats = {"json": quote_request(dry=True, slippageTolerance=100.0, quoteWaitingTimeMs=0.0)}
    strict = await check_strict(client, "POST", "/v0/quote", **floats)
    assert strict.status_code == 200
    assert strict.json()["quoteRequest"]["slippageTolerance"] == 100
    rust = await check_rust(client, "POST", "/v0/quote", **floats)
    assert rust["quoteRequest"]["slippageTolerance"] == 100


async def test_the_partner_key_header_is_the_partner_jwt(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    _, token = await add_partner(
        world.store, "acme", secret=world.keys.jwt_secret, now=world.clock.now(),
        ttl=timedelta(minutes=5),
    )  # fmt: skip
    _, user = await signed_in(client, world)
    body = quote_request(dry=True)
    anonymous = (await client.post("/v0/quote", json=body)).json()["quote"]["amountOut"]
    by_jwt = await client.post("/v0/quote", json=body, headers={"Authorization": f"Bearer {token}"})
    by_key = await client.post("/v0/quote", json=body, headers={"X-API-Key": token})
    # The SDK with a user session (OpenAPI.TOKEN) and a partner key (OpenAPI.HEADERS) sends both.
    both = await client.post("/v0/quote", json=body, headers={**user, "X-API-Key": token})
    paid = {r.json()["quote"]["amountOut"] for r in (by_jwt, by_key, both)}
    assert len(paid) == 1
    assert int(paid.pop()) > int(anonymous)  # the partner tier: no platform fee
    for bad in ("not-a-jwt", " "):
        refused = await client.post("/v0/quote", json=body, headers={"X-API-Key": bad})
        assert refused.status_code == 401, bad
    world.clock.advance(timedelta(minutes=6))
    expired_jwt = await client.post(
        "/v0/quote", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    expired_key = await client.post("/v0/quote", json=body, headers={"X-API-Key": token})
    assert expired_jwt.status_code == expired_key.status_code == 401
    assert expired_jwt.json()["message"] == expired_key.json()["message"]
