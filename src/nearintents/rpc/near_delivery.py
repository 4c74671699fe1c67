"""Whether a withdrawal from the verifier reached its NEAR receiver, read from the receipt
outcomes of its ``execute_intents`` transaction (the ``tx`` method), and the account facts a
withdrawal to NEAR needs first.

A withdrawal can execute (its nonce is used) and still not deliver: an ``ft_withdraw`` whose
``ft_transfer`` fails is credited back to the signer by ``ft_resolve_withdraw`` (near/intents
``defuse/src/contract/tokens/nep141/withdraw.rs``), and a ``native_withdraw`` whose ``transfer``
fails is not refunded at all (``defuse/src/contract/tokens/nep141/native.rs``). Only the receipts
say which happened.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from nearintents.accounts import is_implicit_ed25519, is_implicit_evm
from nearintents.rpc.near import TxOutcome, receipt_event_data

# The SDK's gas for a plain ft_transfer withdrawal (sdk-monorepo packages/intents-sdk/src/bridges/
# direct-bridge/direct-bridge-constants.ts MIN_GAS_AMOUNT, 17.05 Tgas with a 10% margin).
FT_WITHDRAW_MIN_GAS = 17_050_000_000_000


class Delivery(StrEnum):
    DELIVERED = "DELIVERED"  # the receiver holds it
    NOT_DELIVERED = "NOT_DELIVERED"  # the transaction finished and the transfer failed or is absent
    PENDING = "PENDING"  # the transaction has not finished executing


def _mt_amount(data: dict[str, Any], token_id: str) -> int:
    """The amount of ``token_id`` an NEP-245 event's data entry moves."""
    pairs = zip(data.get("token_ids") or [], data.get("amounts") or [], strict=False)
    return sum(int(raw) for tid, raw in pairs
               if tid == token_id and isinstance(raw, str) and raw.isdigit())  # fmt: skip


def _finished(outcome: TxOutcome) -> bool:
    return outcome.status is not None and outcome.status.pending is None


def ft_delivery(
    outcome: TxOutcome, *, token: str, sender_id: str, receiver_id: str, amount: int
) -> Delivery:
    """An ``ft_withdraw`` of ``amount`` on ``token`` from ``sender_id`` (the verifier): delivered
    when the token contract's successful receipt logs the NEP-141 ``ft_transfer`` event to the
    receiver for exactly that amount."""
    for _, data in receipt_event_data(
        outcome, executor=token, standard="nep141", events=("ft_transfer",)
    ):
        if (
            data.get("old_owner_id") == sender_id
            and data.get("new_owner_id") == receiver_id
            and data.get("amount") == str(amount)
        ):
            return Delivery.DELIVERED
    return Delivery.NOT_DELIVERED if _finished(outcome) else Delivery.PENDING


def ft_withdraw_delivered(
    outcome: TxOutcome, *, token: str, verifier_id: str, owner_id: str, receiver_id: str,
    amount: int,
) -> int | None:  # fmt: skip
    """What an ``ft_withdraw`` of ``amount`` (with or without ``msg``) from ``owner_id`` left
    with the receiver, or None while the transaction is still executing.

    The contract's own accounting decides (near/intents
    ``contracts/defuse/src/contract/tokens/nep141/withdraw.rs`` ``ft_resolve_withdraw``): what it
    did not count as used it credits back to the owner as an NEP-245 ``mt_mint`` with memo
    ``refund``. So the delivery is the token's ``ft_transfer`` to the receiver (see
    :func:`ft_delivery`) less those refunds: all of it bounced when the receiver is not
    registered, or when an ``ft_transfer_call`` receiver has no ``ft_on_transfer`` (its
    ``ft_resolve_transfer`` returns the tokens, near-sdk-rs near-contract-standards
    ``fungible_token/core_impl.rs``), part of it when ``ft_on_transfer`` returned some."""
    if not _finished(outcome):
        return None
    sent = ft_delivery(outcome, token=token, sender_id=verifier_id, receiver_id=receiver_id,
                       amount=amount)  # fmt: skip
    if sent is not Delivery.DELIVERED:
        return 0
    token_id = f"nep141:{token}"
    refunded = sum(
        _mt_amount(data, token_id)
        for _, data in receipt_event_data(
            outcome, executor=verifier_id, standard="nep245", events=("mt_mint",)
        )
        if data.get("memo") == "refund" and data.get("owner_id") == owner_id
    )
    return max(amount - refunded, 0)


def deposit_credited(outcome: TxOutcome, *, verifier_id: str, owner_id: str, token_id: str) -> int:
    """What a deposit transaction (``ft_transfer_call`` into the verifier) credited
    ``owner_id`` in ``token_id``: the verifier's NEP-245 ``mt_mint`` events with memo
    ``deposit`` in its successful receipts (near/intents ``contracts/defuse/src/contract/
    tokens/nep141/deposit.rs``), less any ``mt_burn`` memo ``refund`` its ``resolve`` made."""
    total = 0
    for name, data in receipt_event_data(
        outcome, executor=verifier_id, standard="nep245", events=("mt_mint", "mt_burn")
    ):
        sign, memo = (1, "deposit") if name == "mt_mint" else (-1, "refund")
        if data.get("owner_id") == owner_id and data.get("memo") == memo:
            total += sign * _mt_amount(data, token_id)
    return max(total, 0)


def native_delivery(outcome: TxOutcome, *, receiver_id: str) -> Delivery:
    """A ``native_withdraw``: delivered when the ``transfer`` receipt executed by the receiver
    succeeded; a failed one (e.g. a named account that does not exist) delivered nothing."""
    receipts = [r for r in outcome.receipts_outcome if r.outcome.executor_id == receiver_id]
    if any(not r.outcome.failed and r.outcome.status != "Unknown" for r in receipts):
        return Delivery.DELIVERED
    return Delivery.NOT_DELIVERED if _finished(outcome) else Delivery.PENDING


def can_be_created_by_transfer(account_id: str) -> bool:
    """Implicit accounts (64 hex, ``0x`` + 40 hex) come into being with their first transfer;
    a named account must exist already or the transfer fails (nearcore ``AccountDoesNotExist``)."""
    return is_implicit_ed25519(account_id) or is_implicit_evm(account_id)


def ft_received(outcome: TxOutcome, *, token: str, sender_id: str, receiver_id: str) -> int:
    """What a user's ``ft_transfer`` or ``ft_transfer_call`` on ``token`` left with
    ``receiver_id`` from ``sender_id``: the NEP-141 ``ft_transfer`` events the token's
    successful receipts log from the sender to the receiver, less those back (an
    ``ft_transfer_call``'s ``ft_resolve_transfer`` returning what ``ft_on_transfer`` did not use:
    near-sdk-rs near-contract-standards ``fungible_token/core_impl.rs``)."""
    total = 0
    for _, data in receipt_event_data(
        outcome, executor=token, standard="nep141", events=("ft_transfer",)
    ):
        raw = data.get("amount")
        if not isinstance(raw, str) or not raw.isdigit():
            continue
        pair = (data.get("old_owner_id"), data.get("new_owner_id"))
        if pair == (sender_id, receiver_id):
            total += int(raw)
        elif pair == (receiver_id, sender_id):
            total -= int(raw)
    return max(total, 0)
