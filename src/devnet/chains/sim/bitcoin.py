"""Bitcoin (``btc:mainnet``) as a simulated ledger: real mainnet address formats checked with
bip-utils (P2WPKH ``bc1q…`` for wallets; P2TR, P2PKH and P2SH accepted as destinations), BTC in
satoshis, txids and block hashes as 64 hex digits (double sha256).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from bip_utils import (  # type: ignore[import-untyped]
    CoinsConf,
    P2PKHAddrDecoder,
    P2SHAddrDecoder,
    P2TRAddrDecoder,
    P2WPKHAddrDecoder,
    P2WPKHAddrEncoder,
)

from devnet.chains.base import NATIVE, Asset, InvalidAddress, Wallet
from devnet.chains.keys import COIN_BTC, secp256k1_public, secp256k1_secret
from devnet.chains.sim.ledger import SimChain

CHAIN_ID = "btc:mainnet"
HRP = "bc"
BTC = Asset(NATIVE, "BTC", 8)


def validate_btc_address(address: str) -> str:
    """A mainnet address in canonical form (bech32 lowercase); raises InvalidAddress."""
    if not isinstance(address, str) or not address or not address.isascii():
        raise InvalidAddress(f"{address!r} is not a Bitcoin address")
    lowered = address.lower()
    if lowered.startswith(HRP + "1"):
        if address not in (lowered, address.upper()):
            raise InvalidAddress(f"{address!r}: mixed-case bech32")
        for decode in (_p2wpkh, _p2tr):
            try:
                decode(lowered)
                return lowered
            except ValueError:
                continue
        raise InvalidAddress(f"{address!r} is not a valid bech32 mainnet address")
    try:
        P2PKHAddrDecoder.DecodeAddr(
            address, net_ver=CoinsConf.BitcoinMainNet.ParamByKey("p2pkh_net_ver")
        )
        return address
    except ValueError:
        pass
    try:
        P2SHAddrDecoder.DecodeAddr(
            address, net_ver=CoinsConf.BitcoinMainNet.ParamByKey("p2sh_net_ver")
        )
        return address
    except ValueError as exc:
        raise InvalidAddress(f"{address!r} is not a valid Bitcoin mainnet address") from exc


def _p2wpkh(address: str) -> None:
    P2WPKHAddrDecoder.DecodeAddr(address, hrp=HRP)


def _p2tr(address: str) -> None:
    P2TRAddrDecoder.DecodeAddr(address, hrp=HRP)


class BitcoinChain(SimChain):
    def __init__(self, *, path: Path | str | None = None, automine: bool = True) -> None:
        super().__init__(CHAIN_ID, (BTC,), path=path, automine=automine)

    def validate_address(self, address: str) -> str:
        return validate_btc_address(address)

    def address_of(self, secret: bytes) -> str:
        return str(P2WPKHAddrEncoder.EncodeKey(secp256k1_public(secret), hrp=HRP))

    def wallet(self, seed: bytes, label: str) -> Wallet:
        secret = secp256k1_secret(seed, COIN_BTC, label)
        return Wallet(self.address_of(secret), secret)

    def make_hash(self, *parts: str) -> str:
        data = "\x1f".join(parts).encode()
        return hashlib.sha256(hashlib.sha256(data).digest()).digest()[::-1].hex()
