"""The devnet's foreign chains behind one port (:class:`Chain`): EVM chains on real anvil nodes,
Solana on solders' in-process LiteSVM, and simulated ledgers for Bitcoin and an XRP-style memo
chain. :class:`DevnetChains` starts them all.
"""

from devnet.chains.base import (
    NATIVE,
    Asset,
    Chain,
    ChainError,
    InsufficientFunds,
    InvalidAddress,
    PreparedTx,
    Transfer,
    TxExpired,
    TxState,
    TxStatus,
    Unsupported,
    Wallet,
    asset_of,
)
from devnet.chains.catalog import ARBITRUM, ETHEREUM, EVM_SPECS, DevnetChains

__all__ = [
    "ARBITRUM",
    "ETHEREUM",
    "EVM_SPECS",
    "NATIVE",
    "Asset",
    "Chain",
    "ChainError",
    "DevnetChains",
    "InsufficientFunds",
    "InvalidAddress",
    "PreparedTx",
    "Transfer",
    "TxExpired",
    "TxState",
    "TxStatus",
    "Unsupported",
    "Wallet",
    "asset_of",
]
