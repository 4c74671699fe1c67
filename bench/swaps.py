"""``python -m bench.swaps --db URL --swaps N --workers W --out FILE``: N concurrent swaps through
the real engine (claims, leases, steps, the SQL store) on the in-process fakes world (fake relay,
bridge and verifier sharing one ledger: ``oneclick.testing``), in a process of its own so its
peak memory is its own.

N non-dry quotes (BTC → USDT, deposits on the origin chain), then N deposits at once: most exact,
one in 20 over the amount (swap + refund of the excess), one in 20 under it (refunded after the
deadline). Then W workers (``Worker.run_once`` side by side in this process, each with its own
lease owner) step whatever is due; when nothing is, the fake clock jumps to the next due time (a
discrete-event run: the wall time is the engine's and the database's work, never a poll's wait).

Checked at the end (``losses`` must be empty): every swap terminal and swept, exactly once (one
settled swap leg at most, one settled payout per SUCCESS, no intent executed twice in the ledger),
and per token: what the service recorded as deposited is what reached the custody accounts, what
its settled legs debited is what left them, and every custody account is empty.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from oneclick.domain.engine import EngineSwap, Leg
from oneclick.domain.records import IntentKind, IntentState
from oneclick.domain.requests import QuoteInput
from oneclick.domain.swaps import TERMINAL, SwapStatus
from oneclick.services import quoting
from oneclick.services.context import EnginePolicy, QuotePolicy
from oneclick.services.engine import EngineContext
from oneclick.services.engine.metrics import CountingMetrics
from oneclick.store.claims import SqlClaims
from oneclick.store.tables import swaps
from oneclick.testing.world import FakeWorld, fake_world
from oneclick.workers.runner import Worker, WorkerOptions

BTC = "nep141:btc.omft.near"
USDT = "nep141:eth-0xdac17f958d2ee523a2206206994597c13d831ec7.omft.near"
AMOUNT = 100_000
# The engine's production policy (on a fake clock a poll costs steps, never wall time). Quotes
# expire 5 minutes after the fake clock's start, plus a minute's grace, so that under-paid swaps
# are refunded after a realistic number of deposit polls.
POLICY = EnginePolicy()
QUOTES = QuotePolicy(inactive_grace=timedelta(minutes=1))
DEADLINE = "2026-01-01T12:05:00.000Z"


def _quote_input() -> QuoteInput:
    return QuoteInput(
        dry=False, swap_type="EXACT_INPUT", slippage_tolerance=100, origin_asset=BTC,
        deposit_type="ORIGIN_CHAIN", destination_asset=USDT, amount=str(AMOUNT),
        refund_to="bc1q6mte80265ghwq4vsrpm9lnaz46uvdreu9z8wly", refund_type="ORIGIN_CHAIN",
        recipient="0xcac3C41676deF4FE375E57118f3eB83A99105577",
        recipient_type="DESTINATION_CHAIN", deadline=DEADLINE,
    )  # fmt: skip


def deposit_amount(i: int) -> int:
    """Most swaps are paid exactly; one in 20 over-pays by half, one in 20 pays 40 %."""
    return {0: AMOUNT * 2 // 5, 1: AMOUNT * 3 // 2}.get(i % 20, AMOUNT)


async def _quotes(world: FakeWorld, n: int, concurrency: int) -> list[str]:
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> str:
        async with gate:
            document = await quoting.request_quote(
                world.ctx, _quote_input(), partner=None, correlation_id=f"bench-{i}"
            )
        quote = document["quote"]
        assert isinstance(quote, dict)
        return str(quote["depositAddress"])

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def _engine_swaps(world: FakeWorld) -> list[EngineSwap]:
    async with world.store.db.connect() as conn:
        ids = [r[0] for r in await conn.execute(select(swaps.c.id).order_by(swaps.c.created_at))]
    found = []
    async with world.store.transaction() as tx:
        for swap_id in ids:
            swap = await tx.engine_swap(swap_id)
            assert swap is not None
            found.append(swap)
    return found


async def _next_due(world: FakeWorld) -> datetime | None:
    """The earliest moment a swap is due (after its lease, when one is held), or None."""
    now = world.clock.now()
    async with world.store.db.connect() as conn:
        free = await conn.scalar(
            select(func.min(swaps.c.next_run_at)).where(
                swaps.c.next_run_at.is_not(None),
                (swaps.c.lease_until.is_(None)) | (swaps.c.lease_until < now),
            )
        )
        held = await conn.scalar(
            select(func.min(swaps.c.lease_until)).where(
                swaps.c.next_run_at.is_not(None), swaps.c.lease_until >= now
            )
        )
    times = [t for t in (free, held + timedelta(microseconds=1) if held else None) if t]
    return min(times, default=None)


async def _drive(world: FakeWorld, workers: list[Worker], max_rounds: int) -> tuple[int, int]:
    """Step until nothing is due; (steps, clock jumps)."""
    steps = jumps = 0
    for _ in range(max_rounds):
        claimed = sum(await asyncio.gather(*(w.run_once() for w in workers)))
        steps += claimed
        if claimed:
            continue
        due = await _next_due(world)
        if due is None:
            return steps, jumps
        world.clock.set(max(due, world.clock.now()))
        jumps += 1
    raise RuntimeError(f"the engine did not settle within {max_rounds} rounds")


def _losses(world: FakeWorld, found: list[EngineSwap], legs: dict[str, list[Leg]]) -> list[str]:
    losses: list[str] = []
    ledger = world.verifier.ledger
    executed = [h for _, h in ledger.executed]
    twice = [h for h, n in Counter(executed).items() if n > 1]
    if twice:
        losses.append(f"{len(twice)} intents executed twice")
    custody = {s.custody_account_id for s in found}
    recorded_in: Counter[str] = Counter()
    recorded_out: Counter[str] = Counter()
    for swap in found:
        if swap.status not in TERMINAL or swap.status is SwapStatus.FAILED:
            losses.append(f"swap {swap.id} ended {swap.status.value} ({swap.last_error})")
        if swap.next_run_at is not None:
            losses.append(f"swap {swap.id} is still scheduled in phase {swap.phase.value}")
        settled = Counter(g.kind for g in legs[swap.id] if g.state is IntentState.SETTLED)
        if settled[IntentKind.SWAP] > 1 or settled[IntentKind.WITHDRAW] > 1:
            losses.append(f"swap {swap.id} settled {dict(settled)}")
        if (swap.status is SwapStatus.SUCCESS) != (settled[IntentKind.WITHDRAW] == 1):
            losses.append(f"swap {swap.id} is {swap.status.value} with {dict(settled)}")
        recorded_in[swap.origin_asset] += swap.deposited_amount or 0
        for leg in legs[swap.id]:
            if leg.state is IntentState.SETTLED:
                recorded_out.update(leg.debits)
    ledger_in: Counter[str] = Counter()
    ledger_out: Counter[str] = Counter()
    for m in ledger.movements:
        if m.account_id in custody:
            if m.cause == "mint":
                ledger_in[m.token_id] += m.delta
            elif m.delta < 0:
                ledger_out[m.token_id] -= m.delta
    for token in sorted(set(recorded_in) | set(ledger_in) | set(recorded_out) | set(ledger_out)):
        if recorded_in[token] != ledger_in[token]:
            losses.append(f"{token}: deposited {recorded_in[token]} != minted {ledger_in[token]}")
        if recorded_out[token] != ledger_out[token]:
            losses.append(f"{token}: legs debit {recorded_out[token]} != left {ledger_out[token]}")
    left = {k: v for k, v in ledger.balances.items() if k[0] in custody and v}
    if left:
        losses.append(f"{len(left)} custody balances are not empty: {list(left.items())[:3]}")
    return losses


async def run(url: str, n: int, n_workers: int, quote_concurrency: int) -> dict[str, Any]:
    world = await fake_world(url, policy=QUOTES, engine_policy=POLICY, custody_pool=n)
    try:
        start = time.perf_counter()
        addresses = await _quotes(world, n, quote_concurrency)
        quoted = time.perf_counter()
        found = await _engine_swaps(world)
        by_address = {s.deposit_address: s for s in found}
        for i, address in enumerate(addresses):
            world.bridge.deposit(by_address[address].custody_account_id, BTC, deposit_amount(i))
        metrics = CountingMetrics()
        workers = [
            Worker(
                EngineContext.of(world.ctx, world.store, owner=f"bench-{k}", metrics=metrics),
                SqlClaims(world.store.db),
                WorkerOptions(),
            )
            for k in range(n_workers)
        ]
        engine_start = time.perf_counter()
        steps, jumps = await _drive(world, workers, max_rounds=200 * n + 1000)
        engine_s = time.perf_counter() - engine_start
        found = await _engine_swaps(world)
        async with world.store.transaction() as tx:
            legs = {s.id: await tx.legs(s.id) for s in found}
        statuses = Counter(s.status.value for s in found)
        return {
            "swaps": n,
            "workers": n_workers,
            "quote_s": round(quoted - start, 2),
            "engine_s": round(engine_s, 2),
            "wall_s": round(time.perf_counter() - start, 2),
            "swaps_per_s": round(n / engine_s, 1),
            "steps": steps,
            "steps_per_s": round(steps / engine_s, 1),
            "clock_jumps": jumps,
            "statuses": dict(sorted(statuses.items())),
            "deposited": str(sum(deposit_amount(i) for i in range(n))),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "losses": _losses(world, found, legs),
        }
    finally:
        await world.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.swaps")
    parser.add_argument("--db", required=True, help="SQLAlchemy URL (sqlite+aiosqlite or psycopg)")
    parser.add_argument("--swaps", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--quote-concurrency", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    result = asyncio.run(run(args.db, args.swaps, args.workers, args.quote_concurrency))
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
