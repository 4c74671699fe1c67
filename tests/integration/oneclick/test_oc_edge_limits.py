"""The API's edge limits over HTTP on the fake world: the deadline's horizon (400), the body
size (413, also for a chunked body) and per-client rates (429 with ``Retry-After`` and the IETF
draft ``RateLimit`` headers), keyed by IP for anonymous callers and by partner for JWT holders."""

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from oc_helpers import quote_request

from oneclick.api.app import create_app
from oneclick.api.limits import EdgeLimits, RateLimits, RatePolicy
from oneclick.services.partners import add_partner
from oneclick.store.sql import SqlSession
from oneclick.testing.world import DEFAULT_CUSTODY_POOL, FakeWorld, fake_world

RATES = RateLimits(
    requests=RatePolicy.parse("requests", "100/minute"),
    swaps=RatePolicy.parse("swaps", "5/minute;50/hour"),
    partner_requests=RatePolicy.parse("partner-requests", "500/minute"),
    partner_swaps=RatePolicy.parse("partner-swaps", "8/minute"),
)


async def _taken(tx: SqlSession) -> int:
    """Custody accounts handed out of the pool (fake_world's pool is derived ahead)."""
    return DEFAULT_CUSTODY_POOL - await tx.custody.free_count()


def client_at(world: FakeWorld, host: str, limits: EdgeLimits) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(world.ctx, limits=limits), client=(host, 4000))
    return httpx.AsyncClient(transport=transport, base_url="http://oneclick")


@pytest.fixture
async def limited(world: FakeWorld) -> AsyncIterator[httpx.AsyncClient]:
    async with client_at(world, "198.51.100.7", EdgeLimits(rates=RATES)) as http:
        yield http


async def test_a_deadline_in_2099_is_a_400(client: httpx.AsyncClient, world: FakeWorld) -> None:
    response = await client.post("/v0/quote", json=quote_request(deadline="2099-01-01T00:00:00Z"))
    assert response.status_code == 400
    assert response.json()["message"] == "deadline must be at most 86400 seconds in the future"
    async with world.store.transaction() as tx:
        assert await _taken(tx) == 0  # nothing was allocated


async def test_a_2_mb_body_is_a_413_before_it_is_parsed(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    body = quote_request(referral="x" * (2 * 1024 * 1024))
    response = await client.post("/v0/quote", json=body)
    assert response.status_code == 413
    document = response.json()
    assert document["message"] == "Request body is larger than the limit of 65536 bytes"
    assert document["correlationId"] == response.headers["x-correlation-id"]
    async with world.store.transaction() as tx:
        assert await _taken(tx) == 0


async def test_a_chunked_body_without_a_length_is_cut_at_the_limit(
    client: httpx.AsyncClient,
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(2048):  # 2 MiB in 1 KiB chunks
            sent += 1
            yield b" " * 1024

    response = await client.post(
        "/v0/quote", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert "content-length" not in response.request.headers
    assert sent <= 65  # refused as soon as it passed 64 KiB, not after reading it all


async def test_a_body_at_the_limit_is_parsed(client: httpx.AsyncClient) -> None:
    body = quote_request(dry=True)
    text = httpx.Request("POST", "http://x", json=body).content
    padded = text[:-1] + b" " * (64 * 1024 - len(text)) + b"}"
    assert len(padded) == 64 * 1024
    response = await client.post(
        "/v0/quote", content=padded, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text


async def test_a_burst_of_300_live_quotes_meets_429s_with_retry_after(
    limited: httpx.AsyncClient, world: FakeWorld
) -> None:
    await burst_meets_429s(limited, world)


@pytest.mark.postgres
async def test_a_burst_of_300_live_quotes_meets_429s_on_postgresql(postgres_url: str) -> None:
    world = await fake_world(postgres_url)
    try:
        async with client_at(world, "198.51.100.7", EdgeLimits(rates=RATES)) as http:
            await burst_meets_429s(http, world)
    finally:
        await world.aclose()


async def burst_meets_429s(limited: httpx.AsyncClient, world: FakeWorld) -> None:
    statuses: list[int] = []
    refused: list[httpx.Response] = []
    for _ in range(300):
        response = await limited.post("/v0/quote", json=quote_request())
        statuses.append(response.status_code)
        if response.status_code == 429:
            refused.append(response)
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429] * 295
    first = refused[0]
    assert 1 <= int(first.headers["retry-after"]) <= 60
    assert first.json()["message"].startswith("Too many requests")
    assert first.json()["correlationId"] == first.headers["x-correlation-id"]
    assert first.headers["ratelimit"] == f'"swaps-1minute";r=0;t={first.headers["retry-after"]}'
    assert first.headers["ratelimit-policy"] == (
        '"requests";q=100;w=60, "swaps-1minute";q=5;w=60, "swaps-1hour";q=50;w=3600'
    )
    async with world.store.transaction() as tx:
        assert await _taken(tx) == 5  # five deposit accounts, no more


async def test_reads_and_dry_quotes_have_their_own_far_larger_budget(
    limited: httpx.AsyncClient,
) -> None:
    for _ in range(5):
        assert (await limited.post("/v0/quote", json=quote_request())).status_code == 200
    assert (await limited.post("/v0/quote", json=quote_request())).status_code == 429
    dry = await limited.post("/v0/quote", json=quote_request(dry=True))
    assert dry.status_code == 200
    tokens = await limited.get("/v0/tokens")
    assert tokens.status_code == 200
    # 5 accepted + 1 refused live quotes, one dry quote and this read: 8 of 100 requests
    assert tokens.headers["ratelimit"] == '"requests";r=92;t=60'
    assert tokens.headers["ratelimit-policy"] == '"requests";q=100;w=60'


async def test_reads_are_limited_too(world: FakeWorld) -> None:
    rates = RateLimits(
        requests=RatePolicy.parse("requests", "3/minute"),
        swaps=RATES.swaps,
        partner_requests=RATES.partner_requests,
        partner_swaps=RATES.partner_swaps,
    )
    async with client_at(world, "198.51.100.8", EdgeLimits(rates=rates)) as http:
        statuses = [(await http.get("/v0/tokens")).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]


async def test_clients_are_counted_apart_by_ip_and_by_partner(world: FakeWorld) -> None:
    app = create_app(world.ctx, limits=EdgeLimits(rates=RATES))

    def at(host: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(host, 4000))
        return httpx.AsyncClient(transport=transport, base_url="http://oneclick")

    _, token = await add_partner(
        world.store, "acme", secret=world.keys.jwt_secret, now=world.clock.now(),
        ttl=timedelta(days=1),
    )  # fmt: skip
    bearer = {"Authorization": f"Bearer {token}"}
    async with at("198.51.100.9") as first, at("198.51.100.10") as second:
        for _ in range(5):
            assert (await first.post("/v0/quote", json=quote_request())).status_code == 200
        assert (await first.post("/v0/quote", json=quote_request())).status_code == 429
        assert (await second.post("/v0/quote", json=quote_request())).status_code == 200
        # The partner's JWT: its own, larger budget, wherever it calls from.
        partner = [
            (await first.post("/v0/quote", json=quote_request(), headers=bearer)).status_code
            for _ in range(10)
        ]
        assert partner == [200] * 8 + [429] * 2
        forged = {"Authorization": f"Bearer {token[:-4]}AAAA"}  # not ours: counted by IP
        assert (
            await second.post("/v0/quote", json=quote_request(), headers=forged)
        ).status_code == 401
        for _ in range(3):
            await second.post("/v0/quote", json=quote_request())
        assert (await second.post("/v0/quote", json=quote_request())).status_code == 429


async def test_limits_keep_the_sdk_profiles(limited: httpx.AsyncClient) -> None:
    for _ in range(5):
        await limited.post("/v0/quote", json=quote_request())
    for profile in ("v0.1.10-strict", "rust-v0", "full"):
        refused = await limited.post(
            "/v0/quote", json=quote_request(), headers={"x-oneclick-compat": profile}
        )
        assert refused.status_code == 429
        assert refused.headers["x-oneclick-compat"] == profile
        assert "retry-after" in refused.headers
        assert refused.json()["message"].startswith("Too many requests")


async def test_an_ipv6_client_is_counted_by_its_64(world: FakeWorld) -> None:
    app = create_app(world.ctx, limits=EdgeLimits(rates=RATES))

    async def live_quote(host: str) -> int:
        transport = httpx.ASGITransport(app=app, client=(host, 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://oneclick") as http:
            return (await http.post("/v0/quote", json=quote_request())).status_code

    # One host roams its /64: five addresses, one budget.
    assert [await live_quote(f"2001:db8:0:7::{i}") for i in range(1, 7)] == [200] * 5 + [429]
    assert await live_quote("2001:db8:0:8::1") == 200  # another /64


async def test_a_partner_key_header_counts_against_the_partners_budget(world: FakeWorld) -> None:
    from test_oc_account import signed_in  # a user session beside the key, as the SDK sends it

    app = create_app(world.ctx, limits=EdgeLimits(rates=RATES))
    transport = httpx.ASGITransport(app=app, client=("198.51.100.11", 4000))
    _, token = await add_partner(
        world.store, "keyed", secret=world.keys.jwt_secret, now=world.clock.now(),
        ttl=timedelta(days=1),
    )  # fmt: skip
    async with httpx.AsyncClient(transport=transport, base_url="http://oneclick") as http:
        _, user = await signed_in(http, world)
        keyed = [{"X-API-Key": token}, {**user, "X-API-Key": token}]
        statuses = [
            (await http.post("/v0/quote", json=quote_request(), headers=keyed[i % 2])).status_code
            for i in range(10)
        ]
        assert statuses == [200] * 8 + [429] * 2  # partner-swaps: 8/minute, not the IP's 5
