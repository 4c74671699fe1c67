"""``HotReads`` (api/hot.py) serves GET /v0/status and GET /v0/tokens exactly as the FastAPI
routes do (status, headers, bytes), and leaves every other case to the routes."""

import json
import logging
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from oc_helpers import quote_request

from oneclick.api import hot as hot_reads
from oneclick.api import routes
from oneclick.api.app import OneClickApp, create_app
from oneclick.api.hot import HotReads
from oneclick.api.limits import EdgeLimits, RateLimits, RatePolicy
from oneclick.api.profiles import middleware
from oneclick.config import Settings
from oneclick.testing.world import FakeWorld

CORRELATION = {"x-correlation-id": "0b0b8f1c-3f55-4a57-9a39-5a1b6c0c6a1e"}


def _without_hot_reads(app: FastAPI) -> FastAPI:
    assert isinstance(app, OneClickApp)
    assert isinstance(app.hot_reads, HotReads)
    app.hot_reads = None
    return app


@pytest.fixture
async def routed(world: FakeWorld) -> AsyncIterator[httpx.AsyncClient]:
    """The same service with the routes answering everything."""
    transport = httpx.ASGITransport(app=_without_hot_reads(world.app()))
    async with httpx.AsyncClient(transport=transport, base_url="http://oneclick") as http:
        yield http


@pytest.fixture
def hot_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The requests the routes answered (the hot path answered the rest)."""
    called: list[str] = []
    for name in ("status_body", "tokens_body"):
        original = getattr(routes, name)

        def spy(*args: object, _original: object = original, _name: str = name) -> object:
            called.append(_name)
            return _original(*args)  # type: ignore[operator]

        monkeypatch.setattr(routes, name, spy)
    return called


def _same(hot: httpx.Response, routed: httpx.Response) -> None:
    assert hot.status_code == routed.status_code
    assert hot.headers.multi_items() == routed.headers.multi_items()
    assert hot.content == routed.content


async def _address_with_deposits(client: httpx.AsyncClient) -> str:
    address: str = (await client.post("/v0/quote", json=quote_request())).json()["quote"][
        "depositAddress"
    ]
    for tx_hash in ("ab" * 32, "cd" * 32):
        submit = {"txHash": tx_hash, "depositAddress": address}
        assert (await client.post("/v0/deposit/submit", json=submit)).status_code == 200
    return address


async def test_status_and_tokens_are_the_routes_answers_byte_for_byte(
    client: httpx.AsyncClient, routed: httpx.AsyncClient
) -> None:
    address = await _address_with_deposits(client)
    for path, params in (("/v0/status", {"depositAddress": address}), ("/v0/tokens", {})):
        # the profiles prune both paths; a profile never alters the (cached) full answer
        for profile in ("full", "v0.1.10-strict", "rust-v0", "full"):
            headers = CORRELATION | {"x-oneclick-compat": profile}
            hot = await client.get(path, params=params, headers=headers)
            assert hot.status_code == 200
            _same(hot, await routed.get(path, params=params, headers=headers))
    # and without a correlation id of the caller's, each answer gets its own
    ids = {
        (await client.get("/v0/status", params={"depositAddress": address})).json()["correlationId"]
        for _ in range(2)
    }
    assert len(ids) == 2


async def test_the_hot_path_answers_plain_reads_and_leaves_the_rest_to_the_routes(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, hot_calls: list[str]
) -> None:
    address = await _address_with_deposits(client)
    hot_calls.clear()
    assert (await client.get("/v0/status", params={"depositAddress": address})).is_success
    assert (await client.get("/v0/tokens")).is_success
    assert hot_calls == []  # the hot path rendered both itself
    cases: list[tuple[str, dict[str, str]]] = [
        ("/v0/status?depositAddress=0xunknown", {}),  # 404, rendered by the route
        ("/v0/status", {}),  # 400: depositAddress is required
        (f"/v0/status?depositAddress={address}&depositAddress=0xb", {}),  # repeated
        (f"/v0/status?depositAddress={address}", {"authorization": "Bearer nonsense"}),
        (f"/v0/status?depositAddress={address}", {"x-api-key": "nonsense"}),
        (f"/v0/status?depositAddress={address}", {"x-oneclick-compat": "nonsense"}),
    ]
    for url, headers in cases:
        hot = await client.get(url, headers=headers | CORRELATION)
        _same(hot, await routed.get(url, headers=headers | CORRELATION))
        assert hot.status_code in (400, 401, 404, 200), url
    bad_token = await client.get(
        f"/v0/status?depositAddress={address}", headers={"authorization": "Bearer nonsense"}
    )
    assert bad_token.status_code == 401  # credentials are never skipped
    post = await client.post("/v0/tokens")
    assert post.status_code == (await routed.post("/v0/tokens")).status_code == 405


async def test_the_tokens_answer_follows_the_prices(
    client: httpx.AsyncClient, world: FakeWorld
) -> None:
    def price(body: list[dict[str, object]], coingecko_id: str) -> object:
        return next(t["price"] for t in body if t.get("coingeckoId") == coingecko_id)

    before = (await client.get("/v0/tokens")).json()
    coingecko_id = next(iter(world.prices.prices))
    world.prices.prices[coingecko_id] = Decimal("12345.5")
    after = (await client.get("/v0/tokens")).json()
    assert price(after, coingecko_id) == 12345.5 != price(before, coingecko_id)
    world.prices.down = True  # no prices at all: every asset at 0, dated now
    assert {t["price"] for t in (await client.get("/v0/tokens")).json()} == {0}


async def test_a_profile_prunes_the_hot_answer_without_parsing_it(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = await _address_with_deposits(client)
    parsed: list[bytes] = []

    def loads(body: bytes) -> object:
        parsed.append(body)
        return json.loads(body)

    # the middleware's own json module only: the service parses stored JSON too
    monkeypatch.setattr(middleware, "json", SimpleNamespace(loads=loads, dumps=json.dumps))
    for path, params in (("/v0/status", {"depositAddress": address}), ("/v0/tokens", {})):
        answer = await client.get(path, params=params, headers={"x-oneclick-compat": "rust-v0"})
        assert answer.status_code == 200
        assert answer.headers["x-oneclick-compat"] == "rust-v0"
    assert parsed == []
    unknown = await client.get("/v0/status", params={"depositAddress": "0xunknown"},
                               headers={"x-oneclick-compat": "rust-v0"})  # fmt: skip
    assert unknown.status_code == 404
    assert parsed == []  # the hot path renders its 404 itself, from the document
    missing = await client.get("/v0/status", headers={"x-oneclick-compat": "rust-v0"})
    assert missing.status_code == 400
    assert len(parsed) == 1  # the stack's error (a JSONResponse) is parsed and pruned as before


RATES = RateLimits(
    requests=RatePolicy.parse("requests", "5/minute"),
    swaps=RatePolicy.parse("swaps", "5/minute"),
    partner_requests=RatePolicy.parse("partner-requests", "5/minute"),
    partner_swaps=RatePolicy.parse("partner-swaps", "5/minute"),
)


def _limited(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 4000))
    return httpx.AsyncClient(transport=transport, base_url="http://oneclick")


def _same_but_reset(hot: httpx.Response, routed: httpx.Response) -> None:
    """:func:`_same`, but for the seconds to the window's reset (the two apps' windows opened
    a few microseconds apart, so it may differ across a second's boundary)."""

    def headers(response: httpx.Response) -> list[tuple[str, str]]:
        return [(k, re.sub(r";t=\d+", ";t=T", v)) for k, v in response.headers.multi_items()]

    assert hot.status_code == routed.status_code
    assert headers(hot) == headers(routed)
    assert hot.content == routed.content


async def test_rate_limited_reads_are_counted_once_and_answered_as_the_stack_does(
    client: httpx.AsyncClient, world: FakeWorld, hot_calls: list[str]
) -> None:
    address = await _address_with_deposits(client)
    hot_calls.clear()
    limits = EdgeLimits(rates=RATES)
    async with (
        _limited(create_app(world.ctx, limits=limits)) as hot,
        _limited(_without_hot_reads(create_app(world.ctx, limits=limits))) as routed,
    ):
        # 200s answered in front, a 404 rendered in front, a 400 passed on to the stack: five
        # requests, each counted once, so the sixth is over the limit on both paths
        urls = [
            f"/v0/status?depositAddress={address}",
            "/v0/tokens",
            "/v0/status?depositAddress=0xunknown",
            "/v0/status",
            f"/v0/status?depositAddress={address}",
            f"/v0/status?depositAddress={address}",
        ]
        answers = []
        for url in urls:
            answer = await hot.get(url, headers=CORRELATION)
            _same_but_reset(answer, await routed.get(url, headers=CORRELATION))
            answers.append(answer.status_code)
    assert answers == [200, 200, 404, 400, 200, 429]
    # only the routed app's 200s went through the routes: the hot path answered its own
    assert hot_calls == ["status_body", "tokens_body", "status_body"]


async def test_a_cached_status_answer_follows_the_swap_and_the_prices(
    client: httpx.AsyncClient,
    routed: httpx.AsyncClient,
    world: FakeWorld,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    address: str = (await client.post("/v0/quote", json=quote_request())).json()["quote"][
        "depositAddress"
    ]
    built: list[object] = []  # the hot path's renderings
    render = hot_reads._StatusAnswers._render

    def counted(self: Any, *args: Any) -> Any:
        built.append(args)
        return render(self, *args)

    monkeypatch.setattr(hot_reads._StatusAnswers, "_render", counted)
    url = f"/v0/status?depositAddress={address}"

    async def read() -> httpx.Response:
        answer = await client.get(url, headers=CORRELATION)
        assert answer.status_code == 200
        _same(answer, await routed.get(url, headers=CORRELATION))  # never a stale answer
        return answer

    first = await read()
    assert len(built) == 1
    assert (await read()).content == first.content
    assert len(built) == 1  # the hot path reused its answer
    # another caller's id is spliced into the same cached answer
    other = await client.get(url)
    assert other.json()["correlationId"] == other.headers["x-correlation-id"]
    assert other.json()["correlationId"] != CORRELATION["x-correlation-id"]
    assert len(built) == 1
    # a row of the swap changes: rendered again
    submit = {"txHash": "ab" * 32, "depositAddress": address}
    assert (await client.post("/v0/deposit/submit", json=submit)).status_code == 200
    submitted = await read()
    assert submitted.json()["status"] != first.json()["status"]
    assert len(built) == 2
    # a price it shows its amounts in changes: rendered again
    origin = world.ctx.registry.resolve(
        first.json()["quoteResponse"]["quoteRequest"]["originAsset"], what="originAsset"
    )
    assert origin.coingecko_id in world.prices.prices
    world.prices.prices[origin.coingecko_id] = Decimal("12345.5")
    await read()
    assert len(built) == 3
    await read()
    assert len(built) == 3  # and cached again


async def test_each_read_logs_one_request_line_whichever_path_answers_it(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    address = await _address_with_deposits(client)
    caplog.set_level(logging.INFO, logger="oneclick.api.correlation")
    caplog.clear()
    for url in (
        f"/v0/status?depositAddress={address}",  # answered in front
        "/v0/status?depositAddress=0xunknown",  # 404, rendered in front
        "/v0/status",  # 400, passed on to the stack
        "/v0/tokens",
    ):
        await client.get(url, headers=CORRELATION)
    lines = [(r.getMessage(), r.__dict__.get("status")) for r in caplog.records]
    assert lines == [
        ("GET /v0/status 200", 200),
        ("GET /v0/status 404", 404),
        ("GET /v0/status 400", 400),
        ("GET /v0/tokens 200", 200),
    ]


async def test_api_status_cache_bounds_the_answers_kept(
    client: httpx.AsyncClient, world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``api.status_cache`` deposit addresses keep their answer (least recently read dropped)."""
    addresses = [
        (await client.post("/v0/quote", json=quote_request())).json()["quote"]["depositAddress"]
        for _ in range(2)
    ]
    built: list[object] = []
    render = hot_reads._StatusAnswers._render

    def counted(self: Any, *args: Any) -> Any:
        built.append(args)
        return render(self, *args)

    monkeypatch.setattr(hot_reads._StatusAnswers, "_render", counted)

    async def renders(status_cache: int) -> int:
        built.clear()
        app = create_app(world.ctx, status_cache=status_cache)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://oneclick") as http:
            for address in (*addresses, *addresses):
                answer = await http.get(f"/v0/status?depositAddress={address}")
                assert answer.status_code == 200
        return len(built)

    assert await renders(2) == 2  # both kept: each rendered once
    assert await renders(1) == 4  # one kept: each read drops the other's
    assert await renders(0) == 4  # none kept
    assert Settings(api={"status_cache": 7}).api.status_cache == 7  # type: ignore[arg-type]
