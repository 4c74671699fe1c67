"""What a transaction hash looks like on each chain: enough to refuse at once a hash submitted to
``/v0/deposit/submit`` that cannot be a transaction of the deposit's chain (issue 13). Whether it
pays the deposit address is for the chain (the bridge) to confirm later."""

from __future__ import annotations

import re
from collections.abc import Callable

from nearintents.encoding import b58decode
from oneclick.domain.addresses import EVM_CHAINS

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_EVM = re.compile(r"0x[0-9a-fA-F]{64}")
_STARKNET = re.compile(r"0x[0-9a-fA-F]{1,64}")


def _pattern(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda text: pattern.fullmatch(text) is not None


def _base58(length: int) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        try:
            b58decode(text, length=length)
        except ValueError:
            return False
        return True

    return check


_HEX_CHAINS = ("btc", "ltc", "doge", "bch", "dash", "zec", "xrp", "stellar", "tron", "cardano")
_CHECKS: dict[str, Callable[[str], bool]] = {
    **{chain: _pattern(_EVM) for chain in EVM_CHAINS | {"aptos", "movement"}},
    # Bitcoin-likes, XRP, Stellar, Tron, Cardano: 32 bytes in hex (XRP writes it in upper case)
    **{chain: _pattern(_HEX64) for chain in _HEX_CHAINS},
    "starknet": _pattern(_STARKNET),
    "near": _base58(32),
    "sui": _base58(32),
    "sol": _base58(64),  # a signature
}  # fmt: skip


def tx_hash_problem(blockchain: str, tx_hash: str) -> str | None:
    """Why ``tx_hash`` cannot be a transaction on ``blockchain`` (None: it may be one). Chains
    without a known format (TON's several encodings, Aleo) are not checked."""
    check = _CHECKS.get(blockchain)
    if check is None or check(tx_hash):
        return None
    return f"txHash {tx_hash!r} is not a {blockchain} transaction hash"
