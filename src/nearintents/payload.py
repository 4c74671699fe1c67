"""The signed payload (``DefusePayload``, PROTOCOL.md §2.4) and every intent kind (§2.11) as typed
pydantic models, with strict JSON (de)serialisation mirroring the Verifier's serde.

Python side: amounts are ``int``, ``deadline`` an aware UTC ``datetime``, ``nonce`` 32 ``bytes``.
Wire side (:meth:`to_json_dict` / :meth:`from_json_dict`): amounts are canonical decimal strings,
``deadline`` RFC 3339 with ``Z``, ``nonce`` base64. Structure is checked here; semantic rules (zero
amounts, transfer to self, empty diffs, key ownership) are the verifier's job.

Where we are stricter than the contract, on purpose:
- amount strings must be canonical (``"01"``, ``"+5"``, ``"-0"`` are refused, though Rust's
  integer parser takes them);
- ``deadline`` fractions longer than 9 digits and leap seconds are refused; digits beyond
  microseconds are floored (Python datetimes hold microseconds), so ``to_json_dict`` of such a
  payload differs from its input — signatures are checked on the signed bytes, never on a re-dump;
- a present-but-invalid ``min_gas``/``state_init`` next to ``msg`` is an error (serde's flattened
  ``Option`` would silently drop the whole notification).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    SerializerFunctionWrapHandler,
    StrictBool,
    StrictStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_serializer,
    model_validator,
)

from nearintents.accounts import validate_account_id
from nearintents.amounts import (
    I128_MAX,
    I128_MIN,
    U64_MAX,
    U128_MAX,
    parse_decimal,
)
from nearintents.encoding import EncodingError, b64decode, b64encode
from nearintents.keys import KeyFormatError, PublicKey
from nearintents.tokens import TokenId

NONCE_LEN = 32

# Validation context of the wire form; without it, models take Python values.
_WIRE: dict[str, bool] = {"wire": True}


class InvalidPayload(ValueError):  # noqa: N818 (name fixed by the design)
    """A payload or intent does not have the structure or types the Verifier expects."""


# --- scalar codecs ----------------------------------------------------------------------------


def _is_wire(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and info.context.get("wire") is True


def _integer_validator(*, signed: bool, low: int, high: int, what: str) -> PlainValidator:
    def validate(value: object, info: ValidationInfo) -> int:
        if _is_wire(info):
            if not isinstance(value, str):
                raise ValueError(f"{what} must be a decimal string, got {type(value).__name__}")
            return parse_decimal(value, signed=signed, low=low, high=high, what=what)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{what} must be an int, got {type(value).__name__}")
        if not low <= value <= high:
            raise ValueError(f"{what} {value} is out of range")
        return value

    return PlainValidator(validate)


_DECIMAL_STRING = PlainSerializer(str, return_type=str, when_used="json")

U128 = Annotated[
    int, _integer_validator(signed=False, low=0, high=U128_MAX, what="u128"), _DECIMAL_STRING
]
I128 = Annotated[
    int, _integer_validator(signed=True, low=I128_MIN, high=I128_MAX, what="i128"), _DECIMAL_STRING
]
# `Gas` (near-gas) is a u64 that travels as a decimal string.
Gas = Annotated[
    int, _integer_validator(signed=False, low=0, high=U64_MAX, what="gas"), _DECIMAL_STRING
]


def _validate_account(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"account id must be a string, got {type(value).__name__}")
    return validate_account_id(value)


AccountId = Annotated[str, PlainValidator(_validate_account)]


def _validate_token_id(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"token id must be a string, got {type(value).__name__}")
    # TokenId.parse(s) prints back as s, so the text is kept as given.
    return str(TokenId.parse(value))


TokenIdStr = Annotated[str, PlainValidator(_validate_token_id)]


def normalize_public_key(value: object) -> str:
    """``<curve>:<base58>`` with the right length; bare base58 is ed25519, as in the contract
    (CONTRACT ``public_key.rs``)."""
    if not isinstance(value, str):
        raise ValueError(f"public key must be a string, got {type(value).__name__}")
    text = value if ":" in value else f"ed25519:{value}"
    try:
        return str(PublicKey.parse(text))
    except KeyFormatError as exc:
        raise ValueError(f"public key {value!r}: {exc}") from exc


PublicKeyStr = Annotated[str, PlainValidator(normalize_public_key)]


_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))",
    re.ASCII,
)


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 timestamp (any offset) as an aware UTC datetime, floored to microseconds."""
    match = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"deadline must be an RFC 3339 timestamp, got {text!r}")
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    offset = timedelta(0)
    if sign is not None:
        if int(off_h) > 23 or int(off_m) > 59:
            raise ValueError(f"invalid UTC offset in {text!r}")
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        if sign == "-":
            offset = -offset
    micros = int((fraction or "0").ljust(6, "0")[:6])
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            micros,
            tzinfo=timezone(offset),
        )
        return moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"invalid timestamp {text!r}: {exc}") from exc


def format_rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC with ``Z`` and the fewest fraction digits, as the contract prints it."""
    utc = moment.astimezone(UTC)
    text = (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    )
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def _validate_deadline(value: object, info: ValidationInfo) -> datetime:
    if _is_wire(info):
        if not isinstance(value, str):
            raise ValueError("deadline must be an RFC 3339 string")
        return parse_rfc3339(value)
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError("deadline must be a timezone-aware datetime")
    return value.astimezone(UTC)


Deadline = Annotated[
    datetime,
    PlainValidator(_validate_deadline),
    PlainSerializer(format_rfc3339, return_type=str, when_used="json"),
]


def _validate_nonce(value: object, info: ValidationInfo) -> bytes:
    if _is_wire(info):
        if not isinstance(value, str):
            raise ValueError("nonce must be a base64 string")
        try:
            return b64decode(value, length=NONCE_LEN)
        except EncodingError as exc:
            raise ValueError(f"nonce: {exc}") from exc
    if not isinstance(value, bytes | bytearray) or len(value) != NONCE_LEN:
        raise ValueError(f"nonce must be {NONCE_LEN} bytes")
    return bytes(value)


NonceBytes = Annotated[
    bytes,
    PlainValidator(_validate_nonce),
    PlainSerializer(b64encode, return_type=str, when_used="json"),
]

# `StateInit` (near-global-contracts) is carried through as an opaque JSON object.
StateInit = dict[str, Any]


# --- models -----------------------------------------------------------------------------------


class _WireModel(BaseModel):
    """Frozen model that ignores unknown keys (as serde does) and omits absent optionals."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    # Fields serde skips when they hold their default (`skip_serializing_if = "…::is_zero"`).
    _omit_when_zero: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def serialize_wire(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name, value in list(data.items()):
            if value is None or (name in self._omit_when_zero and value in (0, "0")):
                del data[name]
        return data

    def to_json_dict(self) -> dict[str, Any]:
        """The wire form: a JSON-ready dict (amounts as strings, optionals omitted)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> Self:
        """Parse the wire form; raises :class:`InvalidPayload` on any structural error."""
        try:
            return cls.model_validate(data, context=_WIRE)
        except ValidationError as exc:
            raise InvalidPayload(_describe(exc)) from exc


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "<root>"
        parts.append(f"{where}: {error['msg']}")
    return "invalid payload: " + "; ".join(parts)


def _drop_orphan_notification(data: Any, info: ValidationInfo) -> Any:
    """Without ``msg`` the contract's flattened ``NotifyOnTransfer`` is None, so ``min_gas`` and
    ``state_init`` are ignored on the wire; built in Python, they are a mistake."""
    if not isinstance(data, Mapping) or data.get("msg") is not None:
        return data
    stray = [key for key in ("min_gas", "state_init") if data.get(key) is not None]
    if stray and not _is_wire(info):
        raise ValueError(f"{', '.join(stray)} only apply together with msg")
    return {key: value for key, value in data.items() if key not in stray}


class AddPublicKey(_WireModel):
    intent: Literal["add_public_key"] = "add_public_key"
    public_key: PublicKeyStr


class RemovePublicKey(_WireModel):
    intent: Literal["remove_public_key"] = "remove_public_key"
    public_key: PublicKeyStr


class Transfer(_WireModel):
    """Internal transfer; with ``msg`` the receiver is notified via ``mt_on_transfer``."""

    intent: Literal["transfer"] = "transfer"
    receiver_id: AccountId
    tokens: dict[TokenIdStr, U128]
    memo: StrictStr | None = None
    state_init: StateInit | None = None
    msg: StrictStr | None = None
    min_gas: Gas | None = None

    @model_validator(mode="before")
    @classmethod
    def check_notification(cls, data: Any, info: ValidationInfo) -> Any:
        return _drop_orphan_notification(data, info)


class FtWithdraw(_WireModel):
    """``token`` is the bare NEP-141 contract id, not ``nep141:…``."""

    intent: Literal["ft_withdraw"] = "ft_withdraw"
    token: AccountId
    receiver_id: AccountId
    amount: U128
    memo: StrictStr | None = None
    msg: StrictStr | None = None
    storage_deposit: U128 | None = None
    min_gas: Gas | None = None


class NftWithdraw(_WireModel):
    intent: Literal["nft_withdraw"] = "nft_withdraw"
    token: AccountId
    receiver_id: AccountId
    token_id: StrictStr
    memo: StrictStr | None = None
    msg: StrictStr | None = None
    storage_deposit: U128 | None = None
    min_gas: Gas | None = None


class MtWithdraw(_WireModel):
    """``token_ids`` and ``amounts`` pair up by index (lengths are checked at execution)."""

    intent: Literal["mt_withdraw"] = "mt_withdraw"
    token: AccountId
    receiver_id: AccountId
    token_ids: list[StrictStr]
    amounts: list[U128]
    memo: StrictStr | None = None
    msg: StrictStr | None = None
    storage_deposit: U128 | None = None
    min_gas: Gas | None = None


class NativeWithdraw(_WireModel):
    intent: Literal["native_withdraw"] = "native_withdraw"
    receiver_id: AccountId
    amount: U128


class StorageDeposit(_WireModel):
    """NEP-145 ``storage_deposit`` paid from the signer's wNEAR; ``account_id`` is accepted as an
    alias of ``deposit_for_account_id`` on input (serde ``alias``), never written."""

    intent: Literal["storage_deposit"] = "storage_deposit"
    contract_id: AccountId
    deposit_for_account_id: AccountId = Field(
        validation_alias=AliasChoices("deposit_for_account_id", "account_id")
    )
    amount: U128

    @model_validator(mode="before")
    @classmethod
    def check_one_spelling(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "deposit_for_account_id" in data and "account_id" in data:
            raise ValueError("duplicate field: deposit_for_account_id and its alias account_id")
        return data


class TokenDiff(_WireModel):
    """Declared balance changes, matched across the batch (PROTOCOL.md §2.12)."""

    intent: Literal["token_diff"] = "token_diff"
    diff: dict[TokenIdStr, I128]
    memo: StrictStr | None = None
    referral: AccountId | None = None


class SetAuthByPredecessorId(_WireModel):
    intent: Literal["set_auth_by_predecessor_id"] = "set_auth_by_predecessor_id"
    enabled: StrictBool


class AuthCall(_WireModel):
    """Calls ``contract_id.on_auth(signer_id, msg)``; ``attached_deposit`` defaults to 0 and, as in
    the contract, is not written when 0."""

    _omit_when_zero: ClassVar[tuple[str, ...]] = ("attached_deposit",)

    intent: Literal["auth_call"] = "auth_call"
    contract_id: AccountId
    state_init: StateInit | None = None
    msg: StrictStr
    attached_deposit: U128 = 0
    min_gas: Gas | None = None


class ImtMint(_WireModel):
    """Mint ``imt:<signer>:<token_id>`` tokens; ``tokens`` keys are bare inner token ids."""

    intent: Literal["imt_mint"] = "imt_mint"
    receiver_id: AccountId
    tokens: dict[StrictStr, U128]
    memo: StrictStr | None = None
    state_init: StateInit | None = None
    msg: StrictStr | None = None
    min_gas: Gas | None = None

    @model_validator(mode="before")
    @classmethod
    def check_notification(cls, data: Any, info: ValidationInfo) -> Any:
        return _drop_orphan_notification(data, info)


class ImtBurn(_WireModel):
    intent: Literal["imt_burn"] = "imt_burn"
    minter_id: AccountId
    tokens: dict[StrictStr, U128]
    memo: StrictStr | None = None


AnyIntent = (
    AddPublicKey
    | RemovePublicKey
    | Transfer
    | FtWithdraw
    | NftWithdraw
    | MtWithdraw
    | NativeWithdraw
    | StorageDeposit
    | TokenDiff
    | SetAuthByPredecessorId
    | AuthCall
    | ImtMint
    | ImtBurn
)
Intent = Annotated[AnyIntent, Field(discriminator="intent")]

_INTENT_ADAPTER: TypeAdapter[AnyIntent] = TypeAdapter(Intent)


def parse_intent(data: Mapping[str, Any]) -> AnyIntent:
    """Parse one intent from its wire form, dispatching on ``"intent"``."""
    try:
        return _INTENT_ADAPTER.validate_python(data, context=_WIRE)
    except ValidationError as exc:
        raise InvalidPayload(_describe(exc)) from exc


class DefusePayload(_WireModel):
    """What every signing standard carries (PROTOCOL.md §2.4). ``intents`` may be empty (it still
    burns the nonce); we always write it, the contract also accepts it missing."""

    signer_id: AccountId
    verifying_contract: AccountId
    deadline: Deadline
    nonce: NonceBytes
    intents: list[Intent] = Field(default_factory=list)

    def to_json(self) -> str:
        """Compact JSON text of :meth:`to_json_dict` (UTF-8 kept as is), ready to sign."""
        return json.dumps(self.to_json_dict(), separators=(",", ":"), ensure_ascii=False)

    def nep413_message_dict(self) -> dict[str, Any]:
        """The NEP-413 ``message`` object: ``verifying_contract`` and ``nonce`` travel beside it
        as ``recipient`` and ``nonce`` (PROTOCOL.md §2.4)."""
        full = self.to_json_dict()
        return {key: full[key] for key in ("signer_id", "deadline", "intents")}

    @classmethod
    def from_nep413(
        cls, message: Mapping[str, Any], *, recipient: str, nonce: bytes | str
    ) -> DefusePayload:
        """Rebuild the payload from a NEP-413 message object, its recipient and nonce (bytes or
        base64)."""
        if not isinstance(message, Mapping):
            raise InvalidPayload("invalid payload: NEP-413 message must be a JSON object")
        wire_nonce = b64encode(nonce) if isinstance(nonce, bytes | bytearray) else nonce
        data = dict(message)
        data.update(verifying_contract=recipient, nonce=wire_nonce)
        return cls.from_json_dict(data)
