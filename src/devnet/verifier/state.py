"""The Verifier contract's state over an overlay: accounts (keys, flags, nonces, balances), total
supplies, fee settings and salts, with the contract's rules and error texts (CONTRACT
``contracts/defuse/src/contract/{accounts,tokens,state}``, ``core/src/engine/state``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from devnet.verifier import errors as err
from devnet.verifier.amounts import checked_add, checked_sub
from devnet.verifier.ids import (
    has_implicit_public_key,
    implicit_account_of,
    public_key_from_implicit,
    sort_tokens,
    standard_of,
)
from devnet.verifier.store import Overlay
from nearintents.encoding import EncodingError, b64decode
from nearintents.nonce import InvalidNonce, VersionedNonce, decode_nonce
from nearintents.tokens import TokenStandard

SEP = "|"  # account ids never contain it, so "account|rest" splits unambiguously


@dataclass
class AccountFlags:
    implicit_key_removed: bool
    auth_disabled: bool = False
    locked: bool = False


class VerifierState:
    """One view of the contract state; all writes go to ``db`` (commit or drop it as a whole)."""

    def __init__(self, db: Overlay, now_ns: int) -> None:
        self.db = db
        self.now_ns = now_ns

    # --- configuration ----------------------------------------------------------------------

    def _meta(self, key: str) -> str:
        value = self.db.get("meta", key)
        if value is None:
            raise KeyError(f"verifier meta {key!r} is not initialised")
        return value

    @property
    def verifying_contract(self) -> str:
        return self._meta("verifying_contract")

    @property
    def wnear_id(self) -> str:
        return self._meta("wnear_id")

    @property
    def fee(self) -> int:
        return int(self._meta("fee"))

    @property
    def fee_collector(self) -> str:
        return self._meta("fee_collector")

    def set_fee(self, fee: int) -> None:
        self.db.put("meta", "fee", str(fee))

    def set_fee_collector(self, account_id: str) -> None:
        self.db.put("meta", "fee_collector", account_id)

    # --- accounts ---------------------------------------------------------------------------

    def _flags(self, account_id: str) -> AccountFlags | None:
        raw = self.db.get("account", account_id)
        return None if raw is None else AccountFlags(**json.loads(raw))

    def _save(self, account_id: str, flags: AccountFlags) -> None:
        self.db.put("account", account_id, json.dumps(asdict(flags)))

    def _get_or_create(self, account_id: str) -> AccountFlags:
        flags = self._flags(account_id)
        if flags is None:
            flags = AccountFlags(implicit_key_removed=not has_implicit_public_key(account_id))
            self._save(account_id, flags)
        return flags

    def _unlocked(self, account_id: str, *, create: bool) -> AccountFlags:
        flags = self._get_or_create(account_id) if create else self._flags(account_id)
        if flags is None:
            raise err.account_not_found(account_id)
        if flags.locked:
            raise err.account_locked(account_id)
        return flags

    def account_exists(self, account_id: str) -> bool:
        return self._flags(account_id) is not None

    def is_account_locked(self, account_id: str) -> bool:
        flags = self._flags(account_id)
        return flags is not None and flags.locked

    def set_locked(self, account_id: str, locked: bool) -> bool:
        """Returns whether the lock state changed (``force_(un)lock_account``)."""
        flags = self._get_or_create(account_id)
        if flags.locked == locked:
            return False
        flags.locked = locked
        self._save(account_id, flags)
        return True

    # --- public keys (contract Account::{has,add,remove}_public_key) -------------------------

    def has_public_key(self, account_id: str, public_key: str) -> bool:
        flags = self._flags(account_id)
        is_implicit = implicit_account_of(public_key) == account_id
        if flags is None:
            return is_implicit
        if is_implicit and not flags.implicit_key_removed:
            return True
        return self.db.get("pk", account_id + SEP + public_key) is not None

    def public_keys_of(self, account_id: str) -> list[str]:
        flags = self._flags(account_id)
        keys = [k.split(SEP, 1)[1] for k, _ in self.db.scan("pk", account_id + SEP)]
        if flags is None or not flags.implicit_key_removed:
            implicit = public_key_from_implicit(account_id)
            if implicit is not None:
                keys.append(implicit)
        return keys

    def add_public_key(self, account_id: str, public_key: str) -> None:
        flags = self._unlocked(account_id, create=True)
        if implicit_account_of(public_key) == account_id:
            added = flags.implicit_key_removed
            flags.implicit_key_removed = False
            self._save(account_id, flags)
        else:
            added = self.db.get("pk", account_id + SEP + public_key) is None
            self.db.put("pk", account_id + SEP + public_key, "1")
        if not added:
            raise err.public_key_exists(account_id, public_key)

    def remove_public_key(self, account_id: str, public_key: str) -> None:
        flags = self._unlocked(account_id, create=True)
        if implicit_account_of(public_key) == account_id:
            removed = not flags.implicit_key_removed
            flags.implicit_key_removed = True
            self._save(account_id, flags)
        else:
            removed = self.db.get("pk", account_id + SEP + public_key) is not None
            self.db.put("pk", account_id + SEP + public_key, None)
        if not removed:
            raise err.public_key_not_exist(account_id, public_key)

    # --- auth by predecessor -------------------------------------------------------------------

    def is_auth_by_predecessor_id_enabled(self, account_id: str) -> bool:
        flags = self._flags(account_id)
        return flags is None or not flags.auth_disabled

    def set_auth_by_predecessor_id(self, account_id: str, enable: bool) -> bool:
        """Returns whether it toggled (contract ``internal_set_auth_by_predecessor_id``)."""
        if enable and not self.account_exists(account_id):
            return False  # accounts that do not exist yet have it enabled already
        flags = self._unlocked(account_id, create=True)
        toggled = flags.auth_disabled == enable
        if toggled:
            flags.auth_disabled = not enable
            self._save(account_id, flags)
        return toggled

    # --- nonces ----------------------------------------------------------------------------------

    def is_nonce_used(self, account_id: str, nonce_b64: str) -> bool:
        return self.db.get("nonce", account_id + SEP + nonce_b64) is not None

    def commit_nonce(self, account_id: str, nonce_b64: str) -> None:
        self._unlocked(account_id, create=True)
        if self.is_nonce_used(account_id, nonce_b64):
            raise err.error(err.NONCE_USED)
        self.db.put("nonce", account_id + SEP + nonce_b64, "1")

    def nonces_of(self, account_id: str) -> list[str]:
        """The committed nonces of ``account_id`` (base64), for the devnet's garbage collector:
        the contract's nonce bitmaps are not a view, its collector reads them from an indexer."""
        prefix = account_id + SEP
        return [key[len(prefix) :] for key, _ in self.db.scan("nonce", prefix)]

    def is_nonce_cleanable(self, nonce_b64: str) -> bool:
        """``Contract::is_nonce_cleanable`` (contracts/defuse/src/contract/garbage_collector.rs):
        only a versioned nonce, and only once its deadline has passed or its salt is no longer
        valid. Legacy nonces are never cleaned."""
        try:
            nonce = decode_nonce(b64decode(nonce_b64, length=32))
        except (EncodingError, InvalidNonce):
            return False
        if not isinstance(nonce, VersionedNonce):
            return False
        return nonce.deadline_ns < self.now_ns or not self.is_valid_salt(nonce.salt.hex())

    def cleanup_nonce(self, account_id: str, nonce_b64: str) -> bool:
        """``State::cleanup_nonce_by_prefix`` for one cleanable nonce: the contract clears the
        whole 256-bit bitmap word holding it, i.e. every used nonce of the account that shares
        its first 31 bytes (core/src/nonce/mod.rs ``cleanup_by_prefix``). True if any was
        cleared; an unknown account or a nonce that is not cleanable changes nothing."""
        if self._flags(account_id) is None or not self.is_nonce_cleanable(nonce_b64):
            return False
        try:
            prefix = b64decode(nonce_b64, length=32)[:31]
        except EncodingError:
            return False
        cleared = False
        for used in self.nonces_of(account_id):
            if b64decode(used, length=32)[:31] == prefix:
                self.db.put("nonce", account_id + SEP + used, None)
                cleared = True
        return cleared

    # --- balances --------------------------------------------------------------------------------

    def balance_of(self, account_id: str, token_id: str) -> int:
        return int(self.db.get("bal", account_id + SEP + token_id) or 0)

    def tokens_of(self, account_id: str) -> dict[str, int]:
        found = {k.split(SEP, 1)[1]: int(v) for k, v in self.db.scan("bal", account_id + SEP)}
        return sort_tokens(found)

    def _set_balance(self, account_id: str, token_id: str, amount: int) -> None:
        self.db.put("bal", account_id + SEP + token_id, str(amount) if amount else None)

    def total_supply(self, token_id: str) -> int:
        return int(self.db.get("supply", token_id) or 0)

    def internal_add_balance(self, owner_id: str, token_id: str, amount: int) -> None:
        """Credit inside a batch; locked accounts may still receive (contract ``State``)."""
        self._get_or_create(owner_id)
        if amount == 0:
            raise err.error(err.INVALID_INTENT)
        total = checked_add(self.balance_of(owner_id, token_id), amount)
        if total is None:
            raise err.error(err.BALANCE_OVERFLOW)
        self._set_balance(owner_id, token_id, total)

    def internal_sub_balance(self, owner_id: str, token_id: str, amount: int) -> None:
        self._unlocked(owner_id, create=False)
        if amount == 0:
            raise err.error(err.INVALID_INTENT)
        left = checked_sub(self.balance_of(owner_id, token_id), amount)
        if left is None:
            raise err.error(err.BALANCE_OVERFLOW)
        self._set_balance(owner_id, token_id, left)

    def deposit(self, owner_id: str, tokens: list[tuple[str, int]]) -> None:
        """Mint into the contract (``Contract::deposit``): supply and balance grow together."""
        self._get_or_create(owner_id)  # deposits are allowed for locked accounts
        for token_id, amount in tokens:
            if amount == 0:
                raise err.error(err.INVALID_INTENT)
            supply = checked_add(self.total_supply(token_id), amount)
            if supply is None:
                raise err.error(err.BALANCE_OVERFLOW)
            if standard_of(token_id) is TokenStandard.NEP171 and supply > 1:
                raise err.nft_already_deposited(token_id)
            self.db.put("supply", token_id, str(supply))
            total = checked_add(self.balance_of(owner_id, token_id), amount)
            if total is None:
                raise err.error(err.BALANCE_OVERFLOW)
            self._set_balance(owner_id, token_id, total)

    def withdraw(self, owner_id: str, tokens: list[tuple[str, int]]) -> None:
        """Burn out of the contract (``Contract::withdraw``)."""
        self._unlocked(owner_id, create=False)
        for token_id, amount in tokens:
            if amount == 0:
                raise err.error(err.INVALID_INTENT)
            left = checked_sub(self.balance_of(owner_id, token_id), amount)
            if left is None:
                raise err.error(err.BALANCE_OVERFLOW)
            self._set_balance(owner_id, token_id, left)
            supply = checked_sub(self.total_supply(token_id), amount)
            if supply is None:
                raise err.error(err.BALANCE_OVERFLOW)
            self.db.put("supply", token_id, str(supply) if supply else None)

    def move_unchecked(self, from_id: str, to_id: str, token_id: str, amount: int) -> None:
        """A refund from ``mt_resolve_transfer``: allowed even for locked accounts; the caller
        caps ``amount`` by the balance."""
        left = checked_sub(self.balance_of(from_id, token_id), amount)
        total = checked_add(self.balance_of(to_id, token_id), amount)
        if left is None or total is None:
            raise err.error(err.BALANCE_OVERFLOW)
        self._get_or_create(to_id)
        self._set_balance(from_id, token_id, left)
        self._set_balance(to_id, token_id, total)

    def burn_unchecked(self, owner_id: str, token_id: str, amount: int) -> None:
        """A deposit refund (``resolve_deposit_internal``): capped by the caller, lock ignored."""
        left = checked_sub(self.balance_of(owner_id, token_id), amount)
        supply = checked_sub(self.total_supply(token_id), amount)
        if left is None or supply is None:
            raise err.error(err.BALANCE_OVERFLOW)
        self._set_balance(owner_id, token_id, left)
        self.db.put("supply", token_id, str(supply) if supply else None)

    # --- salts (contract SaltRegistry) ----------------------------------------------------------

    @property
    def current_salt(self) -> str:
        return self._meta("salt")

    def is_valid_salt(self, salt_hex: str) -> bool:
        if salt_hex == self.current_salt:
            return True
        raw = self.db.get("salt", salt_hex)
        if raw is None:
            return False
        entry: dict[str, Any] = json.loads(raw)
        until = entry.get("valid_until_ns")
        return bool(entry["valid"]) and (until is None or self.now_ns <= until)

    def _derive_salt(self) -> str:
        seq = int(self.db.get("meta", "salt_seq") or 0)
        while True:
            seed = f"{self.db.get('meta', 'verifying_contract')}:salt:{seq}".encode()
            salt = hashlib.sha256(seed).digest()[:4].hex()
            seq += 1
            if self.db.get("salt", salt) is None and salt != self.db.get("meta", "salt"):
                self.db.put("meta", "salt_seq", str(seq))
                return salt

    def init_salt(self) -> None:
        self.db.put("meta", "salt", self._derive_salt())

    def rotate_salt(self, grace_ns: int | None = None) -> str:
        """``update_current_salt``: a new current salt; the old one stays valid (for ``grace_ns``
        only, if given: the devnet's grace window). Returns the new current salt."""
        previous = self.current_salt
        until = None if grace_ns is None else self.now_ns + grace_ns
        self.db.put("salt", previous, json.dumps({"valid": True, "valid_until_ns": until}))
        self.db.put("meta", "salt", self._derive_salt())
        return self.current_salt

    def invalidate_salt(self, salt_hex: str) -> bool:
        """``SaltRegistry::invalidate``: invalidating the current salt rotates first."""
        if salt_hex == self.current_salt:
            self.rotate_salt()
        if self.db.get("salt", salt_hex) is None:
            return False
        self.db.put("salt", salt_hex, json.dumps({"valid": False, "valid_until_ns": None}))
        return True
