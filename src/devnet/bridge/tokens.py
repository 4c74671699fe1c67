"""The tokens the devnet PoA bridge carries: one per (chain, asset), with its ``*.omft.near`` name
(PROTOCOL.md §4.1), limits and withdrawal fee, and the chains' confirmation depths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devnet.chains.base import NATIVE
from devnet.chains.catalog import ARBITRUM, ETHEREUM
from devnet.chains.solana import USDC_MINT
from nearintents.rpc.bridge import SupportedToken
from nearintents.tokens import omft_evm, omft_native, omft_solana

# Blocks a deposit's block needs on top of it, itself included (1 = in a block).
DEFAULT_CONFIRMATIONS: dict[str, int] = {
    "eth:1": 3,
    "eth:42161": 2,
    "btc:mainnet": 2,
    "sol:mainnet": 1,
    "xrp:mainnet": 1,
}


@dataclass(frozen=True, slots=True)
class BridgedToken:
    """``asset`` is the chain's asset key (``native``, a checksummed EVM address, a mint)."""

    chain: str
    asset: str
    symbol: str
    decimals: int
    near_token_id: str
    min_deposit_amount: int
    min_withdrawal_amount: int
    withdrawal_fee: int

    def __post_init__(self) -> None:
        if not 0 <= self.withdrawal_fee < self.min_withdrawal_amount:
            raise ValueError("the fee must be below the minimum withdrawal")

    @property
    def intents_token_id(self) -> str:
        return f"nep141:{self.near_token_id}"

    @property
    def defuse_asset_identifier(self) -> str:
        """``<chain type>:<chain id>:<address|native>`` (EVM addresses lowercase, §4)."""
        asset = self.asset.lower() if self.chain.startswith("eth:") else self.asset
        return f"{self.chain}:{asset}"

    def wire(self) -> dict[str, Any]:
        """The ``supported_tokens`` entry."""
        return SupportedToken(
            defuse_asset_identifier=self.defuse_asset_identifier,
            near_token_id=self.near_token_id,
            intents_token_id=self.intents_token_id,
            standard="nep141",
            asset_name=self.symbol,
            decimals=self.decimals,
            min_deposit_amount=self.min_deposit_amount,
            min_withdrawal_amount=self.min_withdrawal_amount,
            withdrawal_fee=self.withdrawal_fee,
        ).model_dump(mode="json", exclude_none=True)


def _evm(prefix: str, chain: str, asset: str, symbol: str, decimals: int) -> BridgedToken:
    if asset == NATIVE:
        name = omft_native(prefix)
        return BridgedToken(chain, asset, symbol, decimals, name, 10**12, 10**15, 10**14)
    name = omft_evm(prefix, asset)
    return BridgedToken(chain, asset, symbol, decimals, name, 100_000, 1_000_000, 100_000)


def default_tokens() -> tuple[BridgedToken, ...]:
    """ETH, USDC, USDT on Ethereum (``eth``) and Arbitrum (``arb``), BTC, SOL and USDC on
    Solana, XRP. Amounts in base units; SOL's minimums respect Solana's rent-exempt minimum."""
    tokens = []
    for prefix, spec in (("eth", ETHEREUM), ("arb", ARBITRUM)):
        tokens.append(_evm(prefix, spec.chain_id, NATIVE, spec.native_symbol, 18))
        tokens.extend(
            _evm(prefix, spec.chain_id, t.address, t.symbol, t.decimals) for t in spec.tokens
        )
    tokens += [
        BridgedToken("btc:mainnet", NATIVE, "BTC", 8, omft_native("btc"), 1_000, 10_000, 2_000),
        BridgedToken(
            "sol:mainnet", NATIVE, "SOL", 9, omft_native("sol"), 1_000_000, 10_000_000, 100_000
        ),
        BridgedToken(
            "sol:mainnet", USDC_MINT, "USDC", 6, omft_solana(USDC_MINT), 100_000, 1_000_000, 100_000
        ),
        BridgedToken(
            "xrp:mainnet", NATIVE, "XRP", 6, omft_native("xrp"), 100_000, 1_000_000, 100_000
        ),
    ]
    return tuple(tokens)
