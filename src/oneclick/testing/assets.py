"""A sample asset registry (mainnet-like ids) with prices, for tests, demos and schemathesis."""

from __future__ import annotations

from oneclick.domain.assets import Asset, AssetRegistry

USDT_ETH = "nep141:eth-0xdac17f958d2ee523a2206206994597c13d831ec7.omft.near"
USDC_NEAR = "nep141:17208628f84f5d6ad33f0da3bbbeb27ffcb398eac501a31bd6ad2011e36133a1"
USDC_BASE = "nep141:base-0x833589fcd6edb6e08f4c7c32d4f71b54bda02913.omft.near"

SAMPLE_ASSETS: tuple[Asset, ...] = (
    Asset("nep141:wrap.near", "near", "wNEAR", 24, cs_asset_id="1cs_v1:near:nep141:wrap.near",
          contract_address="wrap.near", coingecko_id="near"),
    Asset(USDC_NEAR, "near", "USDC", 6, coingecko_id="usd-coin",
          contract_address=USDC_NEAR.removeprefix("nep141:")),
    Asset("nep141:btc.omft.near", "btc", "BTC", 8, cs_asset_id="1cs_v1:btc:native:coin",
          bridge_chain="btc:mainnet", coingecko_id="bitcoin", min_deposit_amount=1000,
          min_withdrawal_amount=5000, withdrawal_fee=1900),
    Asset("nep141:eth.omft.near", "eth", "ETH", 18, cs_asset_id="1cs_v1:eth:native:coin",
          bridge_chain="eth:1", coingecko_id="ethereum", withdrawal_fee=100_000_000_000_000),
    Asset(USDT_ETH, "eth", "USDT", 6,
          cs_asset_id="1cs_v1:eth:erc20:0xdAC17F958D2ee523a2206206994597C13D831ec7",
          bridge_chain="eth:1", contract_address="0xdac17f958d2ee523a2206206994597c13d831ec7",
          coingecko_id="tether", withdrawal_fee=300_000),
    Asset(USDC_BASE, "base", "USDC", 6, bridge_chain="eth:8453",
          contract_address="0x833589fcd6edb6e08f4c7c32d4f71b54bda02913",
          coingecko_id="usd-coin", withdrawal_fee=20_000),
    Asset("nep141:sol.omft.near", "sol", "SOL", 9, cs_asset_id="1cs_v1:sol:native:coin",
          bridge_chain="sol:mainnet", coingecko_id="solana", withdrawal_fee=10_000),
    Asset("nep141:stellar.omft.near", "stellar", "XLM", 7, bridge_chain="stellar:mainnet",
          coingecko_id="stellar", withdrawal_fee=100_000),
)  # fmt: skip

# coingecko id -> USD price in millionths of a dollar
SAMPLE_PRICES_MICRO_USD: dict[str, int] = {
    "near": 3_000_000,
    "usd-coin": 1_000_000,
    "bitcoin": 60_000_000_000,
    "ethereum": 3_000_000_000,
    "tether": 1_000_000,
    "solana": 150_000_000,
    "stellar": 100_000,
}


def sample_registry() -> AssetRegistry:
    return AssetRegistry(SAMPLE_ASSETS)
