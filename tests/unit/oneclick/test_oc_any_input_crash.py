"""Crash safety of ANY_INPUT: a worker dies at every boundary of every external call of a
two-deposit run (before the call, and after it took effect but before its answer is used); a
fresh worker takes over. Every deposit is recorded once, no intent executes twice, and the pool
is accounted for to the unit: what the deposits were swapped into is what the recipient got."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from oc_engine_kit import BTC, EVM_RECIPIENT, TEST_POLICY, USDT, Kit, make_kit
from test_oc_any_input import _auth, _quote
from test_oc_engine_crash import Crash, Fuse, _crashing_worker

from oneclick.domain.records import IntentKind, IntentState
from oneclick.testing.assets import USDC_BASE

RUN = timedelta(minutes=10)  # the crashing worker's window: both deposits swapped, withdrawn


async def _scenario(tmp_path: Path, fuse: Fuse) -> tuple[Kit, dict[str, Any], bool]:
    # Every swapped deposit leaves at once (no threshold): the run is short, and a crash after
    # one withdrawal meets the next one.
    kit = await make_kit(tmp_path, engine=replace(TEST_POLICY, any_input_threshold_usd=Decimal(0)))
    quote = (await _quote(kit, await _auth(kit)))["quote"]
    kit.world.bridge.deposit(quote["depositAddress"], BTC, 2_000_000)  # $1,200
    kit.world.bridge.deposit(quote["depositAddress"], USDC_BASE, 150_000_000)
    _crashing_worker(kit, fuse)
    start = kit.clock.now()
    crashed = False
    try:
        await kit.drive(until=start + RUN)
    except* Crash:
        crashed = True
    kit.new_worker()
    await kit.drive(until=start + RUN + RUN)
    return kit, quote, crashed


async def _check(kit: Kit, quote: dict[str, Any]) -> None:
    account = quote["depositAddress"]
    body = await kit.status(quote)
    deposits = body["swapDetails"]["anyInputDeposits"]
    assert [(d["asset"], d["phase"]) for d in deposits] == [
        (BTC, "DELIVERED"), (USDC_BASE, "DELIVERED"),
    ]  # fmt: skip
    swap = await kit.swap(quote)
    async with kit.world.store.transaction() as tx:
        legs = await tx.swaps.legs(swap.id)
    settled = Counter(leg.kind for leg in legs if leg.state is IntentState.SETTLED)
    assert settled[IntentKind.SWAP] == 2
    ledger = kit.world.verifier.ledger
    executed = [h for _, h in ledger.executed]
    assert len(executed) == len(set(executed)), "an intent executed twice"
    pooled = sum(int(d["amountOut"]) for d in deposits)
    paid = sum(w.amount for w in ledger.withdrawals if w.memo == f"WITHDRAW_TO:{EVM_RECIPIENT}")
    assert paid == pooled
    for token in (BTC, USDC_BASE, USDT):
        assert ledger.balances.get((account, token), 0) == 0, token


CALLS_IN_A_CLEAN_RUN = 60


@pytest.mark.slow
@pytest.mark.parametrize("after", [False, True], ids=["before-call", "after-call"])
async def test_any_input_survives_a_crash_at_every_external_call(
    tmp_path: Path, after: bool
) -> None:
    reference = Fuse(at=0, after=False)
    kit, quote, crashed = await _scenario(tmp_path / "ref", reference)
    try:
        assert not crashed
        await _check(kit, quote)
    finally:
        await kit.client.aclose()
        await kit.world.aclose()
    assert reference.calls <= CALLS_IN_A_CLEAN_RUN, reference.calls
    for at in range(1, reference.calls + 1):
        fuse = Fuse(at=at, after=after)
        kit, quote, crashed = await _scenario(tmp_path / f"{at}", fuse)
        try:
            assert crashed, at
            await _check(kit, quote)
        finally:
            await kit.client.aclose()
            await kit.world.aclose()
