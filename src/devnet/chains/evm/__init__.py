"""EVM chains on real anvil nodes: the process supervisor and the chain adapter."""

from devnet.chains.evm.anvil import AnvilError, AnvilProcess, anvil_binary
from devnet.chains.evm.chain import (
    FAUCET_KEY,
    EvmChain,
    EvmChainSpec,
    EvmToken,
    evm_wallet,
    validate_evm_address,
)

__all__ = [
    "FAUCET_KEY",
    "AnvilError",
    "AnvilProcess",
    "EvmChain",
    "EvmChainSpec",
    "EvmToken",
    "anvil_binary",
    "evm_wallet",
    "validate_evm_address",
]
