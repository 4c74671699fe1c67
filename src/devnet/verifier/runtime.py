"""Receipts: how the calls of one transaction run, each atomically (a failed receipt changes
nothing), and the cross-contract calls the verifier makes after a batch: withdrawals and their
refunds, unwrapping wNEAR, notifications, deposits with ``execute_intents``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from devnet.verifier import errors as err
from devnet.verifier import events as ev
from devnet.verifier import intents as it
from devnet.verifier.chain import Receipt, TxRecord, failure, success_value
from devnet.verifier.deposits import ExecuteAction, NotifyAction, parse_deposit_message
from devnet.verifier.errors import VerifierError
from devnet.verifier.execution import Executor, Followup, Report, withdrawn_tokens
from devnet.verifier.near_tokens import NearLedger
from devnet.verifier.sinks import Payout, PayoutKind, PayoutResult, PayoutSink, refund_amounts
from devnet.verifier.state import VerifierState
from devnet.verifier.store import Overlay
from nearintents.accounts import is_implicit_ed25519, is_implicit_evm

Body = Callable[[Overlay, Receipt], Any]

# intent hash -> hash of the transaction that executed it (Verifier.tx_for_intent)
INTENT_TX_TABLE = "intent_tx"


@dataclass
class TxContext:
    """One transaction in progress: its record, its overlay and the block time it runs at."""

    db: Overlay
    tx: TxRecord
    now_ns: int
    external_payouts: list[str] = field(default_factory=list)
    _scheduled: list[Callable[[], object]] | None = None
    _payouts: int = 0

    def call(
        self,
        predecessor_id: str,
        executor_id: str,
        method: str,
        args: Any,
        body: Body,
        *,
        deposit: int = 0,
    ) -> Receipt:
        """Run ``body`` as one receipt. Its return value is the receipt's JSON result; a
        VerifierError makes it a failed receipt whose writes, logs and scheduled calls vanish."""
        receipt = self.tx.new_receipt(predecessor_id, executor_id, method, args, deposit)
        child = Overlay(self.db)
        outer, self._scheduled = self._scheduled, []
        try:
            value = body(child, receipt)
        except VerifierError as exc:
            receipt.logs.clear()
            receipt.status = failure(exc.message)
            return receipt
        finally:
            scheduled, self._scheduled = self._scheduled, outer
        child.merge_into_parent()
        raw = b"" if value is None else ev.dumps(value).encode()
        receipt.status = success_value(raw)
        for later in scheduled:
            later()
        return receipt

    def schedule(self, later: Callable[[], object]) -> None:
        """Run ``later`` after the current receipt, if it succeeds (a promise it creates)."""
        assert self._scheduled is not None, "schedule() only inside a receipt"
        self._scheduled.append(later)

    def payout_id(self) -> str:
        self._payouts += 1
        return f"{self.tx.hash}:{self._payouts}"


def execution_logs(report: Report) -> list[str]:
    """A successful batch's log lines in the contract's order: each intent's events, then
    ``intents_executed`` (the inspector's drop), ``mt_transfer`` and the postponed ``mt_burn``."""
    logs = list(report.events)
    if report.intents_executed:
        logs.append(ev.dip4("intents_executed", report.intents_executed))
    if report.transfers is not None and report.transfers.moves:
        entries = [ev.mt_transfer(s, r, list(t.items())) for s, r, t in report.transfers.ordered()]
        logs.append(ev.nep245("mt_transfer", entries))
    if report.burns:
        logs.append(ev.nep245("mt_burn", report.burns))
    return logs


def _no_code(account_id: str) -> VerifierError:
    # The devnet has no user contracts: calling one fails like an account without code.
    return VerifierError(f"CodeDoesNotExist {{ account_id: {account_id} }}")


class Runtime:
    """The verifier contract's cross-contract behaviour, over a :class:`TxContext`."""

    def __init__(self, contract_id: str, near: NearLedger, sinks: list[PayoutSink]) -> None:
        self.contract_id = contract_id
        self.near = near
        self.sinks = sinks

    def state(self, db: Overlay, ctx: TxContext) -> VerifierState:
        return VerifierState(db, ctx.now_ns)

    # --- execute_intents --------------------------------------------------------------------------

    def execute_intents(self, ctx: TxContext, predecessor_id: str, signed: Any) -> Receipt:
        def body(db: Overlay, receipt: Receipt) -> None:
            self._run_batch(ctx, db, receipt, signed)

        return ctx.call(
            predecessor_id, self.contract_id, "execute_intents", {"signed": signed}, body
        )

    def _run_batch(self, ctx: TxContext, db: Overlay, receipt: Receipt, signed: Any) -> None:
        report = Executor(self.state(db, ctx), simulate=False).run(signed)
        receipt.logs.extend(execution_logs(report))
        # In the receipt's overlay: the index entries exist exactly if the batch committed.
        for entry in report.intents_executed:
            db.put(INTENT_TX_TABLE, entry["intent_hash"], ctx.tx.hash)
        for followup in report.followups:
            ctx.schedule(partial(self.followup, ctx, followup))

    def followup(self, ctx: TxContext, followup: Followup) -> None:
        intent = followup.intent
        if isinstance(intent, it.FtWithdraw | it.NftWithdraw | it.MtWithdraw):
            self.withdrawal(ctx, followup.owner_id, intent, followup.intent_hash)
        elif isinstance(intent, it.NativeWithdraw):
            # No refund if this fails: the wNEAR is gone (contract tokens/nep141/native.rs).
            if self._unwrap(ctx, intent.amount):
                ctx.call(
                    self.contract_id,
                    intent.receiver_id,
                    "transfer",
                    {},
                    partial(self._native_transfer, intent.receiver_id, intent.amount),
                    deposit=intent.amount,
                )
        elif isinstance(intent, it.StorageDeposit):
            # Never refunded either (contract tokens/nep141/storage_deposit.rs).
            if self._unwrap(ctx, intent.amount):
                self._storage_deposit(
                    ctx, intent.contract_id, intent.deposit_for_account_id, intent.amount
                )
        elif isinstance(intent, it.AuthCall):
            if not intent.attached_deposit or self._unwrap(ctx, intent.attached_deposit):
                args = {"signer_id": followup.owner_id, "msg": intent.msg}
                ctx.call(
                    self.contract_id,
                    intent.contract_id,
                    "on_auth",
                    args,
                    _fails(intent.contract_id),
                    deposit=intent.attached_deposit,
                )
        else:
            self._notify_transfer(ctx, followup.owner_id, intent)

    # --- NEAR-side helpers ------------------------------------------------------------------------

    def _native_transfer(self, receiver_id: str, amount: int, db: Overlay, _: Receipt) -> None:
        """A ``Transfer`` action receipt. Only implicit accounts come into being with a transfer;
        to a named account that does not exist it fails (nearcore runtime/runtime/src/
        verifier.rs + actions.rs ``check_account_existence``: ``AccountDoesNotExist``)."""
        if not self.near.account_exists(db, receiver_id) and not (
            is_implicit_ed25519(receiver_id) or is_implicit_evm(receiver_id)
        ):
            raise VerifierError(f"AccountDoesNotExist {{ account_id: AccountId({receiver_id!r}) }}")
        self.near.create_implicit(db, receiver_id)
        self.near.native_transfer(db, self.contract_id, receiver_id, amount)

    def _unwrap(self, ctx: TxContext, amount: int) -> bool:
        """``wrap.near near_withdraw`` by the verifier; later steps need it to succeed."""
        receipt = ctx.call(
            self.contract_id,
            self.near.wnear_id,
            "near_withdraw",
            {"amount": str(amount)},
            lambda db, r: r.logs.extend(self.near.near_withdraw(db, self.contract_id, amount)),
            deposit=1,
        )
        return not receipt.failed

    def _storage_deposit(
        self, ctx: TxContext, contract_id: str, account_id: str, amount: int
    ) -> Receipt:
        def body(db: Overlay, receipt: Receipt) -> None:
            if self.near.token(db, contract_id) is None:
                # Not a token the devnet ledgers (e.g. a bridge token): just pay it.
                self.near.native_transfer(db, self.contract_id, contract_id, amount)
                return
            receipt.logs.extend(
                self.near.storage_deposit(db, contract_id, account_id, self.contract_id, amount)
            )

        args = {"account_id": account_id}
        return ctx.call(
            self.contract_id, contract_id, "storage_deposit", args, body, deposit=amount
        )

    # --- withdrawals ------------------------------------------------------------------------------

    def withdrawal(
        self,
        ctx: TxContext,
        owner_id: str,
        intent: it.FtWithdraw | it.NftWithdraw | it.MtWithdraw,
        intent_hash: str | None,
    ) -> Payout:
        tokens = withdrawn_tokens(intent)
        kind: PayoutKind = "mt"
        if isinstance(intent, it.FtWithdraw):
            kind = "ft"
        elif isinstance(intent, it.NftWithdraw):
            kind = "nft"
        payout = Payout(
            id=ctx.payout_id(),
            tx_hash=ctx.tx.hash,
            kind=kind,
            token=intent.token,
            owner_id=owner_id,
            receiver_id=intent.receiver_id,
            token_ids=() if kind == "ft" else tuple(t.split(":", 2)[2] for t, _ in tokens),
            amounts=tuple(a for _, a in tokens),
            memo=intent.memo,
            msg=intent.msg,
            intent_hash=intent_hash,
            block_height=ctx.tx.block_height,
        )
        if intent.storage_deposit is not None:
            unwrapped = self._unwrap(ctx, intent.storage_deposit)
            if (
                not unwrapped
                or self._storage_deposit(
                    ctx, intent.token, intent.receiver_id, intent.storage_deposit
                ).failed
            ):
                self.resolve(ctx, payout, PayoutResult(ok=False))
                return payout
        if kind == "ft" and self.near.token(ctx.db, intent.token) is not None:
            self.resolve(ctx, payout, self._near_ft_payout(ctx, payout))
        elif any(sink.accepts(intent.token) for sink in self.sinks):
            # Delivered after this transaction is durable (see Verifier._deliver_payouts).
            ctx.db.put("payout", payout.id, json.dumps(asdict(payout)))
            ctx.external_payouts.append(payout.id)
        else:
            method = {"ft": "ft_transfer", "nft": "nft_transfer", "mt": "mt_batch_transfer"}[kind]
            ctx.call(
                self.contract_id,
                intent.token,
                method,
                {"receiver_id": intent.receiver_id},
                _fails(intent.token),
                deposit=1,
            )
            self.resolve(ctx, payout, PayoutResult(ok=False))
        return payout

    def _near_ft_payout(self, ctx: TxContext, payout: Payout) -> PayoutResult:
        amount = payout.amounts[0]
        if payout.msg is None:
            receipt = ctx.call(
                self.contract_id,
                payout.token,
                "ft_transfer",
                {"receiver_id": payout.receiver_id, "amount": str(amount), "memo": payout.memo},
                lambda db, r: r.logs.extend(
                    self.near.ft_transfer(
                        db, payout.token, self.contract_id, payout.receiver_id, amount, payout.memo
                    )
                ),
                deposit=1,
            )
            return PayoutResult(ok=not receipt.failed)
        first, used = self.ft_transfer_call(
            ctx,
            self.contract_id,
            payout.token,
            payout.receiver_id,
            amount,
            payout.msg,
            payout.memo,
        )
        return PayoutResult(ok=not first.failed, used=(used,))

    def resolve(self, ctx: TxContext, payout: Payout, result: PayoutResult) -> Receipt:
        """``*_resolve_withdraw``: credit back what did not leave (memo ``refund``)."""
        refunds = refund_amounts(payout, result)
        prefix = {"ft": "nep141", "nft": "nep171", "mt": "nep245"}[payout.kind]
        if payout.kind == "ft":
            ids = [f"nep141:{payout.token}"]
        else:
            ids = [f"{prefix}:{payout.token}:{t}" for t in payout.token_ids]
        tokens = [(t, r) for t, r in zip(ids, refunds, strict=True) if r]

        def body(db: Overlay, receipt: Receipt) -> Any:
            if tokens:
                self.state(db, ctx).deposit(payout.owner_id, tokens)
                receipt.logs.append(
                    ev.nep245("mt_mint", [ev.mt_mint(payout.owner_id, tokens, "refund")])
                )
            used = [str(a - r) for a, r in zip(payout.amounts, refunds, strict=True)]
            if payout.kind == "ft":
                return used[0]
            return used if payout.kind == "mt" else refunds[0] == 0

        method = f"{payout.kind}_resolve_withdraw"
        return ctx.call(self.contract_id, self.contract_id, method, {"payout": payout.id}, body)

    # --- transfers with msg -----------------------------------------------------------------------

    def _notify_transfer(self, ctx: TxContext, sender_id: str, intent: it.Transfer) -> None:
        tokens = list(intent.tokens.items())
        args = {
            "sender_id": sender_id,
            "previous_owner_ids": [sender_id] * len(tokens),
            "token_ids": [t for t, _ in tokens],
            "amounts": [str(a) for _, a in tokens],
            "msg": intent.notify.msg if intent.notify else "",
        }
        ctx.call(
            self.contract_id, intent.receiver_id, "mt_on_transfer", args, _fails(intent.receiver_id)
        )

        def resolve(db: Overlay, receipt: Receipt) -> list[str]:
            # mt_resolve_transfer: the failed call keeps nothing; refund what is still there.
            state = self.state(db, ctx)
            refunded = []
            for token_id, amount in tokens:
                refund = min(amount, state.balance_of(intent.receiver_id, token_id))
                if refund:
                    state.move_unchecked(intent.receiver_id, sender_id, token_id, refund)
                    refunded.append((token_id, refund))
            if refunded:
                entry = ev.mt_transfer(intent.receiver_id, sender_id, refunded, "refund")
                receipt.logs.append(ev.nep245("mt_transfer", [entry]))
            kept = dict(refunded)
            return [str(a - kept.get(t, 0)) for t, a in tokens]

        ctx.call(self.contract_id, self.contract_id, "mt_resolve_transfer", {}, resolve)

    # --- deposits ---------------------------------------------------------------------------------

    def on_transfer(
        self,
        ctx: TxContext,
        token_contract: str,
        method: str,
        args: dict[str, Any],
        sender_id: str,
        tokens: list[tuple[str, int]],
        msg: str,
    ) -> tuple[Receipt, list[int]]:
        """``ft_on_transfer``/``mt_on_transfer``/``nft_on_transfer`` by ``token_contract``.
        Returns the receipt and the amounts the verifier does not keep (to be refunded)."""
        unused = [0] * len(tokens)

        def body(db: Overlay, receipt: Receipt) -> Any:
            if method == "ft_on_transfer" and tokens[0][1] == 0:
                raise err.error(err.ZERO_AMOUNT)
            if method == "mt_on_transfer" and token_contract == self.contract_id:
                raise err.error("self-wrapping is not allowed")
            message = parse_deposit_message(msg, sender_id)
            self.state(db, ctx).deposit(message.receiver_id, tokens)
            entry = ev.mt_mint(message.receiver_id, tokens, "deposit")
            receipt.logs.append(ev.nep245("mt_mint", [entry]))
            action = message.action
            if isinstance(action, ExecuteAction) and action.execute_intents:
                if action.refund_if_fails:
                    # Same call: a failing batch fails the deposit, and the token refunds it.
                    self._run_batch(ctx, db, receipt, action.execute_intents)
                else:
                    ctx.schedule(partial(self._detached, ctx, action.execute_intents))
            elif isinstance(action, NotifyAction):
                ctx.schedule(
                    partial(
                        self._notify_deposit,
                        ctx,
                        message.receiver_id,
                        tokens,
                        action.msg,
                        sender_id,
                        unused,
                    )
                )
            return None

        receipt = ctx.call(token_contract, self.contract_id, method, args, body)
        if receipt.failed:
            return receipt, [a for _, a in tokens]
        return receipt, unused

    def _ft_receiver(
        self, ctx: TxContext, token: str, receiver_id: str, amount: int, msg: str,
        on_args: dict[str, Any],
    ) -> int:  # fmt: skip
        """``ft_on_transfer`` of the devnet's NEP-141 receiver (near-sdk-rs
        ``examples/fungible-token/test-contract-defi``); returns the unused amount."""
        result = [amount]

        def body(db: Overlay, receipt: Receipt) -> str:
            if token != self.near.ft_receiver_token(db, receiver_id):
                raise VerifierError("Only supports the one fungible token contract")
            receipt.logs.append(
                f"in {amount} tokens from @{on_args['sender_id']} ft_on_transfer, msg = {msg}"
            )
            if msg == "take-my-money":
                result[0] = 0
                return "0"
            if not msg.isdigit():  # value_please: amount_to_return.parse().expect(...)
                raise VerifierError("Not an integer")
            result[0] = _unused(msg, amount)
            return msg

        on = ctx.call(token, receiver_id, "ft_on_transfer", on_args, body)
        return amount if on.failed else result[0]

    def _detached(self, ctx: TxContext, signed: Any) -> None:
        self.execute_intents(ctx, self.contract_id, signed)

    def _notify_deposit(
        self,
        ctx: TxContext,
        receiver_id: str,
        tokens: list[tuple[str, int]],
        msg: str,
        sender_id: str,
        unused: list[int],
    ) -> None:
        args = {
            "sender_id": sender_id,
            "token_ids": [t for t, _ in tokens],
            "amounts": [str(a) for _, a in tokens],
            "msg": msg,
        }
        ctx.call(self.contract_id, receiver_id, "mt_on_transfer", args, _fails(receiver_id))

        def resolve(db: Overlay, receipt: Receipt) -> list[str]:
            # resolve_deposit_internal: the failed call keeps nothing; take back what is left.
            state = self.state(db, ctx)
            burnt = []
            for i, (token_id, amount) in enumerate(tokens):
                refund = min(amount, state.balance_of(receiver_id, token_id))
                unused[i] = refund
                if refund:
                    state.burn_unchecked(receiver_id, token_id, refund)
                    burnt.append((token_id, refund))
            if burnt:
                receipt.logs.append(
                    ev.nep245("mt_burn", [ev.mt_burn(receiver_id, burnt, "refund")])
                )
            return [str(u) for u in unused]

        ctx.call(self.contract_id, self.contract_id, "resolve_deposit", {}, resolve)

    # --- NEP-141 ft_transfer_call on the NEAR-side ledger -----------------------------------------

    def ft_transfer_call(
        self,
        ctx: TxContext,
        sender_id: str,
        token: str,
        receiver_id: str,
        amount: int,
        msg: str,
        memo: str | None,
    ) -> tuple[Receipt, int]:
        """NEP-141 ``ft_transfer_call`` → ``ft_on_transfer`` → ``ft_resolve_transfer``.
        Returns the first receipt and the amount the receiver kept."""
        args = {"receiver_id": receiver_id, "amount": str(amount), "msg": msg}
        first = ctx.call(
            sender_id,
            token,
            "ft_transfer_call",
            args,
            lambda db, r: r.logs.extend(
                self.near.ft_transfer(db, token, sender_id, receiver_id, amount, memo)
            ),
            deposit=1,
        )
        if first.failed:
            return first, 0
        on_args = {"sender_id": sender_id, "amount": str(amount), "msg": msg}
        if receiver_id == self.contract_id:
            _, unused_list = self.on_transfer(
                ctx, token, "ft_on_transfer", on_args, sender_id, [(f"nep141:{token}", amount)], msg
            )
            unused = unused_list[0]
        elif self.near.ft_receiver_token(ctx.db, receiver_id) is not None:
            unused = self._ft_receiver(ctx, token, receiver_id, amount, msg, on_args)
        else:
            ctx.call(token, receiver_id, "ft_on_transfer", on_args, _fails(receiver_id))
            unused = amount
        used = [amount]

        def resolve(db: Overlay, receipt: Receipt) -> str:
            refund = min(unused, self.near.ft_balance_of(db, token, receiver_id))
            if refund:
                receipt.logs.extend(
                    self.near.ft_transfer(db, token, receiver_id, sender_id, refund, "refund")
                )
            used[0] = amount - refund
            return str(used[0])

        ctx.call(token, token, "ft_resolve_transfer", {"sender_id": sender_id}, resolve)
        return first, used[0]


def _unused(value: Any, amount: int) -> int:
    """What ``ft_resolve_transfer`` takes back from ``ft_on_transfer``'s result: the returned
    U128 capped at the amount, all of it if the call failed (near-sdk-rs
    near-contract-standards ``fungible_token/core_impl.rs`` ``internal_ft_resolve_transfer``)."""
    return min(int(value), amount)


def _fails(account_id: str) -> Body:
    def body(db: Overlay, receipt: Receipt) -> None:
        raise _no_code(account_id)

    return body
