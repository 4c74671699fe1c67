"""Solana on solders' in-process LiteSVM (native SOL and USDC as an SPL token)."""

from devnet.chains.solana.chain import (
    CHAIN_ID,
    SOL,
    USDC,
    USDC_MINT,
    SolanaChain,
    validate_solana_address,
)

__all__ = ["CHAIN_ID", "SOL", "USDC", "USDC_MINT", "SolanaChain", "validate_solana_address"]
