"""The devnet price feed: exact Decimal prices, a reproducible drift, and CoinGecko's
``simple/price`` shape over a real socket (read back with ``HttpPriceSource``)."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from devnet.prices import HttpPriceSource, PriceFeed, PriceServer, parse_price


def test_prices_are_exact_decimals() -> None:
    feed = PriceFeed({"near": "3.123456789012", "bitcoin": 60_000}, now_s=lambda: 7)
    assert feed.price("near") == Decimal("3.123456789012")
    assert feed.prices(["near", "nope"]) == {"near": Decimal("3.123456789012")}
    assert feed.last_updated_at("bitcoin") == 7
    for bad in (1.5, "0", "-1", "NaN", "Infinity", "abc", True):
        with pytest.raises(ValueError):  # noqa: PT011 - each says what is wrong
            parse_price(bad)


def test_drift_is_bounded_and_reproducible() -> None:
    def walk(seed: int) -> list[dict[str, Decimal]]:
        feed = PriceFeed({"a": "100", "b": "1"}, drift_bps=50, seed=seed)
        steps = []
        for _ in range(20):
            before = feed.prices(["a", "b"])
            feed.step()
            after = feed.prices(["a", "b"])
            for key in before:
                assert abs(after[key] / before[key] - 1) <= Decimal("0.0050001")
            steps.append(after)
        return steps

    assert walk(1) == walk(1)
    assert walk(1) != walk(2)
    still = PriceFeed({"a": "100"})
    still.step()
    assert still.price("a") == Decimal(100)


async def test_the_coingecko_shape_over_http() -> None:
    feed = PriceFeed({"near": "3.3", "usd-coin": "0.999912345678"}, now_s=lambda: 1_700_000_000)
    async with PriceServer(feed) as server, httpx.AsyncClient(timeout=5) as http:
        url = server.url + "/api/v3/simple/price"
        answer = await http.get(
            url,
            params={
                "ids": "near,usd-coin,nope",
                "vs_currencies": "usd",
                "include_last_updated_at": "true",
            },
        )
        assert answer.json() == {
            "near": {"usd": 3.3, "last_updated_at": 1_700_000_000},
            "usd-coin": {"usd": 0.999912345678, "last_updated_at": 1_700_000_000},
        }
        plain = json.loads(
            (await http.get(url, params={"ids": "near", "vs_currencies": "usd"})).text,
            parse_float=Decimal,
        )
        assert plain == {"near": {"usd": Decimal("3.3")}}
        assert (await http.get(url, params={"ids": "near", "vs_currencies": "eur"})).json() == {}
        missing = await http.get(url, params={"vs_currencies": "usd"})
        assert missing.status_code == 400
        assert (await http.get(server.url + "/api/v3/ping")).json()["gecko_says"]

        source = HttpPriceSource(server.url, ttl_s=60)
        try:
            prices = await source.usd_prices(["usd-coin", "near", "nope"])
            assert prices == {"usd-coin": Decimal("0.999912345678"), "near": Decimal("3.3")}
            feed.set_price("near", "4")
            assert (await source.usd_prices(["near"]))["near"] == Decimal("3.3")  # cached
        finally:
            await source.aclose()
