"""The bridge's credits are exactly once across a crash: a deposit credited by the verifier but
not recorded by the bridge (still ``CREDITING``), and a credit-back in the same spot (still
``RETURNING``), are finished on restart without a second mint. On the simulated Bitcoin chain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devnet.bridge import AFTER_CREDIT, PoaBridge, SimulatedCrash
from devnet.bridge.deposits import CREDITING, credit_key
from devnet.bridge.store import BridgeStore, DepositRow, WithdrawalRow
from devnet.bridge.withdrawals import RETURN_DUE, RETURNED, RETURNING, return_key
from devnet.chains import NATIVE
from devnet.chains.sim import BitcoinChain
from devnet.verifier import Verifier

SEED = b"bridge-recovery-seed"
USER_SEED = b"bridge-recovery-users"
BTC = "nep141:btc.omft.near"
BTC_DEST = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"


@pytest.fixture
async def btc(tmp_path: Path) -> AsyncIterator[BitcoinChain]:
    chain = BitcoinChain(path=tmp_path / "btc.sqlite3")
    try:
        yield chain
    finally:
        await chain.aclose()


def mints(verifier: Verifier, method: str) -> int:
    """Transactions of ``method`` committed by the verifier (each one is a mint)."""
    return sum(1 for raw in verifier.dump().get("tx", {}).values() if f'"{method}"' in raw)


def on_disk(bridge_dir: Path) -> tuple[list[DepositRow], list[WithdrawalRow]]:
    """What the crashed bridge left in its store."""
    store = BridgeStore(bridge_dir)
    try:
        return store.deposits()[0], store.withdrawals()
    finally:
        store.close()


async def crash_in(bridge: PoaBridge) -> None:
    bridge.faults.crash_at.add(AFTER_CREDIT)
    with pytest.raises(SimulatedCrash):
        await bridge.sync()
    bridge.close()  # the process dies here: nothing after the crash point ran


async def test_a_deposit_credited_before_a_crash_is_minted_once(
    btc: BitcoinChain, tmp_path: Path
) -> None:
    verifier_dir, bridge_dir = tmp_path / "verifier", tmp_path / "bridge"
    verifier = Verifier.open(verifier_dir)
    bridge = PoaBridge(verifier, [btc], seed=SEED, data_dir=bridge_dir)
    await bridge.sync()
    address = bridge.deposit_address("alice.near", "btc:mainnet")["address"]
    user = btc.wallet(USER_SEED, "alice")
    await btc.fund(user.address, NATIVE, 100_000)
    tx = await btc.send(user, address, NATIVE, 60_000)
    await btc.mine(1)  # two confirmations

    await crash_in(bridge)
    [row], _ = on_disk(bridge_dir)
    assert (row.tx_hash, row.status, row.mint_tx_hash) == (tx, CREDITING, None)
    minted = verifier.tx_for_idempotency_key(credit_key(row))
    assert minted is not None
    assert minted.succeeded  # the mint committed; the bridge never learnt of it
    verifier.close()

    verifier = Verifier.open(verifier_dir)
    bridge = PoaBridge(verifier, [btc], seed=SEED, data_dir=bridge_dir)
    await bridge.sync()
    [deposit] = bridge.recent_deposits("alice.near")["deposits"]
    assert (deposit["status"], deposit["mint_tx_hash"]) == ("COMPLETED", minted.hash)
    assert verifier.mt_balance_of("alice.near", BTC) == 60_000
    assert mints(verifier, "ft_on_transfer") == 1
    await bridge.sync()  # and nothing more later
    assert verifier.mt_balance_of("alice.near", BTC) == 60_000
    bridge.close()
    verifier.close()


async def test_a_credit_back_done_before_a_crash_is_minted_once(
    btc: BitcoinChain, tmp_path: Path
) -> None:
    verifier_dir, bridge_dir = tmp_path / "verifier", tmp_path / "bridge"
    verifier = Verifier.open(verifier_dir)
    bridge = PoaBridge(verifier, [btc], seed=SEED, data_dir=bridge_dir)  # hot wallet left empty
    verifier.deposit("bob.near", BTC, 50_000).ensure_success()
    burn = verifier.ft_withdraw(
        "bob.near", "btc.omft.near", "btc.omft.near", 50_000, memo=f"WITHDRAW_TO:{BTC_DEST}"
    ).ensure_success()
    await bridge.sync()  # the hot wallet cannot pay: due to be returned
    [row] = bridge.store.withdrawals()
    assert row.state == RETURN_DUE
    assert verifier.mt_balance_of("bob.near", BTC) == 0

    await crash_in(bridge)
    assert [w.state for w in on_disk(bridge_dir)[1]] == [RETURNING]
    returned = verifier.tx_for_idempotency_key(return_key(row.payout_id))
    assert returned is not None
    assert returned.succeeded
    assert verifier.mt_balance_of("bob.near", BTC) == 50_000
    verifier.close()

    verifier = Verifier.open(verifier_dir)
    bridge = PoaBridge(verifier, [btc], seed=SEED, data_dir=bridge_dir)
    await bridge.sync()
    assert [w.state for w in bridge.store.withdrawals()] == [RETURNED]
    assert bridge.withdrawal_status(burn.hash)["status"] == "RETURNED"
    assert verifier.mt_balance_of("bob.near", BTC) == 50_000
    assert mints(verifier, "ft_on_transfer") == 2  # the deposit and one credit-back
    bridge.close()
    verifier.close()
