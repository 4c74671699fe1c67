"""A withdrawal's delivery read from the receipt outcomes of a ``tx`` answer (nearcore's JSON
shape: ``status``, ``transaction_outcome``, ``receipts_outcome[].outcome.{executor_id, logs,
status}``), for the outcomes the near/intents contract produces."""

import itertools
import json
from hashlib import sha256
from typing import Any

import pytest

from nearintents.encoding import b58encode
from nearintents.rpc import TxOutcome
from nearintents.rpc.near_delivery import (
    Delivery,
    can_be_created_by_transfer,
    deposit_credited,
    ft_delivery,
    ft_withdraw_delivered,
    native_delivery,
)

HASHES = (b58encode(sha256(str(n).encode()).digest()) for n in itertools.count())
BLOCK = b58encode(bytes(32))
RECEIVER = "shop.near"


def _outcome(executor: str, status: Any, logs: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "id": next(HASHES), "block_hash": BLOCK,
        "outcome": {"logs": list(logs), "receipt_ids": [], "gas_burnt": 1, "tokens_burnt": "0",
                    "executor_id": executor, "status": status},
    }  # fmt: skip


def _tx(*receipts: dict[str, Any], status: Any = None) -> TxOutcome:
    return TxOutcome.model_validate(
        {
            "status": status if status is not None else {"SuccessValue": ""},
            "transaction_outcome": _outcome("relayer.near", {"SuccessReceiptId": BLOCK}),
            "receipts_outcome": list(receipts),
        }
    )


def _ft_event(old: str, new: str, amount: str) -> str:
    data = [{"old_owner_id": old, "new_owner_id": new, "amount": amount}]
    event = {"standard": "nep141", "version": "1.0.0", "event": "ft_transfer", "data": data}
    return "EVENT_JSON:" + json.dumps(event)


NOT_REGISTERED = "Smart contract panicked: The account shop.near is not registered"
PANIC = {"Failure": {"ActionError": {"index": 0, "kind": {"FunctionCallError": {
    "ExecutionError": NOT_REGISTERED}}}}}  # fmt: skip
EXECUTE = _outcome("intents.near", {"SuccessValue": ""})


def test_an_ft_transfer_event_for_the_receiver_and_amount_is_a_delivery() -> None:
    ok = _outcome("usdc.near", {"SuccessValue": ""}, [_ft_event("intents.near", RECEIVER, "40")])
    resolve = _outcome("intents.near", {"SuccessValue": "IjQwIg=="})  # "40" used
    tx = _tx(EXECUTE, ok, resolve)
    args = {"token": "usdc.near", "sender_id": "intents.near", "receiver_id": RECEIVER}
    assert ft_delivery(tx, amount=40, **args) is Delivery.DELIVERED
    assert ft_delivery(tx, amount=41, **args) is Delivery.NOT_DELIVERED
    assert ft_delivery(tx, amount=40, **{**args, "receiver_id": "x.near"}) is Delivery.NOT_DELIVERED


def test_a_bounced_ft_transfer_is_not_a_delivery() -> None:
    """The token panics (unregistered receiver); ft_resolve_withdraw refunds the signer."""
    bounced = _outcome("usdc.near", PANIC)
    resolve = _outcome("intents.near", {"SuccessValue": "IjAi"})  # "0" used
    tx = _tx(EXECUTE, bounced, resolve)
    args = {"token": "usdc.near", "sender_id": "intents.near", "receiver_id": RECEIVER}
    assert ft_delivery(tx, amount=40, **args) is Delivery.NOT_DELIVERED


def test_a_failed_receipt_logging_the_event_is_not_a_delivery() -> None:
    lying = _outcome("usdc.near", PANIC, [_ft_event("intents.near", RECEIVER, "40")])
    tx = _tx(EXECUTE, lying)
    args = {"token": "usdc.near", "sender_id": "intents.near", "receiver_id": RECEIVER}
    assert ft_delivery(tx, amount=40, **args) is Delivery.NOT_DELIVERED


def test_an_event_from_another_contract_is_not_a_delivery() -> None:
    fake = _outcome("evil.near", {"SuccessValue": ""}, [_ft_event("intents.near", RECEIVER, "40")])
    args = {"token": "usdc.near", "sender_id": "intents.near", "receiver_id": RECEIVER}
    assert ft_delivery(_tx(EXECUTE, fake), amount=40, **args) is Delivery.NOT_DELIVERED


def test_an_unfinished_transaction_is_pending() -> None:
    tx = _tx(EXECUTE, status="Started")
    args = {"token": "usdc.near", "sender_id": "intents.near", "receiver_id": RECEIVER}
    assert ft_delivery(tx, amount=40, **args) is Delivery.PENDING
    assert native_delivery(tx, receiver_id=RECEIVER) is Delivery.PENDING


def test_native_withdraw_is_delivered_by_the_receivers_transfer_receipt() -> None:
    unwrap = _outcome("wrap.near", {"SuccessValue": ""})
    transfer = _outcome(RECEIVER, {"SuccessValue": ""})
    assert native_delivery(_tx(EXECUTE, unwrap, transfer), receiver_id=RECEIVER) is (
        Delivery.DELIVERED
    )
    missing = {"Failure": {"ActionError": {"index": 0, "kind": {
        "AccountDoesNotExist": {"account_id": RECEIVER}}}}}  # fmt: skip
    failed = _outcome(RECEIVER, missing)
    assert native_delivery(_tx(EXECUTE, unwrap, failed), receiver_id=RECEIVER) is (
        Delivery.NOT_DELIVERED
    )
    assert native_delivery(_tx(EXECUTE, unwrap), receiver_id=RECEIVER) is Delivery.NOT_DELIVERED


@pytest.mark.parametrize(
    ("account", "created"),
    [("a" * 64, True), ("0x" + "b" * 40, True), ("alice.near", False), ("near", False)],
)
def test_only_implicit_accounts_are_created_by_a_transfer(account: str, created: bool) -> None:
    assert can_be_created_by_transfer(account) is created


def _refund_mint(owner: str, token_id: str, amount: str) -> str:
    data = [{"owner_id": owner, "token_ids": [token_id], "amounts": [amount], "memo": "refund"}]
    event = {"standard": "nep245", "version": "1.0.0", "event": "mt_mint", "data": data}
    return "EVENT_JSON:" + json.dumps(event)


CUSTODY = "c" * 64
WITHDRAW = {"token": "wrap.near", "verifier_id": "intents.near", "owner_id": CUSTODY,
            "receiver_id": RECEIVER, "amount": 40}  # fmt: skip


@pytest.mark.parametrize(("refunds", "delivered"), [((), 40), (("15",), 25), (("40",), 0),
                                                    (("30", "10"), 0)])  # fmt: skip
def test_an_ft_transfer_call_withdrawal_delivers_what_the_contract_did_not_refund(
    refunds: tuple[str, ...], delivered: int
) -> None:
    """``ft_transfer_call`` logs the transfer to the receiver even when ``ft_on_transfer``
    hands it back: only ``ft_resolve_withdraw``'s ``refund`` mints say what stayed."""
    sent = _outcome("wrap.near", {"SuccessValue": ""}, [_ft_event("intents.near", RECEIVER, "40")])
    back = [_outcome("intents.near", {"SuccessValue": ""},
                     [_refund_mint(CUSTODY, "nep141:wrap.near", r)]) for r in refunds]  # fmt: skip
    assert ft_withdraw_delivered(_tx(EXECUTE, sent, *back), **WITHDRAW) == delivered


def test_refunds_to_others_or_of_other_tokens_or_by_others_do_not_count() -> None:
    sent = _outcome("wrap.near", {"SuccessValue": ""}, [_ft_event("intents.near", RECEIVER, "40")])
    other = _outcome("intents.near", {"SuccessValue": ""}, [
        _refund_mint("someone.near", "nep141:wrap.near", "40"),
        _refund_mint(CUSTODY, "nep141:usdc.near", "40"),
    ])  # fmt: skip
    forged = _outcome("evil.near", {"SuccessValue": ""},
                      [_refund_mint(CUSTODY, "nep141:wrap.near", "40")])  # fmt: skip
    assert ft_withdraw_delivered(_tx(EXECUTE, sent, other, forged), **WITHDRAW) == 40


def test_an_ft_withdraw_that_never_transferred_delivered_nothing_and_pending_is_none() -> None:
    bounced = _outcome("wrap.near", PANIC)
    assert ft_withdraw_delivered(_tx(EXECUTE, bounced), **WITHDRAW) == 0
    assert ft_withdraw_delivered(_tx(EXECUTE, status="Started"), **WITHDRAW) is None


def _verifier_event(event: str, owner: str, amount: str, memo: str) -> str:
    data = [{"owner_id": owner, "token_ids": ["nep141:wrap.near"], "amounts": [amount],
             "memo": memo}]  # fmt: skip
    return "EVENT_JSON:" + json.dumps(
        {"standard": "nep245", "version": "1.0.0", "event": event, "data": data}
    )


def test_a_deposit_credit_is_read_from_the_verifiers_mint_less_its_refund() -> None:
    args = {"verifier_id": "intents.near", "owner_id": CUSTODY, "token_id": "nep141:wrap.near"}
    on = _outcome("intents.near", {"SuccessValue": ""},
                  [_verifier_event("mt_mint", CUSTODY, "40", "deposit")])  # fmt: skip
    assert deposit_credited(_tx(on), **args) == 40
    back = _outcome("intents.near", {"SuccessValue": ""},
                    [_verifier_event("mt_burn", CUSTODY, "15", "refund")])  # fmt: skip
    assert deposit_credited(_tx(on, back), **args) == 25
    failed = _outcome("intents.near", PANIC, [_verifier_event("mt_mint", CUSTODY, "40", "deposit")])
    forged = _outcome("evil.near", {"SuccessValue": ""},
                      [_verifier_event("mt_mint", CUSTODY, "40", "deposit")])  # fmt: skip
    assert deposit_credited(_tx(failed, forged), **args) == 0


def test_an_event_whose_data_is_not_a_list_is_skipped_not_an_error() -> None:
    """A token is a peer: its log ``"data": 5`` once raised a TypeError out of the reader."""
    odd = {"standard": "nep141", "version": "1.0.0", "event": "ft_transfer", "data": 5}
    logs = ["EVENT_JSON:" + json.dumps(odd), _ft_event("intents.near", RECEIVER, "40")]
    tx = _tx(EXECUTE, _outcome("usdc.near", {"SuccessValue": ""}, logs))
    args = {"token": "usdc.near", "sender_id": "intents.near", "receiver_id": RECEIVER}
    assert ft_delivery(tx, amount=40, **args) is Delivery.DELIVERED
