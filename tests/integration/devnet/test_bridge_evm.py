"""The PoA bridge against a real anvil node (Ethereum, chain id 1): ERC-20 and native deposits
credited after the confirmation depth, a reorged deposit never credited, withdrawals paid on
chain minus the fee, an invalid address refunded, and restarts in the middle of a payout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from devnet.bridge import AFTER_BROADCAST, AFTER_RECORD, BridgeServer, PoaBridge, SimulatedCrash
from devnet.chains import ETHEREUM, NATIVE
from devnet.chains.evm import AnvilProcess, EvmChain
from devnet.verifier import Verifier
from nearintents.rpc.bridge import DepositStatus, HttpPoaBridge, WithdrawalStatus

pytestmark = pytest.mark.devnet

SEED = b"bridge-test-seed-0123456789abcdef"
USDC = ETHEREUM.tokens[0].address
USDC_TOKEN = "eth-0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48.omft.near"
ETH_TOKEN = "eth.omft.near"
DEST = "0x1111111111111111111111111111111111111111"


@pytest.fixture(scope="module")
def node() -> Iterator[AnvilProcess]:
    with AnvilProcess(ETHEREUM.evm_chain_id) as anvil:
        yield anvil


@pytest.fixture
async def chain(node: AnvilProcess) -> AsyncIterator[EvmChain]:
    """The module's anvil, put back as it was after each test (``evm_snapshot``/``evm_revert``)."""
    evm = EvmChain(ETHEREUM, node.url)
    await evm.setup()
    snapshot = await evm.snapshot()
    try:
        yield evm
    finally:
        assert await evm.revert(snapshot)
        await evm.aclose()


def open_bridge(verifier: Verifier, chain: EvmChain, data_dir: Path) -> PoaBridge:
    return PoaBridge(verifier, [chain], seed=SEED, data_dir=data_dir, confirmations={"eth:1": 3})


async def sync_until(bridge: PoaBridge, done: Callable[[], bool], limit_s: float = 15.0) -> None:
    """Run bridge passes until ``done()``: anvil mines a broadcast transaction asynchronously, so
    a payout may still be pending right after the pass that sent it."""
    async with asyncio.timeout(limit_s):
        while True:
            await bridge.sync()
            if done():
                return
            await asyncio.sleep(0.02)


def balance(verifier: Verifier, account_id: str, token: str) -> int:
    return int(verifier.view("mt_balance_of", {"account_id": account_id, "token_id": token}))


async def test_erc20_and_native_deposits_are_credited_after_the_confirmation_depth(
    chain: EvmChain, tmp_path: Path
) -> None:
    with Verifier.open(None) as verifier:
        bridge = open_bridge(verifier, chain, tmp_path)
        await bridge.sync()  # first sight: watch from here
        address = bridge.deposit_address("alice.near", "eth:1")["address"]
        assert bridge.deposit_address("alice.near", "eth:1")["address"] == address  # stable
        await chain.fund(address, USDC, 5_000_000)  # block h
        await chain.fund(address, NATIVE, 10**16)  # block h + 1
        await bridge.sync()
        assert balance(verifier, "alice.near", f"nep141:{USDC_TOKEN}") == 0

        await chain.mine(1)
        await bridge.sync()
        assert balance(verifier, "alice.near", f"nep141:{USDC_TOKEN}") == 5_000_000
        assert balance(verifier, "alice.near", f"nep141:{ETH_TOKEN}") == 0

        await chain.mine(1)
        await bridge.sync()
        assert balance(verifier, "alice.near", f"nep141:{ETH_TOKEN}") == 10**16

        async with (
            BridgeServer(bridge, run_loop=False) as server,
            HttpPoaBridge(server.url) as client,
        ):
            page = await client.recent_deposits("alice.near", chain="eth:1")
            tokens = await client.supported_tokens(["eth:1"])
        assert page.total == 2
        assert {(d.near_token_id, d.amount, d.status) for d in page.deposits} == {
            (USDC_TOKEN, 5_000_000, DepositStatus.COMPLETED),
            (ETH_TOKEN, 10**16, DepositStatus.COMPLETED),
        }
        assert all(d.mint_tx_hash and d.address == address for d in page.deposits)
        assert {t.near_token_id for t in tokens} >= {USDC_TOKEN, ETH_TOKEN}
        bridge.close()


async def test_a_deposit_below_the_minimum_is_recorded_and_not_credited(
    chain: EvmChain, tmp_path: Path
) -> None:
    with Verifier.open(None) as verifier:
        bridge = open_bridge(verifier, chain, tmp_path)
        await bridge.sync()
        address = bridge.deposit_address("bob.near", "eth:1")["address"]
        await chain.fund(address, USDC, 99_999)  # the minimum is 100_000
        await chain.mine(3)
        await bridge.sync()
        page = bridge.recent_deposits("bob.near")
        assert [d["status"] for d in page["deposits"]] == ["FAILED"]
        assert balance(verifier, "bob.near", f"nep141:{USDC_TOKEN}") == 0
        bridge.close()


async def test_a_reorged_deposit_is_never_credited(chain: EvmChain, tmp_path: Path) -> None:
    with Verifier.open(None) as verifier:
        bridge = open_bridge(verifier, chain, tmp_path)
        await bridge.sync()
        address = bridge.deposit_address("carol.near", "eth:1")["address"]
        await chain.fund(address, USDC, 7_000_000)
        await bridge.sync()
        assert [d["status"] for d in bridge.recent_deposits("carol.near")["deposits"]] == [
            "PENDING"
        ]

        await chain.reorg(1)  # anvil_reorg: the deposit's block is replaced, its tx dropped
        await chain.mine(5)
        await bridge.sync()
        await bridge.sync()
        assert balance(verifier, "carol.near", f"nep141:{USDC_TOKEN}") == 0
        assert bridge.recent_deposits("carol.near")["deposits"] == []

        # A later deposit to the same address is still seen and credited.
        await chain.fund(address, USDC, 1_000_000)
        await chain.mine(2)
        await bridge.sync()
        assert balance(verifier, "carol.near", f"nep141:{USDC_TOKEN}") == 1_000_000
        bridge.close()


async def test_a_deposit_rolled_back_before_its_confirmations_is_not_credited(
    chain: EvmChain, tmp_path: Path
) -> None:
    with Verifier.open(None) as verifier:
        bridge = open_bridge(verifier, chain, tmp_path)
        await bridge.sync()
        address = bridge.deposit_address("dave.near", "eth:1")["address"]
        await chain.fund(address, NATIVE, 10**15)
        await bridge.sync()
        await chain.rollback(1)  # anvil_rollback: the head goes below the deposit
        await chain.mine(4)
        await bridge.sync()
        await bridge.sync()
        assert balance(verifier, "dave.near", f"nep141:{ETH_TOKEN}") == 0
        bridge.close()


async def test_a_withdrawal_arrives_minus_the_fee_and_an_invalid_address_comes_back(
    chain: EvmChain, tmp_path: Path
) -> None:
    with Verifier.open(None) as verifier:
        bridge = open_bridge(verifier, chain, tmp_path)
        await bridge.fund_hot_wallets()
        verifier.deposit("erin.near", f"nep141:{USDC_TOKEN}", 5_000_000).ensure_success()

        burn = verifier.ft_withdraw(
            "erin.near", USDC_TOKEN, USDC_TOKEN, 2_000_000, memo=f"WITHDRAW_TO:{DEST}"
        ).ensure_success()
        bad = verifier.ft_withdraw(
            "erin.near", USDC_TOKEN, USDC_TOKEN, 1_000_000, memo="WITHDRAW_TO:0x1234"
        )
        assert balance(verifier, "erin.near", f"nep141:{USDC_TOKEN}") == 3_000_000

        async with (
            BridgeServer(bridge, run_loop=False) as server,
            HttpPoaBridge(server.url) as client,
        ):
            [pending] = await client.withdrawal_status(burn.hash)
            assert pending.status is WithdrawalStatus.PENDING
            await sync_until(
                bridge, lambda: bridge.withdrawal_status(burn.hash)["status"] == "COMPLETED"
            )
            [done] = await client.withdrawal_status(burn.hash)
            [rejected] = await client.withdrawal_status(bad.hash)
        assert done.status is WithdrawalStatus.COMPLETED
        assert done.data is not None
        assert done.data.withdraw_amount == 1_900_000
        assert done.data.transfer_tx_hash
        assert rejected.status is WithdrawalStatus.REJECTED
        assert await chain.balance(DEST, USDC) == 1_900_000
        assert balance(verifier, "erin.near", f"nep141:{USDC_TOKEN}") == 3_000_000
        bridge.close()


async def test_a_native_withdrawal_the_hot_wallet_cannot_pay_is_credited_back(
    chain: EvmChain, tmp_path: Path
) -> None:
    with Verifier.open(None) as verifier:
        bridge = open_bridge(verifier, chain, tmp_path)  # hot wallets left empty
        verifier.deposit("fred.near", f"nep141:{ETH_TOKEN}", 10**17).ensure_success()
        burn = verifier.ft_withdraw(
            "fred.near", ETH_TOKEN, ETH_TOKEN, 10**17, memo=f"WITHDRAW_TO:{DEST}"
        ).ensure_success()
        assert balance(verifier, "fred.near", f"nep141:{ETH_TOKEN}") == 0
        await bridge.sync()
        await bridge.sync()
        assert balance(verifier, "fred.near", f"nep141:{ETH_TOKEN}") == 10**17
        assert bridge.withdrawal_status(burn.hash)["status"] == "RETURNED"
        bridge.close()


@pytest.mark.parametrize("crash_at", [AFTER_RECORD, AFTER_BROADCAST])
async def test_a_restart_in_the_middle_of_a_payout_neither_loses_nor_duplicates_it(
    chain: EvmChain, tmp_path: Path, crash_at: str
) -> None:
    verifier_dir, bridge_dir = tmp_path / "verifier", tmp_path / "bridge"
    verifier = Verifier.open(verifier_dir)
    bridge = open_bridge(verifier, chain, bridge_dir)
    await bridge.fund_hot_wallets()
    verifier.deposit("gina.near", f"nep141:{ETH_TOKEN}", 10**17).ensure_success()
    burn = verifier.ft_withdraw(
        "gina.near", ETH_TOKEN, ETH_TOKEN, 10**16, memo=f"WITHDRAW_TO:{DEST}"
    ).ensure_success()
    before = await chain.balance(DEST, NATIVE)

    bridge.faults.crash_at.add(crash_at)
    with pytest.raises(SimulatedCrash):
        await bridge.sync()
    bridge.close()  # the process dies: both go, their files stay
    verifier.close()

    verifier = Verifier.open(verifier_dir)
    bridge = open_bridge(verifier, chain, bridge_dir)
    await sync_until(bridge, lambda: bridge.withdrawal_status(burn.hash)["status"] != "PENDING")
    status = bridge.withdrawal_status(burn.hash)
    assert status["status"] == "COMPLETED"
    assert await chain.balance(DEST, NATIVE) - before == 10**16 - 10**14
    assert balance(verifier, "gina.near", f"nep141:{ETH_TOKEN}") == 9 * 10**16
    bridge.close()
    verifier.close()
