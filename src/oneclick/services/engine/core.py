"""``advance_swap``: one step of one swap, and what its errors mean.

The error class decides (STYLE.md "Errors"): ``TemporaryError`` → retry with exponential backoff
(parked after ``max_attempts`` in a row; a peer's unreadable answer is one of these, counted
under ``oneclick_engine_peer_waits{reason="unreadable_peer_answer"}``); ``PermanentError`` → park
as ``FAILED`` (funds stay in the custody account, an operator finishes it with
``oneclick admin``); anything unexpected is
logged with its traceback and retried, then parked after ``max_unexpected``. ``RequestError``
never belongs on this path and is treated as permanent. ``LeaseLost`` ends the step silently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from oneclick.domain.engine import Phase, SwapState
from oneclick.domain.errors import OneClickError, TemporaryError
from oneclick.domain.quotes import SwapType
from oneclick.domain.swaps import SwapStatus
from oneclick.logging import bind_log_context, log_context
from oneclick.services.boundary import UnreadableAnswer
from oneclick.services.engine.any_input import step_any_input
from oneclick.services.engine.context import EngineContext
from oneclick.services.engine.deposits import step_deposit
from oneclick.services.engine.payouts import step_payout
from oneclick.services.engine.refunds import step_refund, step_sweep
from oneclick.services.engine.swapping import step_swap
from oneclick.services.engine.unit import StepStore
from oneclick.services.ports import Apply, LeaseLost

logger = logging.getLogger(__name__)

Step = Callable[[EngineContext, SwapState], Awaitable[datetime | None]]
STEPS: dict[Phase, Step] = {
    Phase.DEPOSIT: step_deposit,
    Phase.SWAP: step_swap,
    Phase.PAYOUT: step_payout,
    Phase.REFUND: step_refund,
    Phase.SWEEP: step_sweep,
}


@dataclass(frozen=True, slots=True)
class StepResult:
    """What the worker writes back when it releases the swap."""

    next_run_at: datetime | None
    attempts: int
    last_error: str | None
    outcome: str  # ok | retry | parked | idle
    apply: Apply | None = None  # the step's writes, to land with the release (one transaction)


def _backoff(ctx: EngineContext, attempts: int) -> datetime:
    delay: timedelta = ctx.policy.backoff_base * (2 ** min(attempts - 1, 20))
    return ctx.clock.now() + min(delay, ctx.policy.backoff_max)


def report_if_stuck(ctx: EngineContext, swap: SwapState) -> None:
    """Past the request deadline plus grace and still not finished: say so, every time."""
    if swap.status is SwapStatus.PENDING_DEPOSIT:
        return  # nothing was ever seen: an abandoned quote, it expires silently
    if swap.status.is_terminal and swap.status is not SwapStatus.FAILED:
        return
    if ctx.clock.now() <= swap.request_deadline + ctx.policy.stuck_grace:
        return
    ctx.metrics.stuck(swap.id, swap.status.value)
    logger.warning(
        "swap is past its deadline and grace: %s in %s (%s)",
        swap.status.value,
        swap.phase.value,
        swap.last_error or "no error",
        extra={"action": "stuck", "swap_id": swap.id, "deposit_address": swap.deposit_address},
    )


async def park(ctx: EngineContext, unit: StepStore, swap: SwapState, reason: str) -> StepResult:
    """``FAILED`` (or, for a finished swap whose sweep fails, its terminal status kept), no
    further runs, the reason kept in ``last_error``; funds stay where they are. The write lands
    with the release, like a step's."""
    now = ctx.clock.now()
    async with unit.transaction() as tx:
        current = await tx.swaps.fence(swap.id, ctx.owner, now)
        if not current.status.is_terminal:
            current.move_to(SwapStatus.FAILED)
            await tx.swaps.save(current, now)
    ctx.metrics.parked(current.phase.value)
    logger.error(
        "swap parked in %s: %s",
        current.phase.value,
        reason,
        extra={"action": "park", "swap_id": swap.id, "deposit_address": swap.deposit_address},
    )
    return StepResult(None, swap.attempts + 1, reason, "parked", unit.take())


async def advance_swap(ctx: EngineContext, unit: StepStore) -> StepResult:
    """One step of ``unit.swap`` (as claimed), whose lease ``ctx.owner`` holds. Its writes
    come back in the result, to be written with the release (the unit writes them earlier at a
    commit point: a signed intent stored before it is published). Every line it logs carries
    the swap's id, deposit address and phase."""
    with log_context(swap_id=unit.swap.id):
        return await _advance(replace(ctx, store=unit), unit, unit.swap)


def _is_any_input(swap: SwapState) -> bool:
    return swap.swap_type is SwapType.ANY_INPUT and swap.phase is not Phase.DONE


async def _advance(ctx: EngineContext, unit: StepStore, swap: SwapState) -> StepResult:
    bind_log_context(deposit_address=swap.deposit_address, phase=swap.phase.value)
    report_if_stuck(ctx, swap)
    step = step_any_input if _is_any_input(swap) else STEPS.get(swap.phase)
    if step is None or swap.status is SwapStatus.FAILED:
        return StepResult(None, 0, swap.last_error, "idle")
    started = time.monotonic()  # step latency for metrics only; the engine's time is ctx.clock
    try:
        next_run_at = await step(ctx, swap)
    except LeaseLost:
        raise
    except TemporaryError as exc:
        attempts = swap.attempts + 1
        ctx.metrics.step(swap.phase.value, "retry")
        if isinstance(exc, UnreadableAnswer):
            ctx.metrics.waiting("unreadable_peer_answer")
        logger.warning(
            "step failed (attempt %d): %s", attempts, exc.message,
            extra={"action": swap.phase.value.lower(), "swap_id": swap.id},
        )  # fmt: skip
        if attempts >= ctx.policy.max_attempts:
            return await park(ctx, unit, swap, f"gave up after {attempts} attempts: {exc.message}")
        return StepResult(_backoff(ctx, attempts), attempts, exc.message, "retry", unit.take())
    except OneClickError as exc:  # PermanentError, and RequestError that has no place here
        ctx.metrics.step(swap.phase.value, "parked")
        return await park(ctx, unit, swap, exc.message)
    except Exception as exc:  # the loop top: logged with the swap id, ending in retry or park
        attempts = swap.attempts + 1
        ctx.metrics.step(swap.phase.value, "error")
        logger.exception(
            "unexpected error in a step (attempt %d)", attempts,
            extra={"action": swap.phase.value.lower(), "swap_id": swap.id},
        )  # fmt: skip
        message = f"{type(exc).__name__}: {exc}"
        if attempts >= ctx.policy.max_unexpected:
            return await park(ctx, unit, swap, message)
        return StepResult(_backoff(ctx, attempts), attempts, message, "retry", unit.take())
    ctx.metrics.step(swap.phase.value, "ok")
    ctx.metrics.step_duration(swap.phase.value, time.monotonic() - started)
    return StepResult(next_run_at, 0, None, "ok", unit.take())
