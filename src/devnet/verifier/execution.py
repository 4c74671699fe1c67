"""The executor of ``execute_intents`` / ``simulate_intents``: the per-payload checks of
PROTOCOL.md §2.10 in the contract's order, the intents, and the invariant at the end (CONTRACT
``core/src/engine/mod.rs``, ``core/src/intents/*.rs``). It only writes to the state it is given;
the caller commits or drops that state as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devnet.verifier import errors as err
from devnet.verifier import events as ev
from devnet.verifier import intents as it
from devnet.verifier.deltas import TransferMatcher, Transfers
from devnet.verifier.payloads import DefusePayload, Verified, extract, verify_all
from devnet.verifier.state import VerifierState
from nearintents.diff import fee_amount
from nearintents.nonce import VersionedNonce, decode_nonce

Withdrawal = it.FtWithdraw | it.NftWithdraw | it.MtWithdraw | it.NativeWithdraw | it.StorageDeposit


@dataclass(frozen=True, slots=True)
class Followup:
    """A cross-contract call an intent schedules after the batch (execute only): a withdrawal,
    an ``auth_call``, or the ``mt_on_transfer`` notification of a transfer with ``msg``."""

    owner_id: str
    intent: Withdrawal | it.AuthCall | it.Transfer
    intent_hash: str


@dataclass
class Report:
    events: list[str] = field(default_factory=list)
    intents_executed: list[dict[str, Any]] = field(default_factory=list)
    min_deadline_ns: int | None = None
    burns: list[dict[str, Any]] = field(default_factory=list)
    followups: list[Followup] = field(default_factory=list)
    transfers: Transfers | None = None


# The contract (near/intents) calls this part core/src/engine; here it is the Executor.
class Executor:
    """One run over ``state``. ``simulate`` mirrors the contract's view path (``CachedState``):
    withdrawals only debit (no burn, no payout) and no ``mt_*`` events are produced."""

    def __init__(self, state: VerifierState, *, simulate: bool) -> None:
        self.state = state
        self.simulate = simulate
        self.matcher = TransferMatcher()
        self.report = Report()

    def run(self, signed: object) -> Report:
        """Execute every payload, then check the invariant; raises :class:`VerifierError`
        (:class:`InvariantViolated` for an unbalanced batch, after all payloads ran)."""
        for verified in verify_all(signed):
            self._execute_signed(verified)
        self.report.transfers = self.matcher.finalize()
        return self.report

    # --- per payload (§2.10) --------------------------------------------------------------------

    def _execute_signed(self, verified: Verified) -> None:
        if verified.public_key is None:
            raise err.error(err.INVALID_SIGNATURE)
        payload = extract(verified)
        if payload.verifying_contract != self.state.verifying_contract:
            raise err.error(err.WRONG_VERIFYING_CONTRACT)
        current = self.report.min_deadline_ns
        self.report.min_deadline_ns = (
            payload.deadline_ns if current is None else min(current, payload.deadline_ns)
        )
        # Order as in the contract (engine/mod.rs): verifying_contract, deadline, then key
        # ownership, then the nonce; the issue listed key ownership first.
        if payload.deadline_ns < self.state.now_ns:
            raise err.error(err.DEADLINE_EXPIRED)
        if not self.state.has_public_key(payload.signer_id, verified.public_key):
            raise err.public_key_not_exist(payload.signer_id, verified.public_key)
        self._verify_nonce(payload)
        self.state.commit_nonce(payload.signer_id, payload.nonce_b64)
        for intent in payload.intents:
            self._execute_intent(payload.signer_id, intent, verified.intent_hash)
        self.report.intents_executed.append(
            ev.intents_executed_entry(payload.signer_id, verified.intent_hash, payload.nonce_b64)
        )

    def _verify_nonce(self, payload: DefusePayload) -> None:
        nonce = decode_nonce(payload.nonce)
        if not isinstance(nonce, VersionedNonce):
            return  # legacy nonces have no salt or deadline (still accepted by the contract)
        if not self.state.is_valid_salt(nonce.salt.hex()):
            raise err.error(err.INVALID_SALT)
        if payload.deadline_ns > nonce.deadline_ns:
            raise err.error(err.DEADLINE_GREATER_THAN_NONCE)
        if nonce.deadline_ns < self.state.now_ns:
            raise err.error(err.NONCE_EXPIRED)

    # --- balance moves seen by the matcher (Deltas<S>) ------------------------------------------

    def _credit(self, owner_id: str, token_id: str, amount: int) -> None:
        self.state.internal_add_balance(owner_id, token_id, amount)
        if not self.matcher.deposit(owner_id, token_id, amount):
            raise err.error(err.BALANCE_OVERFLOW)

    def _debit(self, owner_id: str, token_id: str, amount: int) -> None:
        self.state.internal_sub_balance(owner_id, token_id, amount)
        if not self.matcher.withdraw(owner_id, token_id, amount):
            raise err.error(err.BALANCE_OVERFLOW)

    def _burn(self, owner_id: str, tokens: list[tuple[str, int]]) -> None:
        """Withdrawals leave the contract outside the matcher."""
        if self.simulate:
            for token_id, amount in tokens:
                self.state.internal_sub_balance(owner_id, token_id, amount)
            return
        self.state.withdraw(owner_id, tokens)
        # `mt_burn` is postponed to the end of the call (contract/events.rs).
        self.report.burns.append(ev.mt_burn(owner_id, tokens, "withdraw"))

    # --- intents ----------------------------------------------------------------------------------

    def _execute_intent(self, signer_id: str, intent: it.Intent, intent_hash: str) -> None:
        if isinstance(intent, it.AddPublicKey):
            self.state.add_public_key(signer_id, intent.public_key)
            entry = ev.public_key_entry(signer_id, intent_hash, intent.public_key)
            self.report.events.append(ev.dip4("public_key_added", entry))
        elif isinstance(intent, it.RemovePublicKey):
            self.state.remove_public_key(signer_id, intent.public_key)
            entry = ev.public_key_entry(signer_id, intent_hash, intent.public_key)
            self.report.events.append(ev.dip4("public_key_removed", entry))
        elif isinstance(intent, it.Transfer):
            self._transfer(signer_id, intent, intent_hash)
        elif isinstance(intent, it.TokenDiff):
            self._token_diff(signer_id, intent, intent_hash)
        elif isinstance(intent, it.SetAuthByPredecessorId):
            if self.state.set_auth_by_predecessor_id(signer_id, intent.enabled):
                entry = ev.set_auth_entry(signer_id, intent_hash, intent.enabled)
                self.report.events.append(ev.dip4("set_auth_by_predecessor_id", entry))
        elif isinstance(intent, it.AuthCall):
            if intent.attached_deposit:
                self._burn(signer_id, [(self._wnear, intent.attached_deposit)])
            self._followup(signer_id, intent, intent_hash)
        else:
            self._withdraw(signer_id, intent, intent_hash)

    @property
    def _wnear(self) -> str:
        return f"nep141:{self.state.wnear_id}"

    def _transfer(self, signer_id: str, intent: it.Transfer, intent_hash: str) -> None:
        if signer_id == intent.receiver_id or not intent.tokens:
            raise err.error(err.INVALID_INTENT)
        entry = ev.transfer_entry(signer_id, intent_hash, intent)
        self.report.events.append(ev.dip4("transfer", [entry]))
        for token_id, amount in intent.tokens.items():
            self._debit(signer_id, token_id, amount)
        for token_id, amount in intent.tokens.items():
            self._credit(intent.receiver_id, token_id, amount)
        # `msg` notifies the receiver with `mt_on_transfer` in a detached promise; the devnet
        # has no receiver contracts, see Verifier._notify for what happens then.
        if intent.notify is not None:
            self._followup(signer_id, intent, intent_hash)

    def _token_diff(self, signer_id: str, intent: it.TokenDiff, intent_hash: str) -> None:
        if not intent.diff:
            raise err.error(err.INVALID_INTENT)
        fee = self.state.fee
        fees: dict[str, int] = {}
        for token_id, delta in intent.diff.items():
            if delta == 0:
                raise err.error(err.INVALID_INTENT)
            if delta < 0:
                self._debit(signer_id, token_id, -delta)
                # The fee is taken on negative deltas only and goes to the collector (§2.12).
                charged = fee_amount(token_id, delta, fee)
                if charged:
                    fees[token_id] = fees.get(token_id, 0) + charged
            else:
                self._credit(signer_id, token_id, delta)
        entry = ev.token_diff_entry(signer_id, intent_hash, intent, fees)
        self.report.events.append(ev.dip4("token_diff", [entry]))
        for token_id, charged in fees.items():
            self._credit(self.state.fee_collector, token_id, charged)

    def _withdraw(self, signer_id: str, intent: Withdrawal, intent_hash: str) -> None:
        wnear = self._wnear
        if isinstance(intent, it.NativeWithdraw):
            entry = ev.native_withdraw_entry(signer_id, intent_hash, intent)
            self.report.events.append(ev.dip4("native_withdraw", [entry]))
            self._burn(signer_id, [(wnear, intent.amount)])
        elif isinstance(intent, it.StorageDeposit):
            entry = ev.storage_deposit_entry(signer_id, intent_hash, intent)
            self.report.events.append(ev.dip4("storage_deposit", [entry]))
            self._burn(signer_id, [(wnear, intent.amount)])
        else:
            name = {
                it.FtWithdraw: "ft_withdraw",
                it.NftWithdraw: "nft_withdraw",
                it.MtWithdraw: "mt_withdraw",
            }[type(intent)]
            entry = ev.withdraw_entry(signer_id, intent_hash, intent)
            self.report.events.append(ev.dip4(name, [entry]))
            tokens = withdrawn_tokens(intent)
            if intent.storage_deposit is not None:
                tokens.append((wnear, intent.storage_deposit))
            self._burn(signer_id, tokens)
        self._followup(signer_id, intent, intent_hash)

    def _followup(
        self, signer_id: str, intent: Withdrawal | it.AuthCall | it.Transfer, intent_hash: str
    ) -> None:
        if not self.simulate:
            self.report.followups.append(Followup(signer_id, intent, intent_hash))


def withdrawn_tokens(
    intent: it.FtWithdraw | it.NftWithdraw | it.MtWithdraw,
) -> list[tuple[str, int]]:
    """The verifier token ids a withdraw intent burns (storage deposit excluded)."""
    if isinstance(intent, it.FtWithdraw):
        return [(f"nep141:{intent.token}", intent.amount)]
    if isinstance(intent, it.NftWithdraw):
        return [(f"nep171:{intent.token}:{intent.token_id}", 1)]
    if len(intent.token_ids) != len(intent.amounts) or not intent.token_ids:
        raise err.error(err.INVALID_INTENT)
    return [
        (f"nep245:{intent.token}:{t}", a)
        for t, a in zip(intent.token_ids, intent.amounts, strict=True)
    ]
