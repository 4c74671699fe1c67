"""Deterministic wallets: BIP-32 keys derived from a seed along a path chosen by a label, so the
bridge's deposit addresses (one per account) and the devnet's user wallets are reproducible.

The seed is hashed into the BIP-32 seed (any length works). A label is hashed into four 31-bit
child indices (124 bits), so distinct labels never share a key in practice, unlike one hashed
index (2^31 would collide after ~50k accounts).
"""

from __future__ import annotations

import hashlib

from bip_utils import Bip32Secp256k1, Bip32Slip10Ed25519, Secp256k1PrivateKey  # type: ignore[import-untyped]

# SLIP-44 coin types, only to keep the chains' key trees apart.
COIN_BTC = 0
COIN_EVM = 60
COIN_XRP = 144
COIN_SOL = 501


def label_indices(label: str) -> tuple[int, ...]:
    digest = hashlib.sha256(label.encode("utf-8")).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "big") & 0x7FFFFFFF for i in range(0, 16, 4))


def _bip32_seed(seed: bytes) -> bytes:
    # Any seed length works: it is hashed into the 64-byte BIP-32 seed (BIP-32 wants 16..64 B).
    return hashlib.sha512(b"oneclick devnet wallets:" + seed).digest()


def secp256k1_secret(seed: bytes, coin: int, label: str) -> bytes:
    """The 32-byte secp256k1 key at ``m/44'/coin'/0'/a/b/c/d``."""
    path = f"m/44'/{coin}'/0'/" + "/".join(str(i) for i in label_indices(label))
    key = Bip32Secp256k1.FromSeed(_bip32_seed(seed)).DerivePath(path)
    return bytes(key.PrivateKey().Raw().ToBytes())


def ed25519_secret(seed: bytes, coin: int, label: str) -> bytes:
    """The 32-byte ed25519 seed at ``m/44'/coin'/0'/a'/b'/c'/d'`` (SLIP-10: hardened only)."""
    path = f"m/44'/{coin}'/0'/" + "/".join(f"{i}'" for i in label_indices(label))
    key = Bip32Slip10Ed25519.FromSeed(_bip32_seed(seed)).DerivePath(path)
    return bytes(key.PrivateKey().Raw().ToBytes())


def secp256k1_public(secret: bytes) -> bytes:
    """The 33-byte compressed public key of a secp256k1 secret."""
    return bytes(Secp256k1PrivateKey.FromBytes(secret).PublicKey().RawCompressed().ToBytes())
