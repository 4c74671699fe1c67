"""NEAR account ids: validation exactly as the `near-account-id` crate does it, plus the two
implicit-account forms the Verifier derives from public keys (PROTOCOL.md §2.1).
"""

from __future__ import annotations

MIN_LEN = 2
MAX_LEN = 64

_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_SEPARATORS = frozenset("-_.")
_HEX = frozenset("0123456789abcdef")


class InvalidAccountId(ValueError):  # noqa: N818 (name fixed by the design)
    """A string is not a valid NEAR account id."""


def validate_account_id(account_id: str) -> str:
    """Return ``account_id`` unchanged if it is a valid NEAR account id, else raise.

    The grammar is ``^(([a-z\\d]+[-_])*[a-z\\d]+\\.)*([a-z\\d]+[-_])*[a-z\\d]+$`` with a length of
    2..64 bytes; like the crate we check it with a one-pass scan instead of a regex.
    """
    if not isinstance(account_id, str):
        raise InvalidAccountId(f"account id must be a string, got {type(account_id).__name__}")
    # The crate measures length in UTF-8 bytes; non-ASCII fails the character check anyway,
    # but measuring the same way keeps the error kinds identical.
    size = len(account_id.encode("utf-8", "surrogatepass"))
    if size < MIN_LEN:
        raise InvalidAccountId(f"account id {account_id!r} is too short (min {MIN_LEN})")
    if size > MAX_LEN:
        raise InvalidAccountId(f"account id {account_id!r} is too long (max {MAX_LEN})")
    last_was_separator = True  # so that a leading separator counts as redundant
    for index, char in enumerate(account_id):
        if char in _ALNUM:
            is_separator = False
        elif char in _SEPARATORS:
            is_separator = True
        else:
            raise InvalidAccountId(
                f"account id {account_id!r} has an invalid character {char!r} at {index} "
                "(only a-z, 0-9, '-', '_' and '.' are allowed)"
            )
        if is_separator and last_was_separator:
            raise InvalidAccountId(
                f"account id {account_id!r} has a leading or redundant separator at {index}"
            )
        last_was_separator = is_separator
    if last_was_separator:
        raise InvalidAccountId(f"account id {account_id!r} ends with a separator")
    return account_id


def is_valid_account_id(account_id: str) -> bool:
    try:
        validate_account_id(account_id)
    except InvalidAccountId:
        return False
    return True


def is_implicit_ed25519(account_id: str) -> bool:
    """64 lowercase hex characters: the hex of an ed25519 public key (NEAR implicit account)."""
    return isinstance(account_id, str) and len(account_id) == 64 and set(account_id) <= _HEX


def is_implicit_evm(account_id: str) -> bool:
    """``0x`` + 40 lowercase hex characters: an Ethereum-style implicit account."""
    return (
        isinstance(account_id, str)
        and len(account_id) == 42
        and account_id.startswith("0x")
        and set(account_id[2:]) <= _HEX
    )
