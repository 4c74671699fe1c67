"""``recent_bridge_deposits``: the one paging loop over the bridge's ``recent_deposits`` that the
deposit scan, the ANY_INPUT scan and the reconciler share."""

from __future__ import annotations

from typing import Any

import pytest

from nearintents.rpc import Deposit, RecentDeposits, RpcTransportError
from oneclick.domain.errors import TemporaryError
from oneclick.services.bridge_deposits import MAX_PAGES, PAGE, recent_bridge_deposits

ACCOUNT = "a" * 64


def deposit(n: int) -> Deposit:
    return Deposit.model_validate({
        "tx_hash": f"0x{n:064x}", "chain": "eth:1", "defuse_asset_identifier": "eth:1:native",
        "near_token_id": "eth.omft.near", "decimals": 18, "amount": str(n + 1),
        "account_id": ACCOUNT, "address": "0xcac3C41676deF4FE375E57118f3eB83A99105577",
        "status": "COMPLETED",
    })  # fmt: skip


class PagedBridge:
    """Answers pages of ``deposits``; ``claimed_total`` is what it says the total is."""

    def __init__(self, deposits: list[Deposit], claimed_total: int | None = None) -> None:
        self.deposits = deposits
        self.claimed_total = len(deposits) if claimed_total is None else claimed_total
        self.calls: list[dict[str, Any]] = []

    async def recent_deposits(self, account_id: str, **params: Any) -> RecentDeposits:
        self.calls.append({"account_id": account_id, **params})
        start, size = params["offset"], params["limit"]
        page = self.deposits[start : start + size]
        return RecentDeposits(deposits=page, total=self.claimed_total, limit=size, offset=start)


async def test_every_page_is_read_in_order_until_the_total() -> None:
    everything = [deposit(n) for n in range(2 * PAGE + 50)]
    bridge = PagedBridge(everything)
    found = await recent_bridge_deposits(bridge, ACCOUNT, "eth:1")  # type: ignore[arg-type]
    assert found == everything
    assert [c["offset"] for c in bridge.calls] == [0, PAGE, 2 * PAGE]
    assert {(c["account_id"], c["chain"], c["limit"]) for c in bridge.calls} == {
        (ACCOUNT, "eth:1", PAGE)
    }


async def test_an_empty_page_ends_the_scan_even_when_the_total_says_more() -> None:
    bridge = PagedBridge([deposit(n) for n in range(3)], claimed_total=500)
    found = await recent_bridge_deposits(bridge, ACCOUNT, "eth:1")  # type: ignore[arg-type]
    assert len(found) == 3
    assert [c["offset"] for c in bridge.calls] == [0, 3]


async def test_a_bridge_that_never_ends_is_read_for_max_pages_only() -> None:
    bridge = PagedBridge([deposit(n) for n in range((MAX_PAGES + 5) * PAGE)])
    found = await recent_bridge_deposits(bridge, ACCOUNT, "eth:1")  # type: ignore[arg-type]
    assert len(bridge.calls) == MAX_PAGES
    assert len(found) == MAX_PAGES * PAGE


async def test_a_failing_bridge_is_a_temporary_error() -> None:
    class Down:
        async def recent_deposits(self, account_id: str, **params: Any) -> RecentDeposits:
            raise RpcTransportError("connection refused")

    with pytest.raises(TemporaryError, match="recent_deposits"):
        await recent_bridge_deposits(Down(), ACCOUNT, "eth:1")  # type: ignore[arg-type]
