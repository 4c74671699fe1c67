"""EVM chains on real anvil processes: start/stop with reaping, ``--state`` persistence, no
anvil outliving a parent killed outright, the tokens at their mainnet addresses, transfer
detection, re-broadcast safety and address rules."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from devnet.chains import ARBITRUM, NATIVE, InvalidAddress, TxExpired, TxState
from devnet.chains.evm import AnvilProcess, EvmChain, validate_evm_address

pytestmark = pytest.mark.devnet

SEED = b"evm-chain-tests"
USDT = ARBITRUM.tokens[1].address


@pytest.fixture(scope="module")
def node() -> Iterator[AnvilProcess]:
    with AnvilProcess(ARBITRUM.evm_chain_id) as anvil:
        yield anvil


@pytest.fixture
async def chain(node: AnvilProcess) -> AsyncIterator[EvmChain]:
    evm = EvmChain(ARBITRUM, node.url)
    await evm.setup()
    snapshot = await evm.snapshot()
    try:
        yield evm
    finally:
        assert await evm.revert(snapshot)
        await evm.aclose()


def test_address_rules() -> None:
    lower = "0xfd086bc7cd5c481dcc9c85ebe478a1c0b69fcbb9"
    assert validate_evm_address(lower) == USDT
    assert validate_evm_address(USDT) == USDT
    for bad in (USDT.replace("F", "f", 1).replace("d", "D", 1), "0x12", lower[2:], ""):
        with pytest.raises(InvalidAddress):
            validate_evm_address(bad)


async def test_chain_id_tokens_and_transfers(chain: EvmChain) -> None:
    assert int(await chain.call("eth_chainId"), 16) == 42161
    alice, bob = chain.wallet(SEED, "alice"), chain.wallet(SEED, "bob")
    assert alice == chain.wallet(SEED, "alice")
    start = await chain.head()
    await chain.fund(alice.address, NATIVE, 10**18)
    await chain.fund(alice.address, USDT, 9_000_000)
    sent = await chain.send(alice, bob.address, USDT, 4_000_000)
    paid = await chain.send(alice, bob.address, NATIVE, 10**17)
    found = await chain.transfers([bob.address.lower()], start + 1, await chain.head())
    assert [(t.tx_hash, t.asset, t.sender, t.receiver, t.amount) for t in found] == [
        (sent, USDT, alice.address, bob.address, 4_000_000),
        (paid, NATIVE, alice.address, bob.address, 10**17),
    ]
    for transfer in found:
        assert transfer.block_hash == await chain.block_hash(transfer.block_height)
    assert await chain.balance(bob.address, USDT) == 4_000_000


async def test_back_to_back_sends_do_not_compound_the_gas_price(chain: EvmChain) -> None:
    alice, bob = chain.wallet(SEED, "gas-alice"), chain.wallet(SEED, "gas-bob")
    await chain.fund(alice.address, NATIVE, 10**18)
    before = await chain.balance(alice.address, NATIVE)
    for _ in range(20):
        await chain.send(alice, bob.address, NATIVE, 1)
    spent_on_gas = before - await chain.balance(alice.address, NATIVE) - 20
    # 20 plain transfers at a few gwei cost well under 0.01 ETH; a price that doubles per send
    # would cost 21,000 x 2**20 gwei and more.
    assert spent_on_gas < 10**16


async def test_a_stored_transaction_lands_once_and_expires_when_its_nonce_is_taken(
    chain: EvmChain,
) -> None:
    hot, dest = chain.wallet(SEED, "hot"), chain.wallet(SEED, "dest")
    await chain.fund(hot.address, NATIVE, 10**18)
    prepared = await chain.prepare(hot, dest.address, NATIVE, 10**15, None, key="p1")
    await chain.broadcast(prepared)
    await chain.broadcast(prepared)  # again: harmless
    assert (await chain.wait_included(prepared.tx_hash)).state is TxState.INCLUDED
    await chain.broadcast(prepared)  # and after its block too
    assert await chain.balance(dest.address, NATIVE) == 10**15

    stale = await chain.prepare(hot, dest.address, NATIVE, 10**15, None, key="p2")
    await chain.send(hot, dest.address, NATIVE, 1)  # takes the same nonce
    with pytest.raises(TxExpired):
        await chain.broadcast(stale)
    assert await chain.balance(dest.address, NATIVE) == 10**15 + 1


async def test_anvil_state_survives_a_restart_and_the_process_is_reaped(tmp_path: Path) -> None:
    state = tmp_path / "anvil-42161.json"
    anvil = AnvilProcess(42161, state_path=state)
    await anvil.astart()
    pid = anvil.pid or 0
    try:
        chain = EvmChain(ARBITRUM, anvil.url)
        await chain.setup()
        alice = chain.wallet(SEED, "alice")
        await chain.fund(alice.address, USDT, 123)
        await chain.aclose()
    finally:
        await anvil.astop()
    assert not anvil.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert state.exists()

    async with AnvilProcess(42161, state_path=state) as again:
        chain = EvmChain(ARBITRUM, again.url)
        await chain.setup()  # finds the token in place
        assert await chain.balance(alice.address, USDT) == 123
        await chain.aclose()


# Starts anvil, says its pid, then waits to be killed.
_PARENT = """
import sys
from devnet.chains.evm.anvil import AnvilProcess
node = AnvilProcess(42161, state_path=sys.argv[1], log_dir=sys.argv[2])
node.start()
print(node.pid, flush=True)
sys.stdin.read()
"""


def _running(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (dead, waiting for init to reap it) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_anvil_does_not_outlive_a_parent_killed_outright(tmp_path: Path) -> None:
    state = tmp_path / "anvil-42161.json"
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, str(state), str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    anvil_pid: int | None = None
    try:
        assert parent.stdout is not None
        ready, _, _ = select.select([parent.stdout], [], [], 60)
        assert ready, "the parent did not start anvil in time"
        anvil_pid = int(parent.stdout.readline())
        assert _running(anvil_pid)

        parent.kill()  # SIGKILL: no stop(), no finalizer, no atexit
        parent.wait(timeout=10)
        deadline = time.monotonic() + 20
        while _running(anvil_pid):
            assert time.monotonic() < deadline, "anvil outlived its parent"
            time.sleep(0.02)
        assert not _running(anvil_pid)
        assert state.exists(), "it got SIGINT, its clean stop, so it dumped its state"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for pipe in (parent.stdin, parent.stdout):
            if pipe is not None:
                pipe.close()
        if anvil_pid is not None and _running(anvil_pid):
            os.kill(anvil_pid, signal.SIGKILL)  # the fix failed: leave no orphan behind
