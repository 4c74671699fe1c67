"""The ``msg`` of a deposit into the verifier (``ft_on_transfer``/``mt_on_transfer``/
``nft_on_transfer``): who is credited and what happens next (CONTRACT
``contracts/defuse/src/tokens/mod.rs`` ``DepositMessage``; PROTOCOL.md §2.3).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from devnet.verifier.errors import VerifierError
from devnet.verifier.ids import check_account_id


@dataclass(frozen=True, slots=True)
class ExecuteAction:
    """Run ``execute_intents`` with the deposit: inline (a failure refunds the deposit) when
    ``refund_if_fails``, else in a detached receipt that cannot undo the deposit."""

    execute_intents: list[Any]
    refund_if_fails: bool


@dataclass(frozen=True, slots=True)
class NotifyAction:
    """Call ``mt_on_transfer(msg)`` on the receiver; what it does not keep is refunded."""

    msg: str


@dataclass(frozen=True, slots=True)
class DepositMessage:
    receiver_id: str
    action: ExecuteAction | NotifyAction | None


def parse_deposit_message(msg: str, sender_id: str) -> DepositMessage:
    """Empty: credit the sender; not starting with ``{``: an account id; else the JSON form.

    Raises VerifierError with the panic text (a failed deposit is refunded by the token).
    """
    if not msg:
        return DepositMessage(sender_id, None)
    if not msg.startswith("{"):
        try:
            return DepositMessage(check_account_id(msg), None)
        except ValueError as exc:
            raise VerifierError(str(exc)) from exc
    try:
        obj = json.loads(msg)
    except ValueError as exc:
        raise VerifierError(f"JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise VerifierError("JSON: invalid type: expected struct DepositMessage")
    if "receiver_id" not in obj:
        raise VerifierError("JSON: missing field `receiver_id`")
    try:
        receiver_id = check_account_id(obj["receiver_id"])
    except ValueError as exc:
        raise VerifierError(f"JSON: {exc}") from exc
    return DepositMessage(receiver_id, _action(obj))


def _action(obj: dict[str, Any]) -> ExecuteAction | NotifyAction | None:
    # `action` is a flattened, untagged Option: the first variant whose fields fit wins
    # (Execute before Notify), and when neither fits serde leaves it None.
    intents = obj.get("execute_intents")
    refund = obj.get("refund_if_fails", False)
    if isinstance(intents, list) and isinstance(refund, bool):
        return ExecuteAction(intents, refund)
    if isinstance(obj.get("msg"), str):
        return NotifyAction(obj["msg"])
    return None
