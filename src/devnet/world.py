"""What ``python -m devnet`` runs: the devnet's assets (bridged and NEAR-native) with their prices,
the reference solvers and their inventory, the funded user wallets, and the ``devnet.json``
manifest that tells other processes (``oneclick up``, the CLI, tests) where everything listens.

``devnet.json`` (version 1) — other programs code against these keys::

    {"version": 1, "pid": 123, "started_at": "2030-01-01T00:00:00Z",
     "near_rpc": url, "relay": url (JSON-RPC), "relay_ws": url, "bridge": url (JSON-RPC),
     "prices": url (CoinGecko-shaped base), "control": url, "verifier_account": "intents.near",
     "relayer_account": "relayer.devnet.near" (the signer of the relay's transactions),
     "chains": [{"chain": "eth:1", "blockchain": "eth", "rpc": url | null,
                 "confirmations": n, "memo": bool}],
     "assets": [{"assetId": "nep141:…", "chain": "eth:1", "blockchain": "eth", "symbol": "USDC",
                 "decimals": 6, "contractAddress": "0x…" | null, "priceId": "usd-coin",
                 "price": "1", "minDepositAmount": "…", "minWithdrawalAmount": "…",
                 "withdrawalFee": "…"}],
     "wallets": [{"chain": "eth:1", "name": "alice", "address": "0x…",
                  "funded": {"USDC": "<base units>"}}],
     "solvers": [{"account": "tight.solver.near", "spread_bps": 10}]}

NEAR-native assets have ``chain`` ``near:mainnet`` and blockchain ``near``; the ``near:mainnet``
wallets are the users' accounts inside the verifier (``POST /intents/transfer`` spends them).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from devnet.bridge.tokens import BridgedToken, default_tokens
from devnet.solver.pricing import TokenSpec
from devnet.verifier.near_tokens import DEFAULT_TOKENS as NEAR_TOKENS
from nearintents.keys import Ed25519SecretKey

MANIFEST_VERSION = 1
MANIFEST_NAME = "devnet.json"
NEAR_CHAIN = "near:mainnet"

# The seeds of the bridge's addresses and of the user wallets: fixed, so that every devnet has
# the same alice and bob (documentation and examples can show their addresses).
BRIDGE_SEED = b"oneclick-devnet-bridge"
USER_SEED = b"oneclick-devnet-users"

PRICE_IDS: Mapping[str, str] = {
    "ETH": "ethereum",
    "USDC": "usd-coin",
    "USDT": "tether",
    "BTC": "bitcoin",
    "SOL": "solana",
    "XRP": "ripple",
    "wNEAR": "near",
}
PRICES: Mapping[str, str] = {
    "ethereum": "3000",
    "usd-coin": "1",
    "tether": "1",
    "bitcoin": "60000",
    "solana": "150",
    "ripple": "0.5",
    "near": "3",
}
BLOCKCHAINS: Mapping[str, str] = {
    "eth:1": "eth",
    "eth:42161": "arb",
    "btc:mainnet": "btc",
    "sol:mainnet": "sol",
    "xrp:mainnet": "xrp",
    NEAR_CHAIN: "near",
}

USERS = ("alice", "bob")
# Whole coins/tokens each user wallet is topped up to at start (by symbol).
USER_FUNDS: Mapping[str, str] = {
    "ETH": "10",
    "USDC": "10000",
    "USDT": "10000",
    "BTC": "1",
    "SOL": "100",
    "XRP": "10000",
    "wNEAR": "1000",
}
SOLVER_INVENTORY_USD = Decimal(1_000_000)  # per asset, topped up at every start


@dataclass(frozen=True, slots=True)
class DevnetAsset:
    """One asset of the devnet as ``devnet.json`` lists it. ``chain_asset`` is the chain's asset
    key (``native``, a token address or mint) for bridged assets, None for NEAR-native ones."""

    asset_id: str
    chain: str
    symbol: str
    decimals: int
    contract_address: str | None
    chain_asset: str | None
    min_deposit_amount: int = 0
    min_withdrawal_amount: int = 0
    withdrawal_fee: int = 0

    @property
    def blockchain(self) -> str:
        return BLOCKCHAINS.get(self.chain, self.chain.split(":")[0])

    @property
    def price_id(self) -> str:
        return PRICE_IDS[self.symbol]

    @property
    def price(self) -> str:
        return PRICES[self.price_id]

    def units(self, whole: Decimal | str) -> int:
        """``whole`` coins in base units (rounded down)."""
        return int(Decimal(whole) * 10**self.decimals)

    def manifest(self) -> dict[str, Any]:
        return {
            "assetId": self.asset_id,
            "chain": self.chain,
            "blockchain": self.blockchain,
            "symbol": self.symbol,
            "decimals": self.decimals,
            "contractAddress": self.contract_address,
            "priceId": self.price_id,
            "price": self.price,
            "minDepositAmount": str(self.min_deposit_amount),
            "minWithdrawalAmount": str(self.min_withdrawal_amount),
            "withdrawalFee": str(self.withdrawal_fee),
        }


def _bridged(token: BridgedToken) -> DevnetAsset:
    return DevnetAsset(
        asset_id=token.intents_token_id,
        chain=token.chain,
        symbol=token.symbol,
        decimals=token.decimals,
        contract_address=None if token.asset == "native" else token.asset,
        chain_asset=token.asset,
        min_deposit_amount=token.min_deposit_amount,
        min_withdrawal_amount=token.min_withdrawal_amount,
        withdrawal_fee=token.withdrawal_fee,
    )


def devnet_assets() -> tuple[DevnetAsset, ...]:
    """Every asset: the bridge's tokens, then the verifier's NEAR-side NEP-141s."""
    near = tuple(
        DevnetAsset(
            asset_id=f"nep141:{ft.contract_id}",
            chain=NEAR_CHAIN,
            symbol=ft.symbol,
            decimals=ft.decimals,
            contract_address=ft.contract_id,
            chain_asset=None,
        )
        for ft in NEAR_TOKENS
    )
    return tuple(_bridged(t) for t in default_tokens()) + near


def solver_tokens() -> tuple[TokenSpec, ...]:
    return tuple(TokenSpec(a.asset_id, a.price_id, a.decimals) for a in devnet_assets())


def solver_inventory(asset: DevnetAsset) -> int:
    """Base units worth ``SOLVER_INVENTORY_USD``."""
    return asset.units(SOLVER_INVENTORY_USD / Decimal(asset.price))


@dataclass(frozen=True, slots=True)
class SolverSpec:
    name: str
    spread_bps: int

    @property
    def account_id(self) -> str:
        return f"{self.name}.solver.near"

    @property
    def key(self) -> Ed25519SecretKey:
        return Ed25519SecretKey(hashlib.sha256(f"devnet-solver:{self.name}".encode()).digest())


SOLVERS = (SolverSpec("tight", 10), SolverSpec("wide", 30))


def write_manifest(path: Path, manifest: Mapping[str, Any]) -> None:
    """Write ``path`` atomically: a temporary file in the same directory, then a rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, path)
