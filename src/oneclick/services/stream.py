"""``follow_status``: a swap's status changes as they happen, read from the transition log.

Each process polls the log by the swap's own sequence (an indexed read of a few rows), so a
change made by any worker or API process on a shared PostgreSQL reaches every stream, and a
reconnecting client resumes after the last sequence it saw without a gap or a repeat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from oneclick.domain.swaps import SwapStatus
from oneclick.domain.transitions import Transition
from oneclick.services.context import ServiceContext
from oneclick.services.status import StatusReport, get_status, status_report


@dataclass(frozen=True, slots=True)
class StreamPolicy:
    """Operational pacing of a stream (wall-clock seconds, not the engine's clock)."""

    poll_s: float = 0.5  # how soon a change made by another process is seen
    heartbeat_s: float = 15.0  # below the idle timeouts of common proxies (nginx: 60 s)
    grace_s: float = 10.0  # after a terminal status: an operator's reopen still reaches clients
    max_s: float = 3600.0  # then the client reconnects with Last-Event-ID (bounded resources)


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """One status change and the swap's status report as sent (``status`` is the change's
    target; the details are what is known when the event is sent)."""

    transition: Transition
    report: StatusReport


class Heartbeat:
    """Nothing happened: a comment line keeps proxies from closing the stream."""


HEARTBEAT = Heartbeat()


@dataclass(frozen=True, slots=True)
class StreamStart:
    swap_id: str
    status: SwapStatus
    finished: bool  # terminal long ago and nothing left to replay: nothing will ever come


async def open_stream(
    ctx: ServiceContext, address: str, memo: str | None, *, after_seq: int
) -> StreamStart:
    """The swap to follow (``NotFound`` before any byte is streamed)."""
    swap = await get_status(ctx, address, memo)
    async with ctx.store.transaction() as tx:
        missed = await tx.swaps.transitions(swap.id, after_seq=after_seq)
    finished = swap.status.is_terminal and not missed and after_seq > 0
    return StreamStart(swap.id, swap.status, finished)


async def follow_status(
    ctx: ServiceContext,
    start: StreamStart,
    address: str,
    memo: str | None,
    *,
    after_seq: int,
    policy: StreamPolicy,
) -> AsyncIterator[StatusEvent | Heartbeat]:
    """Every transition after ``after_seq`` in order, then new ones as they are logged, with
    heartbeats while idle; ends ``grace_s`` after a terminal status (or after ``max_s``)."""
    loop = asyncio.get_running_loop()
    started = last_sent = loop.time()
    terminal_since: float | None = None
    current, seq = start.status, after_seq
    while True:
        async with ctx.store.transaction() as tx:
            news = await tx.swaps.transitions(start.swap_id, after_seq=seq)
        if news:
            report = await status_report(ctx, address, memo)
            for change in news:
                yield StatusEvent(change, report)
                seq, current = change.seq, change.to_status
            last_sent = loop.time()
        now = loop.time()
        if current.is_terminal:
            terminal_since = terminal_since if terminal_since is not None else now
            if now - terminal_since >= policy.grace_s:
                return
        else:
            terminal_since = None
        if now - started >= policy.max_s:
            return
        if now - last_sent >= policy.heartbeat_s:
            yield HEARTBEAT
            last_sent = now
        await asyncio.sleep(policy.poll_s)
