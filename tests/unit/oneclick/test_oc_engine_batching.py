"""One step, one transaction (issue 15): a step's writes land together with its release or not at
all; concurrent steps share group commits; a claim brings what the step reads; quiet accounts
are polled less often, and a deposit is never missed for it."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

from oc_engine_kit import BTC, Kit, make_kit
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from oneclick.domain.engine import Phase
from oneclick.domain.swaps import SwapStatus
from oneclick.services.context import EnginePolicy
from oneclick.services.ports import Claim, EngineSession, Release, StepWrite
from oneclick.store.claims import SqlClaims
from oneclick.store.tables import deposits, swap_transitions, swaps

QUIET = EnginePolicy(
    deposit_poll=timedelta(seconds=10),
    quiet_poll_max=timedelta(minutes=2),
    follow_poll=timedelta(seconds=2),
    withdrawal_poll=timedelta(seconds=10),
)


async def _row(kit: Kit, swap_id: str) -> Any:
    async with kit.world.store.db.connect() as conn:
        return (await conn.execute(select(swaps).where(swaps.c.id == swap_id))).one()


async def _count(kit: Kit, table: Any, swap_id: str) -> int:
    async with kit.world.store.db.connect() as conn:
        query = select(func.count()).select_from(table).where(table.c.swap_id == swap_id)
        return int((await conn.execute(query)).scalar_one())


class RefusingClaims(SqlClaims):
    """The real claims, but the database refuses a step's writes after they were all applied
    (as a constraint would): the whole step must roll back, release included."""

    def __init__(self, claims: SqlClaims, refuse: set[str]) -> None:
        super().__init__(claims._db)
        self.refuse = refuse

    async def write(self, owner: str, now: Any, writes: Any) -> list[bool | Exception]:
        wrapped = []
        for w in writes:
            if w.claim.swap_id in self.refuse and w.apply is not None:
                wrapped.append(StepWrite(w.claim, _then_refuse(w.apply), w.release))
            else:
                wrapped.append(w)
        return await super().write(owner, now, wrapped)


def _then_refuse(apply: Any) -> Any:
    async def refused(session: EngineSession) -> None:
        await apply(session)  # every write of the step went through...
        raise IntegrityError("INSERT", None, ValueError("refused"))  # ...then the commit fails

    return refused


async def test_a_step_whose_writes_fail_leaves_nothing_but_its_error(tmp_path: Path) -> None:
    kit = await make_kit(tmp_path)
    try:
        refused_quote = await kit.quote()
        healthy_quote = await kit.quote(amount="100001")
        await kit.deposit(refused_quote, 100_000)
        await kit.deposit(healthy_quote, 100_001)
        refused = (await kit.swap(refused_quote)).id
        healthy = (await kit.swap(healthy_quote)).id
        worker = kit.new_worker("refused")
        worker.claims = RefusingClaims(SqlClaims(kit.world.store.db), {refused})
        worker.committer._claims = worker.claims
        before = await _row(kit, refused)
        transitions = await _count(kit, swap_transitions, refused)

        assert await worker.run_once() == 2  # both step the deposit phase in one group

        row = await _row(kit, refused)
        # none of its writes landed: the deposit it saw, its new status, phase and log entry
        assert (row.status, row.phase) == (before.status, before.phase)
        assert row.deposited_amount == before.deposited_amount
        assert await _count(kit, swap_transitions, refused) == transitions
        assert await _count(kit, deposits, refused) == 0
        # it is released with the failure counted, to be retried with backoff
        assert row.lease_owner is None
        assert row.attempts == 1
        assert "IntegrityError" in row.last_error
        assert row.next_run_at > kit.clock.now()
        # its neighbour in the same group commit is untouched by the failure
        other = await _row(kit, healthy)
        assert (other.status, other.phase) == (SwapStatus.PROCESSING.value, Phase.SWAP.value)
        assert await _count(kit, deposits, healthy) == 1
        assert other.lease_owner is None
        assert other.attempts == 0
    finally:
        await kit.client.aclose()
        await kit.world.aclose()


async def test_a_group_write_is_atomic_per_step_and_fenced(tmp_path: Path) -> None:
    """``Claims.write`` directly: a write whose lease is gone writes nothing; one whose apply
    fails is rolled back alone; the others land."""
    kit = await make_kit(tmp_path)
    try:
        ids = []
        for i in range(3):
            quote = await kit.quote(amount=str(100_000 + i))
            ids.append((await kit.swap(quote)).id)
        claims = SqlClaims(kit.world.store.db)
        now = kit.clock.now()
        mine = {c.swap_id: c for c in await claims.claim("me", now, 60, 10)}
        assert set(mine) == set(ids)
        lost = Claim(ids[2], now, now)
        await claims.release(mine[ids[2]], "me", next_run_at=now, attempts=0, last_error=None)
        [taken] = await claims.claim("other", now, 60, 1)
        assert taken.swap_id == ids[2]

        async def known(session: EngineSession, swap_id: str) -> None:
            swap = await session.swaps.load(swap_id)
            assert swap is not None
            swap.move_to(SwapStatus.KNOWN_DEPOSIT_TX)
            await session.swaps.save(swap, now)

        async def fail(session: EngineSession) -> None:
            await known(session, ids[1])
            raise IntegrityError("UPDATE", None, ValueError("refused"))

        async def land(session: EngineSession) -> None:
            await known(session, ids[0])

        later = now + timedelta(minutes=1)
        results = await claims.write(
            "me", now,
            [StepWrite(mine[ids[0]], land, Release(later, 0, None)),
             StepWrite(mine[ids[1]], fail, Release(later, 0, None)),
             StepWrite(lost, land, Release(later, 0, None))],
        )  # fmt: skip
        assert results[0] is True
        assert isinstance(results[1], IntegrityError)
        assert results[2] is False  # "other" holds it now
        assert (await _row(kit, ids[0])).status == SwapStatus.KNOWN_DEPOSIT_TX.value
        assert (await _row(kit, ids[0])).lease_owner is None
        failed = await _row(kit, ids[1])
        assert failed.status == SwapStatus.PENDING_DEPOSIT.value
        assert failed.lease_owner == "me"  # nothing of it, not even its release
        assert (await _row(kit, ids[2])).lease_owner == "other"
    finally:
        await kit.client.aclose()
        await kit.world.aclose()


async def test_concurrent_steps_share_commits_and_claims_bring_what_steps_read(
    tmp_path: Path,
) -> None:
    kit = await make_kit(tmp_path, custody_pool=30)
    try:
        for i in range(30):
            quote = await kit.quote(amount=str(100_000 + i))
            await kit.deposit(quote, 100_000 + i)
        claimed = await kit.worker.claims.claim("peek", kit.clock.now(), 60, 1)
        assert claimed[0].swap is not None
        assert claimed[0].deposits is not None
        assert claimed[0].legs == ()
        await kit.worker.claims.release(
            claimed[0], "peek", next_run_at=kit.clock.now(), attempts=0, last_error=None
        )
        reads = 0
        store = kit.worker.ctx.store
        original = store.transaction

        def counting() -> Any:
            nonlocal reads
            reads += 1
            return original()

        store.transaction = counting  # type: ignore[method-assign]
        kit.worker._next_pool_check = float("inf")  # the custody pool's count is not a step's
        assert await kit.worker.run_once() == 30
        assert reads == 0  # the claim brought the rows, the legs and the deposits
        committer = kit.worker.committer
        assert committer.writes == 30
        assert committer.commits < 30  # grouped (one or a few commits, not one per step)
    finally:
        await kit.client.aclose()
        await kit.world.aclose()


async def _deposit_polls(kit: Kit, swap_id: str) -> list[Any]:
    """The times the swap is due while it waits for its deposit, as the engine schedules them."""
    due = []
    for _ in range(40):
        row = await _row(kit, swap_id)
        if row.phase != Phase.DEPOSIT.value or row.next_run_at is None:
            break
        due.append(row.next_run_at)
        kit.clock.set(max(row.next_run_at, kit.clock.now()))
        assert await kit.worker.run_once() == 1
    return due


async def test_a_quiet_account_is_polled_less_and_a_late_deposit_is_still_seen(
    tmp_path: Path,
) -> None:
    kit = await make_kit(tmp_path, engine=QUIET)
    try:
        quote = await kit.quote()
        swap_id = (await kit.swap(quote)).id
        polls = await _deposit_polls(kit, swap_id)  # nothing arrives: the polls spread out
        gaps = [b - a for a, b in itertools.pairwise(polls[1:])]
        assert gaps[0] == QUIET.deposit_poll
        assert max(gaps) == QUIET.quiet_poll_max
        assert gaps == sorted(gaps)  # never shorter again while nothing happens
        quiet_polls = len(polls)
        # vs. every 10 s until the 2-hour deadline: 720 polls
        assert quiet_polls < 100
        # A deposit after a long quiet spell: seen at the next poll (at most quiet_poll_max)
        # and acted on, and the polling is back to its base rate.
        await kit.deposit(quote, 100_000)
        arrived = kit.clock.now()
        row = await _row(kit, swap_id)
        assert row.next_run_at - arrived <= QUIET.quiet_poll_max
        kit.clock.set(row.next_run_at)
        assert await kit.worker.run_once() == 1
        row = await _row(kit, swap_id)
        assert (row.status, row.phase) == (SwapStatus.PROCESSING.value, Phase.SWAP.value)
    finally:
        await kit.client.aclose()
        await kit.world.aclose()


async def test_a_deposit_just_before_the_deadline_is_not_missed_by_a_quiet_account(
    tmp_path: Path,
) -> None:
    kit = await make_kit(tmp_path, engine=QUIET)
    try:
        quote = await kit.quote()
        swap = await kit.swap(quote)
        while True:  # polls until the last one before the request deadline
            row = await _row(kit, swap.id)
            if row.next_run_at >= swap.request_deadline:
                break
            kit.clock.set(row.next_run_at)
            assert await kit.worker.run_once() == 1
        # One second before the deadline the user pays; the next poll is AT the deadline,
        # however long the account was quiet, and it sees the deposit.
        kit.clock.set(swap.request_deadline - timedelta(seconds=1))
        await kit.deposit(quote, 100_000)
        assert (await _row(kit, swap.id)).next_run_at == swap.request_deadline
        await kit.drive()
        status = await kit.status(quote)
        assert status["status"] == "REFUNDED", status  # too late to swap, never lost
        assert status["swapDetails"]["refundedAmount"] not in (None, "0")
        ledger = kit.world.verifier.ledger
        assert ledger.balances.get((swap.custody_account_id, BTC), 0) == 0
    finally:
        await kit.client.aclose()
        await kit.world.aclose()


class MovingClaims(SqlClaims):
    """The real claims, but someone else saves the swap (bumps its version) just before a
    step's writes land, as a deposit submitted mid-step does."""

    def __init__(self, claims: SqlClaims, moved: set[str]) -> None:
        super().__init__(claims._db)
        self.moved = moved

    async def write(self, owner: str, now: Any, writes: Any) -> list[bool | Exception]:
        wrapped = []
        for w in writes:
            if w.claim.swap_id in self.moved and w.apply is not None:
                wrapped.append(
                    StepWrite(w.claim, _after_a_move(w.apply, w.claim.swap_id), w.release)
                )
            else:
                wrapped.append(w)
        return await super().write(owner, now, wrapped)


def _after_a_move(apply: Any, swap_id: str) -> Any:
    async def moved_first(session: Any) -> None:
        moved = update(swaps).where(swaps.c.id == swap_id).values(version=swaps.c.version + 1)
        await session._conn.execute(moved)
        await apply(session)

    return moved_first


async def test_a_step_whose_swap_moved_meanwhile_is_redone_at_once(tmp_path: Path) -> None:
    kit = await make_kit(tmp_path)
    try:
        quote = await kit.quote()
        await kit.deposit(quote, 100_000)
        swap_id = (await kit.swap(quote)).id
        before = await _row(kit, swap_id)
        worker = kit.new_worker("moved")
        worker.claims = MovingClaims(SqlClaims(kit.world.store.db), {swap_id})
        worker.committer._claims = worker.claims

        assert await worker.run_once() == 1

        row = await _row(kit, swap_id)
        # the version check refused the step's writes (its save expected the old version)...
        assert (row.status, row.phase, row.version) == (before.status, before.phase, 0)
        assert await _count(kit, deposits, swap_id) == 0
        # ...and it is handed back to be redone now, not counted as a failure
        assert row.lease_owner is None
        assert (row.attempts, row.last_error) == (0, None)
        assert row.next_run_at == kit.clock.now()

        assert await kit.new_worker("next").run_once() == 1
        row = await _row(kit, swap_id)
        assert (row.status, row.phase) == (SwapStatus.PROCESSING.value, Phase.SWAP.value)
        assert row.version == 1
    finally:
        await kit.client.aclose()
        await kit.world.aclose()
