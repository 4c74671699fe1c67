"""The devnet's chains: ids, native coins and tokens (at their mainnet addresses, so their PoA
token names match mainnet's), and :class:`DevnetChains`, which starts them all under a data
directory (anvil ``--state`` files and sqlite ledgers) and stops them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from devnet.chains.base import Chain
from devnet.chains.evm import AnvilProcess, EvmChain, EvmChainSpec, EvmToken
from devnet.chains.sim import BitcoinChain, XrpChain
from devnet.chains.solana import SolanaChain

ETHEREUM = EvmChainSpec(
    "eth:1",
    1,
    "ETH",
    (
        EvmToken("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USDC", 6, "USD Coin"),
        EvmToken("0xdAC17F958D2ee523a2206206994597C13D831ec7", "USDT", 6, "Tether USD"),
    ),
)
ARBITRUM = EvmChainSpec(
    "eth:42161",
    42161,
    "ETH",
    (
        EvmToken("0xaf88d065e77c8cC2239327C5EDb3A432268e5831", "USDC", 6, "USD Coin"),
        EvmToken("0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", "USDT", 6, "Tether USD"),
    ),
)
EVM_SPECS = (ETHEREUM, ARBITRUM)


@dataclass
class DevnetChains:
    """All devnet chains, keyed by chain id. ``async with DevnetChains.start(data_dir)``."""

    chains: dict[str, Chain] = field(default_factory=dict)
    nodes: list[AnvilProcess] = field(default_factory=list)

    @classmethod
    async def start(
        cls,
        data_dir: Path | str | None = None,
        *,
        evm_specs: tuple[EvmChainSpec, ...] = EVM_SPECS,
        evm_block_time: float | None = None,
    ) -> Self:
        """Start an anvil per EVM spec, LiteSVM for Solana and the simulated ledgers; with a
        ``data_dir`` everything persists under ``<data_dir>/chains``."""
        root = None if data_dir is None else Path(data_dir) / "chains"
        self = cls()
        try:
            for spec in evm_specs:
                state = None if root is None else root / f"anvil-{spec.evm_chain_id}.json"
                node = AnvilProcess(
                    spec.evm_chain_id, state_path=state, block_time=evm_block_time, log_dir=root
                )
                self.nodes.append(node)
                await node.astart()
                chain = EvmChain(spec, node.url)
                self.chains[spec.chain_id] = chain
                await chain.setup()
            sol = SolanaChain(path=None if root is None else root / "solana.sqlite3")
            btc = BitcoinChain(path=None if root is None else root / "bitcoin.sqlite3")
            xrp = XrpChain(path=None if root is None else root / "xrp.sqlite3")
            others: tuple[Chain, ...] = (sol, btc, xrp)
            for other in others:
                self.chains[other.chain_id] = other
        except BaseException:
            await self.aclose()
            raise
        return self

    def __getitem__(self, chain_id: str) -> Chain:
        return self.chains[chain_id]

    async def aclose(self) -> None:
        for chain in self.chains.values():
            with contextlib.suppress(Exception):
                await chain.aclose()
        for node in self.nodes:
            await node.astop()
        self.chains.clear()
        self.nodes.clear()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
