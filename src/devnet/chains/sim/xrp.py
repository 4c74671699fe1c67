"""An XRP-style memo chain (``xrp:mainnet``) as a simulated ledger: classic ``r…`` addresses checked
with bip-utils, XRP in drops (6 decimals), a destination tag (u32) as the memo that routes a
payment to a shared address, and 64 uppercase hex hashes (SHA-512Half).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from bip_utils import XrpAddrDecoder, XrpAddrEncoder  # type: ignore[import-untyped]

from devnet.chains.base import NATIVE, Asset, InvalidAddress, Wallet
from devnet.chains.keys import COIN_XRP, secp256k1_public, secp256k1_secret
from devnet.chains.sim.ledger import SimChain

CHAIN_ID = "xrp:mainnet"
XRP = Asset(NATIVE, "XRP", 6)
_TAG = re.compile(r"0|[1-9][0-9]{0,9}", re.ASCII)
MAX_TAG = 2**32 - 1


def validate_xrp_address(address: str) -> str:
    if not isinstance(address, str) or not address.startswith("r"):
        raise InvalidAddress(f"{address!r} is not a classic XRP address")
    try:
        XrpAddrDecoder.DecodeAddr(address)
    except ValueError as exc:
        raise InvalidAddress(f"{address!r} is not a valid XRP address: {exc}") from exc
    return address


def validate_destination_tag(memo: str) -> str:
    """A destination tag: a u32 in decimal without leading zeros."""
    if not isinstance(memo, str) or not _TAG.fullmatch(memo) or int(memo) > MAX_TAG:
        raise InvalidAddress(f"{memo!r} is not a destination tag (0..=4294967295)")
    return memo


class XrpChain(SimChain):
    def __init__(self, *, path: Path | str | None = None, automine: bool = True) -> None:
        super().__init__(CHAIN_ID, (XRP,), path=path, automine=automine)

    @property
    def has_memo(self) -> bool:
        return True

    def validate_address(self, address: str) -> str:
        return validate_xrp_address(address)

    def validate_memo(self, memo: str) -> str:
        return validate_destination_tag(memo)

    def address_of(self, secret: bytes) -> str:
        return str(XrpAddrEncoder.EncodeKey(secp256k1_public(secret)))

    def wallet(self, seed: bytes, label: str) -> Wallet:
        secret = secp256k1_secret(seed, COIN_XRP, label)
        return Wallet(self.address_of(secret), secret)

    def make_hash(self, *parts: str) -> str:
        return hashlib.sha512("\x1f".join(parts).encode()).digest()[:32].hex().upper()
