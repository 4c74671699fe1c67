"""``quote`` over real sockets: reference solvers and a rogue one on the relay's WebSocket, the
relay's JSON-RPC driven by ``HttpSolverRelay`` (our client and our relay must agree)."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from fractions import Fraction
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from devnet.relay.testing import USDC, WNEAR, World, eventually, relay_world
from devnet.verifier.testing import Signer, token_diff
from nearintents.encoding import b58decode, b58encode
from nearintents.rpc import Quote, QuoteFailure, QuoteFailureType, QuoteRequest

pytestmark = pytest.mark.devnet

NEAR = 10**24
USDC_UNIT = 10**6
SECOND_NS = 1_000_000_000
# 1 USDC = 1/3 NEAR at the world's prices (usd-coin $1, near $3), in base units.
USDC_TO_WNEAR = Fraction(NEAR, 3 * USDC_UNIT)
FEE_PIPS = 100  # relay_world's verifier fee


def after_fee(amount: int) -> int:
    """What a negative delta of ``amount`` delivers: the contract keeps ceil(amount·fee/1e6)."""
    return amount - math.ceil(Fraction(amount * FEE_PIPS, 1_000_000))


def least_before_fee(target: int) -> int:
    """The least amount whose :func:`after_fee` reaches ``target``."""
    amount = math.ceil(Fraction(target * 1_000_000, 1_000_000 - FEE_PIPS))
    while after_fee(amount - 1) >= target:
        amount -= 1
    return amount


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with relay_world() as w:
        yield w


def exact_in(amount: int, **extra: Any) -> QuoteRequest:
    return QuoteRequest(
        defuse_asset_identifier_in=USDC,
        defuse_asset_identifier_out=WNEAR,
        exact_amount_in=amount,
        **extra,
    )


async def test_two_solvers_best_first_exact_in(world: World) -> None:
    await world.add_solver("wide", spread_bps=50, balances={WNEAR: 100 * NEAR}, named=True)
    await world.add_solver("tight", spread_bps=10, balances={WNEAR: 100 * NEAR})
    started = time.monotonic()
    quotes = await world.client.quote(exact_in(30 * USDC_UNIT, wait_ms=5_000))
    assert time.monotonic() - started < 4, "every solver answered: no need to wait the window"
    assert all(isinstance(q, Quote) for q in quotes)
    offers = [q for q in quotes if isinstance(q, Quote)]
    # The solvers were asked for what reaches them, 30 USDC less the fee; each floors what it
    # gives (10 NEAR less the spread), and the channel is told that less the fee on the NEAR.
    asked = after_fee(30 * USDC_UNIT)
    assert asked == 30 * USDC_UNIT - 3_000
    gives = [math.floor(asked * USDC_TO_WNEAR * Fraction(10_000 - s, 10_000)) for s in (10, 50)]
    assert [q.amount_out for q in offers] == [after_fee(y) for y in gives]
    assert all(q.amount_in == 30 * USDC_UNIT for q in offers)
    assert all(q.matches(exact_in(30 * USDC_UNIT)) for q in offers)
    assert offers[0].expiration_time.timestamp() == world.clock.now_ns() / SECOND_NS + 70
    assert len({q.quote_hash for q in offers}) == 2


async def test_exact_out_best_is_cheapest(world: World) -> None:
    await world.add_solver("wide", spread_bps=50, balances={WNEAR: 100 * NEAR})
    await world.add_solver("tight", spread_bps=10, balances={WNEAR: 100 * NEAR})
    request = QuoteRequest(
        defuse_asset_identifier_in=USDC,
        defuse_asset_identifier_out=WNEAR,
        exact_amount_out=NEAR,
        wait_ms=5_000,
    )
    offers = [q for q in await world.client.quote(request) if isinstance(q, Quote)]
    # The solvers were asked for the least NEAR whose net is 1 NEAR; each ceils what it wants
    # (3 USDC plus the spread), and the channel pays the least USDC whose net covers that.
    gives = least_before_fee(NEAR)
    wants = [math.ceil(gives / (USDC_TO_WNEAR * Fraction(10_000 - s, 10_000))) for s in (10, 50)]
    assert [q.amount_in for q in offers] == [least_before_fee(x) for x in wants]
    assert all(q.amount_out == NEAR for q in offers)


async def test_no_solver_gives_an_empty_answer_at_once(world: World) -> None:
    started = time.monotonic()
    assert await world.client.quote(exact_in(USDC_UNIT, wait_ms=5_000)) == []
    assert time.monotonic() - started < 2


async def test_min_wait_is_honoured_even_without_solvers(world: World) -> None:
    started = time.monotonic()
    assert await world.client.quote(exact_in(USDC_UNIT, wait_ms=2_000, min_wait_ms=300)) == []
    assert time.monotonic() - started >= 0.3


async def test_no_inventory_gives_an_empty_answer_within_the_window(world: World) -> None:
    await world.add_solver("broke", spread_bps=10, balances={})
    started = time.monotonic()
    assert await world.client.quote(exact_in(USDC_UNIT, wait_ms=400)) == []
    assert 0.4 <= time.monotonic() - started < 3


async def test_inventory_in_flight_is_reserved_until_the_quote_expires(world: World) -> None:
    solver = await world.add_solver("small", spread_bps=0, balances={WNEAR: NEAR})
    # 3 USDC gross: the solver gets 3 USDC less the fee, worth all but a little of its 1 NEAR
    request = exact_in(3 * USDC_UNIT, wait_ms=400)
    gives = math.floor(after_fee(3 * USDC_UNIT) * USDC_TO_WNEAR)
    first = await world.client.quote(request)
    assert [q.amount_out for q in first if isinstance(q, Quote)] == [after_fee(gives)]
    assert solver.inventory.reserved(WNEAR, world.clock.now_ns()) == gives
    assert solver.inventory.available(WNEAR, world.clock.now_ns()) < gives
    assert await world.client.quote(request) == [], "the NEAR is promised already"
    world.clock.advance(seconds=71)  # past the first quote's deadline
    again = await world.client.quote(request)
    assert [q.amount_out for q in again if isinstance(q, Quote)] == [after_fee(gives)]


async def test_too_small_an_amount_is_insufficient_amount(world: World) -> None:
    await world.add_solver("a", spread_bps=0, balances={USDC: 100 * USDC_UNIT})
    request = QuoteRequest(
        defuse_asset_identifier_in=WNEAR,
        defuse_asset_identifier_out=USDC,
        exact_amount_in=10**12,  # 3e-12 USD: not one base unit of USDC
        wait_ms=2_000,
    )
    answer = await world.client.quote(request)
    # The solver's least input: ceil(1 unit of USDC / (3e6 / 1e24 per yocto)) = ceil(1e18 / 3);
    # the channel's is the least whose net of the fee reaches it.
    least = least_before_fee(-(-(10**18) // 3))
    assert answer == [QuoteFailure(type=QuoteFailureType.INSUFFICIENT_AMOUNT, min_amount=least)]


# --- untrusted solvers ------------------------------------------------------------------------


class RogueSolver:
    """Answers every quote request with whatever ``forge(event_data)`` returns (params of a
    ``quote_response``) and keeps the relay's answers."""

    def __init__(self, url: str, forge: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self.url = url
        self.forge = forge
        self.answers: list[dict[str, Any]] = []
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RogueSolver:
        self._ws = await connect(self.url, open_timeout=5)
        await self._ws.send(
            json.dumps({"jsonrpc": "2.0", "id": 0, "method": "subscribe", "params": ["quote"]})
        )
        subscribed = json.loads(await asyncio.wait_for(self._ws.recv(), 5))
        assert isinstance(subscribed["result"], str)
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        assert self._ws is not None
        async for raw in self._ws:
            message = json.loads(raw)
            if message.get("method") == "event":
                params = self.forge(message["params"]["data"])
                request = {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "quote_response",
                    "params": [params],
                }
                await self._ws.send(json.dumps(request))
            elif "id" in message:
                self.answers.append(message)

    async def __aexit__(self, *exc: object) -> None:
        assert self._ws is not None
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._ws.close()


rogue = Signer.ed25519("rogue")
unregistered = Signer.ed25519("stranger", account_id="stranger.solver.near")


def _forger(world: World, mode: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def forge(event: dict[str, Any]) -> dict[str, Any]:
        amount_in = int(event["exact_amount_in"])
        amount_out = NEAR * 2  # twice what anyone honest offers: it would win if not dropped
        diff = {event["defuse_asset_identifier_in"]: amount_in, WNEAR: -amount_out}
        signer, claimed_out = rogue, amount_out
        deadline_ns = world.clock.now_ns() + 70 * SECOND_NS
        if mode == "wrong amount":
            claimed_out = amount_out + 1
        elif mode == "wrong token":
            diff = {event["defuse_asset_identifier_in"]: amount_in, "nep141:usdt.near": -amount_out}
        elif mode == "short deadline":
            deadline_ns = world.clock.now_ns() + 30 * SECOND_NS
        elif mode == "unregistered key":
            signer = unregistered
        signed = signer.sign(world.verifier, [token_diff(diff)], deadline_ns=deadline_ns)
        if mode == "bad signature":
            raw = bytearray(b58decode(signed["signature"].removeprefix("ed25519:")))
            raw[0] ^= 1
            signed["signature"] = "ed25519:" + b58encode(bytes(raw))
        return {
            "quote_id": event["quote_id"],
            "quote_output": {"amount_out": str(claimed_out)},
            "signed_data": signed,
            "other_quote_hashes": [],
        }

    return forge


@pytest.mark.parametrize(
    ("mode", "logged"),
    [
        ("wrong amount", "but the request and quote_output say"),
        ("wrong token", "token_diff is over"),
        ("bad signature", "invalid signature"),
        ("unpayable", "insufficient balance or overflow"),
        ("unregistered key", "doesn't exist for account 'stranger.solver.near'"),
        ("short deadline", "sooner than min_deadline_ms"),
    ],
)
async def test_a_rogue_quote_is_dropped_and_logged(
    world: World, caplog: pytest.LogCaptureFixture, mode: str, logged: str
) -> None:
    caplog.set_level(logging.WARNING, logger="devnet.relay")
    funded = {} if mode == "unpayable" else {WNEAR: 10 * NEAR}
    for token_id, amount in funded.items():
        world.verifier.deposit(rogue.account_id, token_id, amount).ensure_success()
        world.verifier.deposit(unregistered.account_id, token_id, amount).ensure_success()
    honest = await world.add_solver("honest", spread_bps=10, balances={WNEAR: 100 * NEAR})
    async with RogueSolver(world.relay_server.ws_url, _forger(world, mode)) as bad:
        await eventually(lambda: len(world.relay.hub.connections) == 2, what="both solvers")
        quotes = await world.client.quote(exact_in(3 * USDC_UNIT, wait_ms=5_000))
        await eventually(lambda: bool(bad.answers), what="the relay's answer to the rogue")
    assert len(quotes) == 1
    assert isinstance(quotes[0], Quote)
    assert quotes[0].amount_out < NEAR, "the honest quote, not the rogue's"
    reserved = honest.inventory.reserved(WNEAR, world.clock.now_ns())
    assert after_fee(reserved) == quotes[0].amount_out
    assert "error" in bad.answers[0]
    assert logged in bad.answers[0]["error"]["message"]
    assert any(logged in r.getMessage() for r in caplog.records), caplog.text


async def test_a_silent_or_vanishing_solver_blocks_nobody(world: World) -> None:
    await world.add_solver("honest", spread_bps=10, balances={WNEAR: 100 * NEAR})
    silent = RogueSolver(world.relay_server.ws_url, lambda event: {})
    silent._run = _never_answer(silent)  # type: ignore[method-assign]
    async with silent:
        await eventually(lambda: len(world.relay.hub.connections) == 2, what="both solvers")
        started = time.monotonic()
        quotes = await world.client.quote(exact_in(3 * USDC_UNIT, wait_ms=600))
        assert len(quotes) == 1
        assert time.monotonic() - started >= 0.6, "it waited for the silent solver's window"
        # A solver that goes away while a quote is open is no longer waited for.
        pending = asyncio.create_task(world.client.quote(exact_in(3 * USDC_UNIT, wait_ms=20_000)))
        await eventually(lambda: bool(world.relay.hub.collections), what="an open quote")
        started = time.monotonic()
        assert silent._ws is not None
        await silent._ws.close()
        assert len(await pending) == 1
        assert time.monotonic() - started < 10


def _never_answer(solver: RogueSolver) -> Callable[[], Any]:
    async def run() -> None:
        assert solver._ws is not None
        async for _ in solver._ws:
            pass

    return run
