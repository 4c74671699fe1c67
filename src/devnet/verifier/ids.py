"""Account ids, token ids and public keys as the contract compares, orders and prints them."""

from __future__ import annotations

from typing import TypeVar

from nearintents.accounts import (
    InvalidAccountId,
    is_implicit_ed25519,
    is_implicit_evm,
    validate_account_id,
)
from nearintents.keys import Curve, KeyFormatError, PublicKey, implicit_account_id
from nearintents.tokens import InvalidTokenId, TokenId, TokenStandard

V = TypeVar("V")

_STANDARD_RANK = {standard: rank for rank, standard in enumerate(TokenStandard)}


def check_account_id(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("invalid type: expected an account id string")
    try:
        return validate_account_id(value)
    except InvalidAccountId as exc:
        raise ValueError(str(exc)) from exc


def canonical_token_id(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("invalid type: expected a token id string")
    try:
        return str(TokenId.parse(value))
    except InvalidTokenId as exc:
        raise ValueError(f"token_id: {exc}") from exc


def canonical_public_key(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("invalid type: expected a public key string")
    try:
        return str(PublicKey.parse(value))
    except KeyFormatError as exc:
        raise ValueError(str(exc)) from exc


def token_sort_key(token_id: str) -> tuple[int, str, str]:
    """The contract's ``Ord`` for ``TokenId``: standard (enum order), then contract, then inner id.

    Maps keyed by token id are ``BTreeMap``s in the contract, so JSON it prints follows this order.
    """
    parsed = TokenId.parse(token_id)
    return _STANDARD_RANK[parsed.standard], parsed.contract_id, parsed.token_id or ""


def sort_tokens(tokens: dict[str, V]) -> dict[str, V]:
    return {k: tokens[k] for k in sorted(tokens, key=token_sort_key)}


def standard_of(token_id: str) -> TokenStandard:
    return TokenId.parse(token_id).standard


def implicit_account_of(public_key: str) -> str:
    return implicit_account_id(PublicKey.parse(public_key))


def has_implicit_public_key(account_id: str) -> bool:
    """NEAR-implicit (64 hex) and ETH-implicit (``0x`` + 40 hex) accounts own a key by default;
    named accounts start with the implicit key marked removed (contract ``Account::new``)."""
    return is_implicit_ed25519(account_id) or is_implicit_evm(account_id)


def public_key_from_implicit(account_id: str) -> str | None:
    """Only an ed25519 implicit account can be turned back into its key."""
    if not is_implicit_ed25519(account_id):
        return None
    return str(PublicKey(Curve.ED25519, bytes.fromhex(account_id)))
