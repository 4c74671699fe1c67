"""The intent kinds of a DefusePayload, parsed from JSON as strictly as the contract's serde types
(CONTRACT ``core/src/intents/*.rs``; PROTOCOL.md §2.11). Unknown fields are ignored, as serde does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devnet.verifier.amounts import parse_i128, parse_u64, parse_u128
from devnet.verifier.errors import VerifierError, json_error
from devnet.verifier.ids import (
    canonical_public_key,
    canonical_token_id,
    check_account_id,
    sort_tokens,
)


@dataclass(frozen=True, slots=True)
class Notify:
    """``NotifyOnTransfer``: flattened ``msg``/``min_gas``/``state_init`` of a transfer."""

    msg: str
    min_gas: int | None = None
    state_init: Any = None


@dataclass(frozen=True, slots=True)
class AddPublicKey:
    public_key: str


@dataclass(frozen=True, slots=True)
class RemovePublicKey:
    public_key: str


@dataclass(frozen=True, slots=True)
class Transfer:
    receiver_id: str
    tokens: dict[str, int]
    memo: str | None = None
    notify: Notify | None = None


@dataclass(frozen=True, slots=True)
class FtWithdraw:
    token: str
    receiver_id: str
    amount: int
    memo: str | None = None
    msg: str | None = None
    storage_deposit: int | None = None
    min_gas: int | None = None


@dataclass(frozen=True, slots=True)
class NftWithdraw:
    token: str
    receiver_id: str
    token_id: str
    memo: str | None = None
    msg: str | None = None
    storage_deposit: int | None = None
    min_gas: int | None = None


@dataclass(frozen=True, slots=True)
class MtWithdraw:
    token: str
    receiver_id: str
    token_ids: tuple[str, ...]
    amounts: tuple[int, ...]
    memo: str | None = None
    msg: str | None = None
    storage_deposit: int | None = None
    min_gas: int | None = None


@dataclass(frozen=True, slots=True)
class NativeWithdraw:
    receiver_id: str
    amount: int


@dataclass(frozen=True, slots=True)
class StorageDeposit:
    contract_id: str
    deposit_for_account_id: str
    amount: int


@dataclass(frozen=True, slots=True)
class TokenDiff:
    diff: dict[str, int]
    memo: str | None = None
    referral: str | None = None


@dataclass(frozen=True, slots=True)
class SetAuthByPredecessorId:
    enabled: bool


@dataclass(frozen=True, slots=True)
class AuthCall:
    contract_id: str
    msg: str
    attached_deposit: int = 0
    min_gas: int | None = None
    state_init: Any = None


Intent = (
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
)


class _Fields:
    """Typed access to one JSON object with serde-like errors (``JSON: missing field `x```)."""

    def __init__(self, obj: object, what: str) -> None:
        if not isinstance(obj, dict):
            raise json_error(f"invalid type: expected struct {what}")
        self._obj: dict[str, Any] = obj

    def raw(self, name: str, *, required: bool) -> Any:
        value = self._obj.get(name)
        if value is None and required:
            raise json_error(f"missing field `{name}`")
        return value

    def convert(self, name: str, required: bool, convert: Callable[[Any], Any]) -> Any:
        value = self.raw(name, required=required)
        if value is None:
            return None
        try:
            return convert(value)
        except VerifierError:
            raise
        except ValueError as exc:
            raise json_error(f"{exc} (field `{name}`)") from exc

    def string(self, name: str, *, required: bool = True) -> Any:
        return self.convert(name, required, _string)

    def account(self, name: str, *, required: bool = True) -> Any:
        return self.convert(name, required, check_account_id)

    def u128(self, name: str, *, required: bool = True) -> Any:
        return self.convert(name, required, parse_u128)

    def u64(self, name: str, *, required: bool = True) -> Any:
        return self.convert(name, required, parse_u64)

    def boolean(self, name: str) -> bool:
        value = self.raw(name, required=True)
        if not isinstance(value, bool):
            raise json_error(f"invalid type: expected a boolean (field `{name}`)")
        return value

    def token_map(self, name: str, parse: Callable[[object], int]) -> dict[str, int]:
        value = self.raw(name, required=True)
        if not isinstance(value, dict):
            raise json_error(f"invalid type: expected a map (field `{name}`)")
        try:
            return sort_tokens({canonical_token_id(k): parse(v) for k, v in value.items()})
        except ValueError as exc:
            raise json_error(f"{exc} (field `{name}`)") from exc

    def string_list(self, name: str) -> tuple[str, ...]:
        value = self.raw(name, required=True)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise json_error(f"invalid type: expected a sequence of strings (field `{name}`)")
        return tuple(value)


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("invalid type: expected a string")
    return value


def _add_public_key(f: _Fields) -> Intent:
    return AddPublicKey(f.convert("public_key", True, canonical_public_key))


def _remove_public_key(f: _Fields) -> Intent:
    return RemovePublicKey(f.convert("public_key", True, canonical_public_key))


def _transfer(f: _Fields) -> Intent:
    msg = f.raw("msg", required=False)
    notify = None
    # `notification` is a flattened Option: present exactly when its required `msg` is.
    if isinstance(msg, str):
        notify = Notify(msg, f.u64("min_gas", required=False), f.raw("state_init", required=False))
    return Transfer(
        receiver_id=f.account("receiver_id"),
        tokens=f.token_map("tokens", parse_u128),
        memo=f.string("memo", required=False),
        notify=notify,
    )


def _ft_withdraw(f: _Fields) -> Intent:
    return FtWithdraw(
        token=f.account("token"),
        receiver_id=f.account("receiver_id"),
        amount=f.u128("amount"),
        memo=f.string("memo", required=False),
        msg=f.string("msg", required=False),
        storage_deposit=f.u128("storage_deposit", required=False),
        min_gas=f.u64("min_gas", required=False),
    )


def _nft_withdraw(f: _Fields) -> Intent:
    return NftWithdraw(
        token=f.account("token"),
        receiver_id=f.account("receiver_id"),
        token_id=f.string("token_id"),
        memo=f.string("memo", required=False),
        msg=f.string("msg", required=False),
        storage_deposit=f.u128("storage_deposit", required=False),
        min_gas=f.u64("min_gas", required=False),
    )


def _mt_withdraw(f: _Fields) -> Intent:
    amounts = f.string_list("amounts")
    try:
        parsed = tuple(parse_u128(a) for a in amounts)
    except ValueError as exc:
        raise json_error(f"{exc} (field `amounts`)") from exc
    return MtWithdraw(
        token=f.account("token"),
        receiver_id=f.account("receiver_id"),
        token_ids=f.string_list("token_ids"),
        amounts=parsed,
        memo=f.string("memo", required=False),
        msg=f.string("msg", required=False),
        storage_deposit=f.u128("storage_deposit", required=False),
        min_gas=f.u64("min_gas", required=False),
    )


def _native_withdraw(f: _Fields) -> Intent:
    return NativeWithdraw(receiver_id=f.account("receiver_id"), amount=f.u128("amount"))


def _storage_deposit(f: _Fields) -> Intent:
    # `account_id` is a serde alias kept for backwards compatibility (core/src/intents/tokens.rs).
    has_alias = f.raw("account_id", required=False) is not None
    if has_alias and f.raw("deposit_for_account_id", required=False) is not None:
        raise json_error("duplicate field `deposit_for_account_id`")
    return StorageDeposit(
        contract_id=f.account("contract_id"),
        deposit_for_account_id=f.account("account_id" if has_alias else "deposit_for_account_id"),
        amount=f.u128("amount"),
    )


def _token_diff(f: _Fields) -> Intent:
    return TokenDiff(
        diff=f.token_map("diff", parse_i128),
        memo=f.string("memo", required=False),
        referral=f.account("referral", required=False),
    )


def _set_auth(f: _Fields) -> Intent:
    return SetAuthByPredecessorId(f.boolean("enabled"))


def _auth_call(f: _Fields) -> Intent:
    return AuthCall(
        contract_id=f.account("contract_id"),
        msg=f.string("msg"),
        attached_deposit=f.u128("attached_deposit", required=False) or 0,
        min_gas=f.u64("min_gas", required=False),
        state_init=f.raw("state_init", required=False),
    )


_PARSERS: dict[str, Callable[[_Fields], Intent]] = {
    "add_public_key": _add_public_key,
    "remove_public_key": _remove_public_key,
    "transfer": _transfer,
    "ft_withdraw": _ft_withdraw,
    "nft_withdraw": _nft_withdraw,
    "mt_withdraw": _mt_withdraw,
    "native_withdraw": _native_withdraw,
    "storage_deposit": _storage_deposit,
    "token_diff": _token_diff,
    "set_auth_by_predecessor_id": _set_auth,
    "auth_call": _auth_call,
}


def parse_intent(obj: object) -> Intent:
    if not isinstance(obj, dict):
        raise json_error("invalid type: expected internally tagged enum Intent")
    tag = obj.get("intent")
    if tag is None:
        raise json_error("missing field `intent`")
    parser = _PARSERS.get(tag) if isinstance(tag, str) else None
    if parser is None:
        expected = ", ".join(f"`{name}`" for name in _PARSERS)
        raise json_error(f"unknown variant `{tag}`, expected one of {expected}")
    return parser(_Fields(obj, tag))


def parse_intents(value: object) -> list[Intent]:
    if value is None:
        return []  # `intents` has `#[serde(default)]`
    if not isinstance(value, list):
        raise json_error("invalid type: expected a sequence (field `intents`)")
    return [parse_intent(item) for item in value]
