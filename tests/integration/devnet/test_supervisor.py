"""The whole devnet in-process (``devnet.supervisor.run_devnet``): ``devnet.json`` and its schema,
both reference solvers quoting through the relay, alice and bob funded on every chain and in the
verifier, the control API's intents transfer, one devnet per data directory, a clean stop."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from devnet.supervisor import DevnetBusyError, run_devnet
from devnet.world import SOLVERS, USERS, devnet_assets
from nearintents.rpc import HttpSolverRelay
from nearintents.rpc.relay import Quote, QuoteRequest

pytestmark = [pytest.mark.devnet, pytest.mark.slow]

ETH_USDC = "nep141:eth-0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48.omft.near"
ARB_USDC = "nep141:arb-0xaf88d065e77c8cc2239327c5edb3a432268e5831.omft.near"
CHAIN_KEYS = {"chain", "blockchain", "rpc", "confirmations", "memo"}
ASSET_KEYS = {"assetId", "chain", "blockchain", "symbol", "decimals", "contractAddress",
              "priceId", "price"}  # fmt: skip


def check_schema(manifest: dict[str, Any]) -> None:
    assert manifest["version"] == 1
    assert isinstance(manifest["pid"], int)
    for key in ("near_rpc", "relay", "bridge", "prices", "control"):
        assert manifest[key].startswith("http://127.0.0.1:"), key
    assert manifest["relay"].endswith("/rpc")
    assert manifest["bridge"].endswith("/rpc")
    assert manifest["relay_ws"].startswith("ws://127.0.0.1:")
    assert manifest["verifier_account"] == "intents.near"
    assert manifest["relayer_account"] == "relayer.devnet.near"  # the relay's tx signer
    chains = {c["chain"]: c for c in manifest["chains"]}
    assert set(chains) == {"eth:1", "eth:42161", "sol:mainnet", "btc:mainnet", "xrp:mainnet",
                           "near:mainnet"}  # fmt: skip
    assert all(set(c) == CHAIN_KEYS for c in chains.values())
    assert chains["eth:42161"]["blockchain"] == "arb"
    assert chains["eth:1"]["rpc"].startswith("http://127.0.0.1:")
    assert chains["btc:mainnet"]["rpc"] is None
    assert chains["xrp:mainnet"]["memo"] is True
    assert chains["eth:1"]["confirmations"] == 3
    assets = {a["assetId"]: a for a in manifest["assets"]}
    assert all(set(a) >= ASSET_KEYS for a in assets.values())
    assert {"nep141:wrap.near", "nep141:usdc.near", ETH_USDC, ARB_USDC} <= set(assets)
    assert assets["nep141:wrap.near"]["blockchain"] == "near"
    assert assets[ETH_USDC]["contractAddress"] == "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
    assert assets[ETH_USDC]["priceId"] == "usd-coin"
    assert assets["nep141:btc.omft.near"]["contractAddress"] is None
    assert all(a["price"] for a in assets.values())
    wallets = {(w["chain"], w["name"]) for w in manifest["wallets"]}
    assert wallets == {(c, u) for c in chains for u in USERS}


async def test_the_devnet_runs_and_writes_its_manifest(tmp_path: Path) -> None:
    manifest_file = tmp_path / "devnet" / "devnet.json"
    async with run_devnet(tmp_path, block_interval_s=0.2) as devnet:
        manifest = json.loads(manifest_file.read_text())
        check_schema(manifest)
        assert manifest == json.loads(json.dumps(devnet.manifest())) | {
            "started_at": manifest["started_at"]
        }
        assert [s["spread_bps"] for s in manifest["solvers"]] == [s.spread_bps for s in SOLVERS]

        # Both solvers answer: two offers, the tighter spread gives more.
        async with HttpSolverRelay(manifest["relay"], timeout=10) as relay:
            request = QuoteRequest(
                defuse_asset_identifier_in=ETH_USDC,
                defuse_asset_identifier_out=ARB_USDC,
                exact_amount_in=100_000_000,
                wait_ms=1500,
            )
            offers = [q for q in await relay.quote(request) if isinstance(q, Quote)]
        outs = sorted(q.amount_out for q in offers)
        assert len(outs) == 2
        # 30 and 10 bps off 100 USDC at $1, at mainnet's 1 pip: the solvers get 100 USDC less
        # ceil(100) units and give 99 699 900 / 99 899 900; the channel gets that less ceil(~100).
        assert outs == [99_699_800, 99_899_800]

        async with httpx.AsyncClient(base_url=manifest["control"], timeout=10) as http:
            # Every user wallet holds what the manifest says it was funded with.
            for wallet in manifest["wallets"]:
                for symbol, amount in wallet["funded"].items():
                    if wallet["chain"] == "near:mainnet":
                        asset = next(
                            a for a in devnet_assets()
                            if a.chain == "near:mainnet" and a.symbol == symbol
                        )  # fmt: skip
                        view = {"account_id": wallet["address"], "token_id": asset.asset_id}
                        held = int(devnet.verifier.view("mt_balance_of", view))
                    else:
                        query = {"chain": wallet["chain"], "address": wallet["address"],
                                 "asset": symbol}  # fmt: skip
                        held = int((await http.get("/balance", params=query)).json()["balance"])
                    assert held == int(amount), (wallet, symbol)

            # An intents transfer from alice's verifier account (topped up by the faucet).
            body = {"wallet": "alice", "to": "c" * 64, "token": ETH_USDC, "amount": "2500"}
            sent = await http.post("/intents/transfer", json=body)
            assert sent.status_code == 200, sent.text
            view = {"account_id": "c" * 64, "token_id": ETH_USDC}
            assert int(devnet.verifier.view("mt_balance_of", view)) == 2500
            bad = await http.post("/intents/transfer", json={**body, "to": "Not An Account"})
            assert bad.status_code == 400

        # Confirmations progress on their own: the miner adds blocks.
        btc = devnet.chains["btc:mainnet"]
        head = await btc.head()
        async with asyncio.timeout(10):
            while await btc.head() <= head:  # noqa: ASYNC110 - another task mines
                await asyncio.sleep(0.05)

        with pytest.raises(DevnetBusyError):
            async with run_devnet(tmp_path):
                pass
        assert manifest_file.exists()  # the refused second devnet left the first one's alone
        anvil_urls = [c["rpc"] for c in manifest["chains"] if c["chain"].startswith("eth:")]

    assert not manifest_file.exists()
    async with httpx.AsyncClient(timeout=5) as http:
        for url in anvil_urls:  # the anvil children are gone
            with pytest.raises(httpx.ConnectError):
                await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"})
