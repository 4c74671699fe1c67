"""The NEAR side of the devnet: native NEAR balances and NEP-141 token contracts (``wrap.near``
and USDC-like tokens) so users can hold tokens outside the verifier, ``ft_transfer_call`` them in
and receive ``ft_withdraw`` payouts. Panic texts follow near-contract-standards' FungibleToken.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from devnet.verifier import events as ev
from devnet.verifier.amounts import checked_add, checked_sub
from devnet.verifier.errors import VerifierError
from devnet.verifier.store import Overlay
from nearintents.encoding import b58encode

SEP = "|"
# NEP-145 storage_balance_bounds().min of a typical NEP-141 (0.00125 NEAR).
STORAGE_BALANCE = 1_250_000_000_000_000_000_000
ONE_NEAR = 10**24


@dataclass(frozen=True, slots=True)
class FtConfig:
    """A NEP-141 contract on the devnet. ``storage_required``: ``ft_transfer`` to an account
    that never paid ``storage_deposit`` fails ("The account … is not registered"), as with
    near-contract-standards' FungibleToken (``internal_unwrap_balance_of`` in core_impl.rs) and
    on mainnet's wrap.near and USDC."""

    contract_id: str
    symbol: str
    decimals: int
    name: str = ""
    storage_required: bool = True


DEFAULT_TOKENS = (
    FtConfig("wrap.near", "wNEAR", 24, "Wrapped NEAR fungible token"),
    FtConfig("usdc.near", "USDC", 6, "USD Coin"),
)


class NearLedger:
    """Stateless rules over the ``ft``/``ftreg``/``ftcfg``/``near`` tables of an overlay."""

    def __init__(self, wnear_id: str) -> None:
        self.wnear_id = wnear_id

    # --- configuration and reads ------------------------------------------------------------------

    def add_token(self, db: Overlay, config: FtConfig) -> None:
        db.put("ftcfg", config.contract_id, json.dumps(asdict(config)))

    def token(self, db: Overlay, contract_id: str) -> FtConfig | None:
        raw = db.get("ftcfg", contract_id)
        return None if raw is None else FtConfig(**json.loads(raw))

    def tokens(self, db: Overlay) -> list[FtConfig]:
        return [FtConfig(**json.loads(v)) for _, v in db.scan("ftcfg")]

    def ft_balance_of(self, db: Overlay, contract_id: str, account_id: str) -> int:
        return int(db.get("ft", contract_id + SEP + account_id) or 0)

    def ft_total_supply(self, db: Overlay, contract_id: str) -> int:
        return sum(int(v) for _, v in db.scan("ft", contract_id + SEP))

    def is_registered(self, db: Overlay, contract_id: str, account_id: str) -> bool:
        config = self.token(db, contract_id)
        if config is not None and not config.storage_required:
            return True
        return db.get("ftreg", contract_id + SEP + account_id) is not None

    def native_balance(self, db: Overlay, account_id: str) -> int:
        return int(db.get("near", account_id) or 0)

    # --- access keys (full access; nonce per key, as nearcore's AccessKey) -----------------------

    def add_access_key(self, db: Overlay, account_id: str, public_key: str, nonce: int) -> None:
        db.put("nearkey", account_id + SEP + public_key, str(nonce))

    def access_key_nonce(self, db: Overlay, account_id: str, public_key: str) -> int | None:
        raw = db.get("nearkey", account_id + SEP + public_key)
        return None if raw is None else int(raw)

    def create_implicit(self, db: Overlay, account_id: str) -> None:
        """Before a transfer to ``account_id``: a new ed25519 implicit account gets the full access
        key its id is the hex of (nearcore ``action_implicit_account_creation_transfer``; the key
        nonce is 0 here, nearcore starts it at the block height times 10^6)."""
        if self.account_exists(db, account_id) or len(account_id) != 64:
            return
        try:
            raw = bytes.fromhex(account_id)
        except ValueError:
            return
        self.add_access_key(db, account_id, "ed25519:" + b58encode(raw), 0)

    def account_exists(self, db: Overlay, account_id: str) -> bool:
        """An account with NEAR or a contract (the devnet keeps no other account records)."""
        return (
            self.native_balance(db, account_id) > 0
            or self.token(db, account_id) is not None
            or self.ft_receiver_token(db, account_id) is not None
        )

    # --- a user contract: the NEP-141 receiver of near-sdk-rs' examples ---------------------------

    def deploy_ft_receiver(self, db: Overlay, account_id: str, token: str) -> None:
        """``account_id`` runs near-sdk-rs ``examples/fungible-token/test-contract-defi``
        (``DeFi::new(fungible_token_account_id = token)``): its ``ft_on_transfer`` keeps all
        with ``msg`` "take-my-money", otherwise returns ``msg`` parsed as the unused amount
        ("Not an integer" otherwise), and accepts calls from ``token`` only."""
        db.put("nearcode", account_id, json.dumps({"ft_receiver": token}))

    def ft_receiver_token(self, db: Overlay, account_id: str) -> str | None:
        raw = db.get("nearcode", account_id)
        return None if raw is None else str(json.loads(raw)["ft_receiver"])

    def has_code(self, db: Overlay, account_id: str) -> bool:
        return (
            self.token(db, account_id) is not None
            or self.ft_receiver_token(db, account_id) is not None
        )

    # --- writes (raise VerifierError with the contract's panic text) ------------------------------

    def _config(self, db: Overlay, contract_id: str) -> FtConfig:
        config = self.token(db, contract_id)
        if config is None:
            raise VerifierError(f"{contract_id} is not a token contract on this devnet")
        return config

    def _set_ft(self, db: Overlay, contract_id: str, account_id: str, amount: int) -> None:
        db.put("ft", contract_id + SEP + account_id, str(amount) if amount else None)

    def _require_registered(self, db: Overlay, contract_id: str, account_id: str) -> None:
        if not self.is_registered(db, contract_id, account_id):
            raise VerifierError(f"The account {account_id} is not registered")

    def ft_mint(
        self, db: Overlay, contract_id: str, account_id: str, amount: int, memo: str | None = None
    ) -> list[str]:
        """The devnet faucet: new tokens out of thin air (``ft_mint`` event)."""
        self._config(db, contract_id)
        total = checked_add(self.ft_balance_of(db, contract_id, account_id), amount)
        if amount <= 0 or total is None:
            raise VerifierError("The amount should be a positive number")
        self._set_ft(db, contract_id, account_id, total)
        return [ev.ft_mint(account_id, amount, memo)]

    def ft_burn(self, db: Overlay, contract_id: str, account_id: str, amount: int) -> list[str]:
        left = checked_sub(self.ft_balance_of(db, contract_id, account_id), amount)
        if left is None:
            raise VerifierError("The account doesn't have enough balance")
        self._set_ft(db, contract_id, account_id, left)
        return [ev.ft_burn(account_id, amount, None)]

    def ft_transfer(
        self,
        db: Overlay,
        contract_id: str,
        sender_id: str,
        receiver_id: str,
        amount: int,
        memo: str | None = None,
    ) -> list[str]:
        self._config(db, contract_id)
        if sender_id == receiver_id:
            raise VerifierError("Sender and receiver should be different")
        if amount <= 0:
            raise VerifierError("The amount should be a positive number")
        self._require_registered(db, contract_id, sender_id)
        self._require_registered(db, contract_id, receiver_id)
        left = checked_sub(self.ft_balance_of(db, contract_id, sender_id), amount)
        if left is None:
            raise VerifierError("The account doesn't have enough balance")
        total = checked_add(self.ft_balance_of(db, contract_id, receiver_id), amount)
        if total is None:
            raise VerifierError("Balance overflow")
        self._set_ft(db, contract_id, sender_id, left)
        self._set_ft(db, contract_id, receiver_id, total)
        return [ev.ft_transfer(sender_id, receiver_id, amount, memo)]

    def storage_deposit(
        self, db: Overlay, contract_id: str, account_id: str, payer_id: str, amount: int
    ) -> list[str]:
        """NEP-145 registration paid in native NEAR, as near-sdk-rs
        ``near-contract-standards/src/fungible_token/storage_impl.rs`` ``storage_deposit``: an
        account already registered gets the deposit back (with that log); otherwise a deposit
        below the minimum panics and the excess over it is refunded."""
        self._config(db, contract_id)
        if db.get("ftreg", contract_id + SEP + account_id) is not None:
            return ["The account is already registered, refunding the deposit"]
        if amount < STORAGE_BALANCE:
            raise VerifierError("The attached deposit is less than the minimum storage balance")
        self.native_transfer(db, payer_id, contract_id, STORAGE_BALANCE)
        self.register(db, contract_id, account_id)
        return []

    def register(self, db: Overlay, contract_id: str, account_id: str) -> None:
        db.put("ftreg", contract_id + SEP + account_id, "1")

    def native_add(self, db: Overlay, account_id: str, amount: int) -> None:
        """The devnet faucet for native NEAR."""
        db.put("near", account_id, str(self.native_balance(db, account_id) + amount))

    def native_burn(self, db: Overlay, account_id: str, amount: int) -> None:
        """Gas burnt: NEAR that leaves circulation (the caller checked the balance)."""
        left = checked_sub(self.native_balance(db, account_id), amount)
        if left is None:
            raise VerifierError(f"{account_id} does not have enough NEAR")
        db.put("near", account_id, str(left) if left else None)

    def native_transfer(self, db: Overlay, sender_id: str, receiver_id: str, amount: int) -> None:
        left = checked_sub(self.native_balance(db, sender_id), amount)
        if left is None:
            raise VerifierError(f"{sender_id} does not have enough NEAR")
        db.put("near", sender_id, str(left) if left else None)
        self.native_add(db, receiver_id, amount)

    def near_deposit(self, db: Overlay, account_id: str, amount: int) -> list[str]:
        """``wrap.near near_deposit``: native NEAR in, wNEAR out."""
        self.native_transfer(db, account_id, self.wnear_id, amount)
        return self.ft_mint(db, self.wnear_id, account_id, amount, "Deposit")

    def near_withdraw(self, db: Overlay, account_id: str, amount: int) -> list[str]:
        """``wrap.near near_withdraw``: wNEAR burnt, native NEAR back."""
        logs = self.ft_burn(db, self.wnear_id, account_id, amount)
        self.native_transfer(db, self.wnear_id, account_id, amount)
        return logs
