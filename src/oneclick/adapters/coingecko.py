"""``CoinGeckoPrices``: the ``Prices`` port over CoinGecko's ``/api/v3/simple/price`` (the devnet
serves the same shape). Prices are parsed as ``Decimal``, never ``float``, and cached briefly."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from oneclick.domain.errors import PermanentError, TemporaryError
from oneclick.services.ports import Clock, PricePoint

PATH = "/api/v3/simple/price"
MAX_IDS_PER_CALL = 100


class CoinGeckoPrices:
    def __init__(
        self,
        base_url: str,
        *,
        clock: Clock,
        api_key: str | None = None,
        timeout: float = 5.0,
        cache_ttl: timedelta = timedelta(seconds=60),
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._url = base_url.rstrip("/") + PATH
        self._clock = clock
        self._ttl = cache_ttl
        self._timeout = timeout
        headers = {"x-cg-pro-api-key": api_key} if api_key else {}
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout, headers=headers)
        self._cache: dict[str, tuple[datetime, PricePoint]] = {}

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def usd_prices(self, coingecko_ids: Sequence[str]) -> dict[str, PricePoint]:
        now = self._clock.now()
        fresh = {i: p for i, (at, p) in self._cache.items() if now - at < self._ttl}
        missing = sorted({i for i in coingecko_ids if i not in fresh})
        for start in range(0, len(missing), MAX_IDS_PER_CALL):
            fetched = await self._fetch(missing[start : start + MAX_IDS_PER_CALL], now)
            for key, point in fetched.items():
                self._cache[key] = (now, point)
                fresh[key] = point
        return {i: fresh[i] for i in coingecko_ids if i in fresh}

    async def _fetch(self, ids: list[str], now: datetime) -> dict[str, PricePoint]:
        params = {"ids": ",".join(ids), "vs_currencies": "usd", "include_last_updated_at": "true"}
        try:
            response = await self._client.get(self._url, params=params, timeout=self._timeout)
        except httpx.TimeoutException as exc:
            raise TemporaryError("the price source timed out") from exc
        except httpx.TransportError as exc:
            raise TemporaryError("the price source is unreachable") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TemporaryError(f"the price source answered HTTP {response.status_code}")
        if response.status_code >= 400:
            raise PermanentError(
                f"the price source refused the request (HTTP {response.status_code})"
            )
        try:
            data = json.loads(response.content, parse_float=Decimal, parse_int=Decimal)
        except ValueError as exc:
            raise PermanentError("the price source answered something that is not JSON") from exc
        return _parse(data, ids, now)


def _parse(data: Any, ids: list[str], now: datetime) -> dict[str, PricePoint]:
    if not isinstance(data, dict):
        raise PermanentError("the price source answered an unexpected shape")
    points = {}
    for key in ids:
        entry = data.get(key)
        if not isinstance(entry, dict):
            continue  # unknown id: left out, never guessed
        usd = entry.get("usd")
        if not isinstance(usd, Decimal) or not usd.is_finite() or usd < 0:
            raise PermanentError(f"the price source gave an invalid price for {key}")
        updated = entry.get("last_updated_at")
        at = now
        if isinstance(updated, Decimal) and updated == updated.to_integral_value() and updated > 0:
            at = datetime.fromtimestamp(int(updated), UTC)
        points[key] = PricePoint(usd, at)
    return points
