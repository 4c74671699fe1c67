"""An ANY_INPUT step is one unit of work like any other step: its writes (the account's deposit
rows, its status) land together with its release, or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from oc_engine_kit import BTC, make_kit
from test_oc_any_input import _auth, _quote
from test_oc_engine_batching import RefusingClaims, _count, _row

from oneclick.domain.any_input import NewDeposit
from oneclick.domain.swaps import SwapStatus
from oneclick.services.engine.unit import StepStore
from oneclick.services.ports import Apply
from oneclick.store.claims import SqlClaims
from oneclick.store.tables import any_input_deposits, swap_transitions


async def test_a_refused_any_input_step_leaves_none_of_its_writes(tmp_path: Path) -> None:
    kit = await make_kit(tmp_path)
    try:
        quote = (await _quote(kit, await _auth(kit)))["quote"]
        kit.world.bridge.deposit(quote["depositAddress"], BTC, 2_000_000)
        swap_id = (await kit.swap(quote)).id
        worker = kit.new_worker("refused")
        worker.claims = RefusingClaims(SqlClaims(kit.world.store.db), {swap_id})
        worker.committer._claims = worker.claims
        transitions = await _count(kit, swap_transitions, swap_id)

        assert await worker.run_once() == 1

        # the deposit it found and the status it moved to were written, then refused: none
        # of it landed (before, ANY_INPUT steps wrote each transaction straight to the store)
        row = await _row(kit, swap_id)
        assert row.status == SwapStatus.PENDING_DEPOSIT.value
        assert await _count(kit, any_input_deposits, swap_id) == 0
        assert await _count(kit, swap_transitions, swap_id) == transitions
        assert row.attempts == 1
        assert "IntegrityError" in row.last_error

        # redone by a healthy worker, the step records the deposit once
        kit.clock.advance(row.next_run_at - kit.clock.now())
        assert await kit.new_worker("healthy").run_once() == 1
        assert await _count(kit, any_input_deposits, swap_id) == 1
        assert (await _row(kit, swap_id)).status == SwapStatus.PROCESSING.value
    finally:
        await kit.client.aclose()
        await kit.world.aclose()


async def test_a_step_may_not_read_any_input_rows_over_its_own_pending_writes(
    tmp_path: Path,
) -> None:
    kit = await make_kit(tmp_path)
    try:
        quote = (await _quote(kit, await _auth(kit)))["quote"]
        swap = await kit.swap(quote)
        committed: list[Apply] = []

        async def commit_point(apply: Apply) -> bool:
            committed.append(apply)
            return True

        unit = StepStore(kit.world.store, swap, commit_point, legs=[], deposits=[])
        found = [NewDeposit(BTC, 5, "BRIDGE", "btc:mainnet", "tx-1")]
        async with unit.transaction() as tx:
            assert await tx.any_input.deposits(swap.id) == []  # read through, nothing pending
            await tx.any_input.add_deposits(swap.id, found, ["d-1"], kit.clock.now())
            # the store would answer the rows as they were, without the pending one
            with pytest.raises(RuntimeError, match="buffered writes"):
                await tx.any_input.deposits(swap.id)
        assert committed == []  # buffered: nothing written until the step's end
        apply = unit.take()
        assert apply is not None
        async with kit.world.store.transaction() as session:
            await apply(session)
            assert [d.asset for d in await session.any_input.deposits(swap.id)] == [BTC]
    finally:
        await kit.client.aclose()
        await kit.world.aclose()
