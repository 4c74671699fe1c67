"""Token and asset identifiers: Verifier token ids (``nep141:``, ``nep171:``, ``nep245:``,
``imt:``; PROTOCOL.md §2.2), PoA ``*.omft.near`` naming (§4.1), and 1Click asset ids
(``1cs_v1:…``, ``1cs:any``; §5.12).
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from dataclasses import dataclass
from enum import StrEnum

from Crypto.Hash import keccak

from nearintents.accounts import InvalidAccountId, validate_account_id
from nearintents.encoding import EncodingError, b58decode

# The contract refuses to credit NEP-171/NEP-245 deposits or IMT mints whose inner token id is
# longer than this (CONTRACT `core/src/tokens.rs`), so no balance can ever exist under a longer id.
MAX_TOKEN_ID_LEN = 127

OMFT_FACTORY = "omft.near"
OMFT_STAGING_FACTORY = "stft.near"

ANY_ASSET = "1cs:any"
ASSET_ID_PREFIX = "1cs_v1"


class InvalidTokenId(ValueError):  # noqa: N818 (name fixed by the design)
    """A string is not a valid Verifier token id, or an omft name cannot be built."""


class InvalidAssetId(ValueError):  # noqa: N818 (name fixed by the design)
    """A string is not a valid 1Click asset id."""


class TokenStandard(StrEnum):
    """The ``<standard>`` prefix of a token id; declaration order is the contract's enum order."""

    NEP141 = "nep141"
    NEP171 = "nep171"
    NEP245 = "nep245"
    IMT = "imt"


@dataclass(frozen=True, slots=True)
class TokenId:
    """A Verifier token id. ``contract_id`` is the minter for ``imt``; ``token_id`` is None only for
    NEP-141."""

    standard: TokenStandard
    contract_id: str
    token_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.standard, TokenStandard):
            raise InvalidTokenId(f"unknown token standard {self.standard!r}")
        try:
            validate_account_id(self.contract_id)
        except InvalidAccountId as exc:
            raise InvalidTokenId(f"invalid contract id in token id: {exc}") from exc
        if self.standard is TokenStandard.NEP141:
            if self.token_id is not None:
                raise InvalidTokenId("a nep141 token id has no inner token_id")
            return
        if not isinstance(self.token_id, str):
            raise InvalidTokenId(f"a {self.standard} token id needs an inner token_id")
        size = len(self.token_id.encode("utf-8", "surrogatepass"))
        if size > MAX_TOKEN_ID_LEN:
            raise InvalidTokenId(
                f"inner token_id is too long: max length is {MAX_TOKEN_ID_LEN}, got {size}"
            )

    @classmethod
    def parse(cls, text: str) -> TokenId:
        """Parse ``<standard>:<contract>[:<token_id>]`` the way the contract's ``FromStr`` does.

        The inner token id is everything after the second colon, so it may itself contain colons
        (or be empty), exactly as in the contract.
        """
        if not isinstance(text, str):
            raise InvalidTokenId(f"token id must be a string, got {type(text).__name__}")
        prefix, sep, rest = text.partition(":")
        if not sep:
            raise InvalidTokenId(f"token id {text!r} has no '<standard>:' prefix")
        try:
            standard = TokenStandard(prefix)
        except ValueError as exc:
            raise InvalidTokenId(f"token id {text!r} has an unknown standard {prefix!r}") from exc
        if standard is TokenStandard.NEP141:
            return cls(standard, rest)
        contract_id, sep, token_id = rest.partition(":")
        if not sep:
            raise InvalidTokenId(f"token id {text!r} needs '<contract>:<token_id>'")
        return cls(standard, contract_id, token_id)

    @classmethod
    def nep141(cls, contract_id: str) -> TokenId:
        return cls(TokenStandard.NEP141, contract_id)

    @classmethod
    def nep171(cls, contract_id: str, token_id: str) -> TokenId:
        return cls(TokenStandard.NEP171, contract_id, token_id)

    @classmethod
    def nep245(cls, contract_id: str, token_id: str) -> TokenId:
        return cls(TokenStandard.NEP245, contract_id, token_id)

    @classmethod
    def imt(cls, minter_id: str, token_id: str) -> TokenId:
        return cls(TokenStandard.IMT, minter_id, token_id)

    def __str__(self) -> str:
        if self.token_id is None:
            return f"{self.standard}:{self.contract_id}"
        return f"{self.standard}:{self.contract_id}:{self.token_id}"


def standard_of(token_id: str | TokenId) -> TokenStandard:
    """The standard of a token id given as a string or a parsed :class:`TokenId`."""
    parsed = token_id if isinstance(token_id, TokenId) else TokenId.parse(token_id)
    return parsed.standard


# --- PoA bridge token naming (PROTOCOL.md §4.1) -----------------------------------------------

_EVM_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}", re.ASCII)


def _omft_name(label: str, factory: str) -> str:
    if not label or "." in label:
        raise InvalidTokenId(f"omft label {label!r} must be one non-empty account id label")
    name = f"{label}.{factory}"
    try:
        return validate_account_id(name)
    except InvalidAccountId as exc:
        raise InvalidTokenId(f"cannot build an omft token name: {exc}") from exc


def omft_native(chain_prefix: str, *, factory: str = OMFT_FACTORY) -> str:
    """The PoA token of a chain's native coin, e.g. ``btc`` → ``btc.omft.near``."""
    return _omft_name(chain_prefix, factory)


def omft_evm(chain_prefix: str, address: str, *, factory: str = OMFT_FACTORY) -> str:
    """An EVM token: ``<prefix>-<lowercase 0x address>.<factory>`` (account ids are lowercase)."""
    if not isinstance(address, str) or not _EVM_ADDRESS.fullmatch(address):
        raise InvalidTokenId(f"{address!r} is not a 0x-prefixed 20-byte hex address")
    return _omft_name(f"{chain_prefix}-{address.lower()}", factory)


def omft_keccak(chain_prefix: str, data: bytes, *, factory: str = OMFT_FACTORY) -> str:
    """A non-EVM token: ``<prefix>-<hex(last 20 bytes of keccak256(data))>.<factory>``.

    Reverse-engineered rule (PROTOCOL.md §4.1); the bridge's ``supported_tokens`` stays the source
    of truth. ``data`` is chain-specific: see :func:`omft_solana`, :func:`omft_tron` and
    :func:`omft_sui`.
    """
    digest = keccak.new(digest_bits=256, data=bytes(data)).digest()
    return _omft_name(f"{chain_prefix}-{digest[12:].hex()}", factory)


def omft_solana(mint: str, *, chain_prefix: str = "sol", factory: str = OMFT_FACTORY) -> str:
    """Solana SPL token: keccak over the raw 32-byte mint address."""
    try:
        raw = b58decode(mint, length=32)
    except EncodingError as exc:
        raise InvalidTokenId(f"{mint!r} is not a base58 32-byte Solana address") from exc
    return omft_keccak(chain_prefix, raw, factory=factory)


def omft_tron(address: str, *, chain_prefix: str = "tron", factory: str = OMFT_FACTORY) -> str:
    """TRON TRC-20 token: keccak over the full base58check-decoded 25-byte address."""
    try:
        raw = b58decode(address, length=25)
    except EncodingError as exc:
        raise InvalidTokenId(f"{address!r} is not a base58 25-byte TRON address") from exc
    checksum = hashlib.sha256(hashlib.sha256(raw[:21]).digest()).digest()[:4]
    if raw[0] != 0x41 or raw[21:] != checksum:
        raise InvalidTokenId(f"{address!r} is not a valid TRON address (prefix or checksum)")
    return omft_keccak(chain_prefix, raw, factory=factory)


def omft_sui(coin_type: str, *, chain_prefix: str = "sui", factory: str = OMFT_FACTORY) -> str:
    """Sui coin: keccak over the UTF-8 coin type string, e.g. ``0x…::usdc::USDC``."""
    if not coin_type:
        raise InvalidTokenId("empty Sui coin type")
    return omft_keccak(chain_prefix, coin_type.encode("utf-8"), factory=factory)


def is_omft(contract_id: str, *, factory: str = OMFT_FACTORY) -> bool:
    """Whether ``contract_id`` is a PoA token of ``factory`` (``<one label>.<factory>``)."""
    try:
        validate_account_id(contract_id)
    except InvalidAccountId:
        return False
    suffix = "." + factory
    if not contract_id.endswith(suffix):
        return False
    label = contract_id[: -len(suffix)]
    return bool(label) and "." not in label


# --- 1Click asset ids (PROTOCOL.md §5.12; SDKMONO packages/crosschain-assetid) ----------------

_CHAIN = re.compile(r"[a-z0-9][a-z0-9-]*", re.ASCII)
_NAMESPACE = re.compile(r"[a-z][a-z0-9-]*", re.ASCII)
# The package's JSON schema: unreserved characters of encodeURIComponent or %XX escapes.
_URI_COMPONENT = re.compile(r"(?:[A-Za-z0-9\-_.!~*'()]|%[0-9A-Fa-f]{2})+", re.ASCII)
# Exactly the characters JavaScript's encodeURIComponent leaves unescaped.
_ENCODE_URI_COMPONENT_SAFE = "-_.!~*'()"


def encode_uri_component(text: str) -> str:
    """JavaScript ``encodeURIComponent``: UTF-8 percent-encoding with uppercase hex."""
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates: JS throws URIError too
        raise InvalidAssetId(f"cannot URI-encode {text!r}: {exc}") from exc
    return urllib.parse.quote(raw, safe=_ENCODE_URI_COMPONENT_SAFE)


def decode_uri_component(text: str) -> str:
    """JavaScript ``decodeURIComponent`` for text already matching the uriComponent grammar."""
    try:
        return urllib.parse.unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError as exc:  # JS throws URIError on malformed UTF-8
        raise InvalidAssetId(f"{text!r} does not percent-decode to UTF-8") from exc


@dataclass(frozen=True, slots=True)
class AssetId:
    """``1cs_v1:<chain>:<namespace>:<reference>[:<selector>]``; reference/selector held decoded."""

    chain: str
    namespace: str
    reference: str
    selector: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.chain, str) or not _CHAIN.fullmatch(self.chain):
            raise InvalidAssetId(f"invalid chain slug {self.chain!r} (want [a-z0-9][a-z0-9-]*)")
        if not isinstance(self.namespace, str) or not _NAMESPACE.fullmatch(self.namespace):
            raise InvalidAssetId(f"invalid namespace {self.namespace!r} (want [a-z][a-z0-9-]*)")
        if not isinstance(self.reference, str) or not self.reference:
            raise InvalidAssetId("asset reference must be a non-empty string")
        if self.selector is not None and (not isinstance(self.selector, str) or not self.selector):
            raise InvalidAssetId("asset selector must be a non-empty string when present")
        # Fail at construction, not at str(), for text encodeURIComponent refuses.
        str(self)

    @classmethod
    def parse(cls, text: str) -> AssetId:
        """Parse like the TS ``parse1cs`` but also enforce the package's string schema.

        Percent-escapes are accepted in either hex case (the schema allows it); ``str()`` always
        yields the canonical encodeURIComponent form.
        """
        if not isinstance(text, str):
            raise InvalidAssetId(f"asset id must be a string, got {type(text).__name__}")
        parts = text.split(":")
        if not 4 <= len(parts) <= 5 or parts[0] != ASSET_ID_PREFIX:
            raise InvalidAssetId(
                f"{text!r} is not '1cs_v1:<chain>:<namespace>:<reference>[:<selector>]'"
            )
        for part in parts[3:]:
            if not _URI_COMPONENT.fullmatch(part):
                raise InvalidAssetId(f"{text!r}: {part!r} is not a URI-encoded component")
        selector = decode_uri_component(parts[4]) if len(parts) == 5 else None
        return cls(parts[1], parts[2], decode_uri_component(parts[3]), selector)

    def __str__(self) -> str:
        text = f"{ASSET_ID_PREFIX}:{self.chain}:{self.namespace}:"
        text += encode_uri_component(self.reference)
        if self.selector is not None:
            text += ":" + encode_uri_component(self.selector)
        return text


@dataclass(frozen=True, slots=True)
class AnyAsset:
    """``1cs:any``: the origin asset of an ANY_INPUT quote."""

    def __str__(self) -> str:
        return ANY_ASSET


def parse_asset(text: str) -> TokenId | AssetId | AnyAsset:
    """Any asset id 1Click accepts: a Verifier token id, a ``1cs_v1`` id, or ``1cs:any``."""
    if text == ANY_ASSET:
        return AnyAsset()
    if isinstance(text, str) and text.startswith(ASSET_ID_PREFIX + ":"):
        return AssetId.parse(text)
    try:
        return TokenId.parse(text)
    except InvalidTokenId as exc:
        raise InvalidAssetId(f"{text!r} is not a known asset id: {exc}") from exc
