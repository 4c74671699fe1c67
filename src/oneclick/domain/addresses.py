"""Address checks per chain (recipients, refund addresses, fee recipients): an address must be
valid on the chain of its asset, or a NEAR Intents account id for the ``INTENTS`` types.

Checks are syntactic plus checksums (EIP-55 for mixed-case EVM addresses, bech32/bech32m and
base58check for Bitcoin-likes, the Stellar/XRP/Tron encodings through bip-utils' decoders); they
cannot know whether an address is spendable.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bip_utils import (  # type: ignore[import-untyped]
    Base58Alphabets,
    Base58ChecksumError,
    Base58Decoder,
    Base58Encoder,
    BchBech32Decoder,
    Bech32ChecksumError,
    SegwitBech32Decoder,
    SolAddrDecoder,
    TrxAddrDecoder,
    XlmAddrDecoder,
    XlmAddrTypes,
    XrpAddrDecoder,
)

from nearintents.accounts import InvalidAccountId, validate_account_id
from nearintents.keys import keccak256
from oneclick.domain.errors import RequestError

EVM_CHAINS = frozenset(
    {
        "eth", "base", "arb", "gnosis", "bera", "bsc", "pol", "op", "avax", "xlayer", "monad",
        "plasma", "scroll", "adi", "aurora", "hypercore",
    }
)  # fmt: skip
MEMO_CHAINS = frozenset({"stellar", "xrp", "ton"})  # deposits there may need address + memo
MAX_ADDRESS_LEN = 128
# What bip-utils' decoders raise for a malformed address (its checksum errors are not ValueErrors).
_DECODE_ERRORS = (ValueError, TypeError, Bech32ChecksumError, Base58ChecksumError)

_EVM = re.compile(r"0x[0-9a-fA-F]{40}", re.ASCII)
_HEX_ADDRESS_64 = re.compile(r"0x[0-9a-fA-F]{1,64}", re.ASCII)
_TON_RAW = re.compile(r"-?[0-9]+:[0-9a-fA-F]{64}", re.ASCII)
_TON_FRIENDLY = re.compile(r"[A-Za-z0-9_\-+/]{48}", re.ASCII)
_CARDANO = re.compile(r"addr1[02-9ac-hj-np-z]{50,120}", re.ASCII)
_ALEO = re.compile(r"aleo1[02-9ac-hj-np-z]{58}", re.ASCII)
_GENERIC = re.compile(r"[\x21-\x7e]{1,128}", re.ASCII)


def is_evm_address(address: str) -> bool:
    """``0x`` + 40 hex; a mixed-case address must carry a valid EIP-55 checksum."""
    if not _EVM.fullmatch(address):
        return False
    body = address[2:]
    if body == body.lower() or body == body.upper():
        return True
    digest = keccak256(body.lower().encode("ascii")).hex()
    return all(
        (char.upper() if int(digest[i], 16) >= 8 else char.lower()) == char
        for i, char in enumerate(body)
    )


def _segwit(hrp: str, address: str) -> bool:
    try:
        version, program = SegwitBech32Decoder.Decode(hrp, address.lower())
    except _DECODE_ERRORS:
        return False
    if address != address.lower() and address != address.upper():
        return False  # bech32 forbids mixed case
    if version == 0:
        return len(program) in (20, 32)
    return 1 <= version <= 16 and 2 <= len(program) <= 40


def _base58check(address: str, versions: frozenset[bytes]) -> bool:
    try:
        raw = bytes(Base58Decoder.CheckDecode(address))
    except _DECODE_ERRORS:
        return False
    return any(raw.startswith(v) and len(raw) == len(v) + 20 for v in versions)


def _decodes(decode: Callable[[], object]) -> bool:
    try:
        decode()
    except _DECODE_ERRORS:
        return False
    return True


# XLS-5d X-address (what the 1Click docs accept for an XRP recipient with a destination tag:
# defuse-protocol/docs resources/chain-support.mdx, "XRP Ledger"): base58check in the Ripple
# alphabet of a 2-byte network prefix, the 20-byte account id, a flag byte (1: a tag follows)
# and the tag as 4 little-endian bytes plus 4 zero bytes. Mainnet prefix only.
_X_ADDRESS_MAINNET = b"\x05\x44"
_XRP_ACCOUNT_PREFIX = b"\x00"


def decode_x_address(address: str) -> tuple[str, int | None] | None:
    """The classic ``r…`` address and destination tag of a mainnet X-address, or None."""
    if not address.startswith("X"):
        return None
    try:
        raw = bytes(Base58Decoder.CheckDecode(address, Base58Alphabets.RIPPLE))
    except _DECODE_ERRORS:
        return None
    if len(raw) != 31 or raw[:2] != _X_ADDRESS_MAINNET or raw[27:] != bytes(4):
        return None
    flag, tag = raw[22], int.from_bytes(raw[23:27], "little")
    if flag not in (0, 1) or (flag == 0 and tag != 0):
        return None
    classic = Base58Encoder.CheckEncode(_XRP_ACCOUNT_PREFIX + raw[2:22], Base58Alphabets.RIPPLE)
    return str(classic), (tag if flag == 1 else None)


def destination(blockchain: str, address: str) -> tuple[str, str | None]:
    """A recipient as the chain's address plus its destination memo/tag, if it carries one.

    1Click takes routing metadata inside ``recipient`` in the destination chain's own address
    format (QuoteRequest.recipient, one-click-sdk-typescript src/models/QuoteRequest.ts): on XRP
    that is an X-address, which the PoA bridge needs as classic address and tag."""
    if blockchain == "xrp":
        decoded = decode_x_address(address)
        if decoded is not None:
            classic, tag = decoded
            return classic, None if tag is None else str(tag)
    return address, None


def _xrp(address: str) -> bool:
    if address.startswith("X"):
        return decode_x_address(address) is not None
    return _decodes(lambda: XrpAddrDecoder.DecodeAddr(address))


def _bitcoin(address: str) -> bool:
    return _segwit("bc", address) or _base58check(address, frozenset({b"\x00", b"\x05"}))


def _litecoin(address: str) -> bool:
    return _segwit("ltc", address) or _base58check(address, frozenset({b"\x30", b"\x32", b"\x05"}))


def _bitcoin_cash(address: str) -> bool:
    legacy = _base58check(address, frozenset({b"\x00", b"\x05"}))
    text = address if address.startswith("bitcoincash:") else "bitcoincash:" + address
    return legacy or _decodes(lambda: BchBech32Decoder.Decode("bitcoincash", text.lower()))


_CHECKS: dict[str, Callable[[str], bool]] = {
    "btc": _bitcoin,
    "ltc": _litecoin,
    "bch": _bitcoin_cash,
    "doge": lambda a: _base58check(a, frozenset({b"\x1e", b"\x16"})),
    "dash": lambda a: _base58check(a, frozenset({b"\x4c", b"\x10"})),
    "zec": lambda a: _base58check(a, frozenset({b"\x1c\xb8", b"\x1c\xbd"})),
    "sol": lambda a: _decodes(lambda: SolAddrDecoder.DecodeAddr(a)),
    "xrp": _xrp,
    "stellar": lambda a: _decodes(
        lambda: XlmAddrDecoder.DecodeAddr(a, addr_type=XlmAddrTypes.PUB_KEY)
    ),
    "tron": lambda a: _decodes(lambda: TrxAddrDecoder.DecodeAddr(a)),
    "sui": lambda a: bool(_HEX_ADDRESS_64.fullmatch(a)),
    "aptos": lambda a: bool(_HEX_ADDRESS_64.fullmatch(a)),
    "movement": lambda a: bool(_HEX_ADDRESS_64.fullmatch(a)),
    "starknet": lambda a: bool(_HEX_ADDRESS_64.fullmatch(a)),
    "ton": lambda a: bool(_TON_RAW.fullmatch(a) or _TON_FRIENDLY.fullmatch(a)),
    "cardano": lambda a: bool(_CARDANO.fullmatch(a)),
    "aleo": lambda a: bool(_ALEO.fullmatch(a)),
}


def is_intents_account(account_id: str) -> bool:
    """A NEAR Intents account: any NEAR account id (named, implicit hex, ``0x…`` implicit)."""
    try:
        validate_account_id(account_id)
    except InvalidAccountId:
        return False
    return True


def is_chain_address(blockchain: str, address: str) -> bool:
    """Whether ``address`` is well formed on ``blockchain`` (a TokenResponse ``blockchain``)."""
    if not isinstance(address, str) or not address or len(address) > MAX_ADDRESS_LEN:
        return False
    if blockchain == "near":
        return is_intents_account(address)
    if blockchain in EVM_CHAINS:
        return is_evm_address(address)
    check = _CHECKS.get(blockchain)
    if check is None:
        # A chain configured by the operator that we have no rule for: printable, no spaces.
        return bool(_GENERIC.fullmatch(address))
    return check(address)


def require_intents_account(account_id: object, *, what: str) -> str:
    if not isinstance(account_id, str) or not is_intents_account(account_id):
        raise RequestError(f"{what} {account_id!r} is not a valid NEAR Intents account id")
    return account_id


def require_chain_address(blockchain: str, address: object, *, what: str) -> str:
    if not isinstance(address, str) or not is_chain_address(blockchain, address):
        shown = address[:80] if isinstance(address, str) else address
        raise RequestError(f"{what} {shown!r} is not a valid {blockchain} address")
    return address
