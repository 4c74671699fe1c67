"""``track_swap``: what the tracking page shows about a swap: its status report (route, amounts,
tx links), its transition history and the assets' display names."""

from __future__ import annotations

from dataclasses import dataclass

from oneclick.domain.assets import Asset
from oneclick.domain.transitions import Transition
from oneclick.services.context import ServiceContext
from oneclick.services.status import StatusReport, get_status, status_report


@dataclass(frozen=True, slots=True)
class SwapTrack:
    report: StatusReport
    history: list[Transition]
    origin: Asset | None
    destination: Asset | None
    near_explorer: str  # the NEAR explorer URL with ``{hash}`` left in


async def track_swap(ctx: ServiceContext, address: str, memo: str | None) -> SwapTrack:
    swap = await get_status(ctx, address, memo)
    report = await status_report(ctx, address, memo)
    async with ctx.store.transaction() as tx:
        history = await tx.swaps.transitions(swap.id)
    return SwapTrack(
        report=report,
        history=history,
        origin=ctx.registry.by_token_id(swap.origin_asset),
        destination=ctx.registry.by_token_id(swap.destination_asset),
        near_explorer=ctx.engine.explorer_url("near", "{hash}"),
    )
