"""Every deposit the PoA bridge reports for an account on one chain, read through all the pages
of ``recent_deposits``. The engine's deposit scan, the ANY_INPUT scan and the reconciler each
filter the list by their own rule; the paging is the same for all of them."""

from __future__ import annotations

from nearintents.rpc import Deposit
from oneclick.services.boundary import calling
from oneclick.services.ports import Bridge

PAGE = 100  # the bridge's largest page
MAX_PAGES = 20  # bounds one scan (2,000 deposits to one address): a peer cannot keep us paging


async def recent_bridge_deposits(
    bridge: Bridge, account_id: str, chain: str | None
) -> list[Deposit]:
    """The deposits to ``account_id`` on ``chain``, page after page until the bridge's ``total``
    is reached, it answers an empty page, or :data:`MAX_PAGES` were read."""
    found: list[Deposit] = []
    offset = 0
    for _ in range(MAX_PAGES):
        async with calling("the bridge (recent_deposits)"):
            page = await bridge.recent_deposits(account_id, chain=chain, limit=PAGE, offset=offset)
        found.extend(page.deposits)
        offset += len(page.deposits)
        if not page.deposits or offset >= page.total:
            break
    return found
