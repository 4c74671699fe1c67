"""Errors of the devnet Verifier. ``str()`` of every error is exactly the contract's panic text
(CONTRACT ``core/src/error.rs``), so clients see the same messages as on mainnet.

    VerifierError            the contract would panic: the caller must fix the call
     └── InvariantViolated   the ``token_diff``/``transfer`` deltas of a batch do not net to zero
"""

from __future__ import annotations

import json
from typing import Any

# Texts of `DefuseError` variants without arguments (CONTRACT core/src/error.rs).
BALANCE_OVERFLOW = "insufficient balance or overflow"
DEADLINE_EXPIRED = "deadline has expired"
DEADLINE_GREATER_THAN_NONCE = "deadline is greater than nonce"
INVALID_INTENT = "invalid intent"
INVALID_SIGNATURE = "invalid signature"
NONCE_USED = "nonce was already used"
NONCE_EXPIRED = "nonce was already expired"
WRONG_VERIFYING_CONTRACT = "wrong verifying_contract"
INVALID_SALT = "invalid salt"
# near-sdk's panic when a method's JSON arguments do not deserialize.
DESERIALIZE_INPUT = "Failed to deserialize input from JSON."
# `ft_on_transfer` requires a positive amount (contracts/defuse/src/contract/tokens/nep141).
ZERO_AMOUNT = "zero amount"
# `set_fee` / `set_fee_collector` refuse a no-op change.
SAME = "same"


class VerifierError(Exception):
    """A call the contract rejects (it panics). Who must act: the caller; a retry will not help.

    ``tx_hash`` is set when the rejected call was recorded as a failed transaction.
    """

    def __init__(self, message: str, *, tx_hash: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.tx_hash = tx_hash

    def __str__(self) -> str:
        return self.message


class InvariantViolated(VerifierError):  # noqa: N818 - the contract's name for it
    """The batch's deltas do not match; ``violation`` is the JSON the contract reports."""

    def __init__(self, violation: dict[str, Any]) -> None:
        text = json.dumps(violation, separators=(",", ":"), ensure_ascii=False)
        super().__init__(f"invariant violated: {text}")
        self.violation = violation


def account_not_found(account_id: str) -> VerifierError:
    return VerifierError(f"account '{account_id}' not found")


def account_locked(account_id: str) -> VerifierError:
    return VerifierError(f"account '{account_id}' is locked")


def auth_by_predecessor_disabled(account_id: str) -> VerifierError:
    return VerifierError(f"authentication by PREDECESSOR_ID is disabled for account '{account_id}'")


def public_key_exists(account_id: str, public_key: str) -> VerifierError:
    return VerifierError(f"public key '{public_key}' already exists for account '{account_id}'")


def public_key_not_exist(account_id: str, public_key: str) -> VerifierError:
    return VerifierError(f"public key '{public_key}' doesn't exist for account '{account_id}'")


def nft_already_deposited(token_id: str) -> VerifierError:
    return VerifierError(f"NFT '{token_id}' is already deposited")


def json_error(detail: str) -> VerifierError:
    """A payload that does not deserialize; serde's detail text is approximated."""
    return VerifierError(f"JSON: {detail}")


def error(text: str) -> VerifierError:
    return VerifierError(text)
