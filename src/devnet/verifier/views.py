"""View methods by name, as NEAR RPC ``query``/``call_function`` runs them: JSON arguments in,
the JSON return value's bytes out (CONTRACT ``contracts/defuse/src/contract/**``, NEP-141).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from devnet.verifier import errors as err
from devnet.verifier.ids import canonical_public_key, check_account_id
from devnet.verifier.near_tokens import STORAGE_BALANCE, NearLedger
from devnet.verifier.state import VerifierState
from devnet.verifier.store import Overlay

if TYPE_CHECKING:
    from devnet.verifier.verifier import Verifier


class ViewFailure(StrEnum):
    PANIC = "panic"  # the contract panicked (message = its text)
    METHOD_NOT_FOUND = "method_not_found"
    UNKNOWN_ACCOUNT = "unknown_account"
    NO_CONTRACT_CODE = "no_contract_code"


class ViewError(Exception):
    def __init__(self, kind: ViewFailure, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _args(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ViewError(ViewFailure.PANIC, err.DESERIALIZE_INPUT)
    return value


def _field(args: dict[str, Any], name: str, check: Callable[[Any], Any] | None = None) -> Any:
    if name not in args:
        raise ViewError(ViewFailure.PANIC, err.DESERIALIZE_INPUT)
    value = args[name]
    try:
        return check(value) if check else value
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ViewError(ViewFailure.PANIC, err.DESERIALIZE_INPUT) from exc


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _nonce(value: Any) -> str:
    """``AsBase64<Nonce>``: 32 bytes in base64, padding optional; canonical form returned."""
    text = _string(value)
    raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    if len(raw) != 32:
        raise ValueError("a nonce is 32 bytes")
    return base64.b64encode(raw).decode()


def _salt(value: Any) -> str:
    """``Salt`` parses 4 bytes of hex (either case)."""
    raw = bytes.fromhex(_string(value))
    if len(raw) != 4:
        raise ValueError("a salt is 4 bytes")
    return raw.hex()


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError("expected a list of strings")
    return value


def _verifier_view(verifier: Verifier, state: VerifierState, method: str, args: bytes) -> Any:
    def a(name: str, check: Callable[[Any], Any] = _string) -> Any:
        return _field(_args(args), name, check)

    if method == "mt_balance_of":
        # An unparseable token id has no balance rather than an error (internal_mt_balance_of).
        return str(state.balance_of(a("account_id", check_account_id), a("token_id")))
    if method == "mt_batch_balance_of":
        account = a("account_id", check_account_id)
        return [str(state.balance_of(account, t)) for t in a("token_ids", _strings)]
    if method == "mt_supply":
        return str(state.total_supply(a("token_id")))
    if method == "mt_tokens_for_owner":
        tokens = state.tokens_of(a("account_id", check_account_id))
        return [{"token_id": t, "owner_id": None} for t in tokens]
    if method == "current_salt":
        return state.current_salt
    if method == "is_valid_salt":
        return state.is_valid_salt(a("salt", _salt))
    if method == "fee":
        return state.fee
    if method == "fee_collector":
        return state.fee_collector
    if method == "wnear_id":
        return state.wnear_id
    if method == "is_nonce_used":
        return state.is_nonce_used(a("account_id", check_account_id), a("nonce", _nonce))
    if method == "public_keys_of":
        return state.public_keys_of(a("account_id", check_account_id))
    if method == "has_public_key":
        account = a("account_id", check_account_id)
        return state.has_public_key(account, a("public_key", canonical_public_key))
    if method == "is_auth_by_predecessor_id_enabled":
        return state.is_auth_by_predecessor_id_enabled(a("account_id", check_account_id))
    if method == "is_account_locked":
        return state.is_account_locked(a("account_id", check_account_id))
    if method == "simulate_intents":
        try:
            return verifier.simulate_intents(a("signed", lambda v: v))
        except err.VerifierError as exc:
            raise ViewError(ViewFailure.PANIC, exc.message) from exc
    raise ViewError(ViewFailure.METHOD_NOT_FOUND, method)


def _token_view(near: NearLedger, db: Overlay, contract: str, method: str, args: bytes) -> Any:
    config = near.token(db, contract)
    assert config is not None

    def a(name: str, check: Callable[[Any], Any] = _string) -> Any:
        return _field(_args(args), name, check)

    if method == "ft_balance_of":
        return str(near.ft_balance_of(db, contract, a("account_id", check_account_id)))
    if method == "ft_total_supply":
        return str(near.ft_total_supply(db, contract))
    if method == "ft_metadata":
        return {
            "spec": "ft-1.0.0",
            "name": config.name or config.symbol,
            "symbol": config.symbol,
            "icon": None,
            "reference": None,
            "reference_hash": None,
            "decimals": config.decimals,
        }
    if method == "storage_balance_of":
        account = a("account_id", check_account_id)
        if not near.is_registered(db, contract, account):
            return None
        return {"total": str(STORAGE_BALANCE), "available": "0"}
    if method == "storage_balance_bounds":
        return {"min": str(STORAGE_BALANCE), "max": str(STORAGE_BALANCE)}
    raise ViewError(ViewFailure.METHOD_NOT_FOUND, method)


def call_view(
    verifier: Verifier, account_id: str, method: str, args: bytes, *, final: bool = False
) -> bytes:
    """Run a view on the verifier or a NEAR-side token contract (on the final state with
    ``final``); raises :class:`ViewError`."""
    with verifier.reading(final=final) as (state, near, db):
        if account_id == verifier.account_id:
            result = _verifier_view(verifier, state, method, args)
        elif near.token(db, account_id) is not None:
            result = _token_view(near, db, account_id, method, args)
        elif near.native_balance(db, account_id) > 0:
            raise ViewError(ViewFailure.NO_CONTRACT_CODE, account_id)
        else:
            raise ViewError(ViewFailure.UNKNOWN_ACCOUNT, account_id)
    return json.dumps(result, separators=(",", ":"), ensure_ascii=False).encode()
