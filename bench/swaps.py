"""``python -m bench.swaps --db URL --swaps N --workers W --out FILE``: N concurrent swaps through
the real engine (claims, leases, steps, group commits, the SQL store), each of the W workers in
a process of its own, on the fakes world (fake relay, bridge and verifier sharing one ledger:
``oneclick.testing``) served to the workers by this process (bench/peers.py).

N non-dry quotes (BTC → USDT, deposits on the origin chain), then N deposits at once: most exact,
one in 20 over the amount (swap + refund of the excess), one in 20 under it (refunded after the
deadline). Then the W worker processes (``Worker.run_once`` in a loop, each its own lease owner)
step whatever is due; when nothing is due and no lease is held, this process moves the shared
fake clock to the next due time (a discrete-event run: the wall time is the engine's and the
database's work, never a poll's wait).

Checked at the end (``losses`` must be empty): every swap terminal and swept, exactly once (one
settled swap leg at most, one settled payout per SUCCESS, no intent executed twice in the ledger),
and per token: what the service recorded as deposited is what reached the custody accounts, what
its settled legs debited is what left them, and every custody account is empty.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from bench.peers import PeerClient, SharedClock, serve
from oneclick.custody.keys import KeyCustody, init_key_file, load_key_file
from oneclick.domain.assets import AssetRegistry
from oneclick.domain.engine import Leg, SwapState
from oneclick.domain.records import IntentKind, IntentState
from oneclick.domain.requests import QuoteInput
from oneclick.domain.swaps import TERMINAL, SwapStatus
from oneclick.services import quoting
from oneclick.services.context import EnginePolicy, QuotePolicy, ServiceContext
from oneclick.services.engine import EngineContext
from oneclick.services.engine.metrics import CountingMetrics
from oneclick.services.fees import ProtocolFeeCache
from oneclick.store.claims import SqlClaims
from oneclick.store.database import connect_database
from oneclick.store.sql import SqlStore
from oneclick.store.tables import swaps
from oneclick.testing.assets import SAMPLE_ASSETS
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


async def _engine_swaps(world: FakeWorld) -> list[SwapState]:
    async with world.store.db.connect() as conn:
        ids = [r[0] for r in await conn.execute(select(swaps.c.id).order_by(swaps.c.created_at))]
    found = []
    async with world.store.transaction() as tx:
        for swap_id in ids:
            swap = await tx.swaps.get(swap_id)
            assert swap is not None
            found.append(swap)
    return found


def _losses(world: FakeWorld, found: list[SwapState], legs: dict[str, list[Leg]]) -> list[str]:
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


# What each worker process runs with (the defaults but a bigger batch: a group commit is as
# large as the steps that finish together).
OPTIONS = WorkerOptions(batch=64, concurrency=64)
IDLE_POLL_S = 0.01  # a worker with nothing claimed asks again after this (wall time)
DRIVE_POLL_S = 0.01  # how often the coordinator looks for "nothing due, no lease held"


def _schedstat() -> tuple[float, float]:
    """This process's main thread: seconds on a CPU, seconds runnable but waiting for one
    (Linux ``/proc/<pid>/schedstat``; zeros elsewhere). The wait is what a loaded machine costs."""
    try:
        on_cpu, waiting, _ = Path(f"/proc/{os.getpid()}/schedstat").read_text().split()
    except (OSError, ValueError):
        return 0.0, 0.0
    return int(on_cpu) / 1e9, int(waiting) / 1e9


def _machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (all cores, Linux ``/proc/stat``; 0
    elsewhere). Over a run, beside the cores it had, it says whether CPU bounded the run."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    ticks = [int(f) for f in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _group_cpu_s(group: int | None) -> float:
    """CPU seconds of the process group ``group`` (the PostgreSQL cluster: bench/postgres.py
    starts it in a session of its own), live members plus what its leader reaped; Linux only."""
    if group is None:
        return 0.0
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[2]) != group:  # fields[0] is the state: pgrp, utime, stime follow
            continue
        ticks += int(fields[11]) + int(fields[12])
        if int(stat.parent.name) == group:  # the postmaster: the backends it reaped
            ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


async def _database_group(world: FakeWorld) -> int | None:
    """The process group of the PostgreSQL server behind ``world`` (None for SQLite)."""
    if world.store.db.dialect.name != "postgresql":
        return None
    async with world.store.db.connect() as conn:
        backend = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return _process_group(int(backend))


def _process_group(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])
    except (OSError, IndexError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class Shared:
    """Where the worker processes find the world: the peers' socket, the clock, the keys."""

    url: str
    socket: Path
    clock: Path
    keys: Path


async def _drive(world: FakeWorld, clock: SharedClock, workers: list[Any], limit_s: float) -> int:
    """Move the clock whenever nothing is due and no lease is held; the clock jumps made.
    Returns when nothing is scheduled any more."""
    jumps = 0
    give_up = time.monotonic() + limit_s
    while True:
        await asyncio.sleep(DRIVE_POLL_S)
        if any(w.returncode is not None for w in workers):
            raise RuntimeError("a worker process exited early")
        if time.monotonic() > give_up:
            raise RuntimeError(f"the engine did not settle within {limit_s:.0f} s")
        async with world.store.db.connect() as conn:
            held, due = (
                await conn.execute(
                    select(func.count(swaps.c.lease_owner), func.min(swaps.c.next_run_at))
                )
            ).one()
        if held:
            continue
        if due is None:
            return jumps
        if due > world.clock.now():
            world.clock.set(due)
            clock.set(due)
            jumps += 1


async def _worker_process(shared: Shared, owner: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.swaps", "--db", shared.url, "--worker", owner,
        "--socket", str(shared.socket), "--clock", str(shared.clock), "--keys", str(shared.keys),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def run(url: str, n: int, n_workers: int, quote_concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="oneclick-bench-swaps-") as tmp:
        shared = Shared(url, Path(tmp) / "peers.sock", Path(tmp) / "clock", Path(tmp) / "keys")
        keys = init_key_file(shared.keys)
        world = await fake_world(
            url, policy=QUOTES, engine_policy=POLICY, keys=keys, custody_pool=n
        )
        clock = SharedClock(shared.clock, create=True)
        server = await serve(
            shared.socket,
            {
                "relay": world.relay,
                "bridge": world.bridge,
                "verifier": world.verifier,
                "prices": world.prices,
            },
        )
        try:
            return await _run(world, clock, shared, n, n_workers, quote_concurrency)
        finally:
            server.close()
            clock.close()
            await world.aclose()


async def _run(
    world: FakeWorld, clock: SharedClock, shared: Shared, n: int, n_workers: int,
    quote_concurrency: int,
) -> dict[str, Any]:  # fmt: skip
    start = time.perf_counter()
    addresses = await _quotes(world, n, quote_concurrency)
    quoted = time.perf_counter()
    found = await _engine_swaps(world)
    by_address = {s.deposit_address: s for s in found}
    for i, address in enumerate(addresses):
        world.bridge.deposit(by_address[address].custody_account_id, BTC, deposit_amount(i))
    clock.set(world.clock.now())
    workers = [await _worker_process(shared, f"bench-{k}") for k in range(n_workers)]
    try:
        for process in workers:  # each has connected and built its engine
            assert process.stdout is not None
            if (await process.stdout.readline()).strip() != b"ready":
                raise RuntimeError("a worker process did not start")
        clock.go()
        engine_start = time.perf_counter()
        coordinator_cpu, coordinator_sched = time.process_time(), _schedstat()
        machine_busy = _machine_busy_s()
        database = await _database_group(world)
        database_cpu = _group_cpu_s(database)
        jumps = await _drive(world, clock, workers, limit_s=1800)
        engine_s = time.perf_counter() - engine_start
        machine_busy = _machine_busy_s() - machine_busy
        database_cpu = _group_cpu_s(database) - database_cpu
        coordinator_cpu = time.process_time() - coordinator_cpu
        coordinator_wait = _schedstat()[1] - coordinator_sched[1]
        clock.stop()
        reports = []
        for process in workers:
            assert process.stdout is not None
            reports.append(json.loads(await process.stdout.read()))
            await process.wait()
    finally:
        for process in workers:
            if process.returncode is None:
                process.kill()
                await process.wait()
    found = await _engine_swaps(world)
    async with world.store.transaction() as tx:
        legs = {s.id: await tx.swaps.legs(s.id) for s in found}
    statuses = Counter(s.status.value for s in found)
    steps = sum(r["steps"] for r in reports)
    commits = sum(r["commits"] for r in reports)
    return {
        "swaps": n,
        "workers": n_workers,
        "quote_s": round(quoted - start, 2),
        "engine_s": round(engine_s, 2),
        "wall_s": round(time.perf_counter() - start, 2),
        "swaps_per_s": round(n / engine_s, 1),
        "steps": steps,
        "steps_per_s": round(steps / engine_s, 1),
        "steps_per_worker": [r["steps"] for r in reports],
        "commits": commits,
        "writes_per_commit": round(sum(r["writes"] for r in reports) / max(commits, 1), 1),
        "worker_cpu_s": [r["cpu_s"] for r in reports],
        "worker_runqueue_wait_s": [r["runqueue_wait_s"] for r in reports],
        # the fakes answering every peer call, and the clock driver: the other side of the run
        "coordinator_cpu_s": round(coordinator_cpu, 1),
        "coordinator_runqueue_wait_s": round(coordinator_wait, 1),
        # the PostgreSQL server's CPU (None on SQLite, which runs inside the workers), and every
        # core's busy time over the engine's run: beside os.cpu_count() it shows whether the
        # machine had CPU to spare (what none of ours used went to other work on the machine)
        "database_cpu_s": round(database_cpu, 1) if database is not None else None,
        "machine_cores": os.cpu_count(),
        "machine_busy_cores": round(machine_busy / engine_s, 2) if engine_s else None,
        "clock_jumps": jumps,
        "statuses": dict(sorted(statuses.items())),
        "deposited": str(sum(deposit_amount(i) for i in range(n))),
        "peak_rss_mb": max(
            [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]
            + [r["peak_rss_mb"] for r in reports]
        ),
        "losses": _losses(world, found, legs),
    }


async def work(shared: Shared, owner: str) -> dict[str, Any]:
    """One worker process: the real worker on the coordinator's peers and clock."""
    client = await PeerClient.connect(shared.socket)
    clock = SharedClock(shared.clock)
    db = connect_database(shared.url)
    try:
        verifier = client.peer("verifier")
        ctx = ServiceContext(
            relay=client.peer("relay"), bridge=client.peer("bridge"), verifier=verifier,
            prices=client.peer("prices"), clock=clock, store=SqlStore(db),
            custody=KeyCustody(load_key_file(shared.keys)),
            registry=AssetRegistry(SAMPLE_ASSETS),
            fee_cache=ProtocolFeeCache(verifier, clock, timedelta(seconds=30)),
            policy=QUOTES, engine=POLICY,
        )  # fmt: skip
        metrics = CountingMetrics()
        engine = EngineContext.of(ctx, SqlStore(db), owner=owner, metrics=metrics)
        worker = Worker(engine, SqlClaims(db), OPTIONS)
        print("ready", flush=True)  # the coordinator waits for it
        while not clock.going:  # noqa: ASYNC110 - a flag in a file another process sets
            await asyncio.sleep(IDLE_POLL_S)
        cpu = time.process_time()
        sched = _schedstat()
        steps = 0
        while not clock.stopped:
            claimed = await worker.run_once()
            steps += claimed
            if not claimed:
                await asyncio.sleep(IDLE_POLL_S)
        return {
            "owner": owner,
            "steps": steps,
            "commits": worker.committer.commits,
            "writes": worker.committer.writes,
            "cpu_s": round(time.process_time() - cpu, 1),
            # runnable but waiting for a CPU (the main thread; the machine's other load)
            "runqueue_wait_s": round(_schedstat()[1] - sched[1], 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    finally:
        await client.aclose()
        clock.close()
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.swaps")
    parser.add_argument("--db", required=True, help="SQLAlchemy URL (sqlite+aiosqlite or psycopg)")
    parser.add_argument("--swaps", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--quote-concurrency", type=int, default=1)
    parser.add_argument("--out")
    # a worker process, started by the coordinator (the run above)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--socket", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--clock", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--keys", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        shared = Shared(args.db, args.socket, args.clock, args.keys)
        if profile := os.environ.get("BENCH_PROFILE"):  # a worker's profile, for reading
            with cProfile.Profile() as profiler:
                report = asyncio.run(work(shared, args.worker))
            profiler.dump_stats(f"{profile}.{args.worker}")
        else:
            report = asyncio.run(work(shared, args.worker))
        print(json.dumps(report))
        return
    if not args.out:
        parser.error("--out is required")
    result = asyncio.run(run(args.db, args.swaps, args.workers, args.quote_concurrency))
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
