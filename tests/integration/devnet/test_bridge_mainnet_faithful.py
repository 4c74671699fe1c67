"""The devnet bridge where mainnet differs from a bridge built to agree with us: a burn is unknown
to ``withdrawal_status`` ("Withdrawals not found", a bare-string JSON-RPC error) until the
bridge has indexed it, and a payout memo built by the service for an XRP X-address reaches the
memo chain with its destination tag."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from devnet.bridge import PoaBridge
from devnet.bridge.rpc import BridgeServer
from devnet.chains import NATIVE
from devnet.chains.sim import BitcoinChain, XrpChain
from devnet.verifier import Verifier
from nearintents.rpc import HttpPoaBridge, WithdrawalsNotFound, WithdrawalStatus
from oneclick.domain.assets import Asset
from oneclick.services.engine.legs import delivery_intent

SEED = b"bridge-mainnet-faithful-seed"
USER_SEED = b"users-of-the-devnet"
BTC_DEST = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
XRP = Asset("nep141:xrp.omft.near", "xrp", "XRP", 6, bridge_chain="xrp:mainnet")


async def test_a_fresh_burn_is_not_found_until_the_bridge_indexed_it(tmp_path: Path) -> None:
    btc = BitcoinChain(path=tmp_path / "btc.sqlite3")
    with Verifier.open(None) as verifier:
        lag_s = 1.5
        bridge = PoaBridge(
            verifier, [btc], seed=SEED, data_dir=tmp_path / "bridge", withdrawal_lag_s=lag_s
        )
        await bridge.fund_hot_wallets()
        verifier.deposit("alice.near", "nep141:btc.omft.near", 50_000).ensure_success()
        burn = verifier.ft_withdraw(
            "alice.near", "btc.omft.near", "btc.omft.near", 30_000, memo=f"WITHDRAW_TO:{BTC_DEST}"
        ).ensure_success()
        burned_at = time.monotonic()
        async with (
            BridgeServer(bridge, run_loop=False) as server,
            HttpPoaBridge(server.url) as client,
            httpx.AsyncClient() as http,
        ):
            # The exact wire answer the SDK recognises: error is the bare string.
            raw = await http.post(server.url, json={
                "jsonrpc": "2.0", "id": "dontcare", "method": "withdrawal_status",
                "params": [{"withdrawal_hash": burn.hash}],
            })  # fmt: skip
            assert raw.json() == {
                "jsonrpc": "2.0",
                "id": "dontcare",
                "error": "Withdrawals not found",
            }
            with pytest.raises(WithdrawalsNotFound):
                await client.withdrawal_status(burn.hash)
            with pytest.raises(WithdrawalsNotFound):  # a hash it will never know: the same
                await client.withdrawal_status("8LKE47o44ybZQR9ozLyDnvMDTh4Ao5ipy2mJWsYByG5Q")
            await bridge.sync()
            found = None
            async with asyncio.timeout(15):
                while found is None:
                    try:
                        found = await client.withdrawal_status(burn.hash)
                    except WithdrawalsNotFound:
                        await asyncio.sleep(0.05)
            assert time.monotonic() - burned_at >= lag_s - 0.05
            [done] = found
            assert done.status is WithdrawalStatus.COMPLETED
        bridge.close()
    await btc.aclose()


async def test_a_payout_to_an_x_address_arrives_with_its_destination_tag(tmp_path: Path) -> None:
    from oneclick.domain.addresses import decode_x_address

    xrp = XrpChain(path=tmp_path / "xrp.sqlite3")
    with Verifier.open(None) as verifier:
        bridge = PoaBridge(verifier, [xrp], seed=SEED, data_dir=tmp_path / "bridge")
        await bridge.fund_hot_wallets()
        verifier.deposit("bob.near", "nep141:xrp.omft.near", 3_000_000).ensure_success()
        # An exchange's deposit address with tag 11747, as a 1Click user gives it (XLS-5d).
        x_address = "X7d3eHCXzwBeWrZec1yT24iZerQjYLo2CJf8oVC5CMWey5m"
        classic, _ = decode_x_address(x_address) or ("", None)
        intent = delivery_intent(XRP, 2_000_000, x_address, internal=False)
        burn = verifier.ft_withdraw(
            "bob.near",
            "xrp.omft.near",
            "xrp.omft.near",
            2_000_000,
            memo=intent.memo,  # type: ignore[union-attr]
        ).ensure_success()
        await bridge.sync()
        assert bridge.withdrawal_status(burn.hash)["status"] == "COMPLETED"
        [paid] = await xrp.transfers([classic], 0, await xrp.head())
        assert paid.memo == "11747"
        assert await xrp.balance(classic, NATIVE) == 2_000_000 - 100_000
        bridge.close()
    await xrp.aclose()
