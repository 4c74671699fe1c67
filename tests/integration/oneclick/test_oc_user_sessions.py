"""User sessions over HTTP (``/v0/auth/authenticate``, ``/v0/auth/refresh``): a wallet's
signature in every standard we sign with, the Verifier's key check, expiry, replay, refresh
rotation with reuse detection, and revocation when the signing secret changes."""

import asyncio
import os
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from oc_helpers import ON_BOTH_DATABASES

from nearintents import signing
from nearintents.encoding import b64encode
from nearintents.keys import Ed25519SecretKey, Secp256k1SecretKey, implicit_account_id
from nearintents.payload import format_rfc3339
from oneclick.api.app import create_app
from oneclick.services.context import SessionPolicy
from oneclick.services.partners import add_partner
from oneclick.testing.world import FakeWorld

pytestmark = ON_BOTH_DATABASES

VERIFIER = "intents.near"


def auth_payload(world: FakeWorld, signer: str, **change: Any) -> dict[str, Any]:
    payload = {
        "signer_id": signer,
        "verifying_contract": VERIFIER,
        "deadline": format_rfc3339(world.clock.now() + timedelta(minutes=5)),
        "nonce": b64encode(os.urandom(32)),
        "intents": [],
    }
    payload.update(change)
    return payload


def signed_auth(
    world: FakeWorld, key: Ed25519SecretKey | None = None, standard: str = "nep413", **change: Any
) -> tuple[str, dict[str, Any]]:
    key = key or Ed25519SecretKey.generate()
    account = implicit_account_id(key.public_key)
    return account, signing.sign(standard, auth_payload(world, account, **change), key)


async def login(client: httpx.AsyncClient, world: FakeWorld, **change: Any) -> dict[str, Any]:
    _, signed = signed_auth(world, **change)
    response = await client.post("/v0/auth/authenticate", json={"signedData": signed})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("standard", ["nep413", "raw_ed25519", "sep53"])
async def test_an_ed25519_wallet_gets_a_session(
    client: httpx.AsyncClient, world: FakeWorld, standard: str
) -> None:
    body = await login(client, world, standard=standard)
    assert set(body) == {"accessToken", "refreshToken", "expiresIn", "refreshExpiresIn"}
    assert body["expiresIn"] == 900
    assert body["refreshExpiresIn"] == 7 * 86_400
    balances = await client.get("/v0/account/balances", headers=bearer(body["accessToken"]))
    assert balances.status_code == 200, balances.text


async def test_an_evm_wallet_signs_with_erc191(client: httpx.AsyncClient, world: FakeWorld) -> None:
    key = Secp256k1SecretKey.generate()
    account = implicit_account_id(key.public_key)
    assert account.startswith("0x")
    signed = signing.sign("erc191", auth_payload(world, account), key)
    response = await client.post("/v0/auth/authenticate", json={"signedData": signed})
    assert response.status_code == 200, response.text


async def test_a_bad_signature_is_401(client: httpx.AsyncClient, world: FakeWorld) -> None:
    _, signed = signed_auth(world)
    other = signing.sign("nep413", auth_payload(world, "alice.near"), Ed25519SecretKey.generate())
    signed["signature"] = other["signature"]
    response = await client.post("/v0/auth/authenticate", json={"signedData": signed})
    assert response.status_code == 401
    assert response.json()["message"].startswith("Signature verification failed")


async def test_a_key_that_is_not_the_signers_is_401(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    key = Ed25519SecretKey.generate()
    signed = signing.sign("nep413", auth_payload(world, "alice.near"), key)
    response = await client.post("/v0/auth/authenticate", json={"signedData": signed})
    assert response.status_code == 401
    assert "is not a key of alice.near" in response.json()["message"]
    world.verifier.ledger.keys.setdefault("alice.near", set()).add(str(key.public_key))
    fresh = signing.sign("nep413", auth_payload(world, "alice.near"), key)
    response = await client.post("/v0/auth/authenticate", json={"signedData": fresh})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("change", "status", "fragment"),
    [
        ({"intents": [{"intent": "add_public_key", "public_key": "ed25519:1"}]}, 400, "empty"),
        ({"verifying_contract": "other.near"}, 400, "verifying_contract"),
        ({"deadline": "2020-01-01T00:00:00Z"}, 401, "deadline passed"),
        ({"deadline": "2099-01-01T00:00:00Z"}, 400, "at most 600 s ahead"),
    ],
)
async def test_what_is_signed_is_checked(
    client: httpx.AsyncClient, world: FakeWorld, change: dict[str, Any], status: int, fragment: str
) -> None:
    _, signed = signed_auth(world, **change)
    response = await client.post("/v0/auth/authenticate", json={"signedData": signed})
    assert response.status_code == status, response.text
    assert fragment in response.json()["message"]


@pytest.mark.parametrize(
    "signed_data", [{}, {"standard": "nope"}, {"standard": "nep413", "payload": 5}, "text"]
)
async def test_malformed_signed_data_is_400(client: httpx.AsyncClient, signed_data: Any) -> None:
    response = await client.post("/v0/auth/authenticate", json={"signedData": signed_data})
    assert response.status_code == 400, response.text


async def test_a_signed_payload_is_good_once(client: httpx.AsyncClient, world: FakeWorld) -> None:
    _, signed = signed_auth(world)
    first = await client.post("/v0/auth/authenticate", json={"signedData": signed})
    assert first.status_code == 200
    again = await client.post("/v0/auth/authenticate", json={"signedData": signed})
    assert again.status_code == 401
    assert "already used" in again.json()["message"]


async def test_account_endpoints_need_a_valid_access_token(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    for path in ("/v0/account/balances", "/v0/account/history"):
        assert (await client.get(path)).status_code == 401
        assert (await client.get(path, headers=bearer("not.a.jwt"))).status_code == 401
    session = await login(client, world)
    # A refresh token is not an access token.
    refresh_as_access = await client.get(
        "/v0/account/balances", headers=bearer(session["refreshToken"])
    )
    assert refresh_as_access.status_code == 401
    # Nor is a partner JWT (signed with the install's secret under its own label).
    _, partner_token = await add_partner(
        world.store, "acme", secret=world.keys.jwt_secret, now=world.clock.now(), ttl=None
    )
    as_partner = await client.get("/v0/account/balances", headers=bearer(partner_token))
    assert as_partner.status_code == 401
    # And a user token is no partner JWT.
    quote = await client.get("/v0/tokens", headers=bearer(session["accessToken"]))
    assert quote.status_code == 200  # public
    status = await client.get(
        "/v0/status", params={"depositAddress": "x"}, headers=bearer(session["accessToken"])
    )
    assert status.status_code == 401


async def test_an_access_token_expires(client: httpx.AsyncClient, world: FakeWorld) -> None:
    session = await login(client, world)
    headers = bearer(session["accessToken"])
    assert (await client.get("/v0/account/balances", headers=headers)).status_code == 200
    world.clock.advance(timedelta(seconds=session["expiresIn"]))
    expired = await client.get("/v0/account/balances", headers=headers)
    assert expired.status_code == 401
    assert "expired" in expired.json()["message"]
    refreshed = await client.post(
        "/v0/auth/refresh", json={"refreshToken": session["refreshToken"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    fresh = bearer(refreshed.json()["accessToken"])
    assert (await client.get("/v0/account/balances", headers=fresh)).status_code == 200


async def test_a_refresh_token_expires_with_its_session(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    session = await login(client, world)
    world.clock.advance(timedelta(seconds=session["refreshExpiresIn"]))
    response = await client.post("/v0/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


async def test_refresh_rotates_and_a_reused_token_revokes_the_session(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    session = await login(client, world)
    first = await client.post("/v0/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert first.status_code == 200
    rotated = first.json()
    assert set(rotated) == {"accessToken", "expiresIn", "refreshToken", "refreshExpiresIn"}
    assert rotated["refreshToken"] != session["refreshToken"]
    second = await client.post("/v0/auth/refresh", json={"refreshToken": rotated["refreshToken"]})
    assert second.status_code == 200
    # The first refresh token again: a leak. The whole session ends, every token of it.
    reused = await client.post("/v0/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert reused.status_code == 401
    assert "already used" in reused.json()["message"]
    latest = second.json()
    after = await client.post("/v0/auth/refresh", json={"refreshToken": latest["refreshToken"]})
    assert after.status_code == 401
    revoked = await client.get("/v0/account/balances", headers=bearer(latest["accessToken"]))
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["message"]


async def test_rotating_the_signing_secret_revokes_every_session(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    session = await login(client, world)
    rotated_ctx = replace(world.ctx, sessions=SessionPolicy(secret=os.urandom(32)))
    transport = httpx.ASGITransport(app=create_app(rotated_ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://oneclick") as rotated:
        balances = await rotated.get("/v0/account/balances", headers=bearer(session["accessToken"]))
        assert balances.status_code == 401
        refreshed = await rotated.post(
            "/v0/auth/refresh", json={"refreshToken": session["refreshToken"]}
        )
        assert refreshed.status_code == 401
        # A new signature opens a new session under the new secret.
        assert (await login(rotated, world))["accessToken"]
    # The install's JWT secret is the default base: rotating it revokes as well.
    new_base = replace(world.ctx, jwt_secret=os.urandom(32))
    transport = httpx.ASGITransport(app=create_app(new_base))
    async with httpx.AsyncClient(transport=transport, base_url="http://oneclick") as rotated:
        balances = await rotated.get("/v0/account/balances", headers=bearer(session["accessToken"]))
        assert balances.status_code == 401


async def test_a_garbage_refresh_token_is_401(client: httpx.AsyncClient) -> None:
    for token in ("", "x", "a.b.c"):
        response = await client.post("/v0/auth/refresh", json={"refreshToken": token})
        assert response.status_code == 401, token
    assert (await client.post("/v0/auth/refresh", json={})).status_code == 400


async def test_removing_the_key_in_the_verifier_ends_the_session_at_refresh(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    key = Ed25519SecretKey.generate()
    world.verifier.ledger.keys.setdefault("carol.near", set()).add(str(key.public_key))
    signed = signing.sign("nep413", auth_payload(world, "carol.near"), key)
    session = (await client.post("/v0/auth/authenticate", json={"signedData": signed})).json()
    world.verifier.ledger.keys["carol.near"].discard(str(key.public_key))
    refused = await client.post("/v0/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert refused.status_code == 401
    assert "no longer the account's" in refused.json()["message"]
    revoked = await client.get("/v0/account/balances", headers=bearer(session["accessToken"]))
    assert revoked.status_code == 401


async def test_of_two_refreshes_with_one_token_exactly_one_rotates(world: FakeWorld) -> None:
    from oneclick.domain.sessions import UserSession

    now = world.clock.now()
    session = UserSession(
        id="00000000-0000-0000-0000-000000000001", account_id="dave.near",
        public_key="ed25519:x", standard="nep413", auth_nonce="n", refresh_digest="d0",
        created_at=now, expires_at=now + timedelta(days=1),
    )  # fmt: skip
    async with world.store.transaction() as tx:
        await tx.user_sessions.add(session)
    async with world.store.transaction() as tx:
        first = await tx.user_sessions.rotate(session.id, "d0", "d1", now)
    async with world.store.transaction() as tx:
        second = await tx.user_sessions.rotate(session.id, "d0", "d2", now)
        stored = await tx.user_sessions.get(session.id)
    assert (first, second) == (True, False)
    assert stored is not None
    assert stored.refresh_digest == "d1"
    assert stored.refreshes == 1


def _jti(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["jti"])


async def test_a_spent_refresh_token_within_the_grace_window_gets_the_same_next_one(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    session = await login(client, world)
    spent = {"refreshToken": session["refreshToken"]}
    # Two tabs refresh with one token at once: both are answered, with one next refresh token.
    first, second = await asyncio.gather(
        client.post("/v0/auth/refresh", json=spent), client.post("/v0/auth/refresh", json=spent)
    )
    assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
    assert _jti(first.json()["refreshToken"]) == _jti(second.json()["refreshToken"])
    world.clock.advance(SessionPolicy().refresh_grace)  # the window's last instant
    late = await client.post("/v0/auth/refresh", json=spent)
    assert late.status_code == 200, late.text
    assert _jti(late.json()["refreshToken"]) == _jti(first.json()["refreshToken"])
    # The session lives on: the shared next token rotates it, and every access token works.
    following = await client.post(
        "/v0/auth/refresh", json={"refreshToken": second.json()["refreshToken"]}
    )
    assert following.status_code == 200, following.text
    for answer in (first, second, late, following):
        headers = bearer(answer.json()["accessToken"])
        assert (await client.get("/v0/account/balances", headers=headers)).status_code == 200


async def test_the_loser_of_a_concurrent_refresh_is_judged_on_the_rotated_session(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    # The race itself, made certain: the loser read the session before the winner rotated it.
    from oneclick.services import sessions

    login_answer = await login(client, world)
    spent = login_answer["refreshToken"]
    claims = jwt.decode(spent, options={"verify_signature": False})
    async with world.store.transaction() as tx:
        stale = await tx.user_sessions.get(str(claims["sid"]))
    assert stale is not None
    won = await client.post("/v0/auth/refresh", json={"refreshToken": spent})
    assert won.status_code == 200
    key = sessions._signing_key(world.ctx, world.ctx.sessions)
    now, grace = world.clock.now(), world.ctx.sessions.refresh_grace
    presented = sessions._digest(str(claims["jti"]))
    async with world.store.transaction() as tx:
        twin = await sessions._spend(tx.user_sessions, key, stale, presented, grace, now)
        stored = await tx.user_sessions.get(stale.id)
    assert twin == stored
    assert stored is not None
    assert stored.refreshes == 1  # nothing rotated twice
    assert stored.revoked_at is None
    assert stored.refresh_digest == sessions._digest(_jti(won.json()["refreshToken"]))


async def test_a_spent_refresh_token_after_the_grace_window_revokes_the_session(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    session = await login(client, world)
    first = await client.post("/v0/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert first.status_code == 200
    world.clock.advance(SessionPolicy().refresh_grace + timedelta(seconds=1))
    reused = await client.post("/v0/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert reused.status_code == 401
    assert "already used" in reused.json()["message"]
    rotated = first.json()
    after = await client.post("/v0/auth/refresh", json={"refreshToken": rotated["refreshToken"]})
    assert after.status_code == 401
    revoked = await client.get("/v0/account/balances", headers=bearer(rotated["accessToken"]))
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["message"]


async def test_expired_sessions_are_pruned_a_day_after_they_end(world: FakeWorld) -> None:
    from oneclick.domain.sessions import UserSession
    from oneclick.services.sessions import EXPIRED_KEPT, prune_user_sessions

    now = world.clock.now()
    ends = {"a": now - EXPIRED_KEPT - timedelta(microseconds=1), "b": now - EXPIRED_KEPT}
    async with world.store.transaction() as tx:
        for name, expires_at in ends.items():
            await tx.user_sessions.add(
                UserSession(
                    id=name, account_id="erin.near", public_key="ed25519:x", standard="nep413",
                    auth_nonce=name, refresh_digest="d", created_at=expires_at - timedelta(days=7),
                    expires_at=expires_at,
                )
            )  # fmt: skip
    assert await prune_user_sessions(world.store, now) == 1
    assert await prune_user_sessions(world.store, now) == 0
    async with world.store.transaction() as tx:
        assert await tx.user_sessions.get("a") is None
        assert await tx.user_sessions.get("b") is not None


async def test_without_a_grace_window_a_spent_token_at_once_revokes_the_session(
    world: FakeWorld,
) -> None:
    no_grace = replace(world.ctx, sessions=SessionPolicy(refresh_grace=timedelta(0)))
    transport = httpx.ASGITransport(app=create_app(no_grace))
    async with httpx.AsyncClient(transport=transport, base_url="http://oneclick") as client:
        session = await login(client, world)
        spent = {"refreshToken": session["refreshToken"]}
        assert (await client.post("/v0/auth/refresh", json=spent)).status_code == 200
        again = await client.post("/v0/auth/refresh", json=spent)  # the same instant
        assert again.status_code == 401
        assert "already used" in again.json()["message"]
