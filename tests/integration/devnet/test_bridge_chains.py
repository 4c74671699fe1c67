"""The PoA bridge end to end on the non-EVM chains: Bitcoin (simulated), the XRP-style memo chain
(simulated; a shared address and a destination tag per account) and Solana (LiteSVM)."""

from __future__ import annotations

from pathlib import Path

from devnet.bridge import PoaBridge
from devnet.chains import NATIVE
from devnet.chains.sim import BitcoinChain, XrpChain
from devnet.chains.solana import USDC_MINT, SolanaChain
from devnet.verifier import Verifier
from nearintents.rpc.bridge import DepositMode

SEED = b"bridge-chains-test-seed"
USER_SEED = b"users-of-the-devnet"
BTC_DEST = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
SOL_USDC = "sol-5ce3bf3a31af18be40ba30f721101b4341690186.omft.near"


def balance(verifier: Verifier, account_id: str, token: str) -> int:
    return int(verifier.view("mt_balance_of", {"account_id": account_id, "token_id": token}))


async def test_bitcoin_deposit_and_withdrawal(tmp_path: Path) -> None:
    btc = BitcoinChain(path=tmp_path / "btc.sqlite3")
    with Verifier.open(None) as verifier:
        bridge = PoaBridge(verifier, [btc], seed=SEED, data_dir=tmp_path / "bridge")
        await bridge.fund_hot_wallets()
        await bridge.sync()
        address = bridge.deposit_address("alice.near", "btc:mainnet")["address"]
        assert address.startswith("bc1q")
        user = btc.wallet(USER_SEED, "alice")
        await btc.fund(user.address, NATIVE, 100_000)
        tx = await btc.send(user, address, NATIVE, 50_000)
        assert len(tx) == 64
        await bridge.sync()
        assert balance(verifier, "alice.near", "nep141:btc.omft.near") == 0  # 1 of 2 blocks
        await btc.mine(1)
        await bridge.sync()
        assert balance(verifier, "alice.near", "nep141:btc.omft.near") == 50_000
        [deposit] = bridge.recent_deposits("alice.near")["deposits"]
        assert (deposit["tx_hash"], deposit["status"], deposit["from"]) == (
            tx,
            "COMPLETED",
            user.address,
        )

        burn = verifier.ft_withdraw(
            "alice.near", "btc.omft.near", "btc.omft.near", 30_000, memo=f"WITHDRAW_TO:{BTC_DEST}"
        ).ensure_success()
        await bridge.sync()
        assert bridge.withdrawal_status(burn.hash)["status"] == "COMPLETED"
        assert await btc.balance(BTC_DEST, NATIVE) == 28_000  # minus the 2_000 sat fee
        bridge.close()
    await btc.aclose()


async def test_memo_chain_routes_deposits_by_memo_and_records_unknown_ones(
    tmp_path: Path,
) -> None:
    xrp = XrpChain(path=tmp_path / "xrp.sqlite3")
    with Verifier.open(None) as verifier:
        bridge = PoaBridge(verifier, [xrp], seed=SEED, data_dir=tmp_path / "bridge")
        await bridge.fund_hot_wallets()
        await bridge.sync()
        alice = bridge.deposit_address("alice.near", "xrp:mainnet", DepositMode.MEMO)
        bob = bridge.deposit_address("bob.near", "xrp:mainnet")
        assert alice["address"] == bob["address"]
        assert alice["memo"] != bob["memo"]
        assert bridge.deposit_address("alice.near", "xrp:mainnet") == alice

        payer = xrp.wallet(USER_SEED, "payer")
        await xrp.fund(payer.address, NATIVE, 10_000_000)
        await xrp.send(payer, alice["address"], NATIVE, 2_000_000, alice["memo"])
        await xrp.send(payer, bob["address"], NATIVE, 3_000_000, bob["memo"])
        await xrp.send(payer, bob["address"], NATIVE, 1_000_000, "4242")  # nobody's tag
        await xrp.send(payer, bob["address"], NATIVE, 1_000_000)  # no tag at all
        await bridge.sync()
        assert balance(verifier, "alice.near", "nep141:xrp.omft.near") == 2_000_000
        assert balance(verifier, "bob.near", "nep141:xrp.omft.near") == 3_000_000
        unrouted = [d for d in bridge.all_deposits("xrp:mainnet") if d["status"] == "FAILED"]
        assert sorted(d["memo"] or "" for d in unrouted) == ["", "4242"]

        # A withdrawal with a destination tag: WITHDRAW_TO:<address>:<tag>.
        dest = xrp.wallet(USER_SEED, "exchange").address
        burn = verifier.ft_withdraw(
            "bob.near", "xrp.omft.near", "xrp.omft.near", 2_000_000, memo=f"WITHDRAW_TO:{dest}:77"
        ).ensure_success()
        await bridge.sync()
        assert bridge.withdrawal_status(burn.hash)["status"] == "COMPLETED"
        assert await xrp.balance(dest, NATIVE) == 1_900_000
        [paid] = await xrp.transfers([dest], 0, await xrp.head())
        assert paid.memo == "77"

        bad = verifier.ft_withdraw(
            "bob.near", "xrp.omft.near", "xrp.omft.near", 1_000_000, memo=f"WITHDRAW_TO:{dest}:x"
        )
        assert bridge.withdrawal_status(bad.hash)["status"] == "REJECTED"
        assert balance(verifier, "bob.near", "nep141:xrp.omft.near") == 1_000_000
        bridge.close()
    await xrp.aclose()


async def test_solana_sol_and_spl_deposits_and_withdrawals(tmp_path: Path) -> None:
    sol = SolanaChain(path=tmp_path / "sol.sqlite3")
    with Verifier.open(None) as verifier:
        bridge = PoaBridge(verifier, [sol], seed=SEED, data_dir=tmp_path / "bridge")
        await bridge.fund_hot_wallets()
        await bridge.sync()
        address = bridge.deposit_address("alice.near", "sol:mainnet")["address"]
        user = sol.wallet(USER_SEED, "alice")
        await sol.fund(user.address, NATIVE, 2 * 10**9)
        await sol.fund(user.address, USDC_MINT, 10_000_000)
        await sol.send(user, address, NATIVE, 10**9)
        await sol.send(user, address, USDC_MINT, 4_000_000)
        await bridge.sync()
        assert balance(verifier, "alice.near", "nep141:sol.omft.near") == 10**9
        assert balance(verifier, "alice.near", f"nep141:{SOL_USDC}") == 4_000_000

        dest = sol.wallet(USER_SEED, "cold").address
        burns = [
            verifier.ft_withdraw(
                "alice.near", token, token, amount, memo=f"WITHDRAW_TO:{dest}"
            ).ensure_success()
            for token, amount in (("sol.omft.near", 5 * 10**8), (SOL_USDC, 3_000_000))
        ]
        await bridge.sync()
        assert [bridge.withdrawal_status(b.hash)["status"] for b in burns] == ["COMPLETED"] * 2
        assert await sol.balance(dest, NATIVE) == 5 * 10**8 - 100_000
        assert await sol.balance(dest, USDC_MINT) == 2_900_000
        bridge.close()
    await sol.aclose()


async def test_bridge_state_survives_a_restart(tmp_path: Path) -> None:
    btc = BitcoinChain(path=tmp_path / "btc.sqlite3")
    with Verifier.open(None) as verifier:
        bridge = PoaBridge(verifier, [btc], seed=SEED, data_dir=tmp_path / "bridge")
        await bridge.sync()
        address = bridge.deposit_address("alice.near", "btc:mainnet")["address"]
        await btc.fund(address, NATIVE, 10_000)
        await bridge.sync()
        bridge.close()

        again = PoaBridge(verifier, [btc], seed=SEED, data_dir=tmp_path / "bridge")
        await btc.mine(1)
        await again.sync()
        assert balance(verifier, "alice.near", "nep141:btc.omft.near") == 10_000
        assert again.deposit_address("alice.near", "btc:mainnet")["address"] == address
        again.close()
    await btc.aclose()
