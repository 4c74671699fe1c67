"""Crash safety with real processes: ``oneclick api`` and ``oneclick worker`` as separate processes
(as ``oneclick up`` runs them, from the configuration it generates) on the session's devnet, many
concurrent swaps, and the worker SIGKILLed at the swaps' step boundaries (seen in its database)
and at random moments, a new worker started after each kill.

Then, for every swap and in total, per token and to the unit: it ended exactly once (one payout,
the recipient holds exactly ``amountOut``), no intent executed twice (the verifier's log: each
intent hash and each signer nonce once), every intent a custody account executed had been stored
before (write, then send), ``deposited = swapped + fees + refunded + left`` and
``bought = delivered + withdrawal fees``.

The API is SIGKILLed (and restarted) too, at random moments while swaps run: they must not
notice. The same run on PostgreSQL has several workers side by side (``SKIP LOCKED``), any of
which may be the one killed.

Size and randomness: ``E2E_CRASH_SWAPS`` (default 12; the issue's full run is 50),
``E2E_CRASH_KILLS`` random worker kills (default 4), ``E2E_CRASH_API_KILLS`` (default 2),
``E2E_CRASH_SEED`` (default 7), ``E2E_CRASH_ROUTES`` (default ``evm,sim``: USDC Ethereum ->
Arbitrum on anvil alternating with BTC -> XRP on the simulated ledgers); on PostgreSQL
``E2E_CRASH_PG_SWAPS`` (default 8) and ``E2E_CRASH_PG_WORKERS`` (default 3).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from e2e_stack import REPO_ROOT, STACK_ENV, RunningStack, free_port
from e2e_swapkit import (
    ARB_USDC,
    BTC,
    ETH_USDC,
    XRP,
    Audit,
    Devnet,
    Parties,
    Swap,
    VerifierLog,
    audit,
    deposit,
    quote,
)
from psycopg.rows import dict_row

from oneclick.bootstrap import database_url
from oneclick.client import OneClickClient, deadline_in
from oneclick.config import load_settings
from oneclick.custody.keys import init_key_file
from oneclick.devnet_link import CONFIG_FILE, config_toml, write_atomic
from oneclick.store.database import connect_database, upgrade

pytestmark = [pytest.mark.devnet, pytest.mark.slow, pytest.mark.timeout(600)]

SWAPS = int(os.environ.get("E2E_CRASH_SWAPS", "12"))
PG_SWAPS = int(os.environ.get("E2E_CRASH_PG_SWAPS", "8"))
PG_WORKERS = int(os.environ.get("E2E_CRASH_PG_WORKERS", "3"))
RANDOM_KILLS = int(os.environ.get("E2E_CRASH_KILLS", "4"))
API_KILLS = int(os.environ.get("E2E_CRASH_API_KILLS", "2"))
SEED = int(os.environ.get("E2E_CRASH_SEED", "7"))
USDC = 10**6
LEASE_S = 3  # a dead worker's swaps (and the SQLite worker lock) are free again after this
# The service as `oneclick up` runs it, plus a short lease so that kills cost seconds.
# All quotes are opened before any is funded: no per-client cap on unfunded addresses here.
SERVICE_ENV = {
    **STACK_ENV,
    "ONECLICK_WORKER__LEASE_S": str(LEASE_S),
    "ONECLICK_QUOTES__MAX_UNFUNDED_PER_IP": "0",
}
START_TIMEOUT_S = 60.0
FINISH_TIMEOUT_S = 300.0
POLL_S = 0.02  # how often the kill loop looks at the worker's database
SHORT_DEADLINE = timedelta(seconds=20)

# Step boundaries, as the worker's database shows them (each gets one SIGKILL when first seen).
BOUNDARIES = (
    "credited, no swap intent yet",
    "swap intent stored, not published",
    "swap intent published, not settled",
    "swap settled, no payout yet",
    "payout stored, not published",
    "payout published, not settled",
    "payout settled, bridge still paying",
    "refund stored or published",
    "refund settled, bridge still paying",
)


@dataclass
class Service:
    """The API and the current workers, each in its own process group, logs under ``logs``."""

    data_dir: Path
    config: Path
    api_url: str
    manager_public_key: str
    env: dict[str, str]
    database_url: str
    worker_count: int = 1  # side by side (PostgreSQL); SQLite allows one
    api: subprocess.Popen[bytes] | None = None
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)
    worker_started: float = 0.0
    workers: int = 0
    kills: list[str] = field(default_factory=list)
    exits: list[int] = field(default_factory=list)  # workers that exited on their own

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = self.data_dir / "logs" / f"{name}.log"
        log.parent.mkdir(exist_ok=True)
        with log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "oneclick.cli", *args, "--data-dir", str(self.data_dir),
                 "--config", str(self.config)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
                env=self.env, start_new_session=True,
            )  # fmt: skip

    def start_api(self) -> None:
        self.api = self._spawn("api", "api")

    def start_workers(self) -> None:
        while len(self.running) < self.worker_count:
            self.start_worker()

    def start_worker(self, slot: int | None = None) -> None:
        self.workers += 1
        proc = self._spawn("worker", "worker")
        if slot is None:
            self.running.append(proc)
        else:
            self.running[slot] = proc
        self.worker_started = time.monotonic()

    def kill_worker(self, why: str, slot: int = 0) -> None:
        worker = self.running[slot]
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
        self.kills.append(why if self.worker_count == 1 else f"{why} (worker {slot})")
        self.start_worker(slot)

    def kill_api(self, why: str) -> None:
        assert self.api is not None
        self.api.send_signal(signal.SIGKILL)
        self.api.wait(30)
        self.kills.append(f"API {why}")
        self.start_api()

    def wait_for_api(self) -> None:
        give_up = time.monotonic() + START_TIMEOUT_S
        while not _answers(self.api_url):
            assert self.api is not None
            assert self.api.poll() is None, self.log_tail("api")
            assert time.monotonic() < give_up, self.log_tail("api")
            time.sleep(0.1)

    def check_worker(self) -> None:
        """A worker that exits by itself is recorded and replaced (the test then fails)."""
        for slot, worker in enumerate(self.running):
            if worker.poll() is not None:
                self.exits.append(worker.returncode)
                self.start_worker(slot)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.data_dir / "logs" / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        for proc in (*self.running, self.api):
            if proc is None or proc.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def service(
    request: pytest.FixtureRequest, running_stack: RunningStack, tmp_path: Path
) -> Iterator[Service]:
    """Our own keys, database and configuration (generated from the session devnet's manifest
    as ``oneclick up`` does); the API on a free port and the first workers (one on SQLite,
    ``PG_WORKERS`` on PostgreSQL)."""
    data_dir = tmp_path / "service"
    data_dir.mkdir()
    port = free_port()
    config = data_dir / CONFIG_FILE
    write_atomic(config, config_toml(running_stack.devnet, api_host="127.0.0.1", api_port=port))
    env = {**os.environ, **SERVICE_ENV}
    workers = 1
    if request.param == "postgres":
        env["ONECLICK_DATABASE__URL"] = str(request.getfixturevalue("postgres_url"))
        workers = PG_WORKERS
    settings = load_settings(config, data_dir=data_dir, database=(
        {"url": env["ONECLICK_DATABASE__URL"]} if "ONECLICK_DATABASE__URL" in env else None
    ))  # fmt: skip
    keys = init_key_file(settings.key_file)
    url = database_url(settings)

    async def migrate() -> None:  # as `oneclick db upgrade` (the API and workers do not)
        db = connect_database(url)
        try:
            await upgrade(db)
        finally:
            await db.dispose()

    asyncio.run(migrate())
    svc = Service(data_dir, config, f"http://127.0.0.1:{port}", keys.manager_public_key, env,
                  url, workers)  # fmt: skip
    try:
        svc.start_api()
        svc.start_workers()
        svc.wait_for_api()
        yield svc
    finally:
        svc.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v0/tokens", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


# --- the worker's database, read-only ----------------------------------------------------------


class Db:
    """Snapshots of the service's database, read-only: SQLite (WAL: a reader never blocks the
    worker) or PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.url = url

    def rows(self, query: str) -> list[dict[str, Any]]:
        if self.url.startswith("postgresql"):
            dsn = self.url.replace("postgresql+psycopg://", "postgresql://", 1)
            with psycopg.connect(dsn, row_factory=dict_row) as conn:
                return list(conn.execute(query).fetchall())
        path = self.url.removeprefix("sqlite+aiosqlite:///")
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        connection.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in connection.execute(query)]
        finally:
            connection.close()

    def snapshot(self) -> Snapshot:
        return Snapshot(
            self.rows("SELECT id, deposit_address, status, phase FROM swaps"),
            self.rows("SELECT intent_hash, swap_id, kind, state, delivered FROM intents"),
        )


@dataclass
class Snapshot:
    swaps: list[dict[str, Any]]
    legs: list[dict[str, Any]]

    def boundaries(self) -> set[str]:
        """The step boundaries some swap is at right now."""
        by_swap: dict[str, list[dict[str, Any]]] = {}
        for leg in self.legs:
            by_swap.setdefault(leg["swap_id"], []).append(leg)
        seen: set[str] = set()
        for swap in self.swaps:
            mine = by_swap.get(swap["id"], [])
            kinds = {leg["kind"] for leg in mine}
            if swap["phase"] == "SWAP" and "SWAP" not in kinds:
                seen.add("credited, no swap intent yet")
            if swap["phase"] == "PAYOUT" and "WITHDRAW" not in kinds:
                seen.add("swap settled, no payout yet")
            for leg in mine:
                kind, state, delivered = leg["kind"], leg["state"], leg["delivered"]
                if kind == "SWAP" and state == "SIGNED":
                    seen.add("swap intent stored, not published")
                if kind == "SWAP" and state == "PUBLISHED":
                    seen.add("swap intent published, not settled")
                if kind == "WITHDRAW" and state == "SIGNED":
                    seen.add("payout stored, not published")
                if kind == "WITHDRAW" and state == "PUBLISHED":
                    seen.add("payout published, not settled")
                if kind == "WITHDRAW" and state == "SETTLED" and delivered is None:
                    seen.add("payout settled, bridge still paying")
                if kind == "REFUND" and state in ("SIGNED", "PUBLISHED"):
                    seen.add("refund stored or published")
                if kind == "REFUND" and state == "SETTLED" and delivered is None:
                    seen.add("refund settled, bridge still paying")
        return seen

    def terminal(self) -> set[str]:
        """Deposit addresses of the swaps in a final status."""
        final = ("SUCCESS", "REFUNDED", "FAILED")
        return {s["deposit_address"] for s in self.swaps if s["status"] in final}

    def finished(self, refunds: dict[str, int]) -> bool:
        """Every swap final and every expected refund delivered (``refunds``: deposit address
        -> how many)."""
        delivered = Counter(
            leg["swap_id"] for leg in self.legs
            if leg["kind"] == "REFUND" and leg["delivered"] is not None
        )  # fmt: skip
        done = self.terminal()
        return all(
            s["deposit_address"] in done
            and delivered[s["id"]] >= refunds.get(s["deposit_address"], 0)
            for s in self.swaps
        )


# --- the test ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    origin: str
    destination: str
    amount: int  # each quote's amountIn


ROUTES = {
    "evm": Route("USDC eth -> USDC arb", ETH_USDC, ARB_USDC, 20 * USDC),  # real anvil chains
    "sim": Route("BTC -> XRP", BTC, XRP, 50_000),  # simulated ledgers (no gas)
}
ROUTE_NAMES = os.environ.get("E2E_CRASH_ROUTES", "evm,sim").split(",")


@dataclass(frozen=True)
class Plan:
    route: Route
    paid: int
    short: bool  # a 20 s deadline: refunded (DEPOSIT_TOO_LOW)

    @property
    def refunds(self) -> int:
        return 0 if self.paid == self.route.amount else 1


def plan(index: int) -> Plan:
    """Swap ``index``: routes alternate; per route, most pay exactly, every 4th overpays by a
    quarter (refunded after SUCCESS), every 6th pays 3/5 with a short deadline (refunded)."""
    route = ROUTES[ROUTE_NAMES[index % len(ROUTE_NAMES)]]
    k = index // len(ROUTE_NAMES)
    if k % 6 == 5:
        return Plan(route, route.amount * 3 // 5, True)
    if k % 4 == 3:
        return Plan(route, route.amount * 5 // 4, False)
    return Plan(route, route.amount, False)


async def test_swaps_survive_worker_and_api_kills(
    running_stack: RunningStack, service: Service
) -> None:
    rng = random.Random(SEED)
    db = Db(service.database_url)
    swaps_n = SWAPS if service.worker_count == 1 else PG_SWAPS
    api = OneClickClient(service.api_url, manager_public_key=service.manager_public_key,
                         timeout=60.0)  # fmt: skip
    devnet = Devnet(running_stack.devnet, running_stack.data_dir / "devnet")
    plans = [plan(i) for i in range(swaps_n)]
    pending = list(BOUNDARIES)
    try:
        swaps = list(await asyncio.gather(*(_open(api, devnet, i, p) for i, p in enumerate(plans))))
        refunds = {s.deposit_address: p.refunds for s, p in zip(swaps, plans, strict=True)}
        t0 = time.monotonic()
        depositing = asyncio.gather(
            *(deposit(devnet, s, p.paid) for s, p in zip(swaps, plans, strict=True))
        )
        random_at = sorted(rng.uniform(0.5, 20.0) for _ in range(RANDOM_KILLS))
        api_at = sorted(rng.uniform(0.5, 15.0) for _ in range(API_KILLS))
        ended: dict[str, float] = {}
        while True:
            service.check_worker()
            snapshot = db.snapshot()
            for address in snapshot.terminal() - ended.keys():
                ended[address] = time.monotonic()
            if depositing.done():
                await depositing  # a deposit that failed fails the test now
                if snapshot.finished(refunds):
                    break
            assert time.monotonic() < t0 + FINISH_TIMEOUT_S, (
                f"not finished after {FINISH_TIMEOUT_S} s; kills {service.kills}\n"
                + service.log_tail("worker")
            )  # fmt: skip
            alive = time.monotonic() - service.worker_started > 0.5  # let it work a little
            seen = [b for b in pending if b in snapshot.boundaries()] if alive else []
            victim = rng.randrange(service.worker_count)
            if seen:
                pending.remove(seen[0])
                service.kill_worker(seen[0], victim)
            elif alive and random_at and time.monotonic() - t0 >= random_at[0]:
                service.kill_worker(f"random at {random_at.pop(0):.1f} s", victim)
            if api_at and time.monotonic() - t0 >= api_at[0]:
                service.kill_api(f"at {api_at.pop(0):.1f} s")
            await asyncio.sleep(POLL_S)
        processed_s = time.monotonic() - t0
        service.wait_for_api()  # restarted after its last kill
        for swap in swaps:
            swap.final = await api.status(swap.deposit_address, swap.memo)
            swap.finished_at = ended[swap.deposit_address]
        log = devnet.log()
        collector = await devnet.fee_collector()
        audits = [await audit(devnet, swap, log, collector=collector) for swap in swaps]
    finally:
        await api.aclose()
        await devnet.__aexit__()

    print(f"\n{swaps_n} swaps ({', '.join(ROUTE_NAMES)}) on {db.url.split(':')[0]}, "
          f"{len(service.kills)} kills ({service.workers} workers, {service.worker_count} at a "
          f"time), all finished {processed_s:.1f} s after the deposits started")  # fmt: skip
    for why in service.kills:
        print(f"  killed: {why}")
    print(f"  boundaries never seen: {pending or 'none'}")
    assert not service.exits, f"workers exited by themselves: {service.exits}"
    finals = [s.final.status if s.final else None for s in swaps]
    assert finals == ["REFUNDED" if p.short else "SUCCESS" for p in plans]
    _check_intents(log, db, audits)
    _check_totals(audits)
    for route in {p.route for p in plans}:
        took = sorted(s.seconds or 0.0 for s, p in zip(swaps, plans, strict=True)
                      if p.route == route and not p.refunds)  # fmt: skip
        median = took[len(took) // 2]
        print(f"  {route.name}: deposit -> SUCCESS (exact deposits, under kills) min "
              f"{took[0]:.1f} s, median {median:.1f} s, max {took[-1]:.1f} s")  # fmt: skip


async def _open(api: OneClickClient, devnet: Devnet, index: int, plan: Plan) -> Swap:
    route = plan.route
    recipient, refund_to = await asyncio.gather(
        devnet.address(route.destination, "crash-recipient"),
        devnet.address(route.origin, "crash-refund"),
    )
    extra = {"deadline": deadline_in(SHORT_DEADLINE)} if plan.short else {}
    return await quote(api, f"swap {index} ({route.name})", Parties(recipient, refund_to),
                       origin_asset=route.origin, destination_asset=route.destination,
                       amount=str(route.amount), **extra)  # fmt: skip


def _check_intents(log: VerifierLog, db: Db, audits: list[Audit]) -> None:
    """No intent executed twice; every intent a custody account executed was stored first, and
    the worker's record of each stored intent agrees with the verifier."""
    assert not log.duplicates(), f"executed more than once: {log.duplicates()}"
    custody = {a.account for a in audits}
    stored = {row["intent_hash"]: row for row in db.rows("SELECT intent_hash, state FROM intents")}
    executed = {e.intent_hash for e in log.executed if e.account_id in custody}
    assert executed <= stored.keys(), f"executed but never stored: {executed - stored.keys()}"
    settled = {h for h, row in stored.items() if row["state"] == "SETTLED"}
    assert settled == executed, f"stored SETTLED {settled ^ executed} disagree with the verifier"
    print(f"  intents: {len(stored)} stored, {len(executed)} executed once each, "
          f"{sum(1 for r in stored.values() if r['state'] == 'DEAD')} dead")  # fmt: skip


def _check_totals(audits: list[Audit]) -> None:
    """Per token, over all swaps: deposited = swapped + fees + refunded + left for the input,
    bought = paid out + left for the output (each swap's audit anchored its figures in the
    verifier's balances and the recipients' on-chain balances)."""
    totals: dict[str, Counter[str]] = {}
    for a in audits:
        o, d = a.origin, a.destination
        totals.setdefault(o.token, Counter()).update(
            deposited=o.deposited, swapped=o.sold + o.protocol_fee, fees=a.fees,
            refunded=o.withdrawn + sum(o.sent.values()), refunds_delivered=a.refunded,
            left=o.held,
        )  # fmt: skip
        totals.setdefault(d.token, Counter()).update(
            bought=d.bought, paid_out=d.withdrawn + sum(d.sent.values()),
            delivered=a.delivered, left=d.held,
        )  # fmt: skip
    for token, t in totals.items():
        assert t["deposited"] == t["swapped"] + t["fees"] + t["refunded"] + t["left"], (token, t)
        assert t["bought"] == t["paid_out"] + t["left"], (token, t)
        print(f"  {token}: {dict(t)}")
