"""The devnet price feed: USD prices per CoinGecko-style id, optionally drifting (a seeded random
walk), served in the shape of CoinGecko's ``GET /api/v3/simple/price``, and a client for it.

Prices are ``Decimal`` end to end; the wire carries them as JSON numbers (as CoinGecko does),
written from and read back into ``Decimal`` so no binary float ever touches them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Protocol

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devnet.serving import AppServer

logger = logging.getLogger(__name__)

# Devnet defaults, keyed by CoinGecko ids. Round numbers: they only have to be plausible.
DEFAULT_PRICES: Mapping[str, str] = {
    "near": "3",
    "usd-coin": "1",
    "tether": "1",
    "ethereum": "3000",
    "bitcoin": "60000",
    "solana": "150",
}
# Drifted prices keep 12 significant digits so that they stay short, exact decimals.
_PRICE_CONTEXT = Context(prec=12, rounding=ROUND_HALF_EVEN)
BPS = 10_000


def parse_price(value: object) -> Decimal:
    """A positive, finite USD price from a ``Decimal``, an ``int`` or a decimal string."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise ValueError(f"a price is a Decimal, an int or a decimal string, not {value!r}")
    try:
        price = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal price: {value!r}") from exc
    if not price.is_finite() or price <= 0:
        raise ValueError(f"a price must be positive and finite, got {value!r}")
    return price


class PriceSource(Protocol):
    """Where a solver reads USD prices; missing ids are simply absent from the answer."""

    async def usd_prices(self, ids: Iterable[str]) -> dict[str, Decimal]: ...


class PriceFeed:
    """Configurable USD prices that drift by up to ``drift_bps`` per :meth:`step`.

    The walk is deterministic for a given ``seed`` and sequence of calls. ``now_s`` (seconds
    since the epoch) stamps ``last_updated_at``; it defaults to the system clock.
    """

    def __init__(
        self,
        prices: Mapping[str, Decimal | int | str] = DEFAULT_PRICES,
        *,
        drift_bps: int = 0,
        seed: int = 0,
        now_s: Callable[[], int] | None = None,
    ) -> None:
        if not 0 <= drift_bps < BPS:
            raise ValueError("drift_bps must be in 0..9999")
        self._now_s = now_s or (lambda: int(time.time()))
        self._prices = {key: parse_price(value) for key, value in prices.items()}
        self._updated = dict.fromkeys(self._prices, self._now_s())
        self.drift_bps = drift_bps
        self._random = random.Random(seed)  # noqa: S311 - a reproducible walk, not a secret

    def price(self, price_id: str) -> Decimal | None:
        return self._prices.get(price_id)

    def prices(self, ids: Iterable[str]) -> dict[str, Decimal]:
        return {i: self._prices[i] for i in ids if i in self._prices}

    def last_updated_at(self, price_id: str) -> int | None:
        return self._updated.get(price_id)

    def ids(self) -> list[str]:
        return sorted(self._prices)

    def set_price(self, price_id: str, usd: Decimal | int | str) -> None:
        self._prices[price_id] = parse_price(usd)
        self._updated[price_id] = self._now_s()

    def step(self) -> None:
        """Move every price by a whole number of bps drawn uniformly from ±``drift_bps``."""
        if not self.drift_bps:
            return
        now = self._now_s()
        for price_id in sorted(self._prices):  # sorted: the walk must not depend on dict order
            move = self._random.randint(-self.drift_bps, self.drift_bps)
            factor = Decimal(BPS + move) / BPS
            self._prices[price_id] = _PRICE_CONTEXT.multiply(self._prices[price_id], factor)
            self._updated[price_id] = now

    async def usd_prices(self, ids: Iterable[str]) -> dict[str, Decimal]:
        """:class:`PriceSource` in process (no HTTP)."""
        return self.prices(ids)


# --- the CoinGecko-shaped HTTP API --------------------------------------------------------------


def _price_json(feed: PriceFeed, ids: list[str], *, with_updated: bool) -> str:
    # Written by hand: json.dumps cannot emit a Decimal as a number without a float round-trip.
    parts = []
    for price_id in ids:
        price = feed.price(price_id)
        if price is None:
            continue  # CoinGecko leaves unknown ids out
        entry = f'"usd":{format(price, "f")}'
        if with_updated:
            entry += f',"last_updated_at":{feed.last_updated_at(price_id)}'
        parts.append(f"{json.dumps(price_id)}:{{{entry}}}")
    return "{" + ",".join(parts) + "}"


def create_app(feed: PriceFeed) -> Starlette:
    """``/api/v3/simple/price?ids=a,b&vs_currencies=usd[&include_last_updated_at=true]`` and
    ``/api/v3/ping``."""

    async def simple_price(request: Request) -> Response:
        ids_param = request.query_params.get("ids")
        currencies = request.query_params.get("vs_currencies")
        if not ids_param or not currencies:
            missing = "ids" if not ids_param else "vs_currencies"
            return JSONResponse({"error": f"Missing parameter {missing}"}, status_code=400)
        ids = list(dict.fromkeys(i.strip().lower() for i in ids_param.split(",") if i.strip()))
        wanted = {c.strip().lower() for c in currencies.split(",")}
        if "usd" not in wanted:
            return JSONResponse({})  # the devnet quotes USD only; other currencies are absent
        with_updated = request.query_params.get("include_last_updated_at", "").lower() == "true"
        body = _price_json(feed, ids, with_updated=with_updated)
        return Response(body, media_type="application/json")

    async def ping(request: Request) -> Response:
        return JSONResponse({"gecko_says": "(V3) To the Moon!"})

    return Starlette(
        routes=[
            Route("/api/v3/simple/price", simple_price, methods=["GET"]),
            Route("/api/v3/ping", ping, methods=["GET"]),
        ]
    )


class PriceServer(AppServer):
    """``async with PriceServer(feed) as server:`` serves the feed on ``server.url``; with
    ``step_interval_s`` it also steps the feed's drift on that period."""

    def __init__(
        self,
        feed: PriceFeed,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        step_interval_s: float | None = None,
    ) -> None:
        super().__init__(create_app(feed), host=host, port=port)
        self.feed = feed
        self._step_interval_s = step_interval_s
        self._drifting: asyncio.Task[None] | None = None

    async def after_start(self) -> None:
        if self._step_interval_s:
            self._drifting = asyncio.create_task(self._drift(self._step_interval_s))

    async def _drift(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            self.feed.step()

    async def before_stop(self) -> None:
        if self._drifting is not None:
            self._drifting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drifting
            self._drifting = None


class HttpPriceSource:
    """Client of a CoinGecko-shaped ``simple/price`` endpoint (the devnet's, or CoinGecko's own
    with ``base_url="https://api.coingecko.com"``). Answers are cached for ``ttl_s``."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        ttl_s: float = 1.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/api/v3/simple/price"
        self.timeout = timeout
        self.ttl_s = ttl_s
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._cache: dict[str, tuple[float, Decimal]] = {}

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def usd_prices(self, ids: Iterable[str]) -> dict[str, Decimal]:
        """USD prices of ``ids``; unknown ids are absent. Raises ``httpx.HTTPError`` or
        ``TimeoutError`` when the feed cannot be read, ``ValueError`` on a malformed answer."""
        wanted = sorted(set(ids))
        now = time.monotonic()
        fresh = {i: p for i, (t, p) in self._cache.items() if i in wanted and now - t < self.ttl_s}
        missing = [i for i in wanted if i not in fresh]
        if missing:
            params = {"ids": ",".join(missing), "vs_currencies": "usd"}
            async with asyncio.timeout(self.timeout):
                response = await self._client.get(self.url, params=params)
            response.raise_for_status()
            # parse_float=Decimal: the number's digits become the price, never a binary float.
            body = json.loads(response.content, parse_float=Decimal, parse_int=Decimal)
            if not isinstance(body, dict):
                raise ValueError("simple/price answered something other than an object")
            for price_id in missing:
                entry = body.get(price_id)
                if isinstance(entry, dict) and "usd" in entry:
                    price = parse_price(entry["usd"])
                    self._cache[price_id] = (now, price)
                    fresh[price_id] = price
        return fresh
