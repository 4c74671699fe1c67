"""USD prices of assets through the ``Prices`` port. Prices are for display only, so a price
source that is down degrades the ``…Usd`` fields to ``"0"`` instead of failing a quote."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal

from oneclick.domain.assets import Asset
from oneclick.domain.errors import PermanentError, TemporaryError
from oneclick.services.boundary import calling
from oneclick.services.ports import PricePoint, Prices

logger = logging.getLogger(__name__)


async def price_points(prices: Prices, assets: Sequence[Asset]) -> dict[str, PricePoint]:
    """``asset_id → PricePoint`` for the assets with a known price."""
    ids = sorted({a.coingecko_id for a in assets if a.coingecko_id})
    if not ids:
        return {}
    try:
        async with calling("the price source"):
            points = await prices.usd_prices(ids)
    except (TemporaryError, PermanentError) as exc:
        logger.warning("prices unavailable: %s", exc, extra={"action": "prices"})
        return {}
    return {
        a.asset_id: points[a.coingecko_id]
        for a in assets
        if a.coingecko_id and a.coingecko_id in points
    }


async def asset_prices(prices: Prices, assets: Sequence[Asset]) -> dict[str, Decimal]:
    return {asset_id: p.usd for asset_id, p in (await price_points(prices, assets)).items()}
