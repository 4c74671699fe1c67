"""The chain port the PoA bridge and the control API use, whatever runs the chain (anvil, LiteSVM,
a simulated ledger): addresses, blocks, observed transfers, sending, balances and the faucet.

Errors::

    ChainError                 the chain refused or failed (who acts: see the subclass)
    ├── InvalidAddress         the caller: a malformed address or memo (never retried)
    ├── InsufficientFunds      the sender's balance is too small (retry after funding)
    ├── TxExpired              a prepared transaction can never land (re-prepare; never a duplicate)
    └── Unsupported            the chain cannot do this (e.g. a reorg on LiteSVM)
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

NATIVE = "native"
"""The asset key of a chain's native coin; tokens use their contract/mint address."""


class ChainError(Exception):
    """A chain operation failed."""


class InvalidAddress(ChainError, ValueError):  # noqa: N818 (names of the error tree above)
    """An address (or memo) that is not valid on the chain."""


class InsufficientFunds(ChainError):  # noqa: N818 (names of the error tree above)
    """The sending wallet cannot pay the amount (and the network fee)."""


class TxExpired(ChainError):  # noqa: N818 (names of the error tree above)
    """A prepared transaction that can no longer be included (nonce used, blockhash expired)."""


class Unsupported(ChainError):  # noqa: N818 (names of the error tree above)
    """The chain implementation cannot do this."""


@dataclass(frozen=True, slots=True)
class Asset:
    """A coin or token on a chain. ``key`` is ``native`` or the token's address (as the chain
    spells it: checksummed EVM address, base58 mint)."""

    key: str
    symbol: str
    decimals: int

    @property
    def is_native(self) -> bool:
        return self.key == NATIVE


@dataclass(frozen=True, slots=True)
class Wallet:
    """A key the devnet holds and the address it controls on one chain."""

    address: str
    secret: bytes


@dataclass(frozen=True, slots=True)
class Transfer:
    """A transfer seen on chain. ``index`` tells apart several transfers of one transaction
    (EVM log index; ``-1`` for the native value of a transaction)."""

    tx_hash: str
    index: int
    block_height: int
    block_hash: str
    asset: str
    sender: str
    receiver: str
    amount: int
    memo: str | None = None


class TxState(StrEnum):
    UNKNOWN = "UNKNOWN"  # never seen, or dropped (a reorg, a lost mempool)
    PENDING = "PENDING"  # known, not in a block yet
    INCLUDED = "INCLUDED"  # in a block, succeeded
    FAILED = "FAILED"  # in a block, reverted: nothing moved


@dataclass(frozen=True, slots=True)
class TxStatus:
    state: TxState
    block_height: int | None = None
    block_hash: str | None = None


@dataclass(frozen=True, slots=True)
class PreparedTx:
    """A signed transaction, kept by its sender before broadcasting. Broadcasting it again is
    harmless: it lands at most once (its nonce / blockhash / deterministic id sees to that)."""

    tx_hash: str
    raw: str


@runtime_checkable
class Chain(Protocol):
    """One devnet chain, as the bridge sees it (PROTOCOL.md §4: ``chain`` ids like ``eth:1``)."""

    @property
    def chain_id(self) -> str:
        """The bridge's chain id, e.g. ``eth:42161`` or ``btc:mainnet``."""
        ...

    @property
    def assets(self) -> tuple[Asset, ...]:
        """The native coin first, then the tokens."""
        ...

    @property
    def has_memo(self) -> bool:
        """Whether deposits are routed by a memo to a shared address (XRP destination tags)."""
        ...

    def validate_address(self, address: str) -> str:
        """The canonical form of ``address``; raises InvalidAddress."""
        ...

    def validate_memo(self, memo: str) -> str:
        """The canonical form of a memo; raises InvalidAddress (also when there are no memos)."""
        ...

    def wallet(self, seed: bytes, label: str) -> Wallet:
        """The wallet derived from ``seed`` for ``label`` (deterministic)."""
        ...

    async def head(self) -> int:
        """The height of the latest block."""
        ...

    async def block_hash(self, height: int) -> str | None:
        """The hash of the canonical block at ``height``, None above the head."""
        ...

    async def transfers(self, receivers: Collection[str], first: int, last: int) -> list[Transfer]:
        """Successful transfers to any of ``receivers`` in blocks ``first..=last``."""
        ...

    async def prepare(
        self, sender: Wallet, receiver: str, asset: str, amount: int, memo: str | None, *, key: str
    ) -> PreparedTx:
        """Sign (do not send) a transfer; ``key`` is the caller's idempotency key."""
        ...

    async def broadcast(self, tx: PreparedTx) -> None:
        """Submit ``tx``; idempotent. Raises TxExpired if it can never land."""
        ...

    async def tx_status(self, tx_hash: str) -> TxStatus: ...

    async def send(
        self, sender: Wallet, receiver: str, asset: str, amount: int, memo: str | None = None
    ) -> str:
        """Prepare and broadcast a transfer; returns its hash."""
        ...

    async def balance(self, address: str, asset: str) -> int: ...

    async def fund(self, address: str, asset: str, amount: int) -> str:
        """Faucet: a real transfer of new coins/tokens to ``address``; returns its tx hash."""
        ...

    async def mine(self, blocks: int = 1) -> int:
        """Produce ``blocks`` blocks; returns the new head."""
        ...

    async def reorg(self, depth: int) -> None:
        """Replace the last ``depth`` blocks with new ones; their transactions are dropped."""
        ...

    async def aclose(self) -> None: ...


def asset_of(chain: Chain, key: str) -> Asset:
    """The asset ``key`` of ``chain``; raises ChainError if the chain has no such asset."""
    for asset in chain.assets:
        if asset.key == key or asset.key.lower() == key.lower():
            return asset
    raise ChainError(f"{chain.chain_id} has no asset {key!r}")
