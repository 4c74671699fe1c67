"""The cached ``GET /v0/status`` answer (api/hot.py) keeps no stale answer: each change to what
the answer shows (a deposit, a leg, the swap's status, a price) is in the very next read, on
SQLite (the reader's ``PRAGMA data_version`` proof, store/reads.py) and on PostgreSQL (a digest
of the snapshot, store/sql.py); and while nothing changes, the answer is not rendered again."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from oc_helpers import ON_BOTH_DATABASES, quote_request

from oneclick.api import hot as hot_reads
from oneclick.api.app import OneClickApp
from oneclick.domain.engine import DepositRecord, Leg
from oneclick.domain.records import IntentKind, IntentState
from oneclick.domain.swaps import SwapStatus
from oneclick.testing.world import FakeWorld

pytestmark = ON_BOTH_DATABASES

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
CORRELATION = {"x-correlation-id": "0b0b8f1c-3f55-4a57-9a39-5a1b6c0c6a1e"}


@pytest.fixture
async def routed(world: FakeWorld) -> AsyncIterator[httpx.AsyncClient]:
    """The same service with the routes answering everything (no cache)."""
    app = world.app()
    assert isinstance(app, OneClickApp)
    app.hot_reads = None
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://oneclick") as http:
        yield http


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The hot path's renderings of a status answer."""
    built: list[object] = []
    render = hot_reads._StatusAnswers._render

    def counted(self: Any, *args: Any) -> Any:
        built.append(args)
        return render(self, *args)

    monkeypatch.setattr(hot_reads._StatusAnswers, "_render", counted)
    return built


async def test_every_change_the_status_shows_is_seen_by_the_next_read(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, world: FakeWorld, renders: list[object]
) -> None:
    address: str = (await client.post("/v0/quote", json=quote_request())).json()["quote"][
        "depositAddress"
    ]
    url = f"/v0/status?depositAddress={address}"
    # another swap, whose writes commit but change nothing this answer shows
    other: str = (await client.post("/v0/quote", json=quote_request())).json()["quote"][
        "depositAddress"
    ]
    answers: list[bytes] = []

    async def read(*, rendered: bool) -> None:
        before = len(renders)
        answer = await client.get(url, headers=CORRELATION)
        assert answer.status_code == 200
        fresh = await routed.get(url, headers=CORRELATION)
        assert answer.content == fresh.content  # never a stale answer
        assert len(renders) == before + rendered
        if rendered:
            assert answer.content not in answers  # it did change
        answers.append(answer.content)

    await read(rendered=True)
    await read(rendered=False)  # nothing changed: the cached bytes
    async with world.store.transaction() as tx:
        other_swap = await tx.swaps.by_deposit(other, None)
        assert other_swap is not None
        await tx.swaps.record_bridge_deposit(
            other_swap.id, DepositRecord("99" * 32, "BRIDGE", "btc:mainnet", 5, "PENDING", NOW)
        )
    await read(rendered=False)  # a commit, to another swap: still the cached bytes
    # a deposit is submitted (a deposit row and the swap's status)
    submit = {"txHash": "ab" * 32, "depositAddress": address}
    assert (await client.post("/v0/deposit/submit", json=submit)).status_code == 200
    await read(rendered=True)
    async with world.store.transaction() as tx:
        swap = await tx.swaps.by_deposit(address, None)
        assert swap is not None
    # the bridge reports it: a deposit row alone, the swap row unchanged
    async with world.store.transaction() as tx:
        await tx.swaps.record_bridge_deposit(
            swap.id, DepositRecord("ab" * 32, "BRIDGE", "btc:mainnet", 10000, "COMPLETED", NOW)
        )
    await read(rendered=True)
    # a leg is signed, then settles: the intents table alone
    leg = Leg(
        intent_hash="ee" * 32, swap_id=swap.id, kind=IntentKind.SWAP, signer_id="a.near",
        nonce="nonce1", signed_data="{}", state=IntentState.PUBLISHED,
        deadline=NOW + timedelta(minutes=5), created_at=NOW, quote_hashes=("q1",),
        debits={swap.origin_asset: 10000}, credits={swap.destination_asset: 9000},
    )  # fmt: skip
    async with world.store.transaction() as tx:
        await tx.swaps.add_leg(leg)
    await read(rendered=True)
    async with world.store.transaction() as tx:
        await tx.swaps.update_leg(leg.intent_hash, NOW, state=IntentState.SETTLED, tx_hash="tx1")
    await read(rendered=True)
    # the swap's status
    async with world.store.transaction() as tx:
        found = await tx.swaps.load(swap.id)
        assert found is not None
        found.move_to(SwapStatus.REFUNDED)
        await tx.swaps.save(found, NOW)
    await read(rendered=True)
    # a price its amounts are shown in
    origin = world.ctx.registry.by_token_id(swap.origin_asset)
    assert origin is not None
    assert origin.coingecko_id in world.prices.prices
    world.prices.prices[origin.coingecko_id] = Decimal("12345.5")
    await read(rendered=True)
    await read(rendered=False)
