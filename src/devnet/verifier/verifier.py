"""The devnet Verifier: a faithful ``intents.near`` plus the NEAR-side token contracts it talks
to, behind one thread-safe Python API. Every change is a NEAR-style transaction (hash, block,
receipts, logs) committed atomically to the store; views read the committed state.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from devnet.chains.near.transactions import FunctionCall, decode_signed_transaction
from devnet.verifier import errors as err
from devnet.verifier import events as ev
from devnet.verifier.chain import Receipt, TxRecord, success_value
from devnet.verifier.errors import InvariantViolated, VerifierError
from devnet.verifier.execution import Executor
from devnet.verifier.intents import FtWithdraw
from devnet.verifier.ledger import (
    DEFAULT_DAO,
    DEFAULT_RELAYER,
    LedgerCore,
    VerifierConfig,
)
from devnet.verifier.near_tokens import STORAGE_BALANCE
from devnet.verifier.runtime import TxContext
from devnet.verifier.signed_txs import charge_gas, check_access_key, run_signed
from devnet.verifier.state import VerifierState
from devnet.verifier.store import Overlay
from devnet.verifier.timestamps import MAX_NS, format_rfc3339_ns
from devnet.verifier.views import call_view

__all__ = [
    "DEFAULT_DAO",
    "DEFAULT_GARBAGE_COLLECTOR",
    "DEFAULT_RELAYER",
    "Verifier",
    "VerifierConfig",
]

FAUCET = "faucet.devnet.near"
# The account holding the contract's GarbageCollector role on the devnet (the DAO may clean too).
DEFAULT_GARBAGE_COLLECTOR = "gc.devnet.near"


class Verifier(LedgerCore):
    """``intents.near`` on the devnet: open with :meth:`open` (a data directory, or memory),
    close it (or use it as a context manager). Calls that change state return the
    :class:`TxRecord` of their transaction; a rejected call is a failed transaction whose
    ``panic`` is the contract's error text (``ensure_success()`` raises it)."""

    # --- execute / simulate -----------------------------------------------------------------------

    def execute_intents(
        self, signed: Sequence[dict[str, Any]], *, sender_id: str = DEFAULT_RELAYER
    ) -> TxRecord:
        """``execute_intents`` as ``sender_id`` (a relayer). A rejected batch is a failed
        transaction (``record.panic`` says why) that changed nothing."""
        args = {"signed": list(signed)}
        return self.transact(
            sender_id,
            self.account_id,
            "execute_intents",
            args,
            lambda ctx: self._runtime.execute_intents(ctx, sender_id, args["signed"]),
        )

    def simulate_intents(self, signed: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """The ``simulate_intents`` view (PROTOCOL.md §2.14); raises VerifierError like the
        view panics, except for an unbalanced batch, reported in ``invariant_violated``."""
        with self._lock:
            state = self._state()
            executor = Executor(state, simulate=True)
            violation = None
            try:
                executor.run(list(signed) if isinstance(signed, list | tuple) else signed)
            except InvariantViolated as exc:
                violation = exc.violation
            report = executor.report
            output: dict[str, Any] = {
                "intents_executed": report.intents_executed,
                # The simulate inspector always appends `intents_executed`, even if empty.
                "logs": [*report.events, ev.dip4("intents_executed", report.intents_executed)],
                "min_deadline": format_rfc3339_ns(
                    MAX_NS if report.min_deadline_ns is None else report.min_deadline_ns
                ),
            }
            if violation is not None:
                output["invariant_violated"] = violation
            output["state"] = {"fee": state.fee, "current_salt": state.current_salt}
            return output

    # --- deposits ---------------------------------------------------------------------------------

    def ft_transfer_call(
        self,
        sender_id: str,
        token: str,
        receiver_id: str,
        amount: int,
        msg: str = "",
        *,
        memo: str | None = None,
    ) -> TxRecord:
        """NEP-141 ``ft_transfer_call`` on a NEAR-side token (receiver usually the verifier)."""
        args = {"receiver_id": receiver_id, "amount": str(amount), "msg": msg}

        def run(ctx: TxContext) -> Receipt:
            self._runtime.ft_transfer_call(ctx, sender_id, token, receiver_id, amount, msg, memo)
            return ctx.tx.receipts[-1]

        return self.transact(sender_id, token, "ft_transfer_call", args, run, deposit=1)

    def ft_on_transfer(
        self,
        token: str,
        sender_id: str,
        amount: int,
        msg: str = "",
        *,
        idempotency_key: str | None = None,
    ) -> TxRecord:
        """A token contract the devnet does not ledger itself (a PoA bridge token) notifies the
        verifier of ``amount`` sent by ``sender_id``; the result is the amount to refund."""
        args = {"sender_id": sender_id, "amount": str(amount), "msg": msg}
        return self._on_transfer(
            token,
            "ft_on_transfer",
            args,
            sender_id,
            [(f"nep141:{token}", amount)],
            msg,
            lambda u: str(u[0]),
            idempotency_key,
        )

    def mt_on_transfer(
        self,
        token: str,
        sender_id: str,
        token_ids: Sequence[str],
        amounts: Sequence[int],
        msg: str = "",
        *,
        idempotency_key: str | None = None,
    ) -> TxRecord:
        if len(token_ids) != len(amounts) or not amounts:
            raise ValueError("token_ids and amounts must be non-empty and of equal length")
        args = {
            "sender_id": sender_id,
            "previous_owner_ids": [sender_id] * len(token_ids),
            "token_ids": list(token_ids),
            "amounts": [str(a) for a in amounts],
            "msg": msg,
        }
        tokens = [(f"nep245:{token}:{t}", a) for t, a in zip(token_ids, amounts, strict=True)]
        return self._on_transfer(
            token,
            "mt_on_transfer",
            args,
            sender_id,
            tokens,
            msg,
            lambda u: [str(a) for a in u],
            idempotency_key,
        )

    def nft_on_transfer(
        self,
        token: str,
        sender_id: str,
        token_id: str,
        msg: str = "",
        *,
        idempotency_key: str | None = None,
    ) -> TxRecord:
        args = {
            "sender_id": sender_id,
            "previous_owner_id": sender_id,
            "token_id": token_id,
            "msg": msg,
        }
        return self._on_transfer(
            token,
            "nft_on_transfer",
            args,
            sender_id,
            [(f"nep171:{token}:{token_id}", 1)],
            msg,
            lambda u: u[0] > 0,
            idempotency_key,
        )

    def _on_transfer(
        self,
        token: str,
        method: str,
        args: dict[str, Any],
        sender_id: str,
        tokens: list[tuple[str, int]],
        msg: str,
        shape: Callable[[list[int]], Any],
        idempotency_key: str | None,
    ) -> TxRecord:
        def run(ctx: TxContext) -> Receipt:
            receipt, unused = self._runtime.on_transfer(
                ctx, token, method, args, sender_id, tokens, msg
            )
            if not receipt.failed:
                receipt.status = success_value(ev.dumps(shape(unused)).encode())
            return receipt

        return self.transact(
            token, self.account_id, method, args, run, idempotency_key=idempotency_key
        )

    # --- direct calls (auth by PREDECESSOR_ID) ----------------------------------------------------

    def _predecessor(self, state: VerifierState, account_id: str) -> None:
        if not state.is_auth_by_predecessor_id_enabled(account_id):
            raise err.auth_by_predecessor_disabled(account_id)

    def add_public_key(self, account_id: str, public_key: str) -> TxRecord:
        return self._key_call(account_id, public_key, add=True)

    def remove_public_key(self, account_id: str, public_key: str) -> TxRecord:
        return self._key_call(account_id, public_key, add=False)

    def _key_call(self, account_id: str, public_key: str, *, add: bool) -> TxRecord:
        method = "add_public_key" if add else "remove_public_key"

        def body(db: Overlay, receipt: Receipt, ctx: TxContext) -> None:
            state = VerifierState(db, ctx.now_ns)
            self._predecessor(state, account_id)
            if add:
                state.add_public_key(account_id, public_key)
            else:
                state.remove_public_key(account_id, public_key)
            event = "public_key_added" if add else "public_key_removed"
            receipt.logs.append(ev.dip4(event, ev.public_key_entry(account_id, None, public_key)))

        return self._call(
            account_id, self.account_id, method, {"public_key": public_key}, body, deposit=1
        )

    def disable_auth_by_predecessor_id(self, account_id: str) -> TxRecord:
        def body(db: Overlay, receipt: Receipt, ctx: TxContext) -> None:
            state = VerifierState(db, ctx.now_ns)
            self._predecessor(state, account_id)
            if state.set_auth_by_predecessor_id(account_id, False):
                entry = ev.set_auth_entry(account_id, None, False)
                receipt.logs.append(ev.dip4("set_auth_by_predecessor_id", entry))

        return self._call(
            account_id, self.account_id, "disable_auth_by_predecessor_id", {}, body, deposit=1
        )

    def ft_withdraw(
        self,
        account_id: str,
        token: str,
        receiver_id: str,
        amount: int,
        *,
        memo: str | None = None,
        msg: str | None = None,
    ) -> TxRecord:
        """The direct ``ft_withdraw`` call (1 yoctoNEAR) by the owner itself."""
        intent = FtWithdraw(token, receiver_id, amount, memo, msg)
        args = {
            "token": token,
            "receiver_id": receiver_id,
            "amount": str(amount),
            "memo": memo,
            "msg": msg,
        }

        def run(ctx: TxContext) -> Receipt:
            def body(db: Overlay, receipt: Receipt) -> None:
                state = VerifierState(db, ctx.now_ns)
                self._predecessor(state, account_id)
                state.withdraw(account_id, [(f"nep141:{token}", amount)])
                burn = ev.mt_burn(account_id, [(f"nep141:{token}", amount)], "withdraw")
                receipt.logs.append(ev.nep245("mt_burn", [burn]))
                ctx.schedule(partial(self._runtime.withdrawal, ctx, account_id, intent, None))

            first = ctx.call(account_id, self.account_id, "ft_withdraw", args, body, deposit=1)
            return first if first.failed else ctx.tx.receipts[-1]

        return self.transact(account_id, self.account_id, "ft_withdraw", args, run, deposit=1)

    # --- administration (the DAO's roles on mainnet) ----------------------------------------------

    def set_fee(self, fee_pips: int, *, signer_id: str = DEFAULT_DAO) -> TxRecord:
        if not 0 <= fee_pips <= 1_000_000:
            raise ValueError("fee is 0..=1_000_000 pips")

        def body(db: Overlay, receipt: Receipt, ctx: TxContext) -> None:
            state = VerifierState(db, ctx.now_ns)
            if state.fee == fee_pips:
                raise err.error(err.SAME)
            old = state.fee
            state.set_fee(fee_pips)
            receipt.logs.append(ev.dip4("fee_changed", {"old_fee": old, "new_fee": fee_pips}))

        return self._call(signer_id, self.account_id, "set_fee", {"fee": fee_pips}, body, deposit=1)

    def set_fee_collector(self, account_id: str, *, signer_id: str = DEFAULT_DAO) -> TxRecord:
        def body(db: Overlay, receipt: Receipt, ctx: TxContext) -> None:
            state = VerifierState(db, ctx.now_ns)
            old = state.fee_collector
            if old == account_id:
                raise err.error(err.SAME)
            state.set_fee_collector(account_id)
            data = {"old_fee_collector": old, "new_fee_collector": account_id}
            receipt.logs.append(ev.dip4("fee_collector_changed", data))

        args = {"fee_collector": account_id}
        return self._call(signer_id, self.account_id, "set_fee_collector", args, body, deposit=1)

    def update_current_salt(
        self, *, grace_ns: int | None = None, signer_id: str = DEFAULT_DAO
    ) -> TxRecord:
        """Rotate the salt; the previous one stays valid (for ``grace_ns`` only, if given: the
        devnet's grace window). The record's ``value`` is the new current salt."""

        def body(db: Overlay, receipt: Receipt, ctx: TxContext) -> str:
            current = VerifierState(db, ctx.now_ns).rotate_salt(grace_ns)
            data = {"current": current, "invalidated": []}
            receipt.logs.append(ev.dip4("salt_rotation", data))
            return current

        return self._call(signer_id, self.account_id, "update_current_salt", {}, body, deposit=1)

    def invalidate_salts(self, salts: Sequence[str], *, signer_id: str = DEFAULT_DAO) -> TxRecord:
        """Invalidate ``salts`` (the current one rotates first); ``value`` is the current salt."""

        def body(db: Overlay, receipt: Receipt, ctx: TxContext) -> str:
            state = VerifierState(db, ctx.now_ns)
            invalidated = sorted({s for s in salts if state.invalidate_salt(s)})
            data = {"current": state.current_salt, "invalidated": invalidated}
            receipt.logs.append(ev.dip4("salt_rotation", data))
            return state.current_salt

        args = {"salts": list(salts)}
        return self._call(signer_id, self.account_id, "invalidate_salts", args, body, deposit=1)

    def force_lock_account(
        self, account_id: str, *, lock: bool = True, signer_id: str = DEFAULT_DAO
    ) -> TxRecord:
        method = "force_lock_account" if lock else "force_unlock_account"

        def body(db: Overlay, receipt: Receipt, ctx: TxContext) -> bool:
            changed = VerifierState(db, ctx.now_ns).set_locked(account_id, lock)
            if changed:
                event = "account_locked" if lock else "account_unlocked"
                receipt.logs.append(ev.dip4(event, {"account_id": account_id}))
            return changed

        return self._call(
            signer_id, self.account_id, method, {"account_id": account_id}, body, deposit=1
        )

    def cleanup_nonces(
        self,
        nonces: Sequence[tuple[str, Sequence[str]]],
        *,
        signer_id: str = DEFAULT_GARBAGE_COLLECTOR,
        deposit: int = 1,
    ) -> TxRecord:
        """``GarbageCollector::cleanup_nonces`` (near/intents
        contracts/defuse/src/contract/garbage_collector.rs): for each ``(account_id, [base64
        nonce])``, clear the nonces that are cleanable (versioned, deadline passed or salt
        invalid) by their 31-byte prefix. Roles DAO or GarbageCollector
        (near-plugins ``access_control_any``), exactly 1 yoctoNEAR; every per-nonce error is
        omitted, and the contract emits no event for it."""
        args = {"nonces": [[account, list(batch)] for account, batch in nonces]}

        def body(db: Overlay, receipt: Receipt, ctx: TxContext) -> None:
            if signer_id not in (DEFAULT_DAO, DEFAULT_GARBAGE_COLLECTOR):
                raise err.error(
                    "Insufficient permissions for method cleanup_nonces restricted by access "
                    'control. Requires one of these roles: ["DAO", "GarbageCollector"]'
                )
            if deposit != 1:
                raise err.error("Requires attached deposit of exactly 1 yoctoNEAR")
            state = VerifierState(db, ctx.now_ns)
            for account_id, batch in nonces:
                for nonce in batch:
                    state.cleanup_nonce(account_id, nonce)

        return self._call(signer_id, self.account_id, "cleanup_nonces", args, body, deposit=deposit)

    def collect_garbage(self) -> TxRecord | None:
        """One pass of the devnet's garbage collector: every cleanable nonce of every account in
        one ``cleanup_nonces`` call (mainnet's collector finds them through an indexer), or None
        when there is nothing to clean."""
        with self.reading() as (state, _, db):
            due: dict[str, list[str]] = {}
            for key, _ in db.scan("nonce"):
                account_id, _, nonce = key.partition("|")
                if state.is_nonce_cleanable(nonce):
                    due.setdefault(account_id, []).append(nonce)
        if not due:
            return None
        return self.cleanup_nonces(sorted(due.items()))

    # --- signed NEAR transactions (send_tx / broadcast_tx_commit) ---------------------------------

    def submit_transaction(self, data: bytes) -> TxRecord:
        """A borsh ``SignedTransaction``: decoded and verified, its access key and nonce checked,
        then executed under its own hash. Raises :class:`InvalidTransaction` (nothing recorded);
        the same transaction again returns the first outcome, as nearcore does."""
        signed = decode_signed_transaction(data)
        [action] = signed.actions if len(signed.actions) == 1 else (None,)
        method = action.method_name if isinstance(action, FunctionCall) else "transfer"
        deposit = action.deposit if action is not None else 0
        args: Any = {}
        if isinstance(action, FunctionCall):
            try:
                args = json.loads(action.args or b"{}")
            except ValueError:
                args = {"args_base64": base64.b64encode(action.args).decode()}

        def run(ctx: TxContext) -> Receipt:
            check_access_key(ctx.db, self.near, signed)
            ctx.tx.gas_burnt, ctx.tx.tokens_burnt = charge_gas(ctx.db, self.near, signed)
            return run_signed(self._runtime, ctx, signed)

        return self.transact(
            signed.signer_id, signed.receiver_id, method, args, run, deposit=deposit,
            idempotency_key=f"signed_tx:{signed.hash}", tx_hash=signed.hash,
        )  # fmt: skip

    def add_access_key(self, account_id: str, public_key: str) -> TxRecord:
        """Devnet only: a full access key for ``account_id`` (nonce 0), e.g. a user wallet's."""

        def body(db: Overlay, receipt: Receipt, ctx: TxContext) -> None:
            self.near.add_access_key(db, account_id, public_key, 0)

        args = {"public_key": public_key, "access_key": {"nonce": 0, "permission": "FullAccess"}}
        return self._call(FAUCET, account_id, "add_key", args, body)

    def ft_is_registered(self, token: str, account_id: str) -> bool:
        with self._lock:
            return self.near.is_registered(self._view_db(), token, account_id)

    def access_key_nonce(
        self, account_id: str, public_key: str, *, final: bool = False
    ) -> int | None:
        """The key's nonce at the head (or at the final block with ``final``), None if absent."""
        with self.reading(final=final) as (_, near, db):
            return near.access_key_nonce(db, account_id, public_key)

    # --- faucets (devnet only) --------------------------------------------------------------------

    def faucet_near(self, account_id: str, amount: int) -> TxRecord:
        """New native NEAR for ``account_id``."""

        def body(db: Overlay, receipt: Receipt, ctx: TxContext) -> None:
            self.near.native_add(db, account_id, amount)

        return self._call(FAUCET, account_id, "transfer", {}, body, deposit=amount)

    def deploy_ft_receiver(self, account_id: str, token: str, near: int) -> TxRecord:
        """Devnet only: create ``account_id`` with ``near`` NEAR and the NEP-141 receiver
        contract of near-sdk-rs' examples for ``token`` (see ``NearLedger.deploy_ft_receiver``);
        it is registered on no token."""

        def body(db: Overlay, receipt: Receipt, ctx: TxContext) -> None:
            if self.near.account_exists(db, account_id):
                raise VerifierError(f"account {account_id} already exists")
            self.near.native_add(db, account_id, near)
            self.near.deploy_ft_receiver(db, account_id, token)

        args = {"fungible_token_account_id": token}
        return self._call(FAUCET, account_id, "new", args, body, deposit=near)

    def faucet_ft(self, token: str, account_id: str, amount: int) -> TxRecord:
        """New NEAR-side tokens; for wNEAR backed by freshly wrapped native NEAR."""

        def body(db: Overlay, receipt: Receipt, ctx: TxContext) -> None:
            self._mint_ft(db, receipt, token, account_id, amount)

        args = {"account_id": account_id, "amount": str(amount)}
        return self._call(FAUCET, token, "ft_mint", args, body)

    def _mint_ft(
        self, db: Overlay, receipt: Receipt, token: str, account_id: str, amount: int
    ) -> None:
        if not self.near.is_registered(db, token, account_id):
            self.near.register(db, token, account_id)  # the faucet pays the storage
        if token == self.near.wnear_id:
            self.near.native_add(db, account_id, amount)
            receipt.logs.extend(self.near.near_deposit(db, account_id, amount))
        else:
            receipt.logs.extend(self.near.ft_mint(db, token, account_id, amount))

    def storage_deposit(
        self,
        payer_id: str,
        token: str,
        account_id: str | None = None,
        amount: int = STORAGE_BALANCE,
    ) -> TxRecord:
        """NEP-145 ``storage_deposit`` on a NEAR-side token, paid in ``payer_id``'s NEAR."""
        target = account_id or payer_id

        def body(db: Overlay, receipt: Receipt, ctx: TxContext) -> None:
            receipt.logs.extend(self.near.storage_deposit(db, token, target, payer_id, amount))

        args = {"account_id": target}
        return self._call(payer_id, token, "storage_deposit", args, body, deposit=amount)

    def near_deposit(self, account_id: str, amount: int) -> TxRecord:
        """``wrap.near near_deposit``: wrap native NEAR into wNEAR."""

        def body(db: Overlay, receipt: Receipt, ctx: TxContext) -> None:
            receipt.logs.extend(self.near.near_deposit(db, account_id, amount))

        return self._call(account_id, self.near.wnear_id, "near_deposit", {}, body, deposit=amount)

    def deposit(
        self,
        account_id: str,
        token_id: str,
        amount: int,
        msg: str = "",
        *,
        idempotency_key: str | None = None,
    ) -> TxRecord:
        """Faucet into the verifier: NEAR-side tokens are minted to ``account_id`` and sent in
        with ``ft_transfer_call`` (so they are backed); other tokens arrive as a deposit from
        their contract (as a bridge would mint them).

        ``idempotency_key`` (e.g. a bridge's id of the chain transfer it credits) makes a retry
        safe: the first call commits the key with its transaction, atomically; a later call with
        the key mints nothing and returns the first call's record. Raises ValueError if the key
        was used for a different deposit. With a key, a NEAR-side token's faucet mint and its
        ``ft_transfer_call`` are one transaction, so a crash cannot commit one without the other.
        """
        standard, _, rest = token_id.partition(":")
        if standard == "nep141":
            with self._lock:
                known = self.near.token(self._view_db(), rest) is not None
            if not known:
                return self.ft_on_transfer(
                    rest, account_id, amount, msg, idempotency_key=idempotency_key
                )
            if idempotency_key is not None:
                return self._minted_transfer_call(account_id, rest, amount, msg, idempotency_key)
            self.faucet_ft(rest, account_id, amount).ensure_success()
            return self.ft_transfer_call(account_id, rest, self.account_id, amount, msg)
        contract, _, inner = rest.partition(":")
        if standard == "nep245":
            return self.mt_on_transfer(
                contract, account_id, [inner], [amount], msg, idempotency_key=idempotency_key
            )
        if standard == "nep171":
            return self.nft_on_transfer(
                contract, account_id, inner, msg, idempotency_key=idempotency_key
            )
        raise ValueError(f"cannot deposit {token_id!r}")

    def _minted_transfer_call(
        self, account_id: str, token: str, amount: int, msg: str, idempotency_key: str
    ) -> TxRecord:
        """The faucet mint of ``faucet_ft`` and ``ft_transfer_call`` into the verifier in one
        transaction (a failed mint fails the transaction)."""
        args = {"receiver_id": self.account_id, "amount": str(amount), "msg": msg}
        mint_args = {"account_id": account_id, "amount": str(amount)}

        def run(ctx: TxContext) -> Receipt:
            def mint(db: Overlay, receipt: Receipt) -> None:
                self._mint_ft(db, receipt, token, account_id, amount)

            minted = ctx.call(FAUCET, token, "ft_mint", mint_args, mint)
            if minted.failed:
                return minted
            self._runtime.ft_transfer_call(
                ctx, account_id, token, self.account_id, amount, msg, None
            )
            return ctx.tx.receipts[-1]

        return self.transact(
            account_id,
            token,
            "ft_transfer_call",
            args,
            run,
            deposit=1,
            idempotency_key=idempotency_key,
        )

    def view(self, method: str, args: dict[str, Any] | None = None) -> Any:
        """A view of the verifier contract by name, as over RPC (raises ViewError)."""
        raw = call_view(self, self.account_id, method, json.dumps(args or {}).encode())
        return json.loads(raw) if raw else None
