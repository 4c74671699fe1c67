"""``list_tokens``: the registry with USD prices, for ``GET /v0/tokens``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from oneclick.domain.assets import Asset
from oneclick.services.context import ServiceContext
from oneclick.services.pricing import price_points


@dataclass(frozen=True, slots=True)
class TokenView:
    asset: Asset
    price_usd: Decimal
    price_updated_at: datetime


async def list_tokens(ctx: ServiceContext) -> list[TokenView]:
    assets = ctx.registry.all()
    points = await price_points(ctx.prices, assets)
    now = ctx.clock.now()
    views = []
    for asset in assets:
        point = points.get(asset.asset_id)
        views.append(
            TokenView(
                asset,
                point.usd if point else Decimal(0),
                point.updated_at if point else now,
            )
        )
    return views
