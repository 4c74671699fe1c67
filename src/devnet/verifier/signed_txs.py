"""Signed NEAR transactions executed on the devnet's NEAR side: the access key and nonce checks
nearcore makes before a transaction is accepted, then its one action as receipts on the
NEP-141 / NEP-145 / ``wrap.near`` contracts the devnet ledgers (:mod:`.near_tokens`).

Modelled: a ``Transfer`` (an implicit receiver is created, a missing named one fails); a
``FunctionCall`` of ``ft_transfer``, ``ft_transfer_call`` (into ``intents.near`` with the deposit
``msg`` forms the contract accepts, see :mod:`.deposits`), ``storage_deposit``, ``near_deposit``
and ``near_withdraw``. Gas is charged to the signer (:mod:`devnet.chains.near.gas`): a signer
that cannot pay is refused like nearcore (``NotEnoughBalance``). Panic texts follow
near-contract-standards (near-sdk-rs ``near-contract-standards/src/fungible_token/``).
"""

from __future__ import annotations

import json
from typing import Any

from devnet.chains.near import gas
from devnet.chains.near.transactions import (
    FunctionCall,
    InvalidTransaction,
    SignedTransaction,
    Transfer,
)
from devnet.verifier.chain import Receipt
from devnet.verifier.errors import VerifierError
from devnet.verifier.near_tokens import NearLedger
from devnet.verifier.runtime import Runtime, TxContext
from devnet.verifier.store import Overlay
from nearintents.accounts import is_implicit_ed25519, is_implicit_evm

ONE_YOCTO = "Requires attached deposit of exactly 1 yoctoNEAR"


def check_access_key(db: Overlay, near: NearLedger, tx: SignedTransaction) -> None:
    """nearcore ``verify_and_charge_transaction``: the key must exist on the signer and the
    nonce must grow; the key's nonce becomes the transaction's (in the same commit)."""
    key = tx.public_key_text
    nonce = near.access_key_nonce(db, tx.signer_id, key)
    if nonce is None:
        raise InvalidTransaction(
            "InvalidAccessKeyError", f"Signer {tx.signer_id} doesn't have access key {key}"
        )
    if tx.nonce <= nonce:
        raise InvalidTransaction(
            "InvalidNonce",
            f"Transaction nonce {tx.nonce} must be larger than nonce of the used access key "
            f"{nonce}",
        )
    near.add_access_key(db, tx.signer_id, key, tx.nonce)


def charge_gas(db: Overlay, near: NearLedger, tx: SignedTransaction) -> tuple[int, int]:
    """nearcore ``verify_and_charge_transaction``: refuse a signer that cannot pay the upfront
    cost (nothing recorded), else burn the gas from its balance. Returns ``(gas, tokens)``."""
    prepaid = sum(a.gas for a in tx.actions if isinstance(a, FunctionCall))
    if prepaid > gas.MAX_PREPAID_GAS:
        raise InvalidTransaction(
            "ActionsValidation",
            f"TotalPrepaidGasExceeded {{ total_prepaid_gas: {prepaid}, limit: "
            f"{gas.MAX_PREPAID_GAS} }}",
        )
    balance, cost = near.native_balance(db, tx.signer_id), gas.upfront_cost(tx)
    if balance < cost:
        raise InvalidTransaction(
            "NotEnoughBalance",
            f"Sender {tx.signer_id} does not have enough balance {balance} for operation "
            f"costing {cost}",
            {"signer_id": tx.signer_id, "balance": str(balance), "cost": str(cost)},
        )
    gas_burnt, tokens = gas.tokens_burnt(tx)
    near.native_burn(db, tx.signer_id, tokens)
    return gas_burnt, tokens


def _args(action: FunctionCall) -> dict[str, Any]:
    try:
        args = json.loads(action.args or b"{}")
    except ValueError as exc:
        raise VerifierError("Failed to deserialize input from JSON.") from exc
    if not isinstance(args, dict):
        raise VerifierError("Failed to deserialize input from JSON.")
    return args


def _amount(args: dict[str, Any]) -> int:
    raw = args.get("amount")
    if not isinstance(raw, str) or not raw.isdigit():
        raise VerifierError("Failed to deserialize input from JSON.")
    return int(raw)


def _one_yocto(near: NearLedger, db: Overlay, tx: SignedTransaction, deposit: int) -> None:
    if deposit != 1:
        raise VerifierError(ONE_YOCTO)
    near.native_transfer(db, tx.signer_id, tx.receiver_id, 1)


def run_signed(
    runtime: Runtime, ctx: TxContext, tx: SignedTransaction
) -> Receipt:  # the receipt whose result is the transaction's
    near = runtime.near
    if len(tx.actions) != 1:
        raise InvalidTransaction("ActionsValidation", "the devnet models one action per tx")
    [action] = tx.actions
    signer, receiver = tx.signer_id, tx.receiver_id
    if isinstance(action, Transfer):

        def transfer(db: Overlay, _: Receipt) -> None:
            implicit = is_implicit_ed25519(receiver) or is_implicit_evm(receiver)
            if not implicit and not near.account_exists(db, receiver):
                raise VerifierError(
                    f"AccountDoesNotExist {{ account_id: AccountId({receiver!r}) }}"
                )
            near.create_implicit(db, receiver)
            near.native_transfer(db, signer, receiver, action.deposit)

        return ctx.call(signer, receiver, "transfer", {}, transfer, deposit=action.deposit)

    method, deposit = action.method_name, action.deposit
    try:
        args = _args(action)
    except VerifierError:
        args = {}
    if near.token(ctx.db, receiver) is None:
        return ctx.call(signer, receiver, method, args, _no_contract(receiver), deposit=deposit)
    if method == "ft_transfer_call":
        if deposit != 1 or not isinstance(args.get("receiver_id"), str):
            return ctx.call(signer, receiver, method, args, _panic(ONE_YOCTO), deposit=deposit)
        first, _ = runtime.ft_transfer_call(
            ctx, signer, receiver, args["receiver_id"], _amount_or_zero(args),
            str(args.get("msg", "")), args.get("memo"),
        )  # fmt: skip
        return first

    def body(db: Overlay, receipt: Receipt) -> Any:
        a = _args(action)
        if method == "ft_transfer":
            _one_yocto(near, db, tx, deposit)
            receipt.logs.extend(
                near.ft_transfer(db, receiver, signer, str(a.get("receiver_id")), _amount(a),
                                 a.get("memo"))
            )  # fmt: skip
        elif method == "storage_deposit":
            target = a.get("account_id") or signer
            receipt.logs.extend(near.storage_deposit(db, receiver, str(target), signer, deposit))
        elif method == "near_deposit" and receiver == near.wnear_id:
            receipt.logs.extend(near.near_deposit(db, signer, deposit))
        elif method == "near_withdraw" and receiver == near.wnear_id:
            _one_yocto(near, db, tx, deposit)
            receipt.logs.extend(near.near_withdraw(db, signer, _amount(a)))
        else:
            raise VerifierError(f"MethodNotFound: {method}")
        return None

    return ctx.call(signer, receiver, method, args, body, deposit=deposit)


def _amount_or_zero(args: dict[str, Any]) -> int:
    try:
        return _amount(args)
    except VerifierError:
        return 0


def _panic(text: str) -> Any:
    def body(db: Overlay, receipt: Receipt) -> None:
        raise VerifierError(text)

    return body


def _no_contract(account_id: str) -> Any:
    return _panic(f"CodeDoesNotExist {{ account_id: {account_id} }}")
