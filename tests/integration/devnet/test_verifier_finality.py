"""The devnet's NEAR RPC where mainnet differs from a node built to agree with us: ``final``
trails ``optimistic`` by ``finality_lag`` blocks (views and ``block`` at ``final`` see the state
of the final block; ``tx`` says EXECUTED_OPTIMISTIC until then), and the verifier's garbage
collector clears used nonces after their deadline, so only the transaction's outcome still
proves that an intent executed."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from devnet.verifier import DEFAULT_RELAYER, ManualClock, RpcServer, Verifier, VerifierConfig
from devnet.verifier.testing import SECOND_NS, Signer, transfer
from nearintents import signing
from nearintents.encoding import b64encode
from nearintents.nonce import fresh_versioned_nonce
from nearintents.rpc import Finality, HttpNearRpc, TxExecutionStatus, VerifierViews

USDC = "nep141:usdc.near"
alice = Signer.ed25519("alice")
bob = Signer.ed25519("bob")

pytestmark = pytest.mark.devnet


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2030, 1, 1, tzinfo=UTC))


@pytest.fixture
def verifier(clock: ManualClock) -> Iterator[Verifier]:
    with Verifier.open(clock=clock, config=VerifierConfig(fee=0)) as v:
        v.finality_lag = 2
        yield v


@pytest.fixture
async def url(verifier: Verifier) -> AsyncIterator[str]:
    async with RpcServer(verifier) as server:
        yield server.url


@pytest.fixture
async def rpc(url: str) -> AsyncIterator[HttpNearRpc]:
    async with HttpNearRpc(url, timeout=5) as client:
        yield client


async def _post(url: str, method: str, params: dict[str, Any]) -> Any:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        )
    return answer.json()["result"]


async def _next_block(clock: ManualClock, url: str) -> None:
    """A block time passes; the node produces an (empty) block when next asked."""
    clock.advance(seconds=1)
    await _post(url, "status", {})


async def test_final_views_trail_optimistic_until_blocks_pass(
    verifier: Verifier, clock: ManualClock, rpc: HttpNearRpc, url: str
) -> None:
    final = VerifierViews(rpc)
    optimistic = VerifierViews(rpc, finality=Finality.OPTIMISTIC)
    deposit = verifier.deposit(alice.account_id, USDC, 1_000).ensure_success()
    assert await optimistic.mt_balance_of(alice.account_id, USDC) == 1_000
    assert await final.mt_balance_of(alice.account_id, USDC) == 0  # not final yet
    outcome = await rpc.tx_status(deposit.hash, deposit.signer_id)
    assert outcome.final_execution_status is TxExecutionStatus.EXECUTED_OPTIMISTIC
    await _next_block(clock, url)
    assert await final.mt_balance_of(alice.account_id, USDC) == 0  # one block is not enough
    await _next_block(clock, url)
    assert await final.mt_balance_of(alice.account_id, USDC) == 1_000
    outcome = await rpc.tx_status(deposit.hash, deposit.signer_id)
    assert outcome.final_execution_status is TxExecutionStatus.FINAL

    final_block = await _post(url, "block", {"finality": "final"})
    head_block = await _post(url, "block", {"finality": "optimistic"})
    assert head_block["header"]["height"] - final_block["header"]["height"] == 2


async def test_an_executed_intent_is_told_by_its_tx_after_its_nonce_is_collected(
    verifier: Verifier, clock: ManualClock, rpc: HttpNearRpc, url: str
) -> None:
    verifier.deposit(alice.account_id, USDC, 1_000).ensure_success()
    salt = bytes.fromhex(verifier.current_salt())
    nonce = fresh_versioned_nonce(salt, clock.now_ns() + 61 * SECOND_NS)
    signed = alice.sign(verifier, [transfer(bob.account_id, {USDC: 10})], nonce=nonce)
    ours = signing.intent_hash(signed)
    record = verifier.execute_intents([signed]).ensure_success()
    assert record.signer_id == DEFAULT_RELAYER
    views = VerifierViews(rpc, relayer_account_id=DEFAULT_RELAYER)
    assert await views.executed_in(record.hash, ours) is None  # not final yet
    assert not await views.is_nonce_used(alice.account_id, nonce)  # nor at `final`
    for _ in range(2):
        await _next_block(clock, url)
    assert await views.is_nonce_used(alice.account_id, nonce)
    assert await views.executed_in(record.hash, ours) is True

    clock.advance(seconds=62)  # past the nonce's deadline: the collector may clean it
    assert verifier.collect_garbage() is not None
    for _ in range(3):
        await _next_block(clock, url)
    assert not await views.is_nonce_used(alice.account_id, nonce)  # used, yet reads unused
    assert await views.executed_in(record.hash, ours) is True  # the outcome still tells
    other = "8LKE47o44ybZQR9ozLyDnvMDTh4Ao5ipy2mJWsYByG5Q"
    assert await views.executed_in(record.hash, other) is False
    assert await VerifierViews(rpc).executed_in(record.hash, ours) is None  # no relayer known


async def test_the_devnet_keeps_making_blocks_and_collecting_nonces(
    verifier: Verifier, clock: ManualClock
) -> None:
    """``python -m devnet``'s NEAR task: blocks keep coming without traffic (so ``final``
    catches up), and the garbage collector clears expired nonces."""
    import asyncio

    from devnet.supervisor import _near_forever

    verifier.deposit(alice.account_id, USDC, 1_000).ensure_success()
    salt = bytes.fromhex(verifier.current_salt())
    nonce = fresh_versioned_nonce(salt, clock.now_ns() + 61 * SECOND_NS)
    signed = alice.sign(verifier, [transfer(bob.account_id, {USDC: 10})], nonce=nonce)
    verifier.execute_intents([signed]).ensure_success()
    start = verifier.head_block().height
    task = asyncio.create_task(_near_forever(verifier, 0.01, 0.01))
    try:
        async with asyncio.timeout(15):
            while verifier.final_block().height <= start:
                clock.advance(seconds=1)
                await asyncio.sleep(0.02)
            assert verifier.is_nonce_used(alice.account_id, b64encode(nonce))
            clock.advance(seconds=62)
            while verifier.is_nonce_used(alice.account_id, b64encode(nonce)):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
