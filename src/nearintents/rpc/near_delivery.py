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

import json
from enum import StrEnum
from typing import Any

from nearintents.accounts import is_implicit_ed25519, is_implicit_evm
from nearintents.rpc.near import ExecutionOutcomeWithId, TxOutcome

EVENT_PREFIX = "EVENT_JSON:"
# The SDK's gas for a plain ft_transfer withdrawal (sdk-monorepo packages/intents-sdk/src/bridges/
# direct-bridge/direct-bridge-constants.ts MIN_GAS_AMOUNT, 17.05 Tgas with a 10% margin).
FT_WITHDRAW_MIN_GAS = 17_050_000_000_000


class Delivery(StrEnum):
    DELIVERED = "DELIVERED"  # the receiver holds it
    NOT_DELIVERED = "NOT_DELIVERED"  # the transaction finished and the transfer failed or is absent
    PENDING = "PENDING"  # the transaction has not finished executing


def _events(outcome: ExecutionOutcomeWithId) -> list[dict[str, Any]]:
    found = []
    for line in outcome.outcome.logs:
        if not line.startswith(EVENT_PREFIX):
            continue
        try:
            event = json.loads(line[len(EVENT_PREFIX) :])
        except ValueError:
            continue
        if isinstance(event, dict):
            found.append(event)
    return found


def _finished(outcome: TxOutcome) -> bool:
    return outcome.status is not None and outcome.status.pending is None


def ft_delivery(
    outcome: TxOutcome, *, token: str, sender_id: str, receiver_id: str, amount: int
) -> Delivery:
    """An ``ft_withdraw`` of ``amount`` on ``token`` from ``sender_id`` (the verifier): delivered
    when the token contract's successful receipt logs the NEP-141 ``ft_transfer`` event to the
    receiver for exactly that amount."""
    for receipt in outcome.receipts_outcome:
        if receipt.outcome.executor_id != token or receipt.outcome.failed:
            continue
        for event in _events(receipt):
            if event.get("standard") != "nep141" or event.get("event") != "ft_transfer":
                continue
            for data in event.get("data") or []:
                if (
                    isinstance(data, dict)
                    and data.get("old_owner_id") == sender_id
                    and data.get("new_owner_id") == receiver_id
                    and data.get("amount") == str(amount)
                ):
                    return Delivery.DELIVERED
    return Delivery.NOT_DELIVERED if _finished(outcome) else Delivery.PENDING


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
